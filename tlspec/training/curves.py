"""The training-curve PNG of a run: losses and metrics per epoch, phases marked."""

from __future__ import annotations

from pathlib import Path

from tlspec.training.rundir import atomic_write


def plot_history(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return
    epochs = [row["epoch"] for row in rows]
    skip = {"epoch", "phase", "seconds", "learning_rate"}
    names = [k for k in rows[0] if k not in skip and not k.startswith("val_")]
    weights = [n for n in names if n.endswith("_loss_weight")]  # learned loss balancing, one line per head
    losses = [n for n in names if n.endswith("loss")]
    metrics = [n for n in names if not n.endswith("loss") and n not in weights]
    panels = [p for p in (losses, metrics, weights) if p]
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for axis, group in zip(axes[0], panels):
        for name in group:
            line, = axis.plot(epochs, [row.get(name) for row in rows], label=name)
            if f"val_{name}" in rows[0] and group is not weights:
                axis.plot(epochs, [row.get(f"val_{name}") for row in rows], "--", color=line.get_color(),
                          label=f"val_{name}")
        for index in range(1, len(rows)):
            if rows[index]["phase"] != rows[index - 1]["phase"]:
                axis.axvline(epochs[index] - 0.5, color="#999999", linestyle=":")
        axis.set_xlabel("epoch")
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    figure.suptitle(title)
    atomic_write(path, lambda partial: figure.savefig(partial, dpi=110, bbox_inches="tight", format="png"))
    plt.close(figure)
