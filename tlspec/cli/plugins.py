"""``tlspec plugins``: installed plugins by kind, the Keras objects plugins add, and plugins that failed to
load, with the reason."""

from __future__ import annotations

import json

from tlspec.cli.arguments import add_json_argument
from tlspec.cli.output import console


def register(commands) -> None:
    parser = commands.add_parser("plugins", help="list installed plugins")
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from tlspec.plugin.manager import default_registry

    registry = default_registry()
    records = [{"kind": r.kind, "name": r.name, "distribution": r.origin.distribution,
                "version": r.origin.version, "entry_point": r.origin.entry_point,
                "summary": r.plugin.summary} for r in registry.all_records()]
    records += [{"kind": f"keras {r.declaration.kind}", "name": name, "distribution": r.origin.distribution,
                 "version": r.origin.version, "entry_point": r.origin.entry_point, "summary": r.declaration.target}
                for name, r in sorted(registry.keras_objects.items())]
    failures = [{"entry_point": f.origin.entry_point, "distribution": f.origin.distribution,
                 "version": f.origin.version, "error": f.error} for f in registry.failures]
    if args.json:
        print(json.dumps({"plugins": records, "failures": failures}, indent=2))
        return 1 if failures else 0
    from rich.table import Table

    table = Table()
    for column in ("kind", "name", "distribution", "version", "summary"):
        table.add_column(column)
    for record in records:
        table.add_row(record["kind"], record["name"], record["distribution"], record["version"], record["summary"])
    out = console()
    out.print(table)
    for failure in registry.failures:
        out.print(f"[red]failed:[/red] {failure}", highlight=False)
    return 1 if failures else 0
