"""Which plugin distributions a run needs: recorded in run.json, checked before the run is reloaded.

A run needs the distributions of every plugin its spec names (components, freeze policies, data
sources, text transforms) and of every plugin Keras object its model uses: a loss or metric a head
names, a layer class in the model.
"""

from __future__ import annotations

from typing import Any

from tlspec.plugin.kinds import KINDS
from tlspec.plugin.manager import Origin, Registry, default_registry
from tlspec.spec.transforms import TRANSFORMS_FIELD
from tlspec.spec.validate import ValidatedSpec

OWN_DISTRIBUTION = "tlspec"  # recorded as tlspec_version already


def plugin_distributions(validated: ValidatedSpec, model) -> dict[str, str]:
    """``{distribution: version}`` of the plugins the run uses, tlspec's own built-ins left out."""
    registry = validated.registry or default_registry()
    origins = [section.record.origin for section in _sections(validated)]
    origins += [registry.get("transform", name).origin for name in _transform_names(validated.data.get("data"))]
    origins += _keras_object_origins(validated, model, registry)
    return {origin.distribution: origin.version for origin in sorted(origins, key=lambda o: o.distribution)
            if origin.distribution != OWN_DISTRIBUTION}


ENVIRONMENT_PACKAGES = ("tensorflow", "keras", "numpy")


def environment() -> dict[str, str]:
    """What trained the run besides tlspec and its plugins: Python, the platform, the numeric stack."""
    import importlib.metadata as metadata
    import platform

    found = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    for package in ENVIRONMENT_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


def _sections(validated: ValidatedSpec) -> list:
    sections = [validated.backbone, *validated.blocks, *validated.heads, validated.freeze, validated.data_source,
                *validated.phase_freezes, validated.adapt_target]
    return [section for section in sections if section is not None]


def _transform_names(data_section: Any) -> list[str]:
    items = data_section.get(TRANSFORMS_FIELD, []) if isinstance(data_section, dict) else []
    expanded = [KINDS["transform"].expand(item) for item in items]
    return [item["plugin"] for item in expanded if isinstance(item, dict) and "plugin" in item]


def _keras_object_origins(validated: ValidatedSpec, model, registry: Registry) -> list[Origin]:
    named = set()
    for head in validated.heads:
        named.add(head.plugin.loss(head.config))
        named.update(head.plugin.metrics(head.config))
    layer_classes = {type(layer) for layer in _all_layers(model)}
    origins = []
    for name, record in registry.keras_objects.items():
        if name in named or (record.declaration.kind in ("layer", "object") and record.declaration.load()
                             in layer_classes):
            origins.append(record.origin)
    return origins


def _all_layers(model) -> list:
    found, waiting = [], list(getattr(model, "layers", []))
    while waiting:
        layer = waiting.pop()
        found.append(layer)
        waiting += getattr(layer, "layers", [])
    return found
