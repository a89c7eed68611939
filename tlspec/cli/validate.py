"""``tlspec validate SPEC``: check a spec without building it (never imports TensorFlow).

A spec checked before answers from ``validate_cache`` when nothing the check read has changed.
"""

from __future__ import annotations

import time

from tlspec.cli.arguments import add_spec_arguments


def register(commands) -> None:
    parser = commands.add_parser("validate", help="check a spec without building it (no TensorFlow)")
    add_spec_arguments(parser)
    parser.add_argument("--no-cache", action="store_true",
                        help="check everything again, even when nothing the last check read has changed")
    parser.set_defaults(run=run)


def run(args) -> int:
    from tlspec.cli.validate_cache import ValidationCache

    started = time.perf_counter()
    cache = ValidationCache(args.spec, args.overrides)
    summary = None if args.no_cache else cache.replay()
    replayed = summary is not None
    if summary is None:
        with cache.recording() as reads:
            summary = _check(args)
        cache.store(summary, reads)
    elapsed = f"{(time.perf_counter() - started) * 1000:.0f} ms"
    print(f"{args.spec}: {summary} ({elapsed}{', unchanged since it was last checked' if replayed else ''})")
    return 0


def _check(args) -> str:
    import tlspec

    validated = tlspec.validate(args.spec, args.overrides)
    graph = validated.graph
    heads = ", ".join(head.name for head in graph.heads())
    backbone = graph.components[graph.backbone].section
    return f"valid — backbone {backbone.record.name}, heads: {heads}, freeze: {validated.freeze.record.name}"
