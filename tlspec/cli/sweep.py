"""``tlspec sweep SPEC``: several seeds, or an Optuna search over the spec's ``sweep:`` space."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tlspec.cli.arguments import add_json_argument, add_spec_arguments
from tlspec.cli.output import console
from tlspec.errors import TlspecError


def register(commands) -> None:
    parser = commands.add_parser("sweep", help="run seeds or a search over spec values (Optuna; the sweep extra)")
    add_spec_arguments(parser)
    parser.add_argument("--seeds", type=int, default=None, metavar="N", help="runs per trial (default: sweep.seeds)")
    parser.add_argument("--trials", type=int, default=None, metavar="N", help="trials (default: sweep.trials)")
    parser.add_argument("--parallel", type=int, default=None, metavar="N", help="trials at once (default: "
                                                                                "sweep.parallel)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="the sweep directory (default: sweeps/<name>); the same one again resumes the sweep")
    parser.add_argument("--best", type=Path, default=None, metavar="FILE",
                        help="where to write the best spec (default: <spec>.best.yaml beside the spec)")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)  # a parallel trial process
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    from tlspec.runs.sweep import best_row, open_sweep, run_sweep, write_best_spec

    for name, value in (("--seeds", args.seeds), ("--trials", args.trials), ("--parallel", args.parallel)):
        if value is not None and value < 1:
            raise TlspecError(f"{name} must be at least 1, got {value}")
    sweep = open_sweep(args.spec, args.overrides, args.out, args.seeds, args.trials, args.parallel)
    rows = run_sweep(sweep, worker=args.worker)
    if args.worker is not None:
        return 0
    (sweep.out / "results.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    best = best_row(rows, sweep.maximize)
    if args.json:
        print(json.dumps({"trials": rows, "best": best}, indent=2))
    else:
        console().print(_table(rows, sweep))
    if best is None:
        raise TlspecError(f"no trial of {sweep.out} finished; see the messages above")
    if sweep.dimensions:
        path = write_best_spec(sweep, best, args.best)
        console().print(f"best: trial {best['trial']}, {sweep.monitor} {best['value']:.4f}; its spec: {path}",
                        highlight=False)
    return 0


def _table(rows: list[dict], sweep):
    from rich.table import Table

    table = Table(title=f"{sweep.out}: {len(rows)} trial(s), {sweep.seeds} seed(s) each", title_justify="left")
    keys = [dimension.key for dimension in sweep.dimensions]
    tests = sorted({name for row in rows for name in row["test"]})
    for column in ("trial", "state", *keys, f"{sweep.monitor} (best)", *(f"test {name}" for name in tests)):
        table.add_column(column, justify="left" if column in ("state", *keys) else "right")
    for row in rows:
        values = row["values"]
        mean = _mean_sd(values) if values else "–"
        cells = [_value(row["params"].get(key)) for key in keys]
        seeds = len(values)
        table.add_row(str(row["trial"]), row["state"], *cells, mean,
                      *(_pair(row["test"].get(name), seeds) for name in tests))
    return table


def _mean_sd(values: list[float]) -> str:
    from tlspec.runs.sweep import mean_sd

    return _pair(list(mean_sd(values))) if len(values) > 1 else f"{values[0]:.4f}"


def _pair(pair, count: int = 2) -> str:
    """``mean ± sd``; one run's value alone."""
    if not pair:
        return "–"
    mean, sd = pair
    return f"{mean:.4f} ± {sd:.4f}" if count > 1 else f"{mean:.4f}"


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "–" if value is None else str(value)
