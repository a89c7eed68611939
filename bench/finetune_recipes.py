"""Three fine-tuning recipes on cats-vs-dogs, each with several seeds through `tlspec sweep --seeds`.

    .venv/bin/python bench/finetune_recipes.py [--seeds 5] [--out sweeps/recipes]

All three train the head on cached features first (10 epochs at 1e-3), then fine-tune for 6 epochs:

- ``current``: specs/cats_dogs_mobilenet.yaml as it is, the blocks above conv_pw_9_relu at 1e-4;
- ``single``: the whole network at one learning rate, 1e-4;
- ``decay``: the whole network with layer-wise decay 0.7 per block from the top (1e-4 at the top).

It prints the test accuracy, mean ± sd over the seeds, and the wall time of each recipe.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "specs" / "cats_dogs_mobilenet.yaml"
RECIPES = {
    "current": [],
    "single": ["train.phases.finetune.freeze=none"],
    "decay": ["train.phases.finetune.freeze=none", "train.phases.finetune.layer_rates={decay: 0.7}"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("sweeps") / "recipes")
    args = parser.parse_args()
    from tlspec.runs.sweep import open_sweep, run_sweep

    lines = []
    for name, overrides in RECIPES.items():
        started = time.perf_counter()
        sweep = open_sweep(SPEC, overrides, args.out / name, seeds=args.seeds)
        (row,) = run_sweep(sweep)
        mean, sd = row["test"]["animal_accuracy"]
        per_seed = [round(value, 4) for value in _accuracies(row)]
        lines.append(f"{name:<8} test accuracy {mean:.4f} ± {sd:.4f} over {args.seeds} seeds {per_seed}, "
                     f"{time.perf_counter() - started:.0f} s")
        print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))


def _accuracies(row: dict) -> list[float]:
    import json

    values = []
    for run in row["runs"]:
        metrics = json.loads((Path(run) / "metrics.json").read_text())
        values.append(metrics["test"]["animal"]["accuracy"])
    return values


if __name__ == "__main__":
    main()
