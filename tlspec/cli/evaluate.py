"""``tlspec evaluate RUN_DIR``: per-head metrics and reports of a trained run, on a split or on new data."""

from __future__ import annotations

import json
from pathlib import Path

from tlspec.cli.arguments import add_json_argument, add_set_argument
from tlspec.cli.output import console, print_metrics, print_reports


def register(commands) -> None:
    parser = commands.add_parser("evaluate", help="evaluate a trained run on a data split or on new data")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--split", default="test",
                       help="train, validation or test (default: test); with 'adapt', also target_train, "
                            "target_test, ... (the target domain's splits)")
    where.add_argument("--data", nargs="+", default=[], metavar="PATH",
                       help="new labelled data the run's data plugin reads (e.g. a folder of class subfolders, "
                            "a CSV), with the run's preprocessing and class order")
    add_set_argument(parser)
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec

    metrics = tlspec.evaluate(args.run_dir, args.split, data=args.data, overrides=args.overrides)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print_metrics(metrics)
    print_reports(metrics)
    for name in metrics:
        saved = Path(args.run_dir) / "evaluation" / f"{name}.json"
        if saved.is_file():
            console().print(f"saved {saved}", highlight=False)
    return 0
