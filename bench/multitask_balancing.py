"""Multitask loss balancing on CoNLL-2000: the shared-encoder POS + chunk model with static weights,
uncertainty weighting and GradNorm, against the two single-task models, on one split with 3 seeds.

Run:  .venv/bin/python bench/multitask_balancing.py OUT_DIR              (15 runs, about 70 min on 2 cores)
      .venv/bin/python bench/multitask_balancing.py OUT_DIR --summarize  (only the table of finished runs)
A run whose metrics.json exists is not trained again, so a stopped bench continues. Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "specs" / "chunk_pos_multitask.yaml"
SPLIT_SEED = 4  # the spec's own seed: every run tests on the same sentences
SEEDS = (0, 1, 2)
ONLY = "heads=[{{name: {0}, plugin: token_classifier, from: encoder, classes: from_data}}]"
CONFIGS = {
    "static": ["train.loss_balancing=static"],
    "uncertainty": ["train.loss_balancing=uncertainty"],
    "gradnorm": ["train.loss_balancing=gradnorm"],
    "pos_only": [ONLY.format("pos"), "data.targets={pos: pos}"],
    "chunk_only": [ONLY.format("chunk"), "data.targets={chunk: chunk}"],
}
HEADS = {"static": ("pos", "chunk"), "uncertainty": ("pos", "chunk"), "gradnorm": ("pos", "chunk"),
         "pos_only": ("pos",), "chunk_only": ("chunk",)}


def train(out: Path, config: str, seed: int) -> None:
    run = out / f"{config}-seed{seed}"
    if (run / "metrics.json").exists():
        return
    command = [sys.executable, "-m", "tlspec.cli", "train", str(SPEC), "--out", str(run), "--quiet",
               "--set", f"seed={seed}", "--set", f"data.split_seed={SPLIT_SEED}"]
    for override in CONFIGS[config]:
        command += ["--set", override]
    if (run / "state" / "state.json").exists():  # stopped after a finished epoch: continue it
        command.append("--resume")
    elif run.exists():  # stopped before its first epoch ended: nothing to continue
        shutil.rmtree(run)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def results(out: Path, config: str) -> tuple[dict[str, list[float]], list[float], list[dict]]:
    """Per head the test token accuracies of the finished seeds, the run times, the last epoch's rows."""
    accuracies, seconds, last_rows = {head: [] for head in HEADS[config]}, [], []
    for seed in SEEDS:
        run = out / f"{config}-seed{seed}"
        if not (run / "metrics.json").exists():
            continue
        test = json.loads((run / "metrics.json").read_text())["test"]
        for head in HEADS[config]:
            accuracies[head].append(test[head]["token_accuracy"] if head in test else test["token_accuracy"])
        seconds.append(json.loads((run / "run.json").read_text())["seconds"])
        state = json.loads((run / "state" / "state.json").read_text())
        last_rows.append(state.get("balancing") or {})
    return accuracies, seconds, last_rows


def mean_sd(values: list[float]) -> str:
    if not values:
        return "–"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f} (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args()
    if not args.summarize:
        for seed in SEEDS:  # seed-major: a partial bench still compares every config
            for config in CONFIGS:
                train(args.out, config, seed)
    print("| model | POS token accuracy | chunk token accuracy | final weights (pos, chunk) | time per run |")
    print("|---|---|---|---|---|")
    for config in CONFIGS:
        accuracies, seconds, states = results(args.out, config)
        weights = "; ".join(_weights(state) for state in states if state) or "1, 1"
        time = f"{statistics.mean(seconds):.0f} s" if seconds else "–"
        print(f"| {config} | {mean_sd(accuracies.get('pos', []))} | {mean_sd(accuracies.get('chunk', []))} | "
              f"{weights} | {time} |")


def _weights(state: dict) -> str:
    """The effective weights the balancing ended with (pos, chunk)."""
    import math

    parameters = state["parameters"]
    if state["method"] == "uncertainty":
        values = [math.exp(-p) for p in parameters]
    else:
        exps = [math.exp(p) for p in parameters]
        values = [len(exps) * e / sum(exps) for e in exps]
    order = [state["heads"].index(head) for head in ("pos", "chunk")]
    return ", ".join(f"{values[i]:.2f}" for i in order)


if __name__ == "__main__":
    main()
