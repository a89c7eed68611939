"""What plans and builds exchange: shapes known without TensorFlow, and built Keras tensors.

TensorFlow-free: ``TensorInfo`` is what ``tlspec validate`` reasons with; ``Built``
only carries the Keras objects a plugin's ``build`` made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlspec.plugin.data import DataDescription
from tlspec.plugin.paths import resolve_spec_path


def format_shape(shape: Sequence[int | None], unknown: str = "None") -> str:
    """(None, 5) -> '(None, 5)'; one axis keeps Python's comma: '(5,)'. ``unknown`` stands for
    a size not known yet (the batch axis always reads None)."""
    sizes = ["None" if size is None and index == 0 else unknown if size is None else str(size)
             for index, size in enumerate(shape)]
    return "(" + ", ".join(sizes) + ("," if len(sizes) == 1 else "") + ")"


@dataclass(frozen=True)
class TensorInfo:
    """A tensor's shape as far as it is known: batch axis first.

    ``shape=None``: even the rank is unknown (checked again at build time).
    ``exact``: the sizes are real (None then means a variable size); when False,
    a None size may simply not be known before building.
    ``parts``: set for a group of tensors used together, e.g. an LSTM's (h, c)
    states; the group itself then has no shape.
    """

    shape: tuple[int | None, ...] | None = None
    exact: bool = False
    parts: tuple[TensorInfo, ...] = ()

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def is_group(self) -> bool:
        return bool(self.parts)

    @classmethod
    def of(cls, tensor: Any) -> TensorInfo:
        if isinstance(tensor, (list, tuple)):
            return cls.group([cls.of(part) for part in tensor])
        return cls(tuple(tensor.shape), exact=True)

    @classmethod
    def group(cls, parts: Sequence[TensorInfo]) -> TensorInfo:
        return cls(None, all(part.exact for part in parts), tuple(parts))

    @classmethod
    def of_rank(cls, rank: int) -> TensorInfo:
        return cls((None,) * rank)

    def __str__(self) -> str:
        if self.parts:
            return "[" + ", ".join(str(part) for part in self.parts) + "]"
        if self.shape is None:
            return "(unknown shape)"
        return format_shape(self.shape, unknown="None" if self.exact else "?")


UNKNOWN = TensorInfo()


@dataclass(frozen=True)
class LayerInfo:
    """What a freeze policy may look at: TensorFlow-free facts about one layer."""

    name: str
    has_weights: bool
    is_batchnorm: bool = False


@dataclass(frozen=True)
class FreezeTarget:
    """What a freeze policy chooses in: the component it freezes (its name and plugin) and its layers in
    graph order; from the component's plan while validating, from the built model (``built``) after."""

    component: str
    plugin: str
    layers: tuple[LayerInfo, ...]
    built: bool = False


@dataclass
class ComponentPlan:
    """What a backbone, block or head declares it produces.

    ``endpoints``: named tensors others may reference as '<component>.<endpoint>'
    (None: not known without building; references are then checked at build time).
    ``layers``: the component's layers in graph order, for freeze policies (None: unknown).
    ``own_inputs``: model inputs the component creates itself (name -> shape).
    """

    output: TensorInfo
    endpoints: dict[str, TensorInfo] | None = field(default_factory=dict)
    layers: list[LayerInfo] | None = None
    own_inputs: dict[str, TensorInfo] = field(default_factory=dict)


class UnknownEndpoint(LookupError):
    """Raised by ``build`` when a referenced endpoint does not exist in the component."""

    def __init__(self, endpoint: str, known: Sequence[str]):
        super().__init__(endpoint)
        self.endpoint = endpoint
        self.known = list(known)


# ---------------------------------------------------------------- context

@dataclass
class PlanContext:
    """Given to ``plan`` and ``build``: who the component is, where the spec lives."""

    name: str
    spec_dir: Path
    wanted_endpoints: frozenset[str] = frozenset()
    seed: int | None = None
    input_names: tuple[str | None, ...] = ()  # model input behind each 'from' reference, if any
    data: DataDescription | None = None     # what the spec's data source yields, when it has one
    notes: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        """Tell the user something worth knowing (e.g. pretrained-vector coverage)."""
        self.notes.append(f"{self.name}: {message}")

    def resolve_path(self, value: str | Path) -> Path:
        """Paths in a spec are relative to the spec file; PlanError for one no file system could hold."""
        return resolve_spec_path(self.spec_dir, value)


@dataclass
class StepDecoder:
    """What a generating head gives ``tlspec predict``: one step of decoding and its vocabulary.

    ``step`` is a Keras model ``[previous token ids (batch, 1), *states] ->
    [probabilities (batch, 1, classes), *new states]`` sharing the trained layers;
    decoding starts from the states the head reads in the trained graph.
    """

    step: Any
    tokens: Sequence[str]
    start: int
    end: int
    max_length: int


@dataclass
class Built:
    """What ``build`` returns: Keras tensors and the layers the component owns.

    ``layers`` may be left empty: the engine then finds them in the graph, between the tensors the
    component was given (and the inputs it created) and its output and endpoints.
    """

    output: Any
    endpoints: dict[str, Any] = field(default_factory=dict)
    layers: list[Any] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
