"""Validated spec -> Keras functional model (imports TensorFlow).

Components are built in the graph's topological order. Each plugin's ``plan``
runs again on the real shapes before its ``build``, so a shape problem that
could not be seen statically is still reported at its line in the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tlspec.plugin.shapes import Built, LayerInfo, TensorInfo, UnknownEndpoint
from tlspec.spec.graph import (
    INPUTS,
    Component,
    Graph,
    Ref,
    check_groups,
    report_unknown_endpoint,
    run_plan,
    select_frozen,
)
from tlspec.spec.problems import Problems
from tlspec.spec.validate import ValidatedSpec


def tensor_of(ref: Ref, inputs: dict[str, Any], built: dict[str, Built]) -> Any:
    """The Keras tensor (or group of tensors) a reference points at; UnknownEndpoint if it has none."""
    if ref.target == INPUTS:
        return inputs[ref.endpoint]
    source = built[ref.target]
    if ref.endpoint is None:
        return source.output
    if ref.endpoint not in source.endpoints:
        raise UnknownEndpoint(ref.endpoint, list(source.endpoints))
    return source.endpoints[ref.endpoint]


@dataclass
class Assembly:
    """A built model and what each component contributed to it."""

    model: Any
    built: dict[str, Built]
    validated: ValidatedSpec
    inputs: dict[str, Any] = field(default_factory=dict)  # by name, in spec order
    frozen_layers: set[str] = field(default_factory=set)

    @property
    def graph(self) -> Graph:
        return self.validated.graph

    def tensor(self, ref: Ref) -> Any:
        return tensor_of(ref, self.inputs, self.built)


def layer_info(layer) -> LayerInfo:
    import keras

    return LayerInfo(layer.name, bool(layer.weights), isinstance(layer, keras.layers.BatchNormalization))


def assemble(validated: ValidatedSpec) -> Assembly:
    from tlspec.model.custom_objects import register_plugin_objects
    from tlspec.model.runtime import keras as load_keras

    keras = load_keras()
    register_plugin_objects(validated.registry)  # a plugin's layers, losses and metrics, by name
    problems = Problems(validated.locations)
    if validated.spec.seed is not None:
        keras.utils.set_random_seed(validated.spec.seed)
    spec_inputs = {name: keras.Input(shape=tuple(value.shape), dtype=value.dtype, name=name)
                   for name, value in validated.spec.inputs.items()}
    built = _build_components(validated.graph, spec_inputs, problems)
    # Inputs and outputs keyed by name: datasets, losses and predictions all speak names.
    inputs = dict(spec_inputs)
    for component in built.values():
        inputs.update(component.inputs)
    outputs = {head.name: built[head.name].output for head in validated.graph.heads()}
    try:
        model = keras.Model(inputs=inputs, outputs=outputs, name=validated.spec.name)
    except ValueError as error:
        problems.at_key(("heads",), f"Keras could not connect the graph: {error}")
        problems.raise_if_any()
    assembly = Assembly(model=model, built=built, validated=validated, inputs=inputs)
    # Every freeze section the spec uses changes the layers now (LoRA adds its adapters), so the model has
    # the same weights in every phase and a checkpoint of any phase loads into a model built again; the
    # spec's own freeze section adapts them in apply_freeze.
    layers = built[validated.graph.backbone].layers
    for section in validated.phase_freezes:
        if section is not None:
            problems.call(section, "adapt", layers)
    problems.raise_if_any()
    apply_freeze(assembly, validated.freeze)
    return assembly


def _build_components(graph: Graph, spec_inputs: dict[str, Any], problems: Problems) -> dict[str, Built]:
    """Plan on real shapes, then build, each component in order; stop at the first with a problem."""
    built: dict[str, Built] = {}
    for component in graph.components.values():
        tensors = []
        for ref in component.refs:
            try:
                tensors.append(tensor_of(ref, spec_inputs, built))
            except UnknownEndpoint as error:
                report_unknown_endpoint(problems, ref, error.known)
        problems.raise_if_any()
        context = graph.context(component)
        infos = [TensorInfo.of(tensor) for tensor in tensors]
        if check_groups(component, infos, problems):
            component.plan = run_plan(component, infos, context, problems)
        problems.raise_if_any()
        built[component.name] = _build(graph, component, tensors, context, problems)
        problems.raise_if_any()
    return built


def apply_freeze(assembly: Assembly, section) -> set[str]:
    """Set ``trainable`` on the backbone's layers as the freeze policy ``section`` says (recompile after)."""
    graph = assembly.graph
    problems = Problems(assembly.validated.locations)
    layers = assembly.built[graph.backbone].layers
    frozen = select_frozen(graph, section, problems, [layer_info(layer) for layer in layers])
    problems.raise_if_any()
    for layer in layers:
        layer.trainable = layer.name not in frozen
    problems.call(section, "adapt", layers)
    problems.raise_if_any()
    assembly.frozen_layers = frozen
    if section is graph.freeze:
        graph.frozen_layers = frozen
    return frozen


def _build(graph: Graph, component: Component, tensors, context, problems: Problems) -> Built | None:
    section = component.section

    def unknown_endpoint(error: UnknownEndpoint) -> None:
        for other in graph.components.values():
            for ref in other.refs:
                if ref.target == component.name and ref.endpoint == error.endpoint:
                    report_unknown_endpoint(problems, ref, error.known)

    before = len(problems.items)
    result = problems.call(section, "build", tensors, context, on_unknown_endpoint=unknown_endpoint)
    if isinstance(result, Built):
        if not result.layers:  # not listed: the layers between what it was given and what it made
            from tlspec.model.layer_graph import layers_between

            result.layers = layers_between([*tensors, *result.inputs.values()],
                                           [result.output, *result.endpoints.values()])
        return result
    if len(problems.items) == before:
        problems.at_key(section.path, f"{section.kind} plugin '{section.record.name}' returned "
                                      f"{type(result).__name__} from build(), not tlspec.api.Built")
    return None
