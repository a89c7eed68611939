"""Validated spec -> Keras functional model (imports TensorFlow).

Components are built in the graph's topological order. Each plugin's ``plan``
runs again on the real shapes before its ``build``, so a shape problem that
could not be seen statically is still reported at its line in the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tlspec.api import Built, LayerInfo, PlanError, TensorInfo, UnknownEndpoint
from tlspec.graph import (INPUTS, Component, Problems, check_groups, plugin_crash, report_unknown_endpoint, run_plan,
                          select_frozen)
from tlspec.validation import ValidatedSpec


@dataclass
class Assembly:
    """A built model and what each component contributed to it."""

    model: Any
    built: dict[str, Built]
    validated: ValidatedSpec
    inputs: dict[str, Any] = field(default_factory=dict)  # by name, in spec order
    frozen_layers: set[str] = field(default_factory=set)

    @property
    def graph(self):
        return self.validated.graph


def layer_info(layer) -> LayerInfo:
    import keras

    return LayerInfo(layer.name, bool(layer.weights), isinstance(layer, keras.layers.BatchNormalization))


def assemble(validated: ValidatedSpec) -> Assembly:
    from tlspec.tf_runtime import keras as load_keras

    keras = load_keras()

    graph = validated.graph
    problems = Problems(validated.locations)
    if validated.spec.seed is not None:
        keras.utils.set_random_seed(validated.spec.seed)

    spec_inputs = {name: keras.Input(shape=tuple(value.shape), dtype=value.dtype, name=name)
                   for name, value in validated.spec.inputs.items()}
    built: dict[str, Built] = {}
    model_inputs: dict[str, Any] = {}

    def tensor_of(ref):
        if ref.target == INPUTS:
            return spec_inputs[ref.endpoint]
        source = built[ref.target]
        if ref.endpoint is None:
            return source.output
        if ref.endpoint not in source.endpoints:
            report_unknown_endpoint(problems, ref, list(source.endpoints))
            problems.raise_if_any()
        return source.endpoints[ref.endpoint]

    for component in graph.components.values():
        tensors = [tensor_of(ref) for ref in component.refs]
        context = graph.context(component)
        infos = [TensorInfo.of(t) for t in tensors]
        if check_groups(component, infos, problems):
            component.plan = run_plan(component, infos, context, problems)
        problems.raise_if_any()
        built[component.name] = _build(graph, component, tensors, context, problems)
        problems.raise_if_any()
        model_inputs.update(built[component.name].inputs)
    # Inputs and outputs keyed by name: datasets, losses and predictions all speak names.
    inputs = {**spec_inputs, **model_inputs}
    outputs = {head.name: built[head.name].output for head in graph.heads()}
    try:
        model = keras.Model(inputs=inputs, outputs=outputs, name=validated.spec.name)
    except ValueError as error:
        problems.at_key(("heads",), f"Keras could not connect the graph: {error}")
        problems.raise_if_any()

    assembly = Assembly(model=model, built=built, validated=validated, inputs=inputs)
    apply_freeze(assembly, validated.freeze)
    return assembly


def apply_freeze(assembly: Assembly, section) -> set[str]:
    """Set ``trainable`` on the backbone's layers as the freeze policy ``section`` says (recompile after)."""
    graph = assembly.graph
    problems = Problems(assembly.validated.locations)
    layers = assembly.built[graph.backbone].layers
    frozen = select_frozen(graph, section, problems, [layer_info(layer) for layer in layers])
    problems.raise_if_any()
    for layer in layers:
        layer.trainable = layer.name not in frozen
    assembly.frozen_layers = frozen
    if section is graph.freeze:
        graph.frozen_layers = frozen
    return frozen


def _build(graph, component: Component, tensors, context, problems: Problems) -> Built | None:
    section = component.section
    try:
        result = section.record.plugin.build(section.config, tensors, context)
    except PlanError as error:
        problems.at_value(section.path + error.field, error.message)
        return None
    except UnknownEndpoint as error:
        for other in graph.components.values():
            for ref in other.refs:
                if ref.target == component.name and ref.endpoint == error.endpoint:
                    report_unknown_endpoint(problems, ref, error.known)
        return None
    except Exception as error:
        problems.at_key(section.path, plugin_crash(section, "build", error))
        return None
    if not isinstance(result, Built):
        problems.at_key(section.path, f"{section.kind} plugin '{section.record.name}' returned "
                                      f"{type(result).__name__} from build(), not tlspec.api.Built")
        return None
    return result

