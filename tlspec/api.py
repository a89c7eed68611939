"""What a plugin author implements: config models and builder classes.

A plugin contributes objects of these four kinds through the hooks in
``tlspec.hookspecs``. Each object names itself (``name``, the word users write
after ``plugin:``), declares a pydantic ``Config`` for its section of the spec
(unknown fields are errors), and implements:

* ``plan`` — TensorFlow-free: from the shapes it receives, say what it produces,
  or raise ``PlanError`` naming the offending field. ``tlspec validate`` runs it
  on what is known statically; ``tlspec build`` runs it again on real shapes.
* ``build`` — create Keras layers (import ``keras`` inside the method, never at
  module level, so validation stays fast).

This module must not import TensorFlow or Keras.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


# ---------------------------------------------------------------- configs

class PluginConfig(BaseModel):
    """Base of every plugin section: ``plugin: <name>`` plus the plugin's options."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    plugin: str = Field(description="Which installed plugin handles this section.")


class ComponentConfig(PluginConfig):
    """Base of backbone and block sections."""

    name: str | None = Field(None, pattern=IDENTIFIER,
                             description="Name other sections use to refer to this component.")
    from_: str | list[str] | None = Field(
        None, alias="from",
        description="Where the input comes from: 'inputs.<name>', '<component>' or "
                    "'<component>.<endpoint>'. Omit to let the backbone create its own input.",
    )


class HeadConfig(PluginConfig):
    """Base of head sections: a head is a model output with its own loss."""

    name: str = Field(pattern=IDENTIFIER, description="Unique head name; also the Keras output name.")
    from_: str | list[str] | None = Field(
        None, alias="from",
        description="Reference(s) to the tensor(s) this head reads, e.g. 'backbone', "
                    "'backbone.block4_pool', 'encoder.states', 'inputs.x'. Default: the backbone's output.",
    )
    loss: str | None = Field(None, description="Keras loss name; the plugin chooses when omitted.")
    metrics: list[str] | None = Field(None, description="Keras metric names; plugin default when omitted.")
    loss_weight: float = Field(1.0, ge=0, description="Weight of this head's loss in the total loss.")


class FreezeConfig(PluginConfig):
    """Base of freeze policy sections."""

    batchnorm: Literal["inference", "train"] = Field(
        "inference",
        description="'inference': BatchNormalization layers stay frozen (inference mode) even where "
                    "the policy unfreezes their neighbours; 'train': they follow the policy.",
    )


class DataConfig(PluginConfig):
    """Base of data source sections."""


class TransformConfig(PluginConfig):
    """Base of text transform sections (items of a text data section's ``transforms`` list)."""


# ---------------------------------------------------------------- shapes

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
    parts: tuple["TensorInfo", ...] = ()

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def is_group(self) -> bool:
        return bool(self.parts)

    @classmethod
    def of(cls, tensor: Any) -> "TensorInfo":
        if isinstance(tensor, (list, tuple)):
            return cls.group([cls.of(part) for part in tensor])
        return cls(tuple(tensor.shape), exact=True)

    @classmethod
    def group(cls, parts: Sequence["TensorInfo"]) -> "TensorInfo":
        return cls(None, all(part.exact for part in parts), tuple(parts))

    @classmethod
    def of_rank(cls, rank: int) -> "TensorInfo":
        return cls((None,) * rank)

    def __str__(self) -> str:
        if self.parts:
            return "[" + ", ".join(str(part) for part in self.parts) + "]"
        if self.shape is None:
            return "(unknown shape)"
        unknown = "None" if self.exact else "?"
        sizes = [str(d) if d is not None else ("None" if i == 0 else unknown) for i, d in enumerate(self.shape)]
        return "(" + ", ".join(sizes) + ")"


UNKNOWN = TensorInfo()


@dataclass(frozen=True)
class LayerInfo:
    """What a freeze policy may look at: TensorFlow-free facts about one layer."""

    name: str
    has_weights: bool
    is_batchnorm: bool = False


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


