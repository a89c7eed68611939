"""A TensorFlow-free catalog of every ``keras.applications`` network.

``tlspec validate`` must not import TensorFlow, yet it should still catch a
misspelt layer name in ``from: backbone.block4_pol`` or ``freeze: {until: ...}``.
The catalog (``keras_apps.json.gz``, generated from the installed Keras by
``python -m tlspec_builtins.keras_catalog``) records, for each application built
without its top, the layer names in graph order, their output rank and whether
they hold weights. A test checks the catalog against the installed Keras.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

CATALOG_PATH = Path(__file__).with_name("keras_apps.json.gz")

# How each family expects its pixels (keras.applications.imagenet_utils modes).
# "builtin": the network already rescales inside itself.
PREPROCESSING_MODE = {
    "convnext": "builtin",
    "densenet": "torch",
    "efficientnet": "builtin",
    "efficientnet_v2": "builtin",
    "inception_resnet_v2": "tf",
    "inception_v3": "tf",
    "mobilenet": "tf",
    "mobilenet_v2": "tf",
    "mobilenet_v3": "builtin",
    "nasnet": "tf",
    "resnet": "caffe",
    "resnet_v2": "tf",
    "vgg16": "caffe",
    "vgg19": "caffe",
    "xception": "tf",
}


@dataclass(frozen=True)
class CatalogLayer:
    name: str
    rank: int
    has_weights: bool
    is_batchnorm: bool


@dataclass(frozen=True)
class CatalogEntry:
    model: str
    family: str
    default_input_shape: tuple[int, int, int]
    min_size: int
    layers: tuple[CatalogLayer, ...]

    @property
    def preprocessing(self) -> str:
        return PREPROCESSING_MODE[self.family]


class Catalog(Mapping):
    """Every application by name; an entry's layers become objects only when it is read, since a spec
    names one network out of dozens (building all of them was most of a cold ``validate``)."""

    def __init__(self, raw: dict[str, dict]):
        self._raw = raw
        self._built: dict[str, CatalogEntry] = {}

    def __getitem__(self, model: str) -> CatalogEntry:
        if model not in self._built:
            entry = self._raw[model]
            self._built[model] = CatalogEntry(
                model=model, family=entry["family"], default_input_shape=tuple(entry["default_input_shape"]),
                min_size=entry["min_size"], layers=tuple(CatalogLayer(*layer) for layer in entry["layers"]))
        return self._built[model]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@functools.cache
def load_catalog() -> Catalog:
    with gzip.open(CATALOG_PATH, "rt", encoding="utf-8") as handle:
        return Catalog(json.load(handle)["models"])


def describe_application(model_name: str) -> dict:
    """Build one application (no weights, no top) and describe it. Imports Keras."""
    import keras

    factory = getattr(keras.applications, model_name)
    family = factory.__module__.rsplit(".", 1)[-1]
    model = factory(weights=None, include_top=False)
    layers = []
    for layer in model.layers:
        shape = layer.output.shape
        layers.append(
            [
                layer.name,
                len(shape),
                bool(layer.weights),
                isinstance(layer, keras.layers.BatchNormalization),
            ]
        )
    default_shape = _default_input_shape(model_name)
    return {
        "family": family,
        "default_input_shape": list(default_shape),
        "min_size": _MIN_SIZE.get(family, 32),
        "layers": layers,
    }


_MIN_SIZE = {"inception_v3": 75, "inception_resnet_v2": 75, "xception": 71, "nasnet": 32}


def _default_input_shape(model_name: str) -> tuple[int, int, int]:
    sizes = {
        "InceptionV3": 299, "InceptionResNetV2": 299, "Xception": 299, "NASNetLarge": 331,
        "EfficientNetB1": 240, "EfficientNetB2": 260, "EfficientNetB3": 300,
        "EfficientNetB4": 380, "EfficientNetB5": 456, "EfficientNetB6": 528,
        "EfficientNetB7": 600, "EfficientNetV2B1": 240, "EfficientNetV2B2": 260,
        "EfficientNetV2B3": 300, "EfficientNetV2S": 384, "EfficientNetV2M": 480,
        "EfficientNetV2L": 480,
    }
    size = sizes.get(model_name, 224)
    return (size, size, 3)


def application_names() -> list[str]:
    """Every application the installed Keras offers. Imports Keras."""
    import keras

    return sorted(
        name for name, value in vars(keras.applications).items()
        if callable(value) and name[:1].isupper()
    )


def main() -> None:
    import keras

    models = {}
    for name in application_names():
        models[name] = describe_application(name)
        keras.backend.clear_session()
        print(f"{name}: {len(models[name]['layers'])} layers", flush=True)
    payload = {"keras_version": keras.__version__, "models": models}
    with gzip.open(CATALOG_PATH, "wt", encoding="utf-8") as handle:
        json.dump(payload, handle, separators=(",", ":"))
    print(f"wrote {CATALOG_PATH}")


if __name__ == "__main__":
    main()
