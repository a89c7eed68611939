"""``tlspec build SPEC``: build and compile the model; per-component layers, shapes and parameters."""

from __future__ import annotations

import json
from pathlib import Path

from tlspec.cli.arguments import add_spec_arguments
from tlspec.cli.output import print_build_table


def register(commands) -> None:
    parser = commands.add_parser("build", help="build (and compile) the model; print layers and parameters")
    add_spec_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of a table")
    parser.add_argument("--plot", type=Path, metavar="FILE", help="write a PNG of the component graph")
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec

    validated = tlspec.validate(args.spec, args.overrides)
    from tlspec.model.report import report

    assembly = tlspec.build(validated)
    result = report(assembly)
    if args.plot:
        from tlspec.model.plot import plot

        plot(assembly, args.plot)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print_build_table(result)
    if args.plot:
        print(f"graph written to {args.plot}")
    return 0
