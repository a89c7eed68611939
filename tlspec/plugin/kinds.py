"""The six plugin kinds: each one's base class, and one declaration of how the engine treats it.

``KINDS`` is the single table the registry, the spec validator and the JSON
schema derive from: the hook that returns a kind's plugins, the config base
their ``Config`` must extend, whether a bare name stands for ``{plugin: name}``,
and which methods run during ``tlspec validate`` (so must never import
TensorFlow). A new kind is declared here and in ``hookspecs``; the only other
place that names kinds is where a spec holds their sections (``tlspec.spec.sections``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from tlspec.errors import PlanError
from tlspec.plugin import hookspecs
from tlspec.plugin.configs import (
    ComponentConfig,
    DataConfig,
    FreezeConfig,
    HeadConfig,
    PluginConfig,
    TrackerConfig,
    TransformConfig,
)
from tlspec.plugin.data import DataContext, DataDescription, DataField
from tlspec.plugin.outputs import HeadOutput, describe_output
from tlspec.plugin.shapes import Built, ComponentPlan, FreezeTarget, PlanContext, StepDecoder, TensorInfo
from tlspec.plugin.tracking import TrackedRun, TrackerSession


class Plugin(ABC):
    """What every plugin object has: its kind, the name users write after ``plugin:``, its Config."""

    kind: ClassVar[str]
    name: ClassVar[str]
    Config: ClassVar[type[PluginConfig]]
    summary: ClassVar[str] = ""
    reads_groups: ClassVar[bool] = False  # True: 'from' may name a group of tensors (e.g. recurrent states)


class Backbone(Plugin):
    """A component that turns inputs into features (also usable as a named block)."""

    kind = "backbone"
    Config: ClassVar[type[ComponentConfig]]

    @abstractmethod
    def plan(self, config: ComponentConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        ...

    @abstractmethod
    def build(self, config: ComponentConfig, inputs: Sequence[Any], context: PlanContext) -> Built:
        ...

    def save_artifacts(self, config: ComponentConfig, model_file: Path, run_dir: Path,
                       context: PlanContext) -> list[Path]:
        """After training: files this component writes into ``run_dir`` beside the saved model (a
        KerasHub preset a later spec loads, say). ``model_file`` is the kept model, adapters merged,
        which the method may load. Returns the paths written; default: none."""
        return []


class Head(Plugin):
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

    def step_decoder(self, config: HeadConfig, built: Built, context: PlanContext) -> StepDecoder | None:
        """For a head that generates sequences: one decoding step over its trained layers (else None)."""
        return None

    def output(self, config: HeadConfig) -> HeadOutput:
        """What this head's output means: how its targets are encoded, and its class names (with
        ``config`` as ``adopt_target`` completed it). Default: plain values, as for a regression."""
        return HeadOutput()

    def describe_prediction(self, config: HeadConfig, output: HeadOutput, values: Any) -> dict:
        """What one example's output (an array) says, as ``tlspec predict`` shows it (JSON-ready)."""
        return describe_output(output, values)

    def loss(self, config: HeadConfig) -> str:
        return config.loss or self.default_loss

    def metrics(self, config: HeadConfig) -> list[str]:
        return list(config.metrics if config.metrics is not None else self.default_metrics)


class FreezePolicy(Plugin):
    """Chooses which backbone layers are frozen (not trained)."""

    kind = "freeze"
    Config: ClassVar[type[FreezeConfig]]

    @abstractmethod
    def select(self, config: FreezeConfig, target: FreezeTarget) -> set[str]:
        """Names of the layers of ``target`` to freeze. Raise PlanError for an impossible request."""
        ...

    def adapt(self, config: FreezeConfig, layers: Sequence[Any]) -> None:
        """Change the built Keras layers themselves, for a policy that is more than frozen layers (LoRA adds
        trainable adapters to frozen weights). Called once the model is assembled, for every freeze section
        the spec uses (so the weights are the same in every phase, and a checkpoint of any phase reloads),
        and again after each phase that uses the policy has set ``trainable`` from ``select``: it must be
        idempotent. It may import TensorFlow. Default: nothing."""
        return None


