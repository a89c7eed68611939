"""What a data source declares before anything is loaded, and what it is given.

TensorFlow-free: ``tlspec validate`` checks the model against a ``DataDescription``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tlspec.plugin.paths import resolve_spec_path


@dataclass(frozen=True)
class DataField:
    """One thing a data source yields per example: shape without the batch axis, dtype.

    ``classes``: for a class label, the class names in label order.
    """

    shape: tuple[int | None, ...]
    dtype: str
    classes: tuple[str, ...] | None = None


@dataclass
class DataDescription:
    """What a data source yields, declared before anything is loaded.

    ``inputs`` are keyed by model input name, ``targets`` by head name;
    ``splits`` maps each available split (train, validation, test) to its
    number of examples; ``augmented`` says random transforms run on training
    inputs before the model (which rules out caching frozen features).
    """

    inputs: dict[str, DataField]
    targets: dict[str, DataField]
    splits: dict[str, int]
    augmented: bool = False
    vocabularies: dict[str, tuple[str, ...]] = field(default_factory=dict)  # input -> token of each id


@dataclass
class DataContext:
    """Given to data sources: where the spec lives, the heads, the seed, the batch size."""

    spec_dir: Path
    heads: tuple[str, ...]
    seed: int | None = None
    batch_size: int = 32
    notes: list[str] = field(default_factory=list)  # things a user should know, e.g. skipped files

    def note(self, message: str) -> None:
        self.notes.append(message)

    def resolve_path(self, value: str | Path) -> Path:
        """Paths in a spec are relative to the spec file; PlanError for one no file system could hold."""
        return resolve_spec_path(self.spec_dir, value)
