"""The core of the spec language. Plugin sections are validated separately,
by the model of the plugin they name (see ``tlspec.validation``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, StringConstraints, field_validator

from tlspec.api import IDENTIFIER
from tlspec.errors import did_you_mean, one_of

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


class TrainSpec(Strict):
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 32
    checkpoint: CheckpointSpec | None = None
    early_stopping: EarlyStoppingSpec | None = None
    reduce_lr_on_plateau: ReduceLROnPlateauSpec | None = None
    tensorboard: bool = False
    csv_log: bool = True

    @field_validator("optimizer", mode="before")
    @classmethod
    def _optimizer_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


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

    @field_validator("freeze", mode="before")
    @classmethod
    def _freeze_shorthand(cls, value: Any) -> Any:
        return {"plugin": value} if isinstance(value, str) else value
