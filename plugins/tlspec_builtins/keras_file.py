"""``keras_file``: a saved ``.keras`` model as a backbone, optionally cut at a named layer.

The model is loaded with ``keras.saving.load_model(..., safe_mode=True)``: a
file that needs unsafe deserialization (Lambda layers) is refused with a clear
error. Layer names are read from the archive's ``config.json`` without
TensorFlow, so ``cut_at`` and references are checked by ``tlspec validate``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from tlspec.api import (
    Backbone,
    Built,
    ComponentConfig,
    ComponentPlan,
    PlanContext,
    PlanError,
    TensorInfo,
    UnknownEndpoint,
    did_you_mean,
    hookimpl,
    one_of,
)
from tlspec_builtins.common import component_layers


class KerasFileConfig(ComponentConfig):
    path: str = Field(description="Path to a .keras file, relative to the spec.")
    cut_at: str | None = Field(None, description="Layer whose output becomes the backbone's output; "
                                                 "default: the model's own output.")


# A model's config.json is kilobytes to a few megabytes; more is not a model archive (a zip bomb reads as one).
MAX_CONFIG_BYTES = 64 * 1024 * 1024


def read_archive_layers(path: Path) -> tuple[list[str], dict[str, TensorInfo]]:
    """Top-level layer names and input shapes from a .keras archive, without TensorFlow."""
    config = _archive_config(path)
    layers = config.get("config", {}).get("layers", []) if isinstance(config.get("config"), dict) else None
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise PlanError(f"{path} is not a .keras archive (its config.json describes no layers)", ("path",))
    names, inputs = [], {}
    for layer in layers:
        options = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        name = options.get("name") or layer.get("name")
        if layer.get("class_name") == "InputLayer":
            shape = options.get("batch_shape")
            inputs[name] = TensorInfo(tuple(shape), exact=True) if isinstance(shape, list) else TensorInfo()
        else:
            names.append(name)
    return names, inputs


def _archive_config(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as archive:
            size = archive.getinfo("config.json").file_size
            if size > MAX_CONFIG_BYTES:
                raise PlanError(f"{path} is not a .keras archive: its config.json unpacks to {size:,} bytes "
                                f"(a model's is far below the {MAX_CONFIG_BYTES:,} tlspec reads)", ("path",))
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        raise PlanError(f"{path} is not a .keras archive ({error})", ("path",)) from None
    if not isinstance(config, dict):
        raise PlanError(f"{path} is not a .keras archive (its config.json is not an object)", ("path",))
    return config


class KerasFile(Backbone):
    name = "keras_file"
    summary = "A saved .keras model (safe mode), cut at a named layer."
    Config = KerasFileConfig

    def plan(self, config: KerasFileConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        path = context.resolve_path(config.path)
        if not path.is_file():
            raise PlanError(f"model file not found: {config.path} (looked for {path})", ("path",))
        names, model_inputs = read_archive_layers(path)
        if config.cut_at is not None and config.cut_at not in names:
            raise PlanError(f"{config.path} has no layer '{config.cut_at}'{did_you_mean(config.cut_at, names)}; "
                            f"layers: {one_of(names, limit=8)}", ("cut_at",))
        # Shapes are only known once the model is loaded (checked again at build time).
        return ComponentPlan(output=TensorInfo(), endpoints={name: TensorInfo() for name in names},
                             own_inputs={} if inputs else model_inputs)

    def build(self, config: KerasFileConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        path = context.resolve_path(config.path)
        try:
            model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as error:
            raise PlanError(f"could not load {config.path} in safe mode: {type(error).__name__}: {error}",
                            ("path",)) from error
        layers = component_layers(model)
        by_name = {layer.name: layer for layer in layers}
        output = by_name[config.cut_at].output if config.cut_at else model.output
        wanted = sorted(context.wanted_endpoints)
        for name in wanted:
            if name not in by_name:
                raise UnknownEndpoint(name, list(by_name))
        if not inputs:
            created = {layer.name: layer.output for layer in model.layers
                       if isinstance(layer, keras.layers.InputLayer)}
            return Built(output=output, endpoints={n: by_name[n].output for n in wanted}, layers=layers,
                         inputs=created)
        if len(inputs) != len(model.inputs):
            raise PlanError(f"{config.path} takes {len(model.inputs)} inputs; 'from' gives {len(inputs)}",
                            ("from",))
        wrapped = keras.Model(model.inputs, [output] + [by_name[n].output for n in wanted], name=context.name)
        results = wrapped(list(inputs) if len(inputs) > 1 else inputs[0])
        return Built(output=results[0], endpoints=dict(zip(wanted, results[1:])), layers=layers)


@hookimpl
def tlspec_backbones():
    return [KerasFile()]
