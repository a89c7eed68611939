"""The ``tlspec`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from tlspec import __version__
from tlspec.errors import SpecError, TlspecError

EXIT_OK, EXIT_FAILURE, EXIT_SPEC = 0, 1, 2


def _add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the spec file (YAML)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field, e.g. --set train.epochs=3 or --set heads.animal.dropout=0.5 "
                             "(the value is YAML; repeatable)")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="tlspec", description="Transfer learning, declared.")
    main.add_argument("--version", action="version", version=f"tlspec {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a spec without building it (no TensorFlow)")
    _add_spec_arguments(validate)
    validate.set_defaults(run=cmd_validate)

    build = commands.add_parser("build", help="build (and compile) the model; print layers and parameters")
    _add_spec_arguments(build)
    build.add_argument("--json", action="store_true", help="print a JSON report instead of a table")
    build.add_argument("--plot", type=Path, metavar="FILE", help="write a PNG of the component graph")
    build.set_defaults(run=cmd_build)

    train = commands.add_parser("train", help="train the model; write a run directory")
    _add_spec_arguments(train)
    train.add_argument("--out", type=Path, metavar="DIR", help="run directory (default: runs/<name>-<time>)")
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted run (--out DIR, or the latest run of this spec)")
    train.add_argument("--quiet", action="store_true", help="one line per epoch instead of progress bars")
    cluster = train.add_argument_group("multi-worker training (every worker runs the same command)")
    cluster.add_argument("--workers", metavar="HOST:PORT,...",
                         help="all workers' addresses, the chief first (instead of TF_CONFIG or distribute.workers)")
    cluster.add_argument("--worker-index", type=int, metavar="N", help="which of the workers this process is")
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a trained run on a data split")
    evaluate.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    evaluate.add_argument("--split", default="test",
                          help="train, validation or test (default: test); with 'adapt', also target_train, "
                               "target_test, ... (the target domain's splits)")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    evaluate.set_defaults(run=cmd_evaluate)

    predict = commands.add_parser("predict", help="predict with a trained run")
    predict.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    predict.add_argument("items", nargs="+", metavar="FILE", help="inputs, e.g. image files")
    predict.add_argument("--beam", type=int, default=1, metavar="WIDTH",
                         help="beam width for heads that generate sequences (default 1: greedy)")
    predict.add_argument("--json", action="store_true", help="print JSON")
    predict.set_defaults(run=cmd_predict)

    plugins = commands.add_parser("plugins", help="list installed plugins")
    plugins.add_argument("--json", action="store_true", help="print JSON")
    plugins.set_defaults(run=cmd_plugins)

    schema = commands.add_parser("schema", help="print the JSON Schema of the spec language")
    schema.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    schema.set_defaults(run=cmd_schema)
    return main


def cmd_validate(args) -> int:
    from tlspec.validation import validate_file

    started = time.perf_counter()
    validated = validate_file(args.spec, args.overrides)
    graph = validated.graph
    heads = ", ".join(head.name for head in graph.heads())
    backbone = graph.components[graph.backbone].section
    print(f"{args.spec}: valid — backbone {backbone.record.name}, heads: {heads}, "
          f"freeze: {validated.freeze.record.name} ({(time.perf_counter() - started) * 1000:.0f} ms)")
    return EXIT_OK


def cmd_build(args) -> int:
    from tlspec.validation import validate_file

    validated = validate_file(args.spec, args.overrides)
    from tlspec.assemble import assemble
    from tlspec.compiling import compile_model
    from tlspec.summary import report

    assembly = assemble(validated)
    compile_model(assembly)
    result = report(assembly)
    if args.plot:
        from tlspec.plot import plot

        plot(assembly, args.plot)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_build_table(result)
        if args.plot:
            print(f"graph written to {args.plot}")
    return EXIT_OK


def cmd_train(args) -> int:
    from tlspec.validation import validate_file

    validated = validate_file(args.spec, args.overrides)
    from tlspec.cluster import resolve
    from tlspec.distribute import start

    options = validated.spec.distribute
    kind, cluster, notes = resolve(options.strategy, options.workers, args.workers, args.worker_index, os.environ)
    for note in notes:
        print(f"note: {note}")
    distribution = start(kind, options, cluster)  # before TensorFlow computes anything
    from tlspec.training import train

    progress_bars = sys.stdout.isatty() and not args.quiet
    result = train(validated, out=args.out, resume=args.resume, verbose=1 if progress_bars else 2,
                   distribution=distribution)
    if distribution.is_chief:
        print(f"run directory: {result.run.path}  ({result.seconds:.1f} s)")
    else:
        print(f"worker finished ({result.seconds:.1f} s); the chief wrote the run directory")
    _print_metrics(result.metrics)
    return EXIT_OK


def _print_metrics(metrics: dict) -> None:
    from rich.table import Table

    table = Table()
    for column in ("split", "head", "metric", "value"):
        table.add_column(column, no_wrap=True)
    reports = []
    for split, heads in metrics.items():
        for head, values in heads.items():
            if head == "total_loss":
                continue
            for metric, value in values.items():
                if metric == "per_tag":
                    reports.append((split, head, value))
                elif metric == "tokens":
                    table.add_row(split, head, metric, f"{value:,}")
                else:
                    table.add_row(split, head, metric, f"{value:.4f}")
    console = _console()
    console.print(table)
    for split, head, report in reports:
        per_tag = Table(title=f"{head} on {split}: per tag", title_justify="left")
        for column in ("tag", "precision", "recall", "f1", "support"):
            per_tag.add_column(column, justify="right" if column != "tag" else "left")
        for tag, row in sorted(report.items(), key=lambda item: -item[1]["support"]):
            per_tag.add_row(tag, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                            f"{row['support']:,}")
        console.print(per_tag)


def cmd_evaluate(args) -> int:
    from tlspec.evaluation import evaluate_run

    metrics = evaluate_run(args.run_dir, args.split)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        _print_metrics(metrics)
    return EXIT_OK


def cmd_predict(args) -> int:
    from tlspec.evaluation import predict_run

    if args.beam < 1:
        raise TlspecError(f"--beam must be at least 1, got {args.beam}")
    predictions = predict_run(args.run_dir, args.items, args.beam)
    if args.json:
        print(json.dumps(predictions, indent=2))
        return EXIT_OK
    for item in predictions:
        parts = []
        for head, result in item["heads"].items():
            if "text" in result:
                parts.append(f"{head}: {result['text']!r}")
            elif "tags" in result:
                tagged = " ".join(f"{token}/{tag}" for token, tag in zip(result["tokens"], result["tags"]))
                parts.append(f"{head}: {tagged}")
            elif "label" in result:
                parts.append(f"{head}={result['label']} ({result['probability']:.3f})")
            else:
                parts.append(f"{head}={result['values']}")
        print(f"{item['input']}: {'  '.join(parts)}")
    return EXIT_OK


def _print_build_table(result: dict) -> None:
    from rich.table import Table

    table = Table(title=f"{result['name']}", title_justify="left")
    for column in ("component", "role", "plugin", "layers", "output shape"):
        table.add_column(column, no_wrap=True)
    table.add_column("trainable", justify="right", no_wrap=True)
    table.add_column("frozen", justify="right", no_wrap=True)
    for row in result["components"]:
        shape = "(" + ", ".join("None" if d is None else str(d) for d in row["output_shape"]) + ")"
        table.add_row(row["name"], row["role"], row["plugin"], str(row["layers"]), shape,
                      f"{row['trainable']:,}", f"{row['frozen']:,}")
    params = result["params"]
    table.add_section()
    table.add_row("total", "", "", str(len(result["layers"])), "", f"{params['trainable']:,}",
                  f"{params['non_trainable']:,}")
    console = _console()
    console.print(table)
    inputs = ", ".join(f"{i['name']} {tuple(i['shape'])}" for i in result["inputs"])
    outputs = ", ".join(f"{o['name']} {tuple(o['shape'])}" for o in result["outputs"])
    console.print(f"inputs: {inputs}\noutputs: {outputs}\n"
                  f"parameters: {params['total']:,} total, {params['trainable']:,} trainable, "
                  f"{params['non_trainable']:,} non-trainable")


def _console():
    """A rich console that does not squeeze tables when output is piped."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def cmd_plugins(args) -> int:
    from tlspec.plugins import default_registry

    registry = default_registry()
    records = [{"kind": r.kind, "name": r.name, "distribution": r.origin.distribution,
                "version": r.origin.version, "entry_point": r.origin.entry_point,
                "summary": r.plugin.summary} for r in registry.all_records()]
    failures = [{"entry_point": f.origin.entry_point, "distribution": f.origin.distribution,
                 "version": f.origin.version, "error": f.error} for f in registry.failures]
    if args.json:
        print(json.dumps({"plugins": records, "failures": failures}, indent=2))
    else:
        from rich.table import Table

        table = Table()
        for column in ("kind", "name", "distribution", "version", "summary"):
            table.add_column(column)
        for record in records:
            table.add_row(record["kind"], record["name"], record["distribution"], record["version"],
                          record["summary"])
        console = _console()
        console.print(table)
        for failure in registry.failures:
            console.print(f"[red]failed:[/red] {failure}", highlight=False)
    return EXIT_OK if not failures else EXIT_FAILURE


def cmd_schema(args) -> int:
    from tlspec.json_schema import json_schema
    from tlspec.plugins import default_registry

    text = json.dumps(json_schema(default_registry()), indent=2)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
        print(f"schema written to {args.output}")
    else:
        print(text)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except SpecError as error:
        for problem in error.problems:
            print(f"{problem}", file=sys.stderr)
        count = len(error.problems)
        print(f"{getattr(args, 'spec', 'spec')}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return EXIT_SPEC
    except TlspecError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("TLSPEC_DEBUG"):
            raise
        print(f"internal error: {type(error).__name__}: {error}\n"
              "(this is a tlspec bug; rerun with TLSPEC_DEBUG=1 for the traceback and report it)",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
