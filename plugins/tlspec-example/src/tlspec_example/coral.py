"""``coral``: an example head for ordered classes (ordinal regression), with its own loss, metric and layer.

CORAL (Cao, Mirjalili and Raschka, 2020) predicts, for K ordered classes, the K-1 chances that an
example lies above each class boundary, P(y > k), from one shared weight vector and K-1 biases, so
the chances can never cross. Its loss is the mean binary cross-entropy of those K-1 answers; the
predicted class is how many of them say yes.

This module is TensorFlow-free, like every plugin module ``tlspec validate`` imports: the Keras
layer, loss and metric live in ``coral_keras`` and are declared by name in ``__init__.py``
(``tlspec_keras_objects``), so the engine imports them only to build or reload a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, conint, field_validator

from tlspec.api import (
    Built,
    ComponentPlan,
    DataField,
    Head,
    HeadConfig,
    HeadOutput,
    PlanContext,
    PlanError,
    TensorInfo,
)


class CoralConfig(HeadConfig):
    classes: conint(ge=3) | list[str] | Literal["from_data"] = Field(
        description="The ordered classes, lowest first: their number, their names, or from_data.")

    @field_validator("classes")
    @classmethod
    def _at_least_three_distinct(cls, value):
        if isinstance(value, list) and (len(value) < 3 or len(set(value)) != len(value)):
            raise ValueError("give at least three distinct class names, lowest first")
        return value

    @property
    def count(self) -> int | None:
        return None if self.classes == "from_data" else (
            self.classes if isinstance(self.classes, int) else len(self.classes))


class Coral(Head):
    name = "coral"
    summary = "Example plugin: ordered classes (CORAL ordinal regression) with its own loss, metric and layer."
    Config = CoralConfig
    default_loss = "coral_loss"
    default_metrics = ("coral_mae",)

    def plan(self, config: CoralConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        if len(inputs) != 1:
            raise PlanError(f"head '{config.name}' reads one tensor", ("from",))
        if inputs[0].rank not in (None, 2, 3, 4):
            raise PlanError(f"head '{config.name}' reads features (batch, features), a sequence or a feature "
                            f"map; got {inputs[0]}", ("from",))
        if config.count is None:
            raise PlanError("classes: from_data needs a data section that names the classes", ("classes",))
        return ComponentPlan(output=TensorInfo((None, config.count - 1)))

    def build(self, config: CoralConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        from tlspec_example.coral_keras import CoralOutput

        x, created = inputs[0], []
        if len(x.shape) > 2:  # average a sequence or a feature map into one vector
            pooling = (keras.layers.GlobalAveragePooling1D if len(x.shape) == 3 else
                       keras.layers.GlobalAveragePooling2D)(name=f"{config.name}_pool")
            x = pooling(x)
            created.append(pooling)
        output_layer = CoralOutput(config.count - 1, name=config.name)
        created.append(output_layer)
        return Built(output=output_layer(x), layers=created)

    def adopt_target(self, config: CoralConfig, target: DataField) -> CoralConfig:
        if target.shape not in ((), (1,)) or not target.dtype.startswith("int"):
            raise PlanError(f"head '{config.name}' needs one whole-number class label per example; the data "
                            f"gives {target.dtype} of shape {target.shape}", ("classes",))
        if config.classes == "from_data":
            if not target.classes:
                raise PlanError("classes: from_data, but the data does not name its classes", ("classes",))
            config = config.model_copy(update={"classes": list(target.classes)})
        elif target.classes and len(target.classes) != config.count:
            raise PlanError(f"head '{config.name}' has {config.count} classes but the data has "
                            f"{len(target.classes)}", ("classes",))
        outside = target.labels.outside(config.count) if target.labels else None
        if outside:
            raise PlanError(f"head '{config.name}': the data has {outside}", ("classes",))
        return config

    def output(self, config: CoralConfig) -> HeadOutput:
        names = config.classes if isinstance(config.classes, list) else [str(k) for k in range(config.count)]
        return HeadOutput("labels", tuple(names))  # the loss takes the labels; it builds the K-1 answers

    def describe_prediction(self, config: CoralConfig, output: HeadOutput, values) -> dict:
        import numpy as np

        above = 1 / (1 + np.exp(-np.asarray(values, dtype=float).reshape(-1)))  # P(y > k), k = 0..K-2
        rank = int((above > 0.5).sum())
        cumulative = np.concatenate([[1.0], above, [0.0]])  # P(y > k) for k = -1..K-1
        chances = np.clip(cumulative[:-1] - cumulative[1:], 0.0, 1.0)
        return {"label": output.classes[rank], "rank": rank, "probability": float(chances[rank]),
                "probabilities": {name: float(p) for name, p in zip(output.classes, chances)}}
