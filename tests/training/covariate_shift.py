"""A covariate-shift problem made on the fly: the same P(y|x) in both domains, P(x) moved.

y = -x + x^3 + noise (sd 0.3); training inputs x ~ N(0.5, 0.5^2), target inputs
x ~ N(0, 0.3^2) (Shimodaira 2000). A linear model fits the cubic differently in
each region, so the unweighted fit is wrong where the target lives and
importance weighting should move it there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NOISE = 0.3


def sample(rng: np.random.Generator, count: int, mean: float, sd: float) -> dict[str, np.ndarray]:
    x = rng.normal(mean, sd, (count, 1)).astype(np.float32)
    y = (-x + x ** 3 + rng.normal(0, NOISE, (count, 1))).astype(np.float32)
    return {"x": x, "y": y}


def write_problem(folder: Path, seed: int, train: int = 300, target: int = 300, test: int = 1000) -> Path:
    """Write the four .npz files and a spec using them; return the spec's path."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = {"train": sample(rng, train, 0.5, 0.5), "validation": sample(rng, 100, 0.5, 0.5),
             "target_inputs": sample(rng, target, 0.0, 0.3), "target_test": sample(rng, test, 0.0, 0.3)}
    for name, arrays in files.items():
        np.savez(folder / f"{name}.npz", **arrays)
    spec = folder / "covariate_shift.yaml"
    spec.write_text(SPEC.format(seed=seed), encoding="utf-8")
    return spec


SPEC = """\
tlspec: 1
name: covariate-shift
seed: {seed}
inputs:
  x: {{shape: [1]}}
backbone: {{plugin: mlp, from: inputs.x, units: [1], activation: linear}}
heads:
  - {{name: y, plugin: regression, loss: mse}}
data:
  plugin: arrays
  train: train.npz
  validation: validation.npz
  inputs: {{x: x}}
  targets: {{y: y}}
adapt:
  target:
    plugin: arrays
    train: target_inputs.npz
    test: target_test.npz
    inputs: {{x: x}}
    targets: {{y: y}}
  classifier: {{hidden: [], epochs: 40, learning_rate: 0.05}}
train:
  epochs: 60
  batch_size: 32
  optimizer: {{name: adam, learning_rate: 0.03}}
"""
