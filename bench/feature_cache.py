"""Frozen-feature caching: epoch time and accuracy, cached vs uncached, on the same spec, in one run.

Run: .venv/bin/python bench/feature_cache.py [--epochs N]   (needs ../shared/data)

The spec is specs/cats_dogs_mobilenet.yaml reduced to its frozen "head" phase.
Both paths train from the same seed; the uncached path's first epoch also
decodes the images into the in-memory cache, so epoch times are compared as
medians of the epochs after the first. The cached path's one-off feature
extraction is reported separately and included in its total.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "specs" / "cats_dogs_mobilenet.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    if not (REPO.parent / "shared" / "data" / "cats_vs_dogs").exists():
        sys.exit("../shared/data/cats_vs_dogs is not present")

    import tlspec

    results = {}
    for cache in ("false", "true"):
        overrides = [f"train.phases=[{{name: head, epochs: {args.epochs}, learning_rate: 0.001}}]",
                     f"train.cache_features={cache}"]
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            result = tlspec.train(tlspec.validate(SPEC, overrides), out=Path(out) / "run", verbose=0)
            total = time.perf_counter() - started
        epochs = [row["seconds"] for row in result.history]
        results["cached" if cache == "true" else "uncached"] = {
            "first_epoch_s": epochs[0],
            "median_later_epoch_s": statistics.median(epochs[1:]),
            "training_total_s": round(result.phases[0]["seconds"], 2),
            "run_total_s": round(total, 2),
            "test_accuracy": round(result.metrics["test"]["animal"]["accuracy"], 4),
        }
    ratio = results["uncached"]["median_later_epoch_s"] / results["cached"]["median_later_epoch_s"]
    phase_ratio = results["uncached"]["training_total_s"] / results["cached"]["training_total_s"]
    results["epoch_speedup"] = round(ratio, 1)
    results["phase_speedup_including_extraction"] = round(phase_ratio, 1)
    for name in ("uncached", "cached"):
        row = results[name]
        print(f"{name:9s} first epoch {row['first_epoch_s']:.2f} s, later epochs {row['median_later_epoch_s']:.3f} s, "
              f"phase {row['training_total_s']:.1f} s, test accuracy {row['test_accuracy']:.4f}")
    print(f"epoch speed-up (cached over uncached): {ratio:.1f}x; whole phase incl. feature extraction: "
          f"{phase_ratio:.1f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
