"""What a tracker is given and returns: the run it follows (``TrackedRun``), and its ``TrackerSession``.

TensorFlow-free. The engine opens one session per ``track`` section when a run starts, hands it the
flattened resolved spec, every epoch's metrics and, at the end, the run's files; a session that fails
while training is dropped with a note, and training goes on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TrackedRun:
    """``name``: the spec's; ``run_dir``: where tlspec writes the run; ``spec_dir``: the spec's folder (for
    relative paths); ``previous``: what this tracker's ``state()`` returned before the run was interrupted
    (``--resume`` continues the same tracked run), else None."""

    name: str
    run_dir: Path
    spec_dir: Path
    previous: dict | None = None


class TrackerSession(ABC):
    """One tracked run. Metric names are tlspec's (``loss``, ``val_accuracy``, ``test_animal_accuracy``)."""

    @abstractmethod
    def log_params(self, params: dict[str, str]) -> None:
        """The resolved spec, flattened: ``{"train.phases.0.learning_rate": "0.001", …}`` (new runs only)."""

    @abstractmethod
    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """One epoch's metrics (``step`` is the epoch, counted across phases), or the final ones."""

    @abstractmethod
    def log_artifact(self, path: Path) -> None:
        """A file of the finished run: model.keras, report.html, metrics.json, curves.png, spec.yaml."""

    @abstractmethod
    def close(self, status: str) -> None:
        """``finished``, ``interrupted`` or ``failed``."""

    def state(self) -> dict[str, Any]:
        """JSON-ready: what ``--resume`` needs to continue this tracked run (e.g. its id)."""
        return {}


def flatten_spec(data: Any, prefix: str = "") -> dict[str, str]:
    """Nested spec data as ``dotted.key -> text``; list items by index."""
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = ((str(index), value) for index, value in enumerate(data))
    else:
        return {prefix: "null" if data is None else str(data).lower() if isinstance(data, bool) else str(data)}
    flat: dict[str, str] = {}
    for key, value in items:
        flat.update(flatten_spec(value, f"{prefix}.{key}" if prefix else str(key)))
    if not flat and prefix:
        flat[prefix] = "[]" if isinstance(data, list) else "{}"
    return flat
