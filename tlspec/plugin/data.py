"""What a data source declares before anything is loaded, and what it is given.

TensorFlow-free: ``tlspec validate`` checks the model against a ``DataDescription``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlspec.plugin.paths import resolve_spec_path

MAX_DISTINCT_LABELS = 10_000


@dataclass(frozen=True)
class LabelCounts:
    """The distinct whole-number labels of a target, how often each occurs and the first example
    (0-based) that has it: lets a head check its classes before training."""

    values: tuple[int, ...]
    counts: tuple[int, ...]
    first_examples: tuple[int, ...]

    @classmethod
    def of(cls, labels) -> LabelCounts | None:
        """From an array of labels; None if they are not all whole numbers, or take more than
        ``MAX_DISTINCT_LABELS`` values (no classifier has that many classes; it is not worth the memory)."""
        import numpy as np

        flat = np.asarray(labels).reshape(-1)
        if flat.dtype.kind not in "iub" and not (flat.dtype.kind == "f" and np.all(flat == np.round(flat))):
            return None
        values, first, counts = np.unique(flat, return_index=True, return_counts=True)
        if len(values) > MAX_DISTINCT_LABELS:
            return None
        return cls(tuple(int(v) for v in values), tuple(int(c) for c in counts), tuple(int(f) for f in first))

    def outside(self, class_count: int) -> str | None:
        """'N labels outside ...; the first is V, example E', or None when every label is a class."""
        bad = [(first, value, count) for value, count, first in zip(self.values, self.counts, self.first_examples)
               if not 0 <= value < class_count]
        if not bad:
            return None
        total = sum(count for _, _, count in bad)
        first, value, _ = min(bad)
        return (f"{total} label{'s' if total != 1 else ''} outside the {class_count} classes (labels 0.."
                f"{class_count - 1}); the first is {value}, example {first + 1}")


@dataclass(frozen=True)
class DataField:
    """One thing a data source yields per example: shape without the batch axis, dtype.

    ``classes``: for a class label, the class names in label order. ``labels``: for whole-number
    targets, which labels occur (a source that has the values at hand fills it in).
    """

    shape: tuple[int | None, ...]
    dtype: str
    classes: tuple[str, ...] | None = None
    labels: LabelCounts | None = None


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

    def to_json(self) -> dict[str, Any]:
        """What a run records of its data (label counts left out): predict plans the model from it."""
        def fields(found: dict[str, DataField]) -> dict:
            return {name: {"shape": list(f.shape), "dtype": f.dtype, "classes": list(f.classes) if f.classes
                           else None} for name, f in found.items()}
        return {"inputs": fields(self.inputs), "targets": fields(self.targets), "splits": dict(self.splits),
                "augmented": self.augmented, "vocabularies": {k: list(v) for k, v in self.vocabularies.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DataDescription:
        def fields(found: dict) -> dict[str, DataField]:
            return {name: DataField(tuple(f["shape"]), f["dtype"], tuple(f["classes"]) if f["classes"] else None)
                    for name, f in found.items()}
        return cls(fields(data["inputs"]), fields(data["targets"]), dict(data["splits"]), data["augmented"],
                   {k: tuple(v) for k, v in data.get("vocabularies", {}).items()})


@dataclass
class DataContext:
    """Given to data sources: where the spec lives, the heads, the seed, the batch size; when predicting,
    the state the source saved at training."""

    spec_dir: Path
    heads: tuple[str, ...]
    seed: int | None = None
    batch_size: int = 32
    notes: list[str] = field(default_factory=list)  # things a user should know, e.g. skipped files
    state: dict | None = None  # when predicting: what the source's prediction_state returned at training
    item_notes: dict[str, list[str]] = field(default_factory=dict)  # when predicting: notes about one item
    # When predicting: whether an item may name a file on this machine. ``tlspec serve`` sets it False for
    # the strings a client sends (they are texts, never server paths); uploads arrive as files.
    local_files: bool = True
    # False when every phase trains on features computed in one pass over each split: decoded inputs kept
    # in memory (an image cache) would only cost memory. A source may ignore it.
    keep_decoded: bool = True

    def note(self, message: str) -> None:
        self.notes.append(message)

    def note_item(self, item: str, message: str) -> None:
        """When predicting: something a user should know about one item (e.g. it was resized)."""
        self.item_notes.setdefault(item, []).append(message)

    def resolve_path(self, value: str | Path) -> Path:
        """Paths in a spec are relative to the spec file; PlanError for one no file system could hold."""
        return resolve_spec_path(self.spec_dir, value)
