"""Built-in heads: ``classifier`` and ``regression``.

Both read one or more tensors, reduce each to (batch, features) with
``pooling``, concatenate them, apply optional hidden Dense layers and dropout,
and end in a Dense layer named after the head (the Keras output name).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, PositiveInt, field_validator

from tlspec.api import (
    ONE_HOT_LOSSES,
    Built,
    ComponentPlan,
    Head,
    HeadConfig,
    HeadOutput,
    KerasObject,
    LayerInfo,
    PlanContext,
    PlanError,
    Pooling,
    TensorInfo,
    apply,
    hookimpl,
    pool,
)
from tlspec_builtins.common import (
    Activation,
    HiddenLayer,
    Rate,
    check_head_input,
    class_names,
    concatenate,
    hidden_layers,
)


class DenseHeadConfig(HeadConfig):
    pooling: Pooling = Field("avg", description="How a feature map of rank > 2 becomes a vector.")
    hidden: list[PositiveInt | HiddenLayer] = Field(
        default_factory=list, description="Hidden Dense layers: unit counts or {units, activation, dropout}.")
    hidden_activation: Activation = Field("relu", description="Activation of hidden layers given as numbers.")
    dropout: Rate = Field(0.0, description="Dropout before the output layer.")


class ClassifierConfig(DenseHeadConfig):
    classes: PositiveInt | list[str] | Literal["from_data"] = Field(
        description="Number of classes, their names in label order, or from_data (the data's class names).")
    activation: Literal["softmax", "sigmoid"] = Field(
        "softmax", description="softmax: one class per example; sigmoid: independent labels (multi-label).")

    @field_validator("classes")
    @classmethod
    def _distinct_names(cls, value):
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one class name")
            repeated = sorted({name for name in value if value.count(name) > 1})
            if repeated:
                raise ValueError(f"class names must be distinct; repeated: {', '.join(repeated)}")
        return value

    @property
    def class_count(self) -> int | None:
        if self.classes == "from_data":
            return None
        return self.classes if isinstance(self.classes, int) else len(self.classes)

    @property
    def class_names(self) -> list[str] | None:
        return self.classes if isinstance(self.classes, list) else None


class RegressionConfig(DenseHeadConfig):
    units: PositiveInt = Field(1, description="Number of values predicted.")
    activation: Activation = Field("linear", description="Activation of the output layer.")


class _DenseHead(Head):
    def plan(self, config: DenseHeadConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        if not inputs:
            raise PlanError(f"head '{config.name}' needs an input: set 'from'", ("from",))
        many = len(inputs) > 1
        for index, info in enumerate(inputs):
            check_head_input(config.name, info, config.pooling, ("from", index) if many else ("from",))
        return ComponentPlan(output=TensorInfo((None, self.units(config))), layers=self._layers(config, inputs))

    def _layers(self, config: DenseHeadConfig, inputs: Sequence[TensorInfo]) -> list[LayerInfo] | None:
        """The layers ``build`` creates, in its order (so learning-rate patterns are checked at validate)."""
        name, layers = config.name, []
        for index, info in enumerate(inputs):
            if info.rank is not None and info.rank > 2:
                pooled = name if len(inputs) == 1 else f"{name}_{index}"
                suffix = "flatten" if config.pooling == "flatten" else f"{config.pooling}_pool"
                layers.append(LayerInfo(f"{pooled}_{suffix}", False))
            elif info.rank is None:
                return None  # whether it is pooled is only known at build
        if len(inputs) > 1:
            layers.append(LayerInfo(f"{name}_concat", False))
        for index, layer in enumerate(hidden_layers(config.hidden, config.hidden_activation), start=1):
            layers.append(LayerInfo(f"{name}_hidden_{index}", True))
            if layer.dropout:
                layers.append(LayerInfo(f"{name}_hidden_{index}_dropout", False))
        if config.dropout:
            layers.append(LayerInfo(f"{name}_dropout", False))
        return layers + [LayerInfo(name, True)]

    def build(self, config: DenseHeadConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        name = config.name
        created = []
        features = [pool(tensor, config.pooling, name if len(inputs) == 1 else f"{name}_{i}", created)
                    for i, tensor in enumerate(inputs)]
        x = concatenate(features, name, created)
        for index, layer in enumerate(hidden_layers(config.hidden, config.hidden_activation), start=1):
            x = apply(keras.layers.Dense(layer.units, activation=layer.activation, name=f"{name}_hidden_{index}"),
                      x, created)
            if layer.dropout:
                x = apply(keras.layers.Dropout(layer.dropout, name=f"{name}_hidden_{index}_dropout"), x, created)
        if config.dropout:
            x = apply(keras.layers.Dropout(config.dropout, name=f"{name}_dropout"), x, created)
        output = apply(keras.layers.Dense(self.units(config), activation=config.activation, name=name), x, created)
        return Built(output=output, layers=created)

    @abstractmethod
    def units(self, config) -> int:
        """Size of the output layer."""


class Classifier(_DenseHead):
    name = "classifier"
    summary = "Dense classifier: pooling, optional hidden layers, softmax or sigmoid output."
    Config = ClassifierConfig
    default_metrics = ("accuracy",)

    def plan(self, config: ClassifierConfig, inputs, context):
        if config.class_count is None:
            raise PlanError("classes: from_data needs a data section that names the classes", ("classes",))
        if config.activation == "softmax" and config.class_count < 2:
            raise PlanError("softmax needs at least 2 classes; for one yes/no label use activation: sigmoid",
                            ("classes",))
        return super().plan(config, inputs, context)

    def units(self, config: ClassifierConfig) -> int:
        return config.class_count

    def adopt_target(self, config: ClassifierConfig, target):
        if config.activation == "sigmoid" and config.class_count is not None and config.class_count > 1:
            if tuple(target.shape) not in ((config.class_count,), (None,)):
                raise PlanError(f"a multi-label head with {config.class_count} classes needs targets of shape "
                                f"({config.class_count},); the data gives {target.shape}", ("classes",))
            return config
        if len(target.shape) > 1 or (len(target.shape) == 1 and target.shape[0] not in (1, None)):
            raise PlanError(f"head '{config.name}' predicts one class per example, but its target has shape "
                            f"{target.shape}", ("classes",))
        if not target.dtype.startswith("int"):
            raise PlanError(f"head '{config.name}' needs integer class labels; the data gives {target.dtype}",
                            ("classes",))
        data_names = list(target.classes) if target.classes else None
        outside = target.labels.outside(config.class_count) if target.labels and config.class_count else None
        if outside and data_names is None:
            raise PlanError(f"head '{config.name}': the data has {outside}", ("classes",))
        if config.classes == "from_data":
            if data_names is None:
                raise PlanError("classes: from_data, but the data does not name its classes; give the count "
                                "or the names", ("classes",))
            return config.model_copy(update={"classes": data_names})
        if data_names is not None:
            if config.class_names is not None and config.class_names != data_names:
                raise PlanError(f"head '{config.name}' names classes {config.class_names} but the data has "
                                f"{data_names} (in label order)", ("classes",))
            if config.class_count != len(data_names):
                raise PlanError(f"head '{config.name}' has {config.class_count} classes but the data has "
                                f"{len(data_names)}: {', '.join(data_names)}", ("classes",))
            if config.class_names is None:
                return config.model_copy(update={"classes": data_names})
        return config
    def output(self, config: ClassifierConfig) -> HeadOutput:
        if config.activation == "sigmoid":
            targets = "multi_hot"
        else:
            targets = "one_hot" if self.loss(config) in ONE_HOT_LOSSES else "labels"
        return HeadOutput(targets, class_names(config.classes))

    def loss(self, config: ClassifierConfig) -> str:
        if config.loss:
            return config.loss
        return "sparse_categorical_crossentropy" if config.activation == "softmax" else "binary_crossentropy"


class Regression(_DenseHead):
    name = "regression"
    summary = "Dense regression output (mean squared error by default)."
    Config = RegressionConfig
    default_loss = "mse"
    default_metrics = ("mae",)

    def units(self, config: RegressionConfig) -> int:
        return config.units

    def adopt_target(self, config: RegressionConfig, target):
        size = 1
        for dim in target.shape:
            size = size * dim if dim is not None and size is not None else None
        if size not in (None, config.units):
            raise PlanError(f"head '{config.name}' predicts {config.units} value(s) per example, but its target "
                            f"has shape {target.shape}", ("units",))
        return config


class TokenClassifierConfig(HeadConfig):
    classes: PositiveInt | list[str] | Literal["from_data"] = Field(
        description="Tags per token: a count, names in label order (label 0 is padding), or from_data.")
    dropout: Rate = Field(0.0, description="Dropout before the output layer.")


class TokenClassifier(Head):
    name = "token_classifier"
    summary = ("One softmax per token of a sequence (POS tags, chunks); padding is masked out (loss: "
               "token_crossentropy where the backbone carries no mask).")
    Config = TokenClassifierConfig
    default_loss = "sparse_categorical_crossentropy"
    default_metrics = ("accuracy",)

    def plan(self, config: TokenClassifierConfig, inputs, context) -> ComponentPlan:
        if len(inputs) != 1:
            raise PlanError("a token_classifier reads one sequence", ("from",))
        if inputs[0].rank is not None and inputs[0].rank != 3:
            raise PlanError(f"head '{config.name}' tags every token, so it reads a sequence (batch, steps, "
                            f"features); got rank {inputs[0].rank} {inputs[0]}", ("from",))
        if config.classes == "from_data":
            raise PlanError("classes: from_data needs a data section that names the tags", ("classes",))
        count = config.classes if isinstance(config.classes, int) else len(config.classes)
        steps = inputs[0].shape[1] if inputs[0].shape else None
        layers = [LayerInfo(f"{config.name}_dropout", False)] if config.dropout else []
        return ComponentPlan(output=TensorInfo((None, steps, count)), layers=layers + [LayerInfo(config.name, True)])

    def build(self, config: TokenClassifierConfig, inputs, context) -> Built:
        import keras

        created, x = [], inputs[0]
        if config.dropout:
            x = apply(keras.layers.Dropout(config.dropout, name=f"{config.name}_dropout"), x, created)
        count = config.classes if isinstance(config.classes, int) else len(config.classes)
        output = apply(keras.layers.Dense(count, activation="softmax", name=config.name), x, created)
        return Built(output=output, layers=created)

    def output(self, config: TokenClassifierConfig) -> HeadOutput:
        return HeadOutput("labels", class_names(config.classes))

    def adopt_target(self, config: TokenClassifierConfig, target):
        if len(target.shape) != 1 or not target.dtype.startswith("int"):
            raise PlanError(f"head '{config.name}' needs one integer tag per token; the data gives "
                            f"{target.dtype} of shape {target.shape}", ("classes",))
        names = list(target.classes) if target.classes else None
        if config.classes == "from_data":
            if names is None:
                raise PlanError("classes: from_data, but the data does not name its tags", ("classes",))
            return config.model_copy(update={"classes": names})
        if names is not None:
            count = config.classes if isinstance(config.classes, int) else len(config.classes)
            if count != len(names) or (isinstance(config.classes, list) and config.classes != names):
                raise PlanError(f"head '{config.name}' has {count} tags but the data has {len(names)}: "
                                f"{', '.join(names[:12])}{' …' if len(names) > 12 else ''}", ("classes",))
            return config.model_copy(update={"classes": names})
        return config


@hookimpl
def tlspec_keras_objects():
    return [KerasObject("loss", "token_crossentropy", "tlspec_builtins.token_loss:TokenCrossentropy")]


@hookimpl
def tlspec_heads():
    return [Classifier(), Regression(), TokenClassifier()]
