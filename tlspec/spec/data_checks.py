"""Checks between the spec and what its data sources declare they yield (``DataSource.describe``)."""

from __future__ import annotations

from tlspec.errors import one_of
from tlspec.plugin.data import DataContext, DataDescription
from tlspec.plugin.shapes import format_shape
from tlspec.spec.description_cache import describe_cached
from tlspec.spec.graph import Graph
from tlspec.spec.language import Spec
from tlspec.spec.problems import Problems, Section


def describe_data(section: Section, context: DataContext, problems: Problems) -> DataDescription | None:
    """What the data section yields, asked of its plugin (None after a located problem); kept on disk for
    sources that ask for it (``DataSource.cache_description``)."""
    return describe_cached(section, context, lambda: problems.call(section, "describe", context))


def adopt_targets(heads: list[Section], description: DataDescription, data: Section, problems: Problems) -> None:
    """Give every head its target from the data (e.g. class names); report heads the data cannot train."""
    names = [head.config.name for head in heads]
    for head in heads:
        target = description.targets.get(head.config.name)
        if target is None:
            problems.at_key(head.path, f"the data has no target for head '{head.config.name}'; it yields "
                                       f"targets for: {one_of(description.targets)}")
            continue
        adopted = problems.call(head, "adopt_target", target)
        if adopted is not None:
            head.config = adopted
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
            problems.at_key(data.path, f"the data yields '{name}' with shape {format_shape(field_.shape)} but the "
                                       f"model input '{name}' has shape {format_shape(shape)}")
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
