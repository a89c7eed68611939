"""Spec file -> validated spec: YAML, composition, core model, plugin models, data, graph.

Nothing here imports TensorFlow; ``tlspec validate`` is this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tlspec.api import DataContext, DataDescription, PlanError
from tlspec.cluster import check_addresses
from tlspec.compose import load_spec_tree
from tlspec.errors import Problem, SpecError, TlspecError, did_you_mean, format_path, one_of
from tlspec.graph import Graph, Problems, Section, build_graph, plugin_crash, select_frozen
from tlspec.located_yaml import Locations, flatten
from tlspec.plugins import Registry, UnknownPlugin, default_registry
from tlspec.pydantic_errors import problems_from
from tlspec.sharing import check_groups as check_sharing
from tlspec.spec_model import Spec
from tlspec.transforms import TRANSFORMS_FIELD


MULTI_WORKER_SEED = ("multi-worker training needs the spec's 'seed': every worker shuffles the data with it "
                     "and keeps its own share of each batch (add e.g. 'seed: 0')")


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

    @property
    def spec_dir(self) -> Path:
        return self.source.resolve().parent

    def data_context(self) -> DataContext:
        return DataContext(self.spec_dir, tuple(h.config.name for h in self.heads), self.spec.seed,
                           self.spec.train.batch_size)


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
    train = data.get("train")
    if isinstance(train, dict) and isinstance(train.get("phases"), list):
        for index, phase in enumerate(train["phases"]):
            if isinstance(phase, dict) and phase.get("freeze") is not None:
                found.append(("freeze", ("train", "phases", index, "freeze"), phase["freeze"]))
    return found


def validate_section(kind: str, path: tuple, raw: Any, registry: Registry,
                     locations: Locations) -> tuple[Section | None, list[Problem]]:
    if kind in ("freeze", "transform") and isinstance(raw, str):
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


def load_datasets(validated: "ValidatedSpec", context: DataContext | None = None,
                  section: Section | None = None) -> dict:
    """The data plugin's datasets (or those of ``section``, e.g. adapt.target); its PlanErrors are
    reported at their line of the data section."""
    section = section or validated.data_source
    problems = Problems(validated.locations)
    try:
        return section.record.plugin.datasets(section.config, context or validated.data_context())
    except PlanError as error:
        problems.at_value(section.path + error.field, error.message)
    problems.raise_if_any()


def describe_data(section: Section, context: DataContext, problems: Problems) -> DataDescription | None:
    try:
        return section.record.plugin.describe(section.config, context)
    except PlanError as error:
        problems.at_value(section.path + error.field, error.message)
    except Exception as error:
        problems.at_key(section.path, plugin_crash(section, "describe", error))
    return None


def adopt_targets(heads: list[Section], description: DataDescription, data: Section, problems: Problems) -> None:
    """Give every head its target from the data (e.g. class names); report heads the data cannot train."""
    names = [head.config.name for head in heads]
    for head in heads:
        target = description.targets.get(head.config.name)
        if target is None:
            problems.at_key(head.path, f"the data has no target for head '{head.config.name}'; it yields "
                                       f"targets for: {one_of(description.targets)}")
            continue
        try:
            head.config = head.record.plugin.adopt_target(head.config, target)
        except PlanError as error:
            problems.at_value(head.path + error.field, error.message)
    for extra in sorted(set(description.targets) - set(names)):
        problems.at_key(data.path, f"the data yields a target '{extra}' but no head has that name; "
                                   f"heads: {one_of(names)}")


def check_data_inputs(graph: Graph, description: DataDescription, data: Section, problems: Problems) -> None:
    """The data must yield exactly the model's inputs, with fitting shapes."""
    model_inputs = {name: info.shape[1:] for name, info in graph.inputs.items()}
    for component in graph.components.values():
        if component.plan is not None:
            model_inputs.update({n: i.shape[1:] for n, i in component.plan.own_inputs.items() if i.shape})
    for name, shape in model_inputs.items():
        field_ = description.inputs.get(name)
        if field_ is None:
            problems.at_key(data.path, f"the model has an input '{name}' but the data yields "
                                       f"{one_of(description.inputs)}")
            continue
        if len(field_.shape) != len(shape) or any(a is not None and b is not None and a != b
                                                  for a, b in zip(field_.shape, shape)):
            problems.at_key(data.path, f"the data yields '{name}' with shape {_shape(field_.shape)} but the "
                                       f"model input '{name}' has shape {_shape(shape)}")
    for extra in sorted(set(description.inputs) - set(model_inputs)):
        problems.at_key(data.path, f"the data yields an input '{extra}' the model does not have; model inputs: "
                                   f"{one_of(model_inputs)}")


def check_monitors(spec: Spec, description: DataDescription, problems: Problems) -> None:
    """A callback watching a validation metric needs a validation split."""
    if "validation" in description.splits:
        return
    for name in ("checkpoint", "early_stopping", "reduce_lr_on_plateau"):
        callback = getattr(spec.train, name)
        if callback is not None and callback.monitor.startswith("val_"):
            problems.at_value(("train", name, "monitor"),
                              f"'{callback.monitor}' needs a validation split, and the data has none "
                              f"(splits: {', '.join(description.splits)}); add one to the data section or "
                              "monitor a training metric")


