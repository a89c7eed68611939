"""``tlspec report RUN_DIR``: one self-contained HTML page about a run, readable offline."""

from __future__ import annotations

from pathlib import Path


def register(commands) -> None:
    parser = commands.add_parser("report", help="write an HTML report of a trained run (one file, works offline)")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                        help="where to write it (default: RUN_DIR/report.html)")
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec

    path = tlspec.report(args.run_dir, args.output)
    print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return 0
