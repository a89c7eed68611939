"""``keras_app``: any ``keras.applications`` network, without its top, as a backbone.

The family's own preprocessing is put inside the graph (built-in Keras layers,
plus ``tlspec.api.ReverseChannels`` for caffe-style RGB->BGR), so the model
takes raw 0-255 RGB pixels and a saved model needs no outside preprocessing.
Layer names and ranks come from a catalog (see ``keras_catalog``), so
references like ``backbone.block4_pool`` are checked without TensorFlow.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

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
    did_you_mean,
    hookimpl,
    one_of,
)
from tlspec_builtins.common import component_layers
from tlspec_builtins.keras_catalog import CatalogEntry, load_catalog

# Options only some families take, with the families that take them.
FAMILY_OPTIONS = {
    "alpha": {"mobilenet", "mobilenet_v2", "mobilenet_v3"},
    "depth_multiplier": {"mobilenet"},
    "minimalistic": {"mobilenet_v3"},
}
IMAGENET_MEANS_BGR = [-103.939, -116.779, -123.68]
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)


class KerasAppConfig(ComponentConfig):
    model: str = Field(description="A keras.applications network, e.g. VGG16, MobileNet, ResNet50.")
    weights: str | None = Field(
        "imagenet", description="'imagenet', null (random initialisation) or a path to a weights file.")
    input_shape: list[PositiveInt | None] | None = Field(
        None, min_length=3, max_length=3, description="Height, width, channels. Default: the network's own.")
    pooling: Literal["avg", "max"] | None = Field(
        None, description="Global pooling of the last feature map; null keeps it (rank 4).")
    preprocess: bool = Field(True, description="Put the family's ImageNet preprocessing inside the graph.")
    input_name: str = Field("image", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                            description="Name of the model input this backbone creates when it has no 'from'.")
    alpha: float | None = Field(None, gt=0, description="Width multiplier (MobileNet families).")
    depth_multiplier: PositiveInt | None = Field(None, description="Depth multiplier (MobileNet).")
    minimalistic: bool | None = Field(None, description="Minimalistic variant (MobileNetV3).")

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        catalog = load_catalog()
        if value not in catalog:
            raise ValueError(f"unknown keras.applications model '{value}'{did_you_mean(value, catalog)}; "
                             f"available: {one_of(catalog, limit=50)}")
        return value

    @model_validator(mode="after")
    def _options_fit_family(self):
        entry = load_catalog().get(self.model)
        if entry is None:
            return self
        for option, families in FAMILY_OPTIONS.items():
            if getattr(self, option) is not None and entry.family not in families:
                raise ValueError(f"'{option}' is not an option of {self.model}")
        return self

    @property
    def entry(self) -> CatalogEntry:
        return load_catalog()[self.model]


class KerasApplication(Backbone):
    name = "keras_app"
    summary = "Any keras.applications network without its top (ImageNet weights, none, or a file)."
    Config = KerasAppConfig

    def plan(self, config: KerasAppConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        entry = config.entry
        if len(inputs) > 1:
            raise PlanError(f"{config.model} reads one image tensor; 'from' lists {len(inputs)}", ("from",))
        shape = self._input_shape(config, inputs)
        if config.weights == "imagenet" and shape[2] not in (None, 3):
            raise PlanError(f"ImageNet weights need 3 channels; the input has {shape[2]}",
                            ("input_shape",) if not inputs else ("from",))
        for size in shape[:2]:
            if size is not None and size < entry.min_size:
                raise PlanError(f"{config.model} needs images of at least {entry.min_size}x{entry.min_size}; "
                                f"got {shape[0]}x{shape[1]}", ("input_shape",) if not inputs else ("from",))
        if config.weights not in (None, "imagenet") and not context.resolve_path(config.weights).is_file():
            raise PlanError(f"weights file not found: {config.weights} "
                            f"(looked for {context.resolve_path(config.weights)})", ("weights",))
        layers = entry.layers[1:]  # the first is the network's InputLayer
        exact_catalog = not config.minimalistic
        endpoints = ({layer.name: TensorInfo.of_rank(layer.rank) for layer in layers}
                     if exact_catalog else None)
        return ComponentPlan(
            output=TensorInfo.of_rank(2 if config.pooling else 4),
            endpoints=endpoints,
            layers=[LayerInfo(layer.name, layer.has_weights, layer.is_batchnorm) for layer in layers]
            if exact_catalog else None,
            own_inputs={} if inputs else {config.input_name: TensorInfo((None, *shape), exact=True)},
        )

    def _input_shape(self, config: KerasAppConfig, inputs: Sequence[TensorInfo]) -> tuple:
        if inputs:
            info = inputs[0]
            if info.rank is None:
                return (None, None, 3)
            if info.rank != 4:
                raise PlanError(f"{config.model} reads images of rank 4 (batch, height, width, channels); "
                                f"'from' gives rank {info.rank} {info}", ("from",))
            return tuple(info.shape[1:])
        return tuple(config.input_shape or config.entry.default_input_shape)

    def build(self, config: KerasAppConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        shape = self._input_shape(config, [TensorInfo.of(t) for t in inputs])
        if inputs and not _is_model_input(inputs[0]):
            return self._build_nested(config, inputs[0], shape, context)
        image = inputs[0] if inputs else keras.Input(shape=shape, name=config.input_name)
        x, preprocessing = self._preprocess(config, image, context.name)
        base = self._application(config, shape, context, input_tensor=x)
        layers = component_layers(base, exclude=preprocessing)
        return Built(
            output=base.output,
            endpoints=_endpoints(base, layers, context.wanted_endpoints),
            layers=layers,
            inputs={} if inputs else {config.input_name: image},
        )

    def _build_nested(self, config, tensor, shape, context) -> Built:
        """Read a tensor computed by another component: call the network as one nested layer."""
        import keras

        base = self._application(config, shape, context)
        layers = component_layers(base)
        wanted = sorted(context.wanted_endpoints)
        outputs = [base.output] + [_endpoints(base, layers, {name})[name] for name in wanted]
        wrapped = keras.Model(base.input, outputs, name=context.name)
        x, preprocessing = self._preprocess(config, tensor, context.name)
        results = wrapped(x)
        return Built(output=results[0], endpoints=dict(zip(wanted, results[1:])), layers=layers)

    def _application(self, config: KerasAppConfig, shape, context: PlanContext, input_tensor=None):
        import keras

        factory = getattr(keras.applications, config.model)
        weights = config.weights
        if weights not in (None, "imagenet"):
            weights = str(context.resolve_path(weights))
        elif weights == "imagenet":
            weights = _local_imagenet_file(config, shape, context) or weights
        options = {option: getattr(config, option) for option in FAMILY_OPTIONS
                   if getattr(config, option) is not None}
        if config.entry.preprocessing == "builtin" and "include_preprocessing" in _parameters(factory):
            options["include_preprocessing"] = config.preprocess
        try:
            return factory(include_top=False, weights=weights, input_shape=shape, pooling=config.pooling,
                           input_tensor=input_tensor, **options)
        except Exception as error:  # weights download/shape problems, reported on the 'weights' line
            raise PlanError(_explain_weights_error(config, error), ("weights",)) from error

    def _preprocess(self, config: KerasAppConfig, tensor, name: str):
        """The family's preprocessing as layers; returns (output, layers added)."""
        import keras

        from tlspec.api import ReverseChannels

        mode = config.entry.preprocessing
        if not config.preprocess or mode == "builtin":
            return tensor, []
        if mode == "caffe":
            layers = [ReverseChannels(name=f"{name}_rgb_to_bgr"),
                      keras.layers.Rescaling(1.0, offset=IMAGENET_MEANS_BGR, name=f"{name}_center")]
        elif mode == "tf":
            layers = [keras.layers.Rescaling(1 / 127.5, offset=-1.0, name=f"{name}_rescale")]
        else:  # torch
            layers = [keras.layers.Rescaling([1 / (255 * s) for s in TORCH_STD],
                                             offset=[-m / s for m, s in zip(TORCH_MEAN, TORCH_STD)],
                                             name=f"{name}_normalize")]
        for layer in layers:
            tensor = layer(tensor)
        return tensor, layers


