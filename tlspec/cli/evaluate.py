"""``tlspec evaluate RUN_DIR``: per-head metrics of a trained run on one split."""

from __future__ import annotations

import json
from pathlib import Path

from tlspec.cli.arguments import add_json_argument
from tlspec.cli.output import print_metrics


def register(commands) -> None:
    parser = commands.add_parser("evaluate", help="evaluate a trained run on a data split")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument("--split", default="test",
                        help="train, validation or test (default: test); with 'adapt', also target_train, "
                             "target_test, ... (the target domain's splits)")
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec

    metrics = tlspec.evaluate(args.run_dir, args.split)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print_metrics(metrics)
    return 0
