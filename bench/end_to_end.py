"""End to end: `tlspec train specs/cats_dogs_mobilenet.yaml` against the same recipe written by hand.

Run: .venv/bin/python bench/end_to_end.py [--pairs 3] [--keep DIR] [--warm-cache]   (needs ../shared/data)

With --warm-cache, tlspec runs with train.persistent_cache on, in a fresh cache directory that one
run before the pairs fills (that first run is timed and shown too): the pairs time second runs.

Both run as whole processes, as a user runs them, interleaved (tlspec, hand-written, tlspec, …) so
that a machine slowing down slows both. Each process's wall time and peak resident memory (its own,
from wait4) are taken; the table gives the medians, their ratios, both test accuracies, and
tlspec's own breakdown of its last run (run.json's timings).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "specs" / "cats_dogs_mobilenet.yaml"
HANDWRITTEN = REPO / "bench" / "handwritten_cats_dogs.py"


def timed(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one process that must succeed."""
    with tempfile.TemporaryFile() as stderr:  # a file, not a pipe: a full pipe would block the child
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
        if process.returncode != 0:
            stderr.seek(0)
            sys.exit(f"{' '.join(command)} failed:\n{stderr.read().decode(errors='replace')[-3000:]}")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the run directories here")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="a --set for tlspec (the hand-written recipe is fixed)")
    parser.add_argument("--warm-cache", action="store_true",
                        help="time tlspec's second run with train.persistent_cache (a first run fills it)")
    args = parser.parse_args()
    if not (REPO.parent / "shared" / "data" / "cats_vs_dogs").exists():
        sys.exit("../shared/data/cats_vs_dogs is not present")
    root = args.keep or Path(tempfile.mkdtemp(prefix="end_to_end-"))
    sets = [part for override in args.overrides for part in ("--set", override)]
    results: dict[str, list] = {"tlspec": [], "hand-written": []}
    accuracy: dict[str, list] = {"tlspec": [], "hand-written": []}
    env = None
    if args.warm_cache:
        env = {**os.environ, "TLSPEC_CACHE": str(root / "cache")}
        sets += ["--set", "train.persistent_cache=true"]
        first = timed([sys.executable, "-m", "tlspec.cli", "train", str(SPEC), "--out", str(root / "tlspec-first"),
                       "--quiet", *sets], env)
        print(f"first run, filling the persistent cache: {first[0]:.1f} s, {first[1]:.0f} MiB", flush=True)
    for pair in range(args.pairs):
        out = root / f"tlspec-{pair}"
        results["tlspec"].append(timed([sys.executable, "-m", "tlspec.cli", "train", str(SPEC), "--out", str(out),
                                        "--quiet", *sets], env))
        accuracy["tlspec"].append(json.loads((out / "metrics.json").read_text())["test"]["animal"]["accuracy"])
        hand = root / f"handwritten-{pair}"
        results["hand-written"].append(timed([sys.executable, str(HANDWRITTEN), str(hand)]))
        accuracy["hand-written"].append(json.loads((hand / "metrics.json").read_text())["test"]["accuracy"])
        print(f"pair {pair + 1}: tlspec {results['tlspec'][-1][0]:.1f} s, "
              f"hand-written {results['hand-written'][-1][0]:.1f} s", flush=True)

    wall = {name: statistics.median(s for s, _ in runs) for name, runs in results.items()}
    memory = {name: statistics.median(m for _, m in runs) for name, runs in results.items()}
    label = " (tlspec: second runs, persistent cache warm)" if args.warm_cache else ""
    print(f"\n| {args.pairs} interleaved pairs{label} | wall (median) | peak memory | test accuracy |")
    print("|---|---|---|---|")
    for name in results:
        accuracies = ", ".join(f"{a:.4f}" for a in accuracy[name])
        print(f"| {name} | {wall[name]:.1f} s | {memory[name]:.0f} MiB | {accuracies} |")
    print(f"| tlspec / hand-written | {wall['tlspec'] / wall['hand-written']:.3f}x | "
          f"{memory['tlspec'] / memory['hand-written']:.3f}x | |")
    timings = json.loads((root / f"tlspec-{args.pairs - 1}" / "run.json").read_text())["timings"]
    print("\ntlspec's last run, by stage:\n\n| stage | seconds |\n|---|---|")
    for stage, seconds in timings.items():
        print(f"| {stage} | {seconds:.2f} |")
    print(f"\nrun directories: {root}")


if __name__ == "__main__":
    main()
