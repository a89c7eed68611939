"""The core of the spec language. Plugin sections are validated separately,
by the model of the plugin they name (see ``tlspec.spec.validate``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from tlspec.errors import did_you_mean, one_of
from tlspec.plugin.configs import IDENTIFIER
from tlspec.plugin.kinds import KINDS
from tlspec.spec.addresses import HOST_PORT
from tlspec.spec.search_space import check_text

PluginSection = dict[str, Any]
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER)]

OPTIMIZERS = ("adadelta", "adafactor", "adagrad", "adam", "adamax", "adamw", "ftrl",
              "lamb", "lion", "nadam", "rmsprop", "sgd")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InputSpec(Strict):
    shape: list[PositiveInt | None] = Field(min_length=1, description="Shape without the batch axis.")
    dtype: Literal["float32", "float16", "int32", "int64", "bool", "string"] = "float32"


class OptimizerSpec(Strict):
    name: str = Field("adam", description=f"One of: {', '.join(OPTIMIZERS)}.")
    learning_rate: float | None = Field(None, gt=0)
    weight_decay: float | None = Field(None, ge=0)
    momentum: float | None = Field(None, ge=0)
    nesterov: bool | None = None
    clipnorm: float | None = Field(None, gt=0)
    global_clipnorm: float | None = Field(None, gt=0)

    @field_validator("name")
    @classmethod
    def _known_optimizer(cls, value: str) -> str:
        if value.lower() not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer '{value}'{did_you_mean(value.lower(), OPTIMIZERS)}; "
                             f"expected one of {one_of(OPTIMIZERS)}")
        return value.lower()


Mode = Literal["auto", "min", "max"]


class CheckpointSpec(Strict):
    monitor: str = "val_loss"
    mode: Mode = "auto"
    save_best_only: bool = True


class EarlyStoppingSpec(Strict):
    monitor: str = "val_loss"
    mode: Mode = "auto"
    patience: int = Field(3, ge=0)
    min_delta: float = Field(0.0, ge=0)
    restore_best_weights: bool = True


class ReduceLROnPlateauSpec(Strict):
    monitor: str = "val_loss"
    mode: Mode = "auto"
    factor: float = Field(0.1, gt=0, lt=1)
    patience: int = Field(2, ge=0)
    min_lr: float = Field(0.0, ge=0)


class ScheduleSpec(Strict):
    """A learning-rate schedule over one phase, starting from the phase's learning rate."""

    name: Literal["cosine", "exponential"]
    alpha: float = Field(0.0, ge=0, le=1, description="cosine: final rate as a fraction of the first.")
    decay_rate: float = Field(0.5, gt=0, le=1, description="exponential: factor applied every epoch.")


class RateGroupSpec(Strict):
    layers: str = Field(min_length=1, description="Regular expression a layer's whole name matches (any component).")
    multiplier: float = Field(ge=0, description="Times the phase's learning rate; 0 freezes the layers.")

    @field_validator("layers")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a regular expression: {error}") from None
        return value


class LayerRatesSpec(Strict):
    """Learning rates per layer: layer-wise decay over the backbone's depth, then multipliers by pattern."""

    decay: float | None = Field(None, gt=0, le=1, description="Layer-wise decay: each block (or layer) of the "
                                                              "backbone learns this many times as fast as the one "
                                                              "above it; the top one and the heads at 1.")
    per: Literal["block", "layer"] = Field("block", description="What decay counts: blocks (layers whose names "
                                                                 "share their first number; the layers below the "
                                                                 "first one are one block, e.g. a transformer's "
                                                                 "embeddings) or layers with weights.")
    groups: list[RateGroupSpec] = Field(default_factory=list, description="Multipliers by layer-name pattern; a "
                                                                          "later group wins over an earlier one.")
    weight_decay_exclude: list[Literal["batchnorm", "bias"]] = Field(
        default_factory=list, description="Variables the optimizer's weight_decay leaves alone.")


class PhaseSpec(Strict):
    """One stage of training, e.g. heads only, then fine-tuning with part of the backbone unfrozen."""

    name: Identifier | None = None
    epochs: PositiveInt
    freeze: PluginSection | None = Field(None, description="Freeze policy for this phase (default: the spec's).")
    learning_rate: float | None = Field(None, gt=0, description="Default: the optimizer's learning rate.")
    schedule: ScheduleSpec | None = None
    layer_rates: LayerRatesSpec | None = Field(None, description="Learning rates per layer in this phase "
                                                                 "(default: train.layer_rates).")

    @field_validator("freeze", mode="before")
    @classmethod
    def _freeze_shorthand(cls, value: Any) -> Any:
        return KINDS["freeze"].expand(value)


