"""What a head's output means, declared by the head (``Head.output``), never read off its config.

The engine prepares each head's targets, weighs its classes, records it in ``run.json`` and shows
its predictions from a ``HeadOutput``; ``describe_output`` is how a prediction is shown unless the
head says otherwise (``Head.describe_prediction``). TensorFlow-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

TargetEncoding = Literal["values", "labels", "one_hot", "multi_hot"]
TARGET_ENCODINGS: tuple[str, ...] = ("values", "labels", "one_hot", "multi_hot")
# Keras losses that take one-hot targets; a head using one asks for "one_hot" targets.
ONE_HOT_LOSSES = frozenset({"categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge",
                            "kl_divergence", "kld"})


@dataclass(frozen=True)
class HeadOutput:
    """How a head's targets are encoded, and its classes.

    ``targets``: ``"values"`` numbers as the data gives them (regression); ``"labels"`` whole-number
    class labels, one per example or per token; ``"one_hot"`` the data's labels turned into one-hot
    vectors; ``"multi_hot"`` a 0/1 per class (independent labels). ``classes``: the class names in
    label order, where there are classes.
    """

    targets: TargetEncoding = "values"
    classes: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.targets not in TARGET_ENCODINGS:
            raise ValueError(f"HeadOutput.targets must be one of {', '.join(TARGET_ENCODINGS)}, got {self.targets!r}")
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(str(name) for name in self.classes))

    @property
    def exclusive(self) -> bool:
        """One class per example (softmax-like), not independent labels."""
        return self.targets in ("labels", "one_hot")


def describe_output(output: HeadOutput, values: Any) -> dict:
    """One example's output as predict shows it: the label and probabilities of an exclusive classifier,
    the labels at or above 0.5 of a multi-label one, else the values."""
    import numpy as np

    values = np.asarray(values, dtype=float).reshape(-1)
    if output.targets == "values" or not output.classes or len(values) != len(output.classes):
        return {"values": [float(value) for value in values]}
    probabilities = {name: float(value) for name, value in zip(output.classes, values)}
    if output.exclusive:
        best = int(values.argmax())
        return {"label": output.classes[best], "probability": float(values[best]), "probabilities": probabilities}
    return {"label": [name for name, value in probabilities.items() if value >= 0.5],
            "probability": float(values.max()), "probabilities": probabilities}