class DataSource(Plugin):
    """Yields training/validation/test data as tf.data datasets.

    ``describe`` (TensorFlow-free, cheap) declares what the source yields so the
    spec can be checked against the model before training; ``datasets`` builds
    the tf.data pipelines: batched ``(inputs, targets)`` dictionaries keyed by
    model input and head names, shuffled (train only) and prefetched.
    """

    kind = "data"
    Config: ClassVar[type[DataConfig]]
    # True for a source whose ``describe`` is slow (it reads a corpus to learn a vocabulary): tlspec keeps
    # its description on disk, found again by ``fingerprint``, so only a change to the data describes again.
    cache_description: ClassVar[bool] = False

    @abstractmethod
    def describe(self, config: DataConfig, context: DataContext) -> DataDescription:
        ...

    @abstractmethod
    def datasets(self, config: DataConfig, context: DataContext) -> dict[str, Any]:
        ...

    def prediction_state(self, config: DataConfig, context: DataContext) -> dict | None:
        """What ``prediction_inputs`` will need that comes from the training data (a vocabulary,
        standardisation statistics): JSON-ready, saved in the run directory when training starts and
        given back as ``context.state`` at prediction, so predict never re-reads the training files."""
        return None

    def fingerprint(self, config: DataConfig, context: DataContext) -> dict[str, str] | None:
        """Per split, a digest of everything ``datasets`` makes it from: the files' content, the options
        that change what is yielded (sizes, tokenization), a version of the decoding code. The persistent
        feature cache (``train.persistent_cache``) finds a split's features again by it, so it must change
        whenever the split would. None: this source cannot tell, and features are cached in memory only."""
        return None

    def prediction_inputs(self, config: DataConfig, context: DataContext, items: Sequence[str]) -> dict[str, Any]:
        """Model inputs (arrays keyed by input name) for ``tlspec predict ITEMS…``; ``context.state`` is
        what ``prediction_state`` returned at training (None for a run saved without it)."""
        raise PlanError(f"the '{self.name}' data source cannot read inputs for prediction")

    def evaluation_dataset(self, config: DataConfig, context: DataContext, paths: Sequence[str],
                           targets: dict[str, DataField]) -> Any:
        """New labelled data for ``tlspec evaluate --data PATH…``, read as the test split is (no shuffling,
        no augmentation): a dataset of batched ``(inputs, targets)`` like ``datasets`` yields. ``paths``
        are relative to the working directory; ``targets`` are the run's, with their class names, and
        labels must follow that class order. Raise PlanError naming the path for data that does not fit
        (a class the run does not have, a missing column)."""
        raise PlanError(f"the '{self.name}' data source cannot read new data for evaluation; evaluate one of "
                        "the run's own splits (--split)")

    def example_items(self, config: DataConfig, context: DataContext, split: str,
                      paths: Sequence[str] = ()) -> list[str] | None:
        """What each example of ``split`` is (a file path, a text), in the order ``datasets`` yields them;
        with ``paths``, of the new data ``evaluation_dataset`` reads from them. The evaluation report shows
        mistakes by them. None: the examples have nothing a person would recognise."""
        return None

    def input_preprocessing(self, config: DataConfig) -> dict[str, str]:
        """Per model input, what this source does to raw data before the model sees it (decoding,
        resizing, tokenizing), in words: an exported model's users must do the same."""
        return {}

    def token_input(self, config: DataConfig) -> str | None:
        """The model input holding token ids, one per position, for per-token predictions (tags);
        None: the source yields no token sequence."""
        return None

    def item_tokens(self, config: DataConfig, items: Sequence[str]) -> list[list[str]] | None:
        """For sequence data: the tokens of each prediction item, in order (per-token outputs use them)."""
        return None

    def token_positions(self, config: DataConfig, context: DataContext, items: Sequence[str]) -> list[list[int]] | None:
        """For sequence data read in pieces (a preset's tokenizer): per prediction item, the position of each
        of its ``item_tokens``' first piece, where per-token outputs are read. None: every position whose
        ``token_input`` id is not 0 is a token."""
        return None

    def join_tokens(self, config: DataConfig, head: str, tokens: Sequence[str]) -> str:
        """Text of tokens a generating head produced (e.g. characters joined without spaces)."""
        return " ".join(tokens)


class TextTransform(Plugin):
    """Rewrites a text before it is tokenized: transliteration, normalisation, cleaning.

    Text data sources apply the ``transforms`` listed in their section, in order
    (see ``tlspec.api.chain``). Pure Python: no TensorFlow.
    """

    kind = "transform"
    Config: ClassVar[type[TransformConfig]]

    @abstractmethod
    def apply(self, config: TransformConfig, text: str) -> str:
        ...


class Tracker(Plugin):
    """Follows runs as they train: their parameters, every epoch's metrics, their files (TensorBoard,
    MLflow, …). ``check`` runs at ``tlspec validate`` (TensorFlow-free, no network): say what is missing
    (a package, a malformed address) as a PlanError. ``open`` starts one tracked run; raise PlanError when
    it cannot (an unreachable server), before any training is spent."""

    kind = "tracker"
    Config: ClassVar[type[TrackerConfig]]

    def check(self, config: TrackerConfig) -> None:
        return None

    @abstractmethod
    def open(self, config: TrackerConfig, run: TrackedRun) -> TrackerSession:
        ...


@dataclass(frozen=True)
class PluginKind:
    """How the engine finds and treats the plugins of one kind."""

    name: str                         # the word in messages: "unknown head plugin ..."
    base: type[Plugin]                # what a hook must return instances of
    config_base: type[PluginConfig]   # what the plugin's Config must extend
    hook: Any                         # the hookspec (in tlspec.plugin.hookspecs) returning them
    shorthand: bool                   # a bare plugin name stands for {plugin: name}
    tf_free: tuple[str, ...]          # methods `tlspec validate` calls: they never import TensorFlow

    @property
    def hook_name(self) -> str:
        return self.hook.__name__

    def expand(self, section: Any) -> Any:
        """``none`` is short for ``{plugin: none}`` where the kind allows it."""
        return {"plugin": section} if self.shorthand and isinstance(section, str) else section


KINDS: dict[str, PluginKind] = {kind.name: kind for kind in (
    PluginKind("backbone", Backbone, ComponentConfig, hookspecs.tlspec_backbones, False, ("plan",)),
    PluginKind("head", Head, HeadConfig, hookspecs.tlspec_heads, False, ("plan", "adopt_target", "loss", "metrics")),
    PluginKind("freeze", FreezePolicy, FreezeConfig, hookspecs.tlspec_freeze_policies, True, ("select",)),
    PluginKind("data", DataSource, DataConfig, hookspecs.tlspec_data_sources, False, ("describe",)),
    PluginKind("transform", TextTransform, TransformConfig, hookspecs.tlspec_text_transforms, True, ("apply",)),
    PluginKind("tracker", Tracker, TrackerConfig, hookspecs.tlspec_trackers, True, ("check",)),
)}
