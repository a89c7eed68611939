"""What each phase of a spec trains, before anything is trained: per component its trainable and frozen
parameters and its BatchNorm layers' mode, whether the heads train on cached features and why, and
per layer whether it trains. ``tlspec plan`` prints it; every phase of ``tlspec train`` begins with
the same line (``phase_line``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tlspec.model.assemble import Assembly, apply_freeze, assemble
from tlspec.model.layer_rates import phase_multipliers
from tlspec.model.report import _count
from tlspec.spec.validate import ValidatedSpec


@dataclass
class ComponentPhase:
    name: str
    role: str
    trainable: int  # parameters
    frozen: int
    batchnorm_training: int  # BatchNormalization layers updating their statistics
    batchnorm_inference: int  # frozen ones, which run in inference mode
    frozen_layers: int = 0  # layers with weights that do not train
    rate_min: float = 1.0  # the smallest and largest learning-rate multipliers of its trainable layers
    rate_max: float = 1.0


@dataclass
class LayerPhase:
    index: int
    name: str
    component: str
    params: int
    trainable: bool
    multiplier: float = 1.0


@dataclass
class PhasePlan:
    name: str
    first_epoch: int
    last_epoch: int
    learning_rate: float
    cached: bool
    why: str
    components: list[ComponentPhase] = field(default_factory=list)
    layers: list[LayerPhase] = field(default_factory=list)
    loss_balancing: str | None = None  # what train.loss_balancing does in this phase, when not static

    def to_json(self) -> dict:
        return asdict(self)


def plan_phases(validated: ValidatedSpec) -> list[PhasePlan]:
    """Every phase as training will run it: the model built once, each phase's freeze policy applied."""
    assembly = assemble(validated)
    train, plans, first = validated.spec.train, [], 1
    for index, phase in enumerate(train.phase_list()):
        freeze = validated.phase_freezes[index] if index < len(validated.phase_freezes) else None
        apply_freeze(assembly, freeze or validated.freeze)
        rates, path = phase_rates(train, index)
        found = phase_multipliers(assembly, rates, path)
        cached, why = cache_decision(assembly, train.cache_features, validated.description)
        rate = phase.learning_rate or train.optimizer.learning_rate or 1e-3
        plans.append(PhasePlan(phase.name or "train", first, first + phase.epochs - 1, rate, cached, why,
                               components(assembly, found), layers(assembly, found),
                               _balancing(assembly, train.loss_balancing, cached)))
        first += phase.epochs
    return plans


def phase_rates(train, index: int):
    """A phase's ``layer_rates`` (its own, else the spec's) and where they are in the spec."""
    phases = train.phases
    if index < len(phases) and phases[index].layer_rates is not None:
        return phases[index].layer_rates, ("train", "phases", index, "layer_rates")
    return train.layer_rates, ("train", "layer_rates")


def cache_decision(assembly: Assembly, mode, description) -> tuple[bool, str | None]:
    """Whether the phase trains on cached features and why; ``mode`` is ``train.cache_features``.
    The features are those under the heads when all of it is frozen, else the outputs of the frozen
    bottom of the network (when worth caching). The error ``mode: true`` would meet is left to training
    (the reason is returned with False)."""
    from tlspec.training.feature_cache import blockers, frontier, frontier_problem

    if mode is False:
        return False, "disabled by train.cache_features: false"
    reasons = blockers(assembly, bool(description and description.augmented))
    if not reasons:
        return True, "everything under the heads is frozen and deterministic"
    found, why = frontier(assembly, description)
    problem = why if found is None else frontier_problem(found, assembly.model.inputs, description)
    if problem is None:
        return True, (f"the frozen layers up to '{found.last_frozen}' run once and their outputs are cached; "
                      f"'{found.first_trained}' and the layers above it train")
    joined = "; ".join(reasons)
    return False, joined if problem in joined else f"{joined}; {problem}"


def components(assembly: Assembly, multipliers: dict[str, float] | None = None) -> list[ComponentPhase]:
    multipliers = multipliers or {}
    found = []
    for component in assembly.graph.components.values():
        layers = assembly.built[component.name].layers
        norms = [layer for layer in layers if type(layer).__name__ == "BatchNormalization"]
        rates = [multipliers.get(layer.name, 1.0) for layer in layers if layer.trainable and layer.trainable_weights]
        found.append(ComponentPhase(
            component.name, component.role,
            trainable=sum(_count(layer.trainable_weights) for layer in layers),
            frozen=sum(_count(layer.non_trainable_weights) for layer in layers),
            batchnorm_training=sum(1 for layer in norms if layer.trainable),
            batchnorm_inference=sum(1 for layer in norms if not layer.trainable),
            frozen_layers=sum(1 for layer in layers if layer.weights and not layer.trainable),
            rate_min=min(rates, default=1.0), rate_max=max(rates, default=1.0)))
    return found


def _balancing(assembly: Assembly, spec, cached: bool) -> str | None:
    """The phase's loss balancing in words (GradNorm's shared layer depends on what trains)."""
    from tlspec.training.feature_cache import feature_models
    from tlspec.training.loss_balancing import plan_for

    if spec.method == "static":
        return None
    balancing = plan_for(assembly, spec, feature_models(assembly).heads if cached else assembly.model)
    return balancing.describe()


def layers(assembly: Assembly, multipliers: dict[str, float] | None = None) -> list[LayerPhase]:
    owners = {id(layer): component for component in assembly.graph.components
              for layer in assembly.built[component].layers}
    multipliers = multipliers or {}
    return [LayerPhase(index, layer.name, owners.get(id(layer), "inputs"), _count(layer.weights),
                       bool(layer.trainable and layer.trainable_weights), multipliers.get(layer.name, 1.0))
            for index, layer in enumerate(assembly.model.layers)]


def phase_line(cached: bool, why: str, parts: list[ComponentPhase]) -> str:
    """``training heads on cached features (why)``, or what trains under the heads, in parameters."""
    below = [part for part in parts if part.role != "head"]
    if cached and not any(part.trainable for part in below):
        return f"training heads on cached features ({why})"
    trained = [part for part in below if part.trainable]
    if all(not part.frozen_layers for part in below):
        rated = ", ".join(f"{part.name}{_rates(part)}" for part in below if _rates(part))
        return f"training end to end ({why})" + (f"; {rated}" if rated else "")
    counts = ", ".join(f"{part.name} {part.trainable:,} of {part.trainable + part.frozen:,} parameters "
                       f"trainable{_rates(part)}" for part in below)
    norms = sum(part.batchnorm_inference for part in below)
    note = f"; {norms} BatchNorm layer{'s' if norms != 1 else ''} in inference mode" if norms else ""
    what = "the heads and part of " + " and ".join(part.name for part in trained) if trained else "the heads"
    return f"training {what}: {counts} ({why}){note}"


def _rates(part: ComponentPhase) -> str:
    if part.rate_min == part.rate_max == 1.0:
        return ""
    if part.rate_min == part.rate_max:
        return f" at ×{part.rate_min:.3g} the learning rate"
    return f" at ×{part.rate_min:.3g}–{part.rate_max:.3g} the learning rate"
