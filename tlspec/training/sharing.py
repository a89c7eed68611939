"""Soft parameter sharing: task towers of one architecture, tied by a penalty in the loss.

Each ``sharing`` group names two or more components built alike. Their
weights are paired in build order; the penalty is ``weight`` times the sum,
over every pair of towers and every pair of weights, of the squared L2
distance. Training runs a thin wrapper model that adds the penalty to the
loss and logs ``<name>_distance`` and ``<name>_penalty``; the saved model is
the plain functional model, untouched.
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


class _Held:
    """Keeps variables out of Keras' attribute tracking (they belong to the wrapped model)."""

    def __init__(self, value):
        self.value = value


def penalised(model, tied: list[Tie]):
    """``model`` wrapped so that training adds the sharing penalties to its loss (``model`` itself if none)."""
    if not tied:
        return model
    import keras
    from keras import ops
    from keras.src.losses.loss import scale_loss_for_distribution

    class SoftSharing(keras.Model):
        def __init__(self, inner, tied):
            super().__init__(name=f"{inner.name}_soft_sharing")
            self.inner = inner
            self._tied = _Held(tied)
            self._trackers = _Held([(keras.metrics.Mean(name=f"{t.name}_distance"),
                                     keras.metrics.Mean(name=f"{t.name}_penalty")) for t in tied])
            for index, (distance_tracker, penalty_tracker) in enumerate(self._trackers.value):
                setattr(self, f"distance_tracker_{index}", distance_tracker)  # tracked: logged and reset by Keras
                setattr(self, f"penalty_tracker_{index}", penalty_tracker)

        def call(self, inputs, training=None):
            return self.inner(inputs, training=training)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
            for tie, (distance_tracker, penalty_tracker) in zip(self._tied.value, self._trackers.value):
                squared = ops.sum(ops.stack([ops.sum(ops.square(a - b)) for a, b in tie.pairs]))
                penalty = tie.weight * squared
                distance_tracker.update_state(squared)
                penalty_tracker.update_state(penalty)
                # Keras divides each replica's loss by the replica count before summing gradients; so must we.
                loss = loss + ops.cast(scale_loss_for_distribution(penalty), loss.dtype)
            return loss

    return SoftSharing(model, tied)
