"""Soft parameter sharing: task towers of one architecture, tied by a penalty in the loss.

Each ``sharing`` group names two or more components built alike. Their
weights are paired in build order; the penalty is ``weight`` times the sum,
over every pair of towers and every pair of weights, of the squared L2
distance. ``training_model`` adds it to the loss while training.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

from tlspec.plugin.shapes import format_shape
from tlspec.spec.problems import Problems


@dataclass
class Tie:
    """One sharing group, built: the variable pairs its penalty compares."""

    name: str
    weight: float
    pairs: list[tuple[Any, Any]]


def ties(assembly) -> list[Tie]:
    """Pair the towers' weights in build order; a shape mismatch is reported at the group's towers."""
    problems = Problems(assembly.validated.locations)
    result = []
    for index, group in enumerate(assembly.validated.spec.sharing):
        weights = {tower: [w for layer in assembly.built[tower].layers for w in layer.weights]
                   for tower in group.towers}
        pairs = []
        for first, second in combinations(group.towers, 2):
            a, b = weights[first], weights[second]
            shapes_a, shapes_b = [tuple(w.shape) for w in a], [tuple(w.shape) for w in b]
            if shapes_a != shapes_b:
                problems.at_value(("sharing", index, "towers"),
                                  f"towers '{first}' and '{second}' must have the same weights to be tied: "
                                  f"{_shapes(shapes_a)} vs {_shapes(shapes_b)}")
                continue
            pairs += list(zip(a, b))
        if not pairs and not problems.items:
            problems.at_value(("sharing", index, "towers"), "these towers have no weights to tie")
        result.append(Tie(group.name, group.weight, pairs))
    problems.raise_if_any()
    return result


def _shapes(shapes: list[tuple]) -> str:
    return "[" + ", ".join(format_shape(shape) for shape in shapes) + "]"


def distance(tie: Tie) -> float:
    """The current sum of squared differences between the tied weights."""
    import numpy as np

    return float(sum(np.sum(np.square(np.asarray(a) - np.asarray(b))) for a, b in tie.pairs))
