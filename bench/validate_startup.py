"""CPU time of `tlspec validate SPEC` from a cold start (a fresh Python process), for image and text specs.

Run: .venv/bin/python bench/validate_startup.py [--repeats 5] [SPEC ...]   (text specs need ../shared/data)

Each spec is validated in a fresh process, as a user runs it, with its own empty TLSPEC_CACHE: the
first run builds the plugin index (and, for a text source, describes the corpus and keeps the
description); the next runs are what every later `validate` costs (answered from the last result while
nothing the check read has changed); `--no-cache` runs check everything again, with the plugin index and
the description already kept (what a run after an edit of the spec costs). The CPU time is the child's user +
system time (getrusage), Python's own start included; `python -c pass` is shown for comparison.
Bytecode is written as a user's machine writes it (PYTHONDONTWRITEBYTECODE is unset for the children,
and one unmeasured run writes it first), so compiling sources is not counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
IMAGE_SPECS = ["cats_dogs_mobilenet", "vgg16_cats_dogs", "mobilenet_two_depths", "quickstart_source",
               "small_cnn_plugin"]
TEXT_SPECS = ["pos_treebank_rnn", "chunk_pos_multitask", "bert_brown_pretrain", "hindi_sentiment",
              "urdu_scratch", "seq2seq_two_decoders"]


def cpu_seconds(command: list[str], env: dict) -> float:
    """User + system CPU seconds of one child process that must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(spec: str, repeats: int, env: dict) -> tuple[float, float, float]:
    """(first run, median of the next ``repeats``, median of as many ``--no-cache`` runs) CPU seconds, in
    a cache folder of the spec's own."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(env, TLSPEC_CACHE=cache)
        command = [sys.executable, "-m", "tlspec.cli", "validate", str(REPO / "specs" / f"{spec}.yaml")]
        first = cpu_seconds(command, env)
        warm = statistics.median(cpu_seconds(command, env) for _ in range(repeats))
        checked = statistics.median(cpu_seconds([*command, "--no-cache"], env) for _ in range(repeats))
        return first, warm, checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("specs", nargs="*", help="spec names under specs/ (default: the image and text specs)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("NLTK_DATA", str(DATA / "nltk_data"))
    chosen = args.specs or IMAGE_SPECS + (TEXT_SPECS if DATA.is_dir() else [])
    with tempfile.TemporaryDirectory() as cache:  # writes the bytecode of everything validate imports
        for spec in chosen:
            cpu_seconds([sys.executable, "-m", "tlspec.cli", "validate", str(REPO / "specs" / f"{spec}.yaml")],
                        dict(env, TLSPEC_CACHE=cache))
    python = statistics.median(cpu_seconds([sys.executable, "-c", "pass"], env) for _ in range(args.repeats))
    print(f"python -c pass: {python:.3f} s CPU")
    print(f"{'spec':<24} {'kind':<6} {'first run':>10} {'next runs':>10} {'--no-cache':>11}   "
          f"(CPU seconds; median of {args.repeats})")
    for spec in chosen:
        first, warm, checked = measure(spec, args.repeats, env)
        kind = "text" if spec in TEXT_SPECS else "image"
        print(f"{spec:<24} {kind:<6} {first:>10.3f} {warm:>10.3f} {checked:>11.3f}", flush=True)


if __name__ == "__main__":
    main()
