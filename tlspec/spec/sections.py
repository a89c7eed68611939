"""The plugin sections of a spec: where they are, and each one validated by its plugin's Config.

The core spec model (``tlspec.spec.language``) leaves plugin sections as plain
mappings; here each is handed to the model of the plugin it names, and its
errors are located like any other.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tlspec.errors import PlanError, Problem, format_path, one_of
from tlspec.plugin.kinds import KINDS
from tlspec.plugin.manager import Registry, UnknownPlugin
from tlspec.spec.located_yaml import Locations
from tlspec.spec.problems import Section, crash_problem
from tlspec.spec.pydantic_errors import problems_from
from tlspec.spec.transforms import TRANSFORMS_FIELD


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
    data_sections = [(("data",), data.get("data"))]
    adapt = data.get("adapt")
    if isinstance(adapt, dict):
        data_sections.append((("adapt", "target"), adapt.get("target")))
    for path, section in data_sections:
        if section is None:
            continue
        found.append(("data", path, section))
        transforms = section.get(TRANSFORMS_FIELD) if isinstance(section, dict) else None
        if isinstance(transforms, list):
            found += [("transform", path + (TRANSFORMS_FIELD, index), item) for index, item in enumerate(transforms)]
    if isinstance(data.get("track"), list):
        found += [("tracker", ("track", index), item) for index, item in enumerate(data["track"])]
    train = data.get("train")
    if isinstance(train, dict) and isinstance(train.get("phases"), list):
        for index, phase in enumerate(train["phases"]):
            if isinstance(phase, dict) and phase.get("freeze") is not None:
                found.append(("freeze", ("train", "phases", index, "freeze"), phase["freeze"]))
    return found


def validate_section(kind: str, path: tuple, raw: Any, registry: Registry,
                     locations: Locations) -> tuple[Section | None, list[Problem]]:
    raw = KINDS[kind].expand(raw)
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
    except PlanError as error:  # a validator checking several fields names the one at fault
        where = path + error.field
        located = locations.of_value(where) if error.field else locations.of_key(path)
        return None, [Problem(error.message, located, format_path(where))]
    except Exception as error:  # a bug in the plugin's validators: named, located at the section
        return None, [crash_problem(kind, path, record, "its Config validators", error, locations)]
    return Section(kind, path, record, config), []


def validate_sections(data: Any, registry: Registry,
                      locations: Locations) -> tuple[dict[tuple, Section], list[Problem]]:
    """Every plugin section present, validated, by path; and the problems found."""
    sections: dict[tuple, Section] = {}
    problems: list[Problem] = []
    for kind, path, raw in plugin_sections(data):
        section, found = validate_section(kind, path, raw, registry, locations)
        problems += found
        if section is not None:
            sections[path] = section
    return sections, problems