def logged_names(spec: Spec, heads: list[Section]) -> list[str]:
    """What Keras logs while training this spec (without the 'val_' twins)."""
    names = ["loss"]
    single = len(heads) == 1
    for head in heads:
        plugin, config = head.record.plugin, head.config
        prefix = "" if single else f"{config.name}_"
        if not single:
            names.append(f"{prefix}loss")
        names += [f"{prefix}{metric}" for metric in plugin.metrics(config)]
    for group in spec.sharing:
        names += [f"{group.name}_distance", f"{group.name}_penalty"]
    return names


def check_head_references(spec: Spec, heads: list[Section], problems: Problems) -> None:
    """Head names used outside 'heads' (class weights, monitored metrics) must exist."""
    names = [head.config.name for head in heads]
    for head in spec.train.class_weights:
        if head not in names:
            problems.at_key(("train", "class_weights", head),
                            f"no head named '{head}'{did_you_mean(head, names)}; heads: {one_of(names)}")
    logged = logged_names(spec, heads)
    known = logged + [f"val_{name}" for name in logged]
    for callback in ("checkpoint", "early_stopping", "reduce_lr_on_plateau"):
        options = getattr(spec.train, callback)
        if options is not None and options.monitor not in known:
            problems.at_value(("train", callback, "monitor"),
                              f"'{options.monitor}' is not logged during training{did_you_mean(options.monitor, known)}; "
                              f"logged: {one_of(known, limit=12)}")


def check_distribute(spec: Spec, problems: Problems) -> None:
    """Multi-worker needs a seed (shared shuffling) and distinct worker addresses."""
    options = spec.distribute
    if options.strategy != "multi_worker":
        return
    if spec.seed is None:
        problems.at_value(("distribute", "strategy"), MULTI_WORKER_SEED)
    if options.workers:
        try:
            check_addresses(options.workers, "distribute.workers")
        except TlspecError as error:
            problems.at_value(("distribute", "workers"), str(error).removeprefix("distribute.workers: "))


def check_adapt(spec: Spec, data: Section | None, description: DataDescription | None,
                target: DataDescription, problems: Problems) -> None:
    """The target domain must be usable: a split to learn from, classes that match for evaluation."""
    adapt = spec.adapt
    if data is None:
        problems.at_key(("adapt",), "adapt weights the training data, and the spec has no 'data' section")
        return
    if spec.distribute.strategy != "none":
        problems.at_key(("adapt",), "adapt cannot be combined with distribute yet (the domain classifier is "
                                    "trained on one device); remove one of them")
    if adapt.split != "all" and adapt.split not in target.splits:
        problems.at_value(("adapt", "split"), f"the target data has no '{adapt.split}' split; it has "
                                              f"{one_of(target.splits)} (or use all)")
    if adapt.classifier.features == "inputs" and description is not None:
        for name, field_ in description.inputs.items():
            if field_.dtype.startswith("int") and name not in description.vocabularies:
                problems.at_value(("adapt", "classifier", "features"),
                                  f"the integer input '{name}' has no vocabulary to count tokens over, so the "
                                  "domain classifier cannot read it; use features: backbone")
    if adapt.evaluate and "test" in target.splits and description is not None:
        for head, field_ in target.targets.items():
            source = description.targets.get(head)
            if source is not None and field_.classes and source.classes and field_.classes != source.classes:
                problems.at_key(("adapt", "target"), f"the target data labels head '{head}' with classes "
                                                     f"{list(field_.classes)} but the training data with "
                                                     f"{list(source.classes)}; map them to the same names "
                                                     "(or set adapt.evaluate: false)")


def _shape(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


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
    data_source = sections.get(("data",))
    spec_dir = source.resolve().parent
    checks = Problems(locations)
    context = DataContext(spec_dir, tuple(h.config.name for h in heads), spec.seed, spec.train.batch_size)
    description = None
    if data_source is not None:
        description = describe_data(data_source, context, checks)
        checks.raise_if_any()
        adopt_targets(heads, description, data_source, checks)
        checks.raise_if_any()

    inputs = {name: value.shape for name, value in spec.inputs.items()}
    graph = build_graph(inputs, sections[("backbone",)], blocks, heads, sections[("freeze",)], locations,
                        spec_dir=spec_dir, seed=spec.seed, data=description)
    phase_freezes = [sections.get(("train", "phases", i, "freeze")) for i in range(len(spec.train.phases))]
    for section in phase_freezes:
        if section is not None:
            select_frozen(graph, section, checks)
    check_sharing(spec, graph, checks)
    check_head_references(spec, heads, checks)
    check_distribute(spec, checks)
    if description is not None:
        check_data_inputs(graph, description, data_source, checks)
        check_monitors(spec, description, checks)
    adapt_target = sections.get(("adapt", "target"))
    if adapt_target is not None:
        target_description = describe_data(adapt_target, context, checks)
        if target_description is not None:
            check_data_inputs(graph, target_description, adapt_target, checks)
            check_adapt(spec, data_source, description, target_description, checks)
    checks.raise_if_any()
    return ValidatedSpec(
        source=source, spec=spec, data=data, locations=locations,
        backbone=sections[("backbone",)], blocks=blocks, heads=heads, freeze=sections[("freeze",)],
        data_source=data_source, graph=graph, phase_freezes=phase_freezes, description=description,
        adapt_target=adapt_target,
    )


def validate_file(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                  registry: Registry | None = None) -> ValidatedSpec:
    """Load, compose and validate the spec at ``path``; raise SpecError on any problem."""
    tree = load_spec_tree(path, overrides)
    data, locations = flatten(tree)
    return validate_data(data, locations, Path(path), registry)
