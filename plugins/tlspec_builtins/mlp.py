"""``mlp``: a stack of Dense layers whose every layer can be referenced.

The lecture's multitask example (3 -> 4 -> 4 -> 4, one output from the second
layer and one from the third) is an ``mlp`` backbone with two heads reading
``backbone.layer_2`` and ``backbone.layer_3``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field, PositiveInt, StringConstraints, model_validator

from tlspec.api import (
    IDENTIFIER,
    Backbone,
    Built,
    ComponentConfig,
    ComponentPlan,
    LayerInfo,
    PlanContext,
    PlanError,
    TensorInfo,
    UnknownEndpoint,
    apply,
    hookimpl,
)
from tlspec_builtins.common import Activation, Rate, concatenate

LayerName = Annotated[str, StringConstraints(pattern=IDENTIFIER)]


class MLPConfig(ComponentConfig):
    units: list[PositiveInt] = Field(min_length=1, description="Units of each Dense layer, bottom to top.")
    activation: Activation = "relu"
    dropout: Rate = Field(0.0, description="Dropout after each layer.")
    batchnorm: bool = Field(False, description="BatchNormalization after each Dense layer.")
    layer_names: list[LayerName] | None = Field(
        None, description="Names of the Dense layers (endpoints); default '<component>_dense_<i>'.")
    input_shape: list[PositiveInt] | None = Field(
        None, min_length=1, description="Input shape when the mlp has no 'from' (it then creates an input).")
    input_name: LayerName = Field("features", description="Name of the input created when there is no 'from'.")
    flatten: bool = Field(False, description="Flatten inputs of rank > 2 instead of rejecting them.")

    @model_validator(mode="after")
    def _names_match_units(self):
        if self.layer_names is not None:
            if len(self.layer_names) != len(self.units):
                raise ValueError(f"layer_names has {len(self.layer_names)} names for {len(self.units)} layers")
            if len(set(self.layer_names)) != len(self.layer_names):
                raise ValueError("layer_names must be distinct")
        return self

    def names(self, component: str) -> list[str]:
        return self.layer_names or [f"{component}_dense_{i}" for i in range(1, len(self.units) + 1)]


class MLP(Backbone):
    name = "mlp"
    summary = "Dense layers (optionally with dropout and BatchNorm); every layer is an endpoint."
    Config = MLPConfig

    def plan(self, config: MLPConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        own_inputs = {}
        if not inputs:
            if config.input_shape is None:
                raise PlanError("an mlp without 'from' needs 'input_shape' (or read a declared input with "
                                "from: inputs.<name>)", ("input_shape",))
            own_inputs = {config.input_name: TensorInfo((None, *config.input_shape), exact=True)}
            inputs = list(own_inputs.values())
        for index, info in enumerate(inputs):
            if info.rank is not None and info.rank != 2 and not config.flatten:
                field = ("from",) if len(inputs) == 1 else ("from", index)
                if own_inputs:
                    field = ("input_shape",)
                raise PlanError(f"an mlp reads vectors (batch, features), got rank {info.rank} {info}; "
                                "set flatten: true or pool the tensor first", field)
        names = config.names(context.name)
        layers = []
        for name in names:
            layers.append(LayerInfo(name, has_weights=True))
            if config.batchnorm:
                layers.append(LayerInfo(f"{name}_bn", has_weights=True, is_batchnorm=True))
        endpoints = {name: TensorInfo((None, units)) for name, units in zip(names, config.units)}
        return ComponentPlan(output=TensorInfo((None, config.units[-1])), endpoints=endpoints,
                             layers=layers, own_inputs=own_inputs)

    def build(self, config: MLPConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        created = {}
        if not inputs:
            created = {config.input_name: keras.Input(shape=tuple(config.input_shape), name=config.input_name)}
            inputs = list(created.values())
        name = context.name
        layers: list = []
        if config.flatten:
            inputs = [apply(keras.layers.Flatten(name=f"{name}_flatten_{i}"), t, layers) if len(t.shape) > 2 else t
                      for i, t in enumerate(inputs)]
        x = concatenate(list(inputs), name, layers)
        endpoints = {}
        for layer_name, units in zip(config.names(name), config.units):
            activation = None if config.batchnorm else config.activation
            x = apply(keras.layers.Dense(units, activation=activation, name=layer_name), x, layers)
            if config.batchnorm:
                x = apply(keras.layers.BatchNormalization(name=f"{layer_name}_bn"), x, layers)
                x = apply(keras.layers.Activation(config.activation, name=f"{layer_name}_act"), x, layers)
            if config.dropout:
                x = apply(keras.layers.Dropout(config.dropout, name=f"{layer_name}_dropout"), x, layers)
            endpoints[layer_name] = x
        unknown = set(context.wanted_endpoints) - set(endpoints)
        if unknown:
            raise UnknownEndpoint(sorted(unknown)[0], list(endpoints))
        return Built(output=x, endpoints=endpoints, layers=layers, inputs=created)


@hookimpl
def tlspec_backbones():
    return [MLP()]
