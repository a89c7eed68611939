"""``tlspec build --plot FILE``: a PNG of the component graph, drawn with matplotlib.

Boxes are the model inputs and components (backbone, blocks, heads) with their
plugin, output shape and parameters; arrows are the spec's references, labelled
with the endpoint when a component reads a named layer.
"""

from __future__ import annotations

from pathlib import Path

from tlspec.model.assemble import Assembly
from tlspec.model.report import component_rows
from tlspec.plugin.shapes import format_shape
from tlspec.spec.graph import INPUTS

COLOURS = {"input": "#e8eef7", "backbone": "#dcefdc", "block": "#fdf0d5", "head": "#f7dcdc"}


def plot(assembly: Assembly, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nodes, edges, depth = _graph(assembly)
    positions, width, height = _layout(depth)
    figure, axes = plt.subplots(figsize=(max(4.0, 3.6 * width), max(3.0, 1.9 * height)))
    for source, target, label in edges:
        (x0, y0), (x1, y1) = positions[source], positions[target]
        axes.annotate("", xy=(x1, y1 + 0.28), xytext=(x0, y0 - 0.28),
                      arrowprops={"arrowstyle": "->", "color": "#555555"})
        if label:
            axes.text((x0 + x1) / 2, (y0 + y1) / 2, label, fontsize=7, color="#333333",
                      ha="center", va="center", bbox={"fc": "white", "ec": "none", "pad": 1})
    for name, (role, label) in nodes.items():
        x, y = positions[name]
        axes.text(x, y, label, ha="center", va="center", fontsize=8,
                  bbox={"boxstyle": "round,pad=0.4", "fc": COLOURS[role], "ec": "#444444"})
    axes.set_xlim(0, width)
    axes.set_ylim(0, height)
    axes.set_axis_off()
    axes.set_title(assembly.model.name, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def _graph(assembly: Assembly):
    """Boxes (role, label) by key, arrows (source, target, endpoint label), and each box's depth."""
    rows = {row.name: row for row in component_rows(assembly)}
    nodes: dict[str, tuple[str, str]] = {}
    depth: dict[str, int] = {}
    for name, tensor in assembly.inputs.items():
        key = f"{INPUTS}.{name}"
        nodes[key] = ("input", f"input {name}\n{format_shape(tensor.shape)}")
        depth[key] = 0
    edges = []
    for component in assembly.graph.components.values():
        row = rows[component.name]
        nodes[component.name] = (component.role, f"{component.name}\n{row.plugin}  {format_shape(row.output_shape)}\n"
                                                 f"{row.trainable:,} trainable / {row.frozen:,} frozen")
        sources = []
        for ref in component.refs:
            source = f"{INPUTS}.{ref.endpoint}" if ref.target == INPUTS else ref.target
            sources.append(source)
            edges.append((source, component.name, ref.endpoint if ref.target != INPUTS else None))
        for name in assembly.built[component.name].inputs:  # inputs it creates, e.g. a decoder's
            edges.append((f"{INPUTS}.{name}", component.name, None))
            sources.append(f"{INPUTS}.{name}")
        depth[component.name] = 1 + max((depth.get(s, 0) for s in sources), default=0)
    return nodes, edges, depth


def _layout(depth: dict[str, int]) -> tuple[dict[str, tuple[float, float]], int, int]:
    """One row per depth, boxes spread evenly across it."""
    levels: dict[int, list[str]] = {}
    for name, level in depth.items():
        levels.setdefault(level, []).append(name)
    width = max(len(names) for names in levels.values())
    height = len(levels)
    positions = {name: ((index + 0.5) * width / len(names), height - level - 0.5)
                 for level, names in levels.items() for index, name in enumerate(names)}
    return positions, width, height
