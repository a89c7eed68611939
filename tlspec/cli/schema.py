"""``tlspec schema``: one JSON Schema of the spec language with every installed plugin, for editors."""

from __future__ import annotations

import json
from pathlib import Path


def register(commands) -> None:
    parser = commands.add_parser("schema", help="print the JSON Schema of the spec language")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    parser.set_defaults(run=run)


def run(args) -> int:
    from tlspec.plugin.manager import default_registry
    from tlspec.spec.json_schema import json_schema

    text = json.dumps(json_schema(default_registry()), indent=2)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
        print(f"schema written to {args.output}")
    else:
        print(text)
    return 0
