"""Learning rates per layer (``layer_rates``), on Keras 3's own optimizers and ``fit``.

``multipliers`` says, per layer with weights, how many times the phase's learning rate it gets:
layer-wise decay over the backbone's depth (the top block 1, the one below ``decay``, then
``decay``², …; the heads and other components 1), then the ``groups``' multipliers by layer-name
pattern, the last matching group winning. ``scale`` makes an optimizer apply them: its per-variable
``update_step`` receives the learning rate times the variable's multiplier, which is exact for every
Keras optimizer and schedule (Adam's update is not proportional to the gradient, so scaling gradients
would not do). Keras' decoupled weight decay keeps using the phase's rate. A multiplier of 0 freezes
the layer (``freeze_zero``), so the optimizer never sees it and its features can be cached.
"""

from __future__ import annotations

import re

from tlspec.errors import TlspecError


def multipliers(assembly, rates) -> dict[str, float]:
    """Layer name -> multiplier, for the layers with weights of every component; {} without ``rates``."""
    if rates is None:
        return {}
    found = {}
    for component in assembly.graph.components.values():
        layers = [layer for layer in assembly.built[component.name].layers if layer.weights]
        depth = _depths(layers, rates.per) if component.name == assembly.graph.backbone and rates.decay else {}
        for layer in layers:
            found[layer.name] = rates.decay ** depth[layer.name] if depth else 1.0
    for group in rates.groups:
        pattern = re.compile(group.layers)
        for name in found:
            if pattern.fullmatch(name):
                found[name] = group.multiplier
    return found


def freeze_zero(assembly, found: dict[str, float]) -> list[str]:
    """Set ``trainable = False`` on the layers whose multiplier is 0; their names."""
    frozen = []
    for component in assembly.graph.components.values():
        for layer in assembly.built[component.name].layers:
            if found.get(layer.name) == 0 and layer.trainable:
                layer.trainable = False
                frozen.append(layer.name)
    return frozen


def scale(optimizer, model, found: dict[str, float], weight_decay_exclude=()) -> None:
    """Make ``optimizer`` (not yet built) give each of ``model``'s variables its layer's multiplier."""
    by_variable = {}
    for layer in _all_layers(model):
        multiplier = found.get(layer.name, 1.0)
        for variable in layer.trainable_weights:
            if multiplier != 1.0:
                by_variable[optimizer._var_key(variable)] = float(multiplier)
    if by_variable:
        update = optimizer.update_step  # the optimizer's own, bound

        def update_step(gradient, variable, learning_rate):
            multiplier = by_variable.get(optimizer._var_key(variable))
            return update(gradient, variable, learning_rate if multiplier is None else learning_rate * multiplier)

        optimizer.update_step = update_step  # the instance's: Keras calls self.update_step once per variable
    excluded = [variable for layer in _all_layers(model) for variable in _excluded(layer, weight_decay_exclude)]
    if excluded:
        if getattr(optimizer, "weight_decay", None) is None:
            raise TlspecError("layer_rates.weight_decay_exclude needs an optimizer with weight_decay (e.g. "
                              "train.optimizer: {name: adamw, weight_decay: 0.01})")
        optimizer.exclude_from_weight_decay(var_list=excluded)


def _depths(layers: list, per: str) -> dict[str, int]:
    """Depth from the top: 0 for the last block (or layer), 1 for the one below, …"""
    keys = [_block(layer.name) if per == "block" else index for index, layer in enumerate(layers)]
    if per == "block":  # the layers below the first numbered block are one block: the stem, a transformer's embeddings
        first = next((index for index, layer in enumerate(layers) if re.search(r"\d", layer.name)), 0)
        keys = [STEM if index < first else key for index, key in enumerate(keys)]
    order = list(dict.fromkeys(reversed(keys)))  # top first
    return {layer.name: order.index(key) for layer, key in zip(layers, keys)}


STEM = "<stem>"


def _block(name: str) -> str:
    """A layer's block: its name's first number (conv_dw_3 and conv_pw_3 -> 3), else the name itself."""
    found = re.search(r"\d+", name)
    return found.group() if found else name


def _excluded(layer, kinds) -> list:
    if "batchnorm" in kinds and type(layer).__name__ == "BatchNormalization":
        return list(layer.trainable_weights)
    if "bias" in kinds:
        return [variable for variable in layer.trainable_weights if variable.name == "bias"]
    return []


def _all_layers(model) -> list:
    found, waiting = [], list(getattr(model, "layers", []))
    while waiting:
        layer = waiting.pop()
        found.append(layer)
        waiting += getattr(layer, "layers", [])
    return found


def phase_multipliers(assembly, rates, path: tuple) -> dict[str, float]:
    """``multipliers`` for one phase, after checking that every group's pattern matches a layer (a located
    error at ``path + ("groups", i, "layers")`` otherwise); layers at 0 are frozen."""
    from tlspec.spec.checks import report_unmatched_groups
    from tlspec.spec.problems import Problems

    found = multipliers(assembly, rates)
    problems = Problems(assembly.validated.locations)
    report_unmatched_groups(rates, list(found), path, problems)
    problems.raise_if_any()
    freeze_zero(assembly, found)
    return found
