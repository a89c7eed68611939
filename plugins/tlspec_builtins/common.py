"""Pieces shared by the built-in backbones and heads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt

from tlspec.api import PlanError, TensorInfo, apply, did_you_mean, one_of

ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
)


def _known_activation(value: str) -> str:
    if value not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{value}'{did_you_mean(value, ACTIVATIONS)}; "
                         f"expected one of {one_of(ACTIVATIONS, limit=40)}")
    return value


Activation = Annotated[str, AfterValidator(_known_activation)]
Rate = Annotated[float, Field(ge=0.0, lt=1.0)]


class HiddenLayer(BaseModel):
    """One hidden Dense layer of a head."""

    model_config = ConfigDict(extra="forbid")

    units: PositiveInt
    activation: Activation = "relu"
    dropout: Rate = 0.0


def hidden_layers(spec: Sequence[int | HiddenLayer], activation: str) -> list[HiddenLayer]:
    return [HiddenLayer(units=item, activation=activation) if isinstance(item, int) else item
            for item in spec]


def check_head_input(head: str, info: TensorInfo, pooling: str, field: tuple) -> TensorInfo:
    """The shape after pooling, or PlanError if the head cannot read this tensor."""
    rank = info.rank
    if rank is None:
        return TensorInfo()
    if rank < 2:
        raise PlanError(f"head '{head}' reads a rank-{rank} tensor {info}; it needs (batch, features…)",
                        field)
    if rank == 2:
        return info
    if pooling == "none":
        raise PlanError(f"head '{head}' reads a rank-{rank} tensor {info} but pooling is 'none': "
                        "a head needs rank 2 (batch, features); use pooling: flatten, avg or max",
                        ("pooling",))
    if pooling == "flatten":
        inner = info.shape[1:]
        if info.exact and any(size is None for size in inner):
            raise PlanError(f"pooling 'flatten' needs a fixed size, but head '{head}' reads {info}; "
                            "give the backbone a full input_shape or use pooling: avg or max",
                            ("pooling",))
        size = None if any(s is None for s in inner) else _product(inner)
        return TensorInfo((None, size), info.exact)
    return TensorInfo((None, info.shape[-1]), info.exact)


def _product(values) -> int:
    result = 1
    for value in values:
        result *= value
    return result


def concatenate(tensors: list, name: str, created: list):
    import keras

    if len(tensors) == 1:
        return tensors[0]
    return apply(keras.layers.Concatenate(name=f"{name}_concat"), tensors, created)


def component_layers(model_or_layers, exclude: Sequence = ()) -> list:
    """Layers of a component in graph order, without input layers."""
    import keras

    layers = model_or_layers.layers if hasattr(model_or_layers, "layers") else model_or_layers
    excluded = {id(layer) for layer in exclude}
    return [layer for layer in layers
            if not isinstance(layer, keras.layers.InputLayer) and id(layer) not in excluded]


def class_names(classes) -> tuple[str, ...] | None:
    """A head's class names from its ``classes`` option: the names, or "0".."n-1" for a count (None while
    it is still 'from_data')."""
    if isinstance(classes, list):
        return tuple(classes)
    if isinstance(classes, int):
        return tuple(str(label) for label in range(classes))
    return None
