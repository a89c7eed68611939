"""The component graph: names, references, order and TensorFlow-free shape checks.

Components are the backbone, the blocks and the heads. Each may read from
``inputs.<name>``, ``<component>`` (its main output) or
``<component>.<endpoint>`` (a named tensor inside it, e.g. a layer of the
backbone). The graph must be acyclic; it is planned in topological order so
that every plugin sees the shapes it will receive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tlspec.errors import did_you_mean, format_path, one_of
from tlspec.plugin.shapes import UNKNOWN, ComponentPlan, FreezeTarget, LayerInfo, PlanContext, TensorInfo
from tlspec.spec.located_yaml import Locations
from tlspec.spec.problems import Problems, Section

INPUTS = "inputs"


@dataclass(frozen=True)
class Ref:
    text: str
    target: str
    endpoint: str | None
    path: tuple


@dataclass
class Component:
    role: str  # backbone | block | head
    name: str
    section: Section
    refs: list[Ref]
    plan: ComponentPlan | None = None

    @property
    def path(self) -> tuple:
        return self.section.path


@dataclass
class Graph:
    inputs: dict[str, TensorInfo]
    components: dict[str, Component]  # in topological order
    backbone: str
    freeze: Section
    spec_dir: Path
    seed: int | None = None
    frozen_layers: set[str] | None = None  # None: only known at build time
    data: object | None = None  # the DataDescription, when the spec has data
    notes: list[str] = field(default_factory=list)

    def heads(self) -> list[Component]:
        return [c for c in self.components.values() if c.role == "head"]

    def context(self, component: Component) -> PlanContext:
        wanted = {ref.endpoint for other in self.components.values() for ref in other.refs
                  if ref.target == component.name and ref.endpoint}
        names = tuple(ref.endpoint if ref.target == INPUTS else None for ref in component.refs)
        return PlanContext(component.name, self.spec_dir, frozenset(wanted), self.seed, names, self.data,
                           self.notes)


def input_info(shape: list[int | None]) -> TensorInfo:
    return TensorInfo((None, *shape))


def build_graph(inputs: dict[str, list], backbone: Section, blocks: list[Section], heads: list[Section],
                freeze: Section, locations: Locations, spec_dir: Path, seed: int | None = None,
                data: object | None = None) -> Graph:
    """Check names, references and cycles, then plan every component statically."""
    problems = Problems(locations)
    components = _name_components(inputs, backbone, blocks, heads, problems)
    problems.raise_if_any()
    known = [f"{INPUTS}.{name}" for name in inputs] + list(components)
    backbone_name = _component_name(backbone, "backbone")
    for component in components.values():
        default = backbone_name if component.role == "head" else None
        component.refs = _parse_refs(component, inputs, components, known, problems, default)
    problems.raise_if_any()
    order = _topological_order(components, problems)
    problems.raise_if_any()
    graph = Graph(
        inputs={name: input_info(shape) for name, shape in inputs.items()},
        components={name: components[name] for name in order},
        backbone=backbone_name,
        freeze=freeze,
        spec_dir=spec_dir,
        seed=seed,
        data=data,
    )
    plan_components(graph, problems, static_info)
    check_freeze(graph, problems)
    problems.raise_if_any()
    return graph


def _component_name(section: Section, default: str | None) -> str | None:
    return getattr(section.config, "name", None) or default


def _name_components(inputs, backbone, blocks, heads, problems: Problems) -> dict[str, Component]:
    components: dict[str, Component] = {}
    first_use: dict[str, tuple] = {name: (INPUTS, name) for name in inputs}
    entries = [("backbone", backbone, "backbone")]
    entries += [("block", section, None) for section in blocks]
    entries += [("head", section, None) for section in heads]
    for role, section, default in entries:
        name = _component_name(section, default)
        name_path = section.path + ("name",)
        if name is None:
            problems.at_key(section.path, f"a {role} needs a 'name' so other sections can refer to it")
            continue
        if name == INPUTS:
            problems.at_value(name_path, f"'{INPUTS}' is reserved for model inputs; choose another name")
            continue
        if name in first_use:
            other = first_use[name]
            where = problems.locations.of_value(other + ("name",)) or problems.locations.of_key(other)
            line = f" (line {where.line} of {where.source})" if where else ""
            problems.at_value(name_path, f"name '{name}' is already used by {format_path(other)}{line}; "
                                         "names of inputs, backbone, blocks and heads must be unique")
            continue
        first_use[name] = section.path
        components[name] = Component(role, name, section, [])
    return components


def _parse_refs(component: Component, inputs, components, known, problems: Problems,
                default: str | None) -> list[Ref]:
    raw = getattr(component.section.config, "from_", None) or default
    if raw is None:
        return []
    texts = [raw] if isinstance(raw, str) else list(raw)
    refs = []
    for index, text in enumerate(texts):
        path = component.path + ("from",) + ((index,) if not isinstance(raw, str) else ())
        target, dot, endpoint = text.partition(".")
        if target == INPUTS:
            if not endpoint:
                problems.at_value(path, f"write '{INPUTS}.<name>'; declared inputs: {one_of(inputs)}")
            elif endpoint not in inputs:
                problems.at_value(path, f"unknown input '{endpoint}'{did_you_mean(endpoint, inputs)}; "
                                        f"declared inputs: {one_of(inputs)} (declare it under 'inputs:')")
            refs.append(Ref(text, INPUTS, endpoint, path))
            continue
        if target not in components:
            hint = did_you_mean(text, known) or did_you_mean(target, known)
            problems.at_value(path, f"unknown reference '{text}'{hint}; known: {one_of(known)}")
            continue
        if dot and not endpoint:
            problems.at_value(path, f"reference '{text}' has an empty endpoint after the dot")
            continue
        refs.append(Ref(text, target, endpoint or None, path))
    return refs


def _topological_order(components: dict[str, Component], problems: Problems) -> list[str]:
    order: list[str] = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(name: str) -> bool:
        if state.get(name) == "done":
            return True
        if state.get(name) == "active":
            cycle = stack[stack.index(name):] + [name]
            closing = components[stack[-1]]
            ref = next(r for r in closing.refs if r.target == name)
            steps = ", ".join(f"'{a}' reads from '{b}'" for a, b in zip(cycle, cycle[1:]))
            problems.at_value(ref.path, f"cycle in the graph: {steps}")
            return False
        state[name] = "active"
        stack.append(name)
        for ref in components[name].refs:
            if ref.target != INPUTS and not visit(ref.target):
                return False
        stack.pop()
        state[name] = "done"
        order.append(name)
        return True

    for name in components:
        if not visit(name):
            break
    return order


InfoOf = Callable[["Graph", Ref, Problems], TensorInfo]


def static_info(graph: Graph, ref: Ref, problems: Problems) -> TensorInfo:
    """What is known, without TensorFlow, about the tensor ``ref`` points at."""
    if ref.target == INPUTS:
        return graph.inputs[ref.endpoint]
    plan = graph.components[ref.target].plan
    if plan is None:
        return UNKNOWN
    if ref.endpoint is None:
        return plan.output
    if plan.endpoints is None:
        return UNKNOWN
    if ref.endpoint not in plan.endpoints:
        report_unknown_endpoint(problems, ref, list(plan.endpoints))
        return UNKNOWN
    return plan.endpoints[ref.endpoint]


def report_unknown_endpoint(problems: Problems, ref: Ref, known: list[str]) -> None:
    hint = did_you_mean(ref.endpoint, known)
    listing = f"; it has: {one_of(known, limit=8)}" if known else ""
    problems.at_value(ref.path, f"'{ref.target}' has no layer or endpoint '{ref.endpoint}'{hint}{listing}")


def plan_components(graph: Graph, problems: Problems, info_of: InfoOf) -> None:
    for component in graph.components.values():
        infos = [info_of(graph, ref, problems) for ref in component.refs]
        if check_groups(component, infos, problems):
            component.plan = run_plan(component, infos, graph.context(component), problems)
    check_model_inputs(graph, problems)


def check_groups(component: Component, infos: list[TensorInfo], problems: Problems) -> bool:
    """Only plugins made for it read a group of tensors such as an encoder's states."""
    if component.section.record.plugin.reads_groups:
        return True
    fine = True
    for ref, info in zip(component.refs, infos):
        if info.is_group:
            fine = False
            problems.at_value(ref.path, f"'{ref.text}' is a group of {len(info.parts)} tensors {info} (recurrent "
                                        f"states); the {component.section.record.name} plugin reads single "
                                        f"tensors: refer to one part, e.g. '{ref.target}.state_h'")
    return fine


