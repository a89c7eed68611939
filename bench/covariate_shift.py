"""Importance weighting under covariate shift: target-domain error with and without weights, per seed.

Run: .venv/bin/python bench/covariate_shift.py [--seeds 10]

The problem is the one the tests generate (tests/training/covariate_shift.py): y = -x + x^3 + noise, training
inputs x ~ N(0.5, 0.5^2), target inputs x ~ N(0, 0.3^2), a linear model; the noise alone gives a
mean squared error of 0.09. Each seed draws new data and trains both arms from the same initial weights.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "training"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()

    import keras
    from covariate_shift import write_problem

    import tlspec

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            spec = write_problem(Path(folder) / str(seed), seed)
            row = {"seed": seed}
            for method in ("none", "importance_weighting"):
                keras.backend.clear_session()
                result = tlspec.train(spec, [f"adapt.method={method}"], out=Path(folder) / f"{seed}-{method}",
                                      verbose=0)
                row[method] = result.metrics["target_test"]["y"]["loss"]
                if method != "none":
                    row.update(result.run.read_json("run.json")["adapt"])
            rows.append(row)
            print(f"seed {seed}: target MSE unweighted {row['none']:.4f}, weighted {row['importance_weighting']:.4f}",
                  flush=True)
    print("\n| seed | target MSE, unweighted | target MSE, weighted | effective sample size | domain AUC |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['seed']} | {row['none']:.4f} | {row['importance_weighting']:.4f} | "
              f"{row['effective_sample_size']:.0f} / {row['train_examples']} | {row['domain_auc']:.3f} |")
    unweighted = [r["none"] for r in rows]
    weighted = [r["importance_weighting"] for r in rows]
    print(f"| mean ± sd | {statistics.mean(unweighted):.4f} ± {statistics.stdev(unweighted):.4f} | "
          f"{statistics.mean(weighted):.4f} ± {statistics.stdev(weighted):.4f} | | |")
    better = sum(w < u for w, u in zip(weighted, unweighted))
    print(f"\nweighting lowered the target error on {better} of {len(rows)} seeds; "
          f"mean ratio weighted/unweighted {statistics.mean(w / u for w, u in zip(weighted, unweighted)):.3f}")


if __name__ == "__main__":
    main()
