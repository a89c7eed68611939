"""``small_cnn``: an example backbone.

Everything a backbone needs is here:

1. a pydantic config model (subclass of ``tlspec.api.ComponentConfig``): the
   options users may write; unknown fields are rejected for you;
2. ``plan``: TensorFlow-free shape inference, raising ``PlanError`` with the
   offending field so the error points at the right line of the spec;
3. ``build``: the Keras layers (import keras *inside* the method, so that
   ``tlspec validate`` stays fast). It need not list them: tlspec finds them in the graph. The
   plan lists them (``LayerInfo``) so that ``tlspec validate`` can check a freeze policy.

The hook implementation returning it is in ``__init__.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, PositiveInt

from tlspec.api import (
    Backbone,
    Built,
    ComponentConfig,
    ComponentPlan,
    LayerInfo,
    PlanContext,
    PlanError,
    TensorInfo,
    UnknownEndpoint,
)


class SmallCNNConfig(ComponentConfig):
    filters: list[PositiveInt] = Field(min_length=1, description="Filters of each stage, bottom to top.")
    kernel_size: PositiveInt = Field(3, description="Square convolution kernel size.")
    rescale: float = Field(1 / 255, gt=0, description="Input scale: the model takes raw 0-255 pixels.")
    batchnorm: bool = Field(True, description="BatchNormalization after each convolution.")
    input_shape: list[PositiveInt] | None = Field(
        None, min_length=3, max_length=3, description="Height, width, channels (when there is no 'from').")
    input_name: str = Field("image", description="Name of the model input created when there is no 'from'.")


class SmallCNN(Backbone):
    name = "small_cnn"
    summary = "Example plugin: Conv-BN-ReLU-MaxPool stages; each stage is an endpoint."
    Config = SmallCNNConfig

    def plan(self, config: SmallCNNConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        if len(inputs) > 1:
            raise PlanError("small_cnn reads one image tensor", ("from",))
        if inputs:
            if inputs[0].rank not in (None, 4):
                raise PlanError(f"small_cnn reads images (batch, height, width, channels); got {inputs[0]}",
                                ("from",))
            shape = inputs[0].shape[1:] if inputs[0].shape else (None, None, None)
            own_inputs = {}
        elif config.input_shape is None:
            raise PlanError("small_cnn needs 'input_shape' when it has no 'from'", ("input_shape",))
        else:
            shape = tuple(config.input_shape)
            own_inputs = {config.input_name: TensorInfo((None, *shape), exact=True)}
        height, width = shape[0], shape[1]
        endpoints, layers = {}, [LayerInfo(f"{context.name}_rescale", False)]
        for stage, filters in enumerate(config.filters, start=1):
            if height is not None and height < 2 or width is not None and width < 2:
                raise PlanError(f"the image is too small for {len(config.filters)} stages: stage {stage} would "
                                "pool a 1-pixel feature map; use fewer filters", ("filters",))
            height = None if height is None else height // 2
            width = None if width is None else width // 2
            endpoints[f"stage_{stage}"] = TensorInfo((None, height, width, filters), exact=bool(own_inputs))
            layers.append(LayerInfo(f"{context.name}_conv_{stage}", True))
            if config.batchnorm:
                layers.append(LayerInfo(f"{context.name}_bn_{stage}", True, is_batchnorm=True))
            layers += [LayerInfo(f"{context.name}_relu_{stage}", False),
                       LayerInfo(f"{context.name}_pool_{stage}", False)]
        last = endpoints[f"stage_{len(config.filters)}"]
        return ComponentPlan(output=last, endpoints=endpoints, layers=layers, own_inputs=own_inputs)

    def build(self, config: SmallCNNConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        created = {}
        if not inputs:
            created = {config.input_name: keras.Input(tuple(config.input_shape), name=config.input_name)}
        x = inputs[0] if inputs else created[config.input_name]
        x = keras.layers.Rescaling(config.rescale, name=f"{context.name}_rescale")(x)
        endpoints = {}
        for stage, filters in enumerate(config.filters, start=1):
            stage_layers = [keras.layers.Conv2D(filters, config.kernel_size, padding="same",
                                                use_bias=not config.batchnorm, name=f"{context.name}_conv_{stage}")]
            if config.batchnorm:
                stage_layers.append(keras.layers.BatchNormalization(name=f"{context.name}_bn_{stage}"))
            stage_layers += [keras.layers.ReLU(name=f"{context.name}_relu_{stage}"),
                             keras.layers.MaxPooling2D(name=f"{context.name}_pool_{stage}")]
            for layer in stage_layers:
                x = layer(x)
            endpoints[f"stage_{stage}"] = x
        for wanted in context.wanted_endpoints:
            if wanted not in endpoints:
                raise UnknownEndpoint(wanted, list(endpoints))
        return Built(output=x, endpoints=endpoints, inputs=created)  # tlspec finds the layers in the graph