class LossBalancingSpec(Strict):
    """How the heads' losses are weighted into the one loss training minimises."""

    method: Literal["static", "uncertainty", "gradnorm"] = Field(
        "static", description="static: each head's loss_weight; uncertainty: learned per-head log-variances "
                              "(Kendall et al. 2018); gradnorm: weights that equalise the heads' gradient norms "
                              "on the last shared layer (Chen et al. 2018), starting from the loss_weights.")
    alpha: float = Field(1.5, ge=0, description="gradnorm: how hard heads that learn more slowly are pulled up "
                                                "(0: equal gradient norms).")

    @model_validator(mode="after")
    def _alpha_is_gradnorms(self):
        if "alpha" in self.model_fields_set and self.method != "gradnorm":
            raise ValueError(f"alpha is an option of gradnorm, not of {self.method}")
        return self


ClassWeights = Literal["balanced"] | dict[str, Annotated[float, Field(gt=0)]]


class TrainSpec(Strict):
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    epochs: PositiveInt = Field(10, description="Epochs when there are no phases.")
    batch_size: PositiveInt = 32
    schedule: ScheduleSpec | None = None
    phases: list[PhaseSpec] = Field(default_factory=list,
                                    description="Successive training phases; each recompiles the model.")
    cache_features: Literal["auto"] | bool = Field(
        "auto", description="Compute what cannot change in a phase once: the features under the heads when all "
                            "of it is frozen and deterministic, else the outputs of the network's frozen bottom "
                            "when some of it trains; auto (when possible), true (require it), false (never).")
    persistent_cache: bool = Field(
        False, description="Keep cached features on disk as well, in $TLSPEC_CACHE/features (default "
                           "~/.cache/tlspec/features), keyed by the data's content, the frozen layers' architecture "
                           "and weights, and the TensorFlow version: a later run on the same data skips decoding "
                           "and extraction. Needs a data source that fingerprints its data (image_folder does).")
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = Field(
        "float32", description="Keras dtype policy: mixed_* computes in 16 bits and keeps float32 weights (on "
                               "GPUs with tensor cores; mixed_float16 scales the loss). See docs/performance.md.")
    jit_compile: Literal["auto"] | bool = Field(
        "auto", description="Compile train and evaluation steps with XLA: auto (Keras' choice: when every layer "
                            "supports it), true, false.")
    class_weights: dict[str, ClassWeights] = Field(
        default_factory=dict, description="Per head: 'balanced' or {class name: weight}.")
    checkpoint: CheckpointSpec | None = None
    early_stopping: EarlyStoppingSpec | None = None
    reduce_lr_on_plateau: ReduceLROnPlateauSpec | None = None
    tensorboard: bool = Field(False, description="Write TensorBoard logs to <run>/tensorboard.")
    layer_rates: LayerRatesSpec | None = Field(None, description="Learning rates per layer: layer-wise decay, "
                                                                 "multipliers by pattern, weight-decay exclusions.")
    loss_balancing: LossBalancingSpec = Field(
        default_factory=LossBalancingSpec, description="Multitask loss weighting: static (default), uncertainty "
                                                       "or gradnorm; the effective weights are logged per epoch.")

    @field_validator("loss_balancing", mode="before")
    @classmethod
    def _balancing_shorthand(cls, value: Any) -> Any:
        return {"method": value} if isinstance(value, str) else value

    @field_validator("optimizer", mode="before")
    @classmethod
    def _optimizer_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _epochs_live_in_phases(self):
        if self.phases and "epochs" in self.model_fields_set:
            raise ValueError("with phases, give epochs per phase (remove train.epochs)")
        return self

    @model_validator(mode="after")
    def _one_way_to_change_the_learning_rate(self):
        scheduled = self.schedule is not None or any(phase.schedule for phase in self.phases)
        if scheduled and self.reduce_lr_on_plateau is not None:
            raise ValueError("reduce_lr_on_plateau cannot change a scheduled learning rate; use one or the other")
        return self

    def phase_list(self) -> list[PhaseSpec]:
        """The phases to run: the declared ones, or one phase of ``epochs``."""
        return self.phases or [PhaseSpec(name="train", epochs=self.epochs)]