class PlanError(Exception):
    """Raised by ``plan``/``build``/``select``: the spec asks for something impossible.

    ``field`` is the path of the offending option inside the plugin's section,
    e.g. ``("pooling",)``, so the error points at the right line.
    """

    def __init__(self, message: str, field: str | tuple = ()):
        super().__init__(message)
        self.message = message
        self.field = (field,) if isinstance(field, str) else tuple(field)


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
    data: "DataDescription | None" = None     # what the spec's data source yields, when it has one
    notes: list[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        """Tell the user something worth knowing (e.g. pretrained-vector coverage)."""
        self.notes.append(f"{self.name}: {message}")

    def resolve_path(self, value: str | Path) -> Path:
        """Paths in a spec are relative to the spec file."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.spec_dir / path)


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
    """What ``build`` returns: Keras tensors and the layers the component owns."""

    output: Any
    endpoints: dict[str, Any] = field(default_factory=dict)
    layers: list[Any] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- plugin kinds

class _Plugin(ABC):
    kind: ClassVar[str]
    name: ClassVar[str]
    Config: ClassVar[type[PluginConfig]]
    summary: ClassVar[str] = ""
    reads_groups: ClassVar[bool] = False  # True: 'from' may name a group of tensors (e.g. recurrent states)


class Backbone(_Plugin):
    """A component that turns inputs into features (also usable as a named block)."""

    kind = "backbone"
    Config: ClassVar[type[ComponentConfig]]

    @abstractmethod
    def plan(self, config: ComponentConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        ...

    @abstractmethod
    def build(self, config: ComponentConfig, inputs: Sequence[Any], context: PlanContext) -> Built:
        ...


class Head(_Plugin):
    """A model output: layers on top of referenced tensors, with a loss and metrics."""

    kind = "head"
    Config: ClassVar[type[HeadConfig]]
    default_loss: ClassVar[str] = "mse"
    default_metrics: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def plan(self, config: HeadConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        ...

    @abstractmethod
    def build(self, config: HeadConfig, inputs: Sequence[Any], context: PlanContext) -> Built:
        ...

    def adopt_target(self, config: HeadConfig, target: DataField) -> HeadConfig:
        """Check the data's target for this head fits it; return the config, completed from the data.

        Raise PlanError (with the head field at fault) when the target cannot train this head.
        """
        return config

    def step_decoder(self, config: HeadConfig, built: Built, context: PlanContext) -> "StepDecoder | None":
        """For a head that generates sequences: one decoding step over its trained layers (else None)."""
        return None

    def loss(self, config: HeadConfig) -> str:
        return config.loss or self.default_loss

    def metrics(self, config: HeadConfig) -> list[str]:
        return list(config.metrics if config.metrics is not None else self.default_metrics)


class FreezePolicy(_Plugin):
    """Chooses which backbone layers are frozen (not trained)."""

    kind = "freeze"
    Config: ClassVar[type[FreezeConfig]]

    @abstractmethod
    def select(self, config: FreezeConfig, layers: Sequence[LayerInfo]) -> set[str]:
        """Names of the layers to freeze. Raise PlanError for an impossible request."""
        ...


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
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.spec_dir / path)


class DataSource(_Plugin):
    """Yields training/validation/test data as tf.data datasets.

    ``describe`` (TensorFlow-free, cheap) declares what the source yields so the
    spec can be checked against the model before training; ``datasets`` builds
    the tf.data pipelines: batched ``(inputs, targets)`` dictionaries keyed by
    model input and head names, shuffled (train only) and prefetched.
    """

    kind = "data"
    Config: ClassVar[type[DataConfig]]

    @abstractmethod
    def describe(self, config: DataConfig, context: DataContext) -> DataDescription:
        ...

    @abstractmethod
    def datasets(self, config: DataConfig, context: DataContext) -> dict[str, Any]:
        ...

    def prediction_inputs(self, config: DataConfig, context: DataContext, items: Sequence[str]) -> dict[str, Any]:
        """Model inputs (arrays keyed by input name) for ``tlspec predict ITEMS…``."""
        raise PlanError(f"the '{self.name}' data source cannot read inputs for prediction")

    def item_tokens(self, config: DataConfig, items: Sequence[str]) -> list[list[str]] | None:
        """For sequence data: the tokens of each prediction item, in order (per-token outputs use them)."""
        return None

    def join_tokens(self, config: DataConfig, head: str, tokens: Sequence[str]) -> str:
        """Text of tokens a generating head produced (e.g. characters joined without spaces)."""
        return " ".join(tokens)


class TextTransform(_Plugin):
    """Rewrites a text before it is tokenized: transliteration, normalisation, cleaning.

    Text data sources apply the ``transforms`` listed in their section, in order
    (see ``tlspec.transforms.chain``). Pure Python: no TensorFlow.
    """

    kind = "transform"
    Config: ClassVar[type[TransformConfig]]

    @abstractmethod
    def apply(self, config: TransformConfig, text: str) -> str:
        ...


PLUGIN_KINDS: dict[str, type[_Plugin]] = {
    "backbone": Backbone,
    "head": Head,
    "freeze": FreezePolicy,
    "data": DataSource,
    "transform": TextTransform,
}

CONFIG_BASES: dict[str, type[PluginConfig]] = {
    "backbone": ComponentConfig,
    "head": HeadConfig,
    "freeze": FreezeConfig,
    "data": DataConfig,
    "transform": TransformConfig,
}
