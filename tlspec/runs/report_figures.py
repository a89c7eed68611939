"""The report's pictures, drawn with matplotlib and returned as PNG data URIs (the report is one file)."""

from __future__ import annotations

import base64
import io

DPI = 80
SKIPPED_COLUMNS = {"epoch", "phase", "seconds", "learning_rate"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def data_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    _pyplot().close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def curves(rows: list[dict], best_epoch: int | None, monitor: str | None) -> str | None:
    """One panel per quantity (loss, each metric), training solid and validation dashed; phase boundaries
    dotted and named; the epoch whose weights were kept marked."""
    if not rows:
        return None
    plt = _pyplot()
    names = [k for k in rows[0] if k not in SKIPPED_COLUMNS and not k.startswith("val_")]
    figure, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.2), squeeze=False)
    epochs = [row["epoch"] for row in rows]
    for axis, name in zip(axes[0], names):
        line, = axis.plot(epochs, [_number(row.get(name)) for row in rows], label=name)
        if f"val_{name}" in rows[0]:
            axis.plot(epochs, [_number(row.get(f"val_{name}")) for row in rows], "--", color=line.get_color(),
                      label=f"val_{name}")
        _phases(axis, rows)
        if best_epoch is not None:
            axis.axvline(best_epoch, color="#c0392b", linewidth=1, alpha=0.7,
                         label=f"kept: epoch {best_epoch}" + (f" (best {monitor})" if monitor else ""))
        axis.set_xlabel("epoch")
        axis.set_title(name, fontsize=10)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    return data_uri(figure)


def learning_rate(rows: list[dict]) -> str | None:
    values = [_number(row.get("learning_rate")) for row in rows]
    if not rows or all(value is None for value in values):
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 2.4))
    axis.step([row["epoch"] for row in rows], values, where="mid")
    if all(value and value > 0 for value in values):
        axis.set_yscale("log")
    _phases(axis, rows)
    axis.set_xlabel("epoch")
    axis.set_ylabel("learning rate")
    axis.grid(alpha=0.3)
    return data_uri(figure)


def confusion(matrix: list[list[int]], classes: list[str]) -> str:
    """Counts in each cell; colour by the share of the true class (row), so small classes show too."""
    import numpy as np

    plt = _pyplot()
    counts = np.asarray(matrix, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = min(12.0, max(3.4, 1.2 + 0.55 * len(classes)))
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    if len(classes) <= 30:
        for (row, column), count in np.ndenumerate(counts):
            axis.text(column, row, f"{int(count)}", ha="center", va="center", fontsize=8,
                      color="white" if shares[row, column] > 0.6 else "black")
    axis.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(classes)), classes, fontsize=8)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    return data_uri(figure)


def reliability(calibration: dict) -> str:
    """Accuracy against confidence per bin, beside the diagonal of perfect calibration; bin sizes below."""
    plt = _pyplot()
    bins = calibration["bins"]
    centres = [(b["lower"] + b["upper"]) / 2 for b in bins]
    width = bins[0]["upper"] - bins[0]["lower"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(4.6, 4.6), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1]})
    top.bar(centres, [b["accuracy"] or 0 for b in bins], width=width * 0.9, color="#4c72b0",
            label=calibration["accuracy"])
    top.plot([0, 1], [0, 1], "--", color="#999999", label="perfect calibration")
    top.set_ylim(0, 1)
    top.set_ylabel(calibration["accuracy"])
    ece = calibration["ece"]
    top.set_title(f"expected calibration error {ece:.4f}" if ece is not None else "no examples", fontsize=10)
    top.legend(fontsize=7, loc="upper left")
    bottom.bar(centres, [b["count"] for b in bins], width=width * 0.9, color="#999999")
    bottom.set_xlabel(calibration["confidence"])
    bottom.set_ylabel("examples")
    bottom.set_xlim(0, 1)
    return data_uri(figure)


def thumbnail(path: str, size: int = 96) -> str | None:
    """A small JPEG of an image file, or None if it cannot be read."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((size, size))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=80)
    except Exception:  # an unreadable file shows as its name alone
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _phases(axis, rows: list[dict]) -> None:
    for index in range(1, len(rows)):
        if rows[index]["phase"] != rows[index - 1]["phase"]:
            axis.axvline(rows[index]["epoch"] - 0.5, color="#777777", linestyle=":")
            axis.text(rows[index]["epoch"] - 0.4, 0.98, rows[index]["phase"], transform=axis.get_xaxis_transform(),
                      fontsize=7, va="top", color="#555555")


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