class SharingSpec(Strict):
    """Soft parameter sharing: towers of the same architecture, pulled together by a penalty in the loss."""

    name: Identifier = Field("sharing", description="Names the logged '<name>_distance' and '<name>_penalty'.")
    towers: list[Identifier] = Field(min_length=2, description="Components (backbone, blocks) built alike.")
    penalty: Literal["l2"] = Field("l2", description="l2: sum of squared differences of corresponding weights.")
    weight: float = Field(ge=0, description="Factor of the penalty in the training loss (0: untied towers).")


def _verb(keys: list[str]) -> str:
    return "applies" if len(keys) == 1 else "apply"


class DistributeSpec(Strict):
    """Data-parallel training on tf.distribute; ``train.batch_size`` is the global batch."""

    strategy: Literal["none", "mirrored", "multi_worker"] = Field(
        "none", description="none: one device; mirrored: several devices of this process; "
                            "multi_worker: several processes or hosts (MultiWorkerMirroredStrategy).")
    devices: list[str] | None = Field(
        None, min_length=1, description="mirrored: device names, e.g. ['/gpu:0', '/gpu:1'] (default: all GPUs, "
                                        "or the CPU when there is none).")
    cpu_devices: int | None = Field(
        None, ge=2, description="mirrored: split the CPU into this many logical devices (CPU-only hosts, tests).")
    workers: list[Annotated[str, StringConstraints(pattern=HOST_PORT)]] | None = Field(
        None, min_length=1, description="multi_worker: 'host:port' of every worker, the chief first (or give "
                                        "--workers, or set TF_CONFIG); each process passes --worker-index.")
    communication: Literal["auto", "ring", "nccl"] = Field(
        "auto", description="multi_worker: collective implementation (nccl needs GPUs).")
    startup_timeout: float = Field(
        600, gt=0, description="multi_worker: seconds a worker waits for all the others to start before it "
                               "gives up and names the missing ones.")

    @model_validator(mode="after")
    def _options_match_strategy(self):
        mirrored_only = [key for key in ("devices", "cpu_devices") if getattr(self, key) is not None]
        worker_only = [key for key in ("workers", "communication", "startup_timeout") if key in self.model_fields_set]
        if self.strategy != "mirrored" and mirrored_only:
            raise ValueError(f"{' and '.join(mirrored_only)} {_verb(mirrored_only)} to strategy: mirrored, "
                             f"not to strategy: {self.strategy}")
        if self.strategy != "multi_worker" and worker_only:
            raise ValueError(f"{' and '.join(worker_only)} {_verb(worker_only)} to strategy: multi_worker, "
                             f"not to strategy: {self.strategy}")
        if self.devices is not None and self.cpu_devices is not None:
            raise ValueError("give devices or cpu_devices, not both")
        return self


class DomainClassifierSpec(Strict):
    """The probabilistic classifier that tells target-domain inputs from training inputs."""

    features: Literal["inputs", "backbone"] = Field(
        "inputs", description="inputs: the model inputs themselves (numbers flattened and standardised, token "
                              "ids counted as a bag of tokens); backbone: the backbone's output (frozen, pooled).")
    hidden: list[PositiveInt] = Field(default_factory=list,
                                      description="Hidden layers (empty: logistic regression).")
    l2: float = Field(1e-3, ge=0, description="L2 penalty on the classifier's weights; keeps probabilities soft.")
    epochs: PositiveInt = 30
    learning_rate: float = Field(1e-2, gt=0)
    holdout: float = Field(0.2, gt=0, lt=1, description="Fraction of both domains held out to report how well "
                                                        "the classifier separates them.")


class AdaptSpec(Strict):
    """Domain adaptation under covariate shift: weight training examples by P_target(x) / P_train(x)."""

    method: Literal["importance_weighting", "none"] = Field(
        "importance_weighting", description="none: train unweighted but still report the target domain "
                                            "(the baseline to compare with).")
    target: PluginSection = Field(description="A data section yielding target-domain inputs (labels are not "
                                              "used for training; with a test split they are reported).")
    split: Literal["train", "validation", "test", "all"] = Field(
        "train", description="Target split(s) whose inputs the domain classifier sees.")
    classifier: DomainClassifierSpec = Field(default_factory=DomainClassifierSpec)
    clip: tuple[float, float] = Field((0.05, 20.0), description="Density ratios are clipped to [low, high] "
                                                                 "before normalising.")
    normalise: bool = Field(True, description="Scale the weights to mean 1 over the training split.")
    min_effective_fraction: float = Field(
        0.1, gt=0, le=1, description="Warn when the effective sample size falls below this fraction of the "
                                     "training examples.")
    evaluate: bool = Field(True, description="Evaluate the trained model on the target's test split too, "
                                             "when it has one with labels.")

    @field_validator("clip")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 <= low < high:
            raise ValueError(f"expected [low, high] with 0 <= low < high, got [{low}, {high}]")
        return value


