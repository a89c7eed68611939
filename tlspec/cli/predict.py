"""``tlspec predict RUN_DIR ITEMS...``: labels, tags or generated text for new inputs."""

from __future__ import annotations

import json
from pathlib import Path

from tlspec.cli.arguments import add_json_argument
from tlspec.errors import TlspecError


def register(commands) -> None:
    parser = commands.add_parser("predict", help="predict with a trained run")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument("items", nargs="+", metavar="FILE", help="inputs, e.g. image files")
    parser.add_argument("--beam", type=int, default=1, metavar="WIDTH",
                        help="beam width for heads that generate sequences (default 1: greedy)")
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec

    if args.beam < 1:
        raise TlspecError(f"--beam must be at least 1, got {args.beam}")
    predictions = tlspec.predict(args.run_dir, args.items, args.beam)
    if args.json:
        print(json.dumps(predictions, indent=2))
        return 0
    for item in predictions:
        parts = [describe(head, result) for head, result in item["heads"].items()]
        print(f"{item['input']}: {'  '.join(parts)}")
    return 0


def describe(head: str, result: dict) -> str:
    if "text" in result:
        return f"{head}: {result['text']!r}"
    if "tags" in result:
        return f"{head}: " + " ".join(f"{token}/{tag}" for token, tag in zip(result["tokens"], result["tags"]))
    if "label" in result:
        probability = result.get("probability")
        shown = f" ({probability:.3f})" if isinstance(probability, (int, float)) else ""
        return f"{head}={result['label']}{shown}"
    if "values" in result:
        return f"{head}={result['values']}"
    return f"{head}={json.dumps(result, default=str)}"  # a plugin head's own description
