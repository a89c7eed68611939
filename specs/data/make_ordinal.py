"""Writes ordinal.csv: five ordered grades of a latent score that depends on four features.

The score is linear in the features plus noise; the grade is the score cut at four thresholds,
so neighbouring grades blur into each other, as ratings do. Run: python make_ordinal.py
"""

import csv
from pathlib import Path

import numpy as np

rng = np.random.default_rng(5)
rows = 600
x = rng.normal(size=(rows, 4))
score = x @ np.array([1.0, -0.8, 0.6, 0.4]) + rng.normal(scale=0.35, size=rows)
grade = np.digitize(score, [-1.2, -0.4, 0.4, 1.2])  # 0..4
with (Path(__file__).parent / "ordinal.csv").open("w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(["f1", "f2", "f3", "f4", "grade"])
    for features, label in zip(x, grade):
        writer.writerow([f"{v:.4f}" for v in features] + [int(label)])
