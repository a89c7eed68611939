"""Data-parallel throughput: samples per second for one process, two workers and two mirrored replicas.

Run: .venv/bin/python bench/distributed.py [--rounds 3] [--batches 256,1024] [--json FILE]

The model is an MLP (784-512-512-10) on generated arrays, trained by ``tlspec
train`` from a spec and by the same network written by hand in Keras
(bench/handwritten_mlp.py), each as new processes on 127.0.0.1. Throughput is
the training set size over the median epoch time, leaving out the first epoch
(tracing). Configurations run interleaved, round after round, so whatever else
the machine does weighs on all of them alike.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tlspec.distribute.cluster import local_addresses

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SPEC = """
tlspec: 1
name: bench-mlp
seed: 0
backbone: {{plugin: mlp, input_shape: [784], units: [512, 512]}}
heads: [{{name: label, plugin: classifier, classes: 10}}]
data: {{plugin: arrays, train: data.npz, inputs: {{features: x}}, targets: {{label: y}}}}
train: {{epochs: {epochs}, batch_size: {batch}, optimizer: adam}}
{distribute}
"""


def run_all(commands: list[list[str]], cwd: Path) -> list[str]:
    processes = [subprocess.Popen(c, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for c in commands]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=1800)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(process.args)} failed:\n{err[-3000:]}")
        outputs.append(out)
    return outputs


def tlspec(folder: Path, batch: int, epochs: int, mode: str) -> list[float]:
    distribute = {"single": "", "workers": "distribute: multi_worker",
                  "mirrored": "distribute: {strategy: mirrored, cpu_devices: 2}"}[mode]
    spec = folder / f"{mode}-{batch}.yaml"
    spec.write_text(SPEC.format(epochs=epochs, batch=batch, distribute=distribute))
    out = Path(tempfile.mkdtemp(dir=folder))
    command = [PYTHON, "-m", "tlspec.cli", "train", str(spec), "--out", str(out / "run"), "--quiet"]
    if mode == "workers":
        workers = ",".join(local_addresses(2))
        run_all([command + ["--workers", workers, "--worker-index", str(i)] for i in (0, 1)], folder)
    else:
        run_all([command], folder)
    with open(out / "run" / "history.csv", newline="") as handle:
        return [float(row["seconds"]) for row in csv.DictReader(handle)]


def handwritten(folder: Path, batch: int, epochs: int, mode: str) -> list[float]:
    command = [PYTHON, str(REPO / "bench" / "handwritten_mlp.py"), str(folder / "data.npz"), str(batch), str(epochs)]
    if mode == "workers":
        workers = ",".join(local_addresses(2))
        outputs = run_all([command + [workers, str(i)] for i in (0, 1)], folder)
    else:
        outputs = run_all([command], folder)
    return json.loads(outputs[0].strip().splitlines()[-1])["epoch_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--examples", type=int, default=16384)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batches", default="256,1024")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    import numpy as np

    folder = Path(tempfile.mkdtemp(prefix="tlspec-bench-distributed-"))
    rng = np.random.default_rng(0)
    np.savez(folder / "data.npz", x=rng.random((args.examples, 784), dtype=np.float32),
             y=rng.integers(0, 10, args.examples).astype("int64"))
    batches = [int(b) for b in args.batches.split(",")]
    configurations = [(runner, mode, batch) for batch in batches
                      for runner, mode in (("handwritten", "single"), ("tlspec", "single"),
                                           ("handwritten", "workers"), ("tlspec", "workers"),
                                           ("tlspec", "mirrored"))]
    rates: dict[tuple, list[float]] = {c: [] for c in configurations}
    for round_index in range(args.rounds):
        for runner, mode, batch in configurations:
            function = tlspec if runner == "tlspec" else handwritten
            started = time.perf_counter()
            seconds = function(folder, batch, args.epochs, mode)
            rate = args.examples / statistics.median(seconds[1:])
            rates[(runner, mode, batch)].append(rate)
            print(f"round {round_index + 1}: {runner:11s} {mode:8s} batch {batch:5d}: {rate:9.0f} samples/s "
                  f"({time.perf_counter() - started:.0f} s with start-up)", flush=True)

    print(f"\n{os.cpu_count()} CPU cores; {args.examples} examples; medians of {args.rounds} rounds\n")
    print("| global batch | setup | hand-written Keras | tlspec | tlspec / hand-written |")
    print("|---|---|---|---|---|")
    summary = {}
    for batch in batches:
        for mode, label in (("single", "1 process"), ("workers", "2 workers (127.0.0.1)"),
                            ("mirrored", "mirrored, 2 logical CPUs")):
            ours = statistics.median(rates[("tlspec", mode, batch)])
            theirs = statistics.median(rates[("handwritten", mode, batch)]) if mode != "mirrored" else None
            summary[f"{mode}-{batch}"] = {"tlspec": ours, "handwritten": theirs}
            ratio = f"{ours / theirs:.2f}" if theirs else "–"
            print(f"| {batch} | {label} | {f'{theirs:,.0f}' if theirs else '–'} | {ours:,.0f} | {ratio} |")
        single = statistics.median(rates[("tlspec", "single", batch)])
        print(f"| {batch} | 2 workers / 1 process (tlspec) | | "
              f"{statistics.median(rates[('tlspec', 'workers', batch)]) / single:.2f}x | |")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "raw": {"-".join(map(str, k)): v
                                                                      for k, v in rates.items()}}, indent=2))


if __name__ == "__main__":
    main()
