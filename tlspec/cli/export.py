"""``tlspec export RUN_DIR --format F``: the run's model for another runtime, checked against model.keras."""

from __future__ import annotations

import json
from pathlib import Path

from tlspec.cli.arguments import add_json_argument
from tlspec.cli.output import console

FORMAT_NAMES = ("keras", "saved_model", "tflite", "onnx")


def register(commands) -> None:
    parser = commands.add_parser("export", help="export a trained run's model (Keras, SavedModel, LiteRT, ONNX)")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument("--format", required=True, choices=FORMAT_NAMES,
                        help="keras, saved_model, tflite (LiteRT) or onnx")
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                        help="the export folder (default: RUN_DIR/export/FORMAT; an earlier export there is replaced)")
    parser.add_argument("--examples", nargs="+", default=[], metavar="ITEM",
                        help="items to check the export on (default: the run's test split)")
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec

    metadata = tlspec.export(args.run_dir, args.format, args.output, examples=args.examples)
    if args.json:
        print(json.dumps(metadata, indent=2, ensure_ascii=False))
        return 0
    check = metadata["check"]
    worst = max(check["max_abs_diff"].values())
    console().print(f"exported {metadata['format']} to {metadata['path']} in {metadata['export_seconds']:.1f} s\n"
                    f"checked against model.keras on {check['examples']}: largest difference {worst:.2g} "
                    f"(tolerance {check['tolerance']:g})\nload it with: {metadata['load_with']}", highlight=False)
    return 0
