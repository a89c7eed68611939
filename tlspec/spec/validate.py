"""Spec file -> validated spec: YAML, composition, core model, plugin sections, data, graph, checks.

Nothing here imports TensorFlow; ``tlspec validate`` is this module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tlspec.errors import Problem, SpecError
from tlspec.plugin.data import DataContext, DataDescription
from tlspec.plugin.manager import Registry, default_registry
from tlspec.spec.checks import (
    check_distribute,
    check_head_references,
    check_layer_rates,
    check_loss_balancing,
    check_losses_and_metrics,
    check_sharing,
)
from tlspec.spec.compose import load_spec_tree
from tlspec.spec.data_checks import adopt_targets, check_adapt, check_data_inputs, check_monitors, describe_data
from tlspec.spec.graph import Graph, build_graph, select_frozen
from tlspec.spec.language import Spec
from tlspec.spec.located_yaml import Locations, flatten
from tlspec.spec.problems import Problems, Section
from tlspec.spec.pydantic_errors import problems_from
from tlspec.spec.sections import validate_sections


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
    phase_freezes: list[Section | None] = field(default_factory=list)
    description: DataDescription | None = None
    adapt_target: Section | None = None  # the target-domain data of 'adapt'
    trackers: list[Section] = field(default_factory=list)  # the 'track' sections
    registry: Registry | None = None  # the plugins it was validated with (their Keras objects, their versions)
    timings: dict[str, float] = field(default_factory=dict)  # seconds: "validate", "scan data"

    @property
    def spec_dir(self) -> Path:
        return self.source.resolve().parent

    def data_context(self) -> DataContext:
        return DataContext(self.spec_dir, tuple(h.config.name for h in self.heads), self.spec.seed,
                           self.spec.train.batch_size)


def validate_file(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                  registry: Registry | None = None) -> ValidatedSpec:
    """Load, compose and validate the spec at ``path``; raise SpecError on any problem."""
    began = time.perf_counter()
    tree = load_spec_tree(path, overrides)
    data, locations = flatten(tree)
    validated = validate_data(data, locations, Path(path), registry)
    validated.timings["validate"] = time.perf_counter() - began - validated.timings.get("scan data", 0.0)
    return validated


def validate_data(data: Any, locations: Locations, source: Path, registry: Registry | None = None,
                  description: DataDescription | None = None) -> ValidatedSpec:
    """``description``: what the data looked like when a run was trained; given, the data section is not
    described again (its files need not be there)."""
    registry = registry or default_registry()
    spec, sections = _parse(data, locations, registry)
    heads = [sections[("heads", i)] for i in range(len(spec.heads))]
    validated = ValidatedSpec(
        source=source, spec=spec, data=data, locations=locations, backbone=sections[("backbone",)],
        blocks=[sections[("blocks", i)] for i in range(len(spec.blocks))], heads=heads,
        freeze=sections[("freeze",)], data_source=sections.get(("data",)), graph=None,
        phase_freezes=[sections.get(("train", "phases", i, "freeze")) for i in range(len(spec.train.phases))],
        adapt_target=sections.get(("adapt", "target")), registry=registry,
        trackers=[sections[("track", i)] for i in range(len(spec.track))],
    )
    problems = Problems(locations)
    began = time.perf_counter()
    validated.description = _describe_training_data(validated, problems, description)
    if description is None and validated.data_source is not None:
        validated.timings["scan data"] = time.perf_counter() - began
    validated.graph = _plan_graph(validated)
    _check_whole_spec(validated, problems, describe_adapt_target=description is None)
    problems.raise_if_any()
    return validated


def _parse(data: Any, locations: Locations, registry: Registry) -> tuple[Spec, dict[tuple, Section]]:
    """The core spec model and every plugin section, each checked by its model; all problems at once."""
    problems: list[Problem] = []
    spec = None
    try:
        spec = Spec.model_validate(data)
    except ValidationError as error:
        problems += problems_from(error, data, locations, Spec)
    sections, found = validate_sections(data, registry, locations)
    if problems or found:
        raise SpecError(problems + found)
    return spec, sections


def _describe_training_data(validated: ValidatedSpec, problems: Problems,
                            recorded: DataDescription | None) -> DataDescription | None:
    """What the data section yields (or yielded, when ``recorded``); heads take their targets (e.g. class
    names) from it."""
    if validated.data_source is None:
        return None
    description = recorded or describe_data(validated.data_source, validated.data_context(), problems)
    problems.raise_if_any()
    adopt_targets(validated.heads, description, validated.data_source, problems)
    problems.raise_if_any()
    return description


def _plan_graph(validated: ValidatedSpec) -> Graph:
    spec = validated.spec
    inputs = {name: value.shape for name, value in spec.inputs.items()}
    return build_graph(inputs, validated.backbone, validated.blocks, validated.heads, validated.freeze,
                       validated.locations, spec_dir=validated.spec_dir, seed=spec.seed,
                       data=validated.description)


def _check_whole_spec(validated: ValidatedSpec, problems: Problems, describe_adapt_target: bool = True) -> None:
    spec, graph, description = validated.spec, validated.graph, validated.description
    for section in validated.phase_freezes:
        if section is not None:
            select_frozen(graph, section, problems)
    check_sharing(spec, graph, problems)
    check_layer_rates(spec, graph, problems)
    check_head_references(spec, validated.heads, problems)
    check_loss_balancing(spec, validated.heads, problems)
    check_losses_and_metrics(validated.heads, problems, validated.registry)
    check_distribute(spec, problems)
    for tracker in validated.trackers:
        problems.call(tracker, "check")
    if description is not None:
        check_data_inputs(graph, description, validated.data_source, problems)
        check_monitors(spec, description, problems)
    if validated.adapt_target is not None and describe_adapt_target:
        target = describe_data(validated.adapt_target, validated.data_context(), problems)
        if target is not None:
            check_data_inputs(graph, target, validated.adapt_target, problems)
            check_adapt(spec, validated.data_source, description, target, problems)


def load_datasets(validated: ValidatedSpec, context: DataContext | None = None,
                  section: Section | None = None) -> dict:
    """The data plugin's datasets (or those of ``section``, e.g. adapt.target); what goes wrong is
    reported at its line of the data section."""
    section = section or validated.data_source
    problems = Problems(validated.locations)
    datasets = problems.call(section, "datasets", context or validated.data_context())
    problems.raise_if_any()
    return datasets
