"""Spec file -> validated spec: YAML, composition, core model, plugin models, graph.

Nothing here imports TensorFlow; ``tlspec validate`` is this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tlspec.compose import load_spec_tree
from tlspec.errors import Problem, SpecError, format_path, one_of
from tlspec.graph import Graph, Section, build_graph
from tlspec.located_yaml import Locations, flatten
from tlspec.plugins import Registry, UnknownPlugin, default_registry
from tlspec.pydantic_errors import problems_from
from tlspec.spec_model import Spec


@dataclass
class ValidatedSpec:
    source: Path
    spec: Spec
    data: dict
    locations: Locations
    backbone: Section
    blocks: list[Section]
    heads: list[Section]
    freeze: Section
    data_source: Section | None
    graph: Graph

    @property
    def spec_dir(self) -> Path:
        return self.source.resolve().parent


def plugin_sections(data: Any) -> list[tuple[str, tuple, Any]]:
    """(kind, path, raw section) for every plugin section present in raw spec data."""
    if not isinstance(data, dict):
        return []
    found = []
    if "backbone" in data:
        found.append(("backbone", ("backbone",), data["backbone"]))
    for key, kind in (("blocks", "backbone"), ("heads", "head")):
        if isinstance(data.get(key), list):
            found += [(kind, (key, index), item) for index, item in enumerate(data[key])]
    found.append(("freeze", ("freeze",), data.get("freeze", "none")))
    if data.get("data") is not None:
        found.append(("data", ("data",), data["data"]))
    return found


def validate_section(kind: str, path: tuple, raw: Any, registry: Registry,
                     locations: Locations) -> tuple[Section | None, list[Problem]]:
    if kind == "freeze" and isinstance(raw, str):
        raw = {"plugin": raw}
    if not isinstance(raw, dict):
        return None, []  # the core model reports "expected a mapping"
    name = raw.get("plugin")
    if name is None:
        return None, [Problem(f"missing required field 'plugin' (installed {kind} plugins: "
                              f"{one_of(registry.names(kind))})", locations.of_key(path), format_path(path))]
    try:
        record = registry.get(kind, name)
    except UnknownPlugin as error:
        plugin_path = path + ("plugin",)
        return None, [Problem(str(error), locations.of_value(plugin_path), format_path(plugin_path))]
    try:
        config = record.config_model.model_validate(raw)
    except ValidationError as error:
        return None, problems_from(error, raw, locations, record.config_model, prefix=path)
    return Section(kind, path, record, config), []


def validate_data(data: Any, locations: Locations, source: Path,
                  registry: Registry | None = None) -> ValidatedSpec:
    registry = registry or default_registry()
    problems: list[Problem] = []
    spec = None
    try:
        spec = Spec.model_validate(data)
    except ValidationError as error:
        problems += problems_from(error, data, locations, Spec)
    sections: dict[tuple, Section] = {}
    for kind, path, raw in plugin_sections(data):
        section, found = validate_section(kind, path, raw, registry, locations)
        problems += found
        if section is not None:
            sections[path] = section
    if problems:
        raise SpecError(problems)

    blocks = [sections[("blocks", i)] for i in range(len(spec.blocks))]
    heads = [sections[("heads", i)] for i in range(len(spec.heads))]
    inputs = {name: value.shape for name, value in spec.inputs.items()}
    graph = build_graph(inputs, sections[("backbone",)], blocks, heads, sections[("freeze",)], locations,
                        spec_dir=source.resolve().parent, seed=spec.seed)
    return ValidatedSpec(
        source=source, spec=spec, data=data, locations=locations,
        backbone=sections[("backbone",)], blocks=blocks, heads=heads, freeze=sections[("freeze",)],
        data_source=sections.get(("data",)), graph=graph,
    )


def validate_file(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                  registry: Registry | None = None) -> ValidatedSpec:
    """Load, compose and validate the spec at ``path``; raise SpecError on any problem."""
    tree = load_spec_tree(path, overrides)
    data, locations = flatten(tree)
    return validate_data(data, locations, Path(path), registry)