def check_model_inputs(graph: Graph, problems: Problems) -> None:
    """Every declared input is read, and inputs components create do not clash by name."""
    read = {ref.endpoint for c in graph.components.values() for ref in c.refs if ref.target == INPUTS}
    for name in graph.inputs:
        if name not in read:
            problems.at_key((INPUTS, name), f"input '{name}' is declared but nothing reads it")
    owners: dict[str, str] = {name: f"{INPUTS}.{name}" for name in graph.inputs}
    for component in graph.components.values():
        for name in (component.plan.own_inputs if component.plan else {}):
            if name in owners:
                problems.at_key(component.path, f"{component.name} creates a model input named '{name}', "
                                                f"which {owners[name]} already uses; set its input_name")
            owners[name] = component.name


def run_plan(component: Component, infos: list[TensorInfo], context: PlanContext,
             problems: Problems) -> ComponentPlan | None:
    return problems.call(component.section, "plan", infos, context)


def check_freeze(graph: Graph, problems: Problems, layers: list[LayerInfo] | None = None) -> None:
    """Run the spec's freeze policy on the backbone's layers, when they are known."""
    graph.frozen_layers = select_frozen(graph, graph.freeze, problems, layers)


def select_frozen(graph: Graph, section: Section, problems: Problems,
                  layers: list[LayerInfo] | None = None) -> set[str] | None:
    """Names of the backbone layers ``section`` freezes (None when the layers are not known yet)."""
    built = layers is not None
    if layers is None:
        plan = graph.components[graph.backbone].plan
        layers = plan.layers if plan is not None else None
    if layers is None:
        return None
    backbone = graph.components[graph.backbone]
    target = FreezeTarget(backbone.name, backbone.section.record.name, tuple(layers), built)
    before = len(problems.items)
    selected = problems.call(section, "select", target)
    if len(problems.items) > before:
        return None
    if not isinstance(selected, (set, frozenset, list, tuple)):
        problems.at_key(section.path, f"freeze plugin '{section.record.name}' returned {type(selected).__name__} "
                                      "from select(), not a set of layer names")
        return None
    frozen = set(selected)
    if section.config.batchnorm == "inference":
        frozen |= {layer.name for layer in layers if layer.is_batchnorm}
    return frozen
