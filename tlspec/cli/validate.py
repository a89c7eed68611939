"""``tlspec validate SPEC``: check a spec without building it (never imports TensorFlow)."""

from __future__ import annotations

import time

from tlspec.cli.arguments import add_spec_arguments


def register(commands) -> None:
    parser = commands.add_parser("validate", help="check a spec without building it (no TensorFlow)")
    add_spec_arguments(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec

    started = time.perf_counter()
    validated = tlspec.validate(args.spec, args.overrides)
    graph = validated.graph
    heads = ", ".join(head.name for head in graph.heads())
    backbone = graph.components[graph.backbone].section
    print(f"{args.spec}: valid — backbone {backbone.record.name}, heads: {heads}, "
          f"freeze: {validated.freeze.record.name} ({(time.perf_counter() - started) * 1000:.0f} ms)")
    return 0
