"""Writes related_tasks.csv: two regression tasks that share most of their structure.

y_a and y_b are the same smooth function of the 6 features except for a small
task-specific term, plus noise: the setting where tying two task towers (soft
parameter sharing) is meant to help. Run: python make_related_tasks.py
"""

import csv
from pathlib import Path

import numpy as np

rng = np.random.default_rng(11)
rows = 400
x = rng.normal(size=(rows, 6))
shared = np.tanh(x @ rng.normal(size=6)) + 0.5 * np.sin(x[:, 0] * x[:, 1])
y_a = shared + 0.2 * x[:, 2] + rng.normal(scale=0.1, size=rows)
y_b = shared - 0.2 * x[:, 3] + rng.normal(scale=0.1, size=rows)
with (Path(__file__).parent / "related_tasks.csv").open("w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow([f"x{i}" for i in range(1, 7)] + ["y_a", "y_b"])
    for features, a, b in zip(x, y_a, y_b):
        writer.writerow([f"{v:.5f}" for v in (*features, a, b)])