class SweepSpec(Strict):
    """What ``tlspec sweep`` searches (``tlspec train`` ignores it)."""

    space: dict[str, Annotated[str, AfterValidator(check_text)]] = Field(
        default_factory=dict, description="Spec field (as --set writes it) -> loguniform(LOW, HIGH), "
                                          "uniform(LOW, HIGH), int(LOW, HIGH) or choice(A, B, ...).")
    trials: PositiveInt = Field(12, description="Trials to complete (pruned ones count).")
    seeds: PositiveInt = Field(1, description="Runs per trial, with seeds seed, seed+1, ...; the trial's value is "
                                              "their mean.")
    parallel: PositiveInt = Field(1, description="Trials run at once, each in its own process.")
    monitor: str | None = Field(None, description="The metric searched and pruned on, per epoch; default: "
                                                  "train.checkpoint.monitor, else val_loss.")
    direction: Literal["auto", "maximize", "minimize"] = Field("auto", description="auto: maximize accuracy-like "
                                                                                    "metrics, minimize the rest.")
    pruning: bool = Field(True, description="Stop trials whose monitored metric lags the median of earlier ones.")
    sampler_seed: int | None = Field(None, ge=0, description="Seed of the TPE sampler (default: the spec's seed).")

    @field_validator("space")
    @classmethod
    def _searchable_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key in ("seed", "sweep") or key.startswith("sweep."):
                raise ValueError(f"{key}: the sweep sets seeds itself (sweep.seeds) and cannot search itself")
        return value


class Spec(Strict):
    """A tlspec spec (after ``extends`` and ``--set`` are applied)."""

    tlspec: Literal[1] = Field(description="Version of the spec language.")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Name of this model/experiment.")
    description: str = ""
    seed: int | None = Field(None, ge=0, description="Seed for weight initialisation and data order.")
    extends: str | list[str] | None = Field(
        None, description="Spec file(s) this one builds on, relative to this file.")
    inputs: dict[Identifier, InputSpec] = Field(default_factory=dict, description="Named model inputs.")
    backbone: PluginSection
    blocks: list[PluginSection] = Field(default_factory=list,
                                        description="Further named components (encoders, towers, …).")
    freeze: PluginSection = Field(default_factory=lambda: {"plugin": "none"},
                                  description="Which backbone layers are frozen; a policy name or a section.")
    heads: list[PluginSection] = Field(min_length=1)
    data: PluginSection | None = None
    train: TrainSpec = Field(default_factory=TrainSpec)
    sharing: list[SharingSpec] = Field(default_factory=list,
                                       description="Soft parameter sharing groups (penalties added to the loss).")
    distribute: DistributeSpec = Field(default_factory=DistributeSpec,
                                       description="Data-parallel training on several devices or workers.")
    adapt: AdaptSpec | None = Field(None, description="Domain adaptation: importance weighting for covariate shift.")
    sweep: SweepSpec | None = Field(None, description="What `tlspec sweep` searches: a space over spec values, "
                                                      "trials, seeds, parallelism, pruning.")
    track: list[PluginSection] = Field(default_factory=list,
                                       description="Trackers that follow the run (tensorboard, mlflow, …): "
                                                   "parameters, per-epoch metrics, the model and the report.")

    @field_validator("freeze", mode="before")
    @classmethod
    def _freeze_shorthand(cls, value: Any) -> Any:
        return KINDS["freeze"].expand(value)

    @field_validator("track", mode="before")
    @classmethod
    def _tracker_shorthand(cls, value: Any) -> Any:
        return [KINDS["tracker"].expand(item) for item in value] if isinstance(value, list) else value

    @field_validator("distribute", mode="before")
    @classmethod
    def _strategy_shorthand(cls, value: Any) -> Any:
        return {"strategy": value} if isinstance(value, str) else value
