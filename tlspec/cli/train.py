"""``tlspec train SPEC``: train; write a run directory (one worker of a cluster with --workers)."""

from __future__ import annotations

import sys
from pathlib import Path

from tlspec.cli.arguments import add_spec_arguments
from tlspec.cli.output import print_metrics
from tlspec.errors import TlspecError


def register(commands) -> None:
    parser = commands.add_parser("train", help="train the model; write a run directory",
                                 description="Train SPEC; or continue an interrupted run: tlspec train RUN_DIR "
                                             "--resume (it reads the run's own spec, so no --set is needed).")
    add_spec_arguments(parser)
    parser.add_argument("--out", type=Path, metavar="DIR", help="run directory (default: runs/<name>-<time>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run (--out DIR, or the latest run of this spec)")
    parser.add_argument("--quiet", action="store_true", help="one line per epoch instead of progress bars")
    cluster = parser.add_argument_group("multi-worker training (every worker runs the same command)")
    cluster.add_argument("--workers", metavar="HOST:PORT,...",
                         help="all workers' addresses, the chief first (instead of TF_CONFIG or distribute.workers)")
    cluster.add_argument("--worker-index", type=int, metavar="N", help="which of the workers this process is")
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec
    from tlspec.training.stopwatch import describe, process_age

    startup = process_age()  # Python, tlspec and the CLI, before the spec is read
    verbose = 1 if sys.stdout.isatty() and not args.quiet else 2
    if args.spec.is_dir():
        result = tlspec.resume(_run_dir(args), workers=args.workers, worker_index=args.worker_index, verbose=verbose)
    else:
        validated = tlspec.validate(args.spec, args.overrides)
        if startup is not None:
            validated.timings = {"start-up": startup, **validated.timings}
        result = tlspec.train(validated, out=args.out, resume=args.resume, workers=args.workers,
                              worker_index=args.worker_index, verbose=verbose)
    if result.is_chief:
        print(f"run directory: {result.run.path}  ({result.seconds:.1f} s)")
        print(describe(result.timings))
    else:
        print(f"worker finished ({result.seconds:.1f} s); the chief wrote the run directory")
    print_metrics(result.metrics)
    return 0


def _run_dir(args) -> Path:
    """``tlspec train RUN_DIR --resume``: the run directory, checked against the other options."""
    if not args.resume:
        raise TlspecError(f"{args.spec} is a directory; to continue the run in it, add --resume "
                          "(to train a spec, give the spec file)")
    if args.overrides:
        raise TlspecError("--set cannot change a run being resumed from its directory: it continues with its own "
                          "spec (start a new run to change it)")
    if args.out is not None and args.out.resolve() != args.spec.resolve():
        raise TlspecError(f"--out {args.out} names another directory than the run to resume ({args.spec})")
    return args.spec