# Families whose ImageNet file depends on the input size: Keras fetches one per listed size.
SIZED_IMAGENET = {"MobileNet": (128, 160, 192, 224), "MobileNetV2": (96, 128, 160, 192, 224)}
MOBILENET_ALPHAS = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}


def _local_imagenet_file(config: KerasAppConfig, shape, context: PlanContext) -> str | None:
    """The 224-px ImageNet file already in ``$KERAS_HOME/models`` for a size-specific family at another size
    (its convolutions fit any size), instead of a download; None where Keras needs no help."""
    sizes = SIZED_IMAGENET.get(config.model)
    rows = shape[0] if shape else None
    if not sizes or rows is None or rows != shape[1] or rows == 224:
        return None
    folder = Path(os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras"))) / "models"  # where Keras caches
    standard = _imagenet_file_name(config, 224)
    if standard is None or not (folder / standard).is_file():
        return None
    if rows not in sizes:  # Keras loads the 224-px file itself here, with a warning of its own
        context.note(f"Keras has no ImageNet weights for {rows} px: it uses {standard} (224 px)")
        return None
    wanted = _imagenet_file_name(config, rows)
    if (folder / wanted).is_file():
        return None
    context.note(f"the ImageNet weights for {rows} px ({wanted}) are not in {folder}: used {standard}, the 224-px "
                 "file, whose convolutions fit any input size; nothing was downloaded")
    return str(folder / standard)


def _imagenet_file_name(config: KerasAppConfig, rows: int) -> str | None:
    """The file name Keras fetches, as keras.applications writes it."""
    alpha = 1.0 if config.alpha is None else config.alpha
    if config.model == "MobileNet":
        text = MOBILENET_ALPHAS.get(alpha)
        return f"mobilenet_{text}_{rows}_tf_no_top.h5" if text else None
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"


def _parameters(factory) -> set[str]:
    import inspect

    return set(inspect.signature(factory).parameters)


def _is_model_input(tensor) -> bool:
    import keras

    history = getattr(tensor, "_keras_history", None)
    return history is not None and isinstance(history[0], keras.layers.InputLayer)


def _endpoints(base, layers, wanted) -> dict:
    by_name = {layer.name: layer for layer in layers}
    found = {}
    for name in wanted:
        if name not in by_name:
            raise UnknownEndpoint(name, list(by_name))
        found[name] = by_name[name].output
    return found


def _explain_weights_error(config: KerasAppConfig, error: Exception) -> str:
    text = f"{type(error).__name__}: {error}"
    if config.weights == "imagenet" and any(word in text for word in ("URL", "fetch", "urlopen", "resolve",
                                                                     "Network", "connect")):
        return (f"could not download the ImageNet weights of {config.model} (no network?). "
                "Put the file Keras downloads into $KERAS_HOME/models, or set weights to a path to a "
                f"weights file, or to null. Keras said: {text}")
    if config.weights not in (None, "imagenet") and "Shape mismatch" in text:
        options = ", ".join(f"{name}: {getattr(config, name)}" for name in ("alpha", "input_shape")
                            if getattr(config, name, None) is not None)
        found = re.search(r"for weight (\S+)\. Weight expects shape (\([^)]*\))\. Received saved weight with shape "
                          r"(\([^)]*\))", text)
        detail = (f": {found.group(1)} is {found.group(3)} in the file but {found.group(2)} in this {config.model}"
                  if found else "")
        return (f"the weights file {config.weights} was saved from another {config.model} than this one "
                f"({options}){detail}; use the weights saved for these options, or the options they were saved "
                "with")
    return f"could not build {config.model}: {text}"


@hookimpl
def tlspec_backbones():
    return [KerasApplication()]
