"""Urdu sentiment (positive vs negative) from Hindi: test accuracy by label budget, with and without
Hindi pretraining, over several seeds.

Run: .venv/bin/python bench/urdu_from_hindi.py [--seeds 5] [--budgets 50,100,all] [--json FILE]
(needs ../shared/data/sentiment; about 10 minutes on 2 CPU cores)

For each seed: pretrain the character network on Hindi (specs/hindi_sentiment_weighted.yaml, once
unweighted and once with importance weights towards Urdu) and record its zero-shot accuracy on the
Urdu test tweets; then for each budget train on that many Urdu labels from scratch
(specs/urdu_scratch.yaml) and from each pretrained network (specs/urdu_from_hindi.yaml). The 195
Urdu test tweets are the same everywhere (split_seed 0); the seed changes the Hindi split, the
labelled Urdu sample, the initial weights and the data order.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
ARMS = {"scratch": "no Hindi (from scratch)", "hindi": "Hindi pretraining",
        "hindi_weighted": "Hindi pretraining, importance-weighted"}


def run(spec: str, overrides: list[str], out: Path) -> dict:
    import keras

    import tlspec

    keras.backend.clear_session()
    return tlspec.train(tlspec.validate(SPECS / spec, overrides), out=out, verbose=0).metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budgets", default="50,100,all")
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args()
    if not (REPO.parent / "shared" / "data" / "sentiment").exists():
        sys.exit("../shared/data/sentiment is not present")
    budgets = args.budgets.split(",")

    results: list[dict] = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            models = {}
            for arm, method in (("hindi", "none"), ("hindi_weighted", "importance_weighting")):
                out = Path(folder) / f"{arm}-{seed}"
                metrics = run("hindi_sentiment_weighted.yaml", [f"seed={seed}", f"adapt.method={method}"], out)
                models[arm] = out / "model.keras"
                results.append({"seed": seed, "arm": arm, "budget": 0,
                                "accuracy": metrics["target_test"]["sentiment"]["accuracy"],
                                "hindi_test_accuracy": metrics["test"]["sentiment"]["accuracy"]})
            for budget in budgets:
                limit = "null" if budget == "all" else budget
                common = [f"seed={seed}", f"data.train_limit={limit}"]
                for arm in ARMS:
                    spec, extra = ("urdu_scratch.yaml", []) if arm == "scratch" else \
                        ("urdu_from_hindi.yaml", [f"backbone.path={models[arm]}"])
                    metrics = run(spec, common + extra, Path(folder) / f"{arm}-{budget}-{seed}")
                    results.append({"seed": seed, "arm": arm, "budget": budget,
                                    "accuracy": metrics["test"]["sentiment"]["accuracy"]})
                    print(f"seed {seed} budget {budget:>3} {arm:15s} {results[-1]['accuracy']:.4f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(table(results, budgets, args.seeds))


def table(results: list[dict], budgets: list[str], seeds: int) -> str:
    def cell(arm, budget):
        values = [r["accuracy"] for r in results if r["arm"] == arm and r["budget"] == budget]
        if not values:
            return "–"
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.3f} ± {spread:.3f}"

    columns = ["0 (zero-shot)"] + [f"{b}" for b in budgets]
    lines = [f"Urdu test accuracy (195 tweets, positive vs negative, mean ± sd over {seeds} seeds)", "",
             "| Urdu labels | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for arm, label in ARMS.items():
        lines.append(f"| {label} | " + " | ".join([cell(arm, 0)] + [cell(arm, b) for b in budgets]) + " |")
    hindi = [r["hindi_test_accuracy"] for r in results if r["budget"] == 0 and r["arm"] == "hindi"]
    weighted = [r["hindi_test_accuracy"] for r in results if r["budget"] == 0 and r["arm"] == "hindi_weighted"]
    lines += ["", f"Hindi test accuracy of the pretrained networks: {statistics.mean(hindi):.3f} (unweighted), "
                  f"{statistics.mean(weighted):.3f} (weighted)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
