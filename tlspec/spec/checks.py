"""Static checks across sections: names other sections use, monitored metrics, workers, sharing groups."""

from __future__ import annotations

import re

from tlspec.errors import did_you_mean, one_of
from tlspec.plugin.keras_names import COMPILE_METRIC_ALIASES, LOSSES, METRICS
from tlspec.plugin.manager import Registry
from tlspec.spec.addresses import address_problem
from tlspec.spec.graph import Graph
from tlspec.spec.language import Spec
from tlspec.spec.problems import Problems, Section

MULTI_WORKER_SEED = ("multi-worker training needs the spec's 'seed': every worker shuffles the data with it "
                     "and keeps its own share of each batch (add e.g. 'seed: 0')")


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
    if spec.train.loss_balancing.method != "static":
        names += [f"{head.config.name}_loss_weight" for head in heads]
    for group in spec.sharing:
        names += [f"{group.name}_distance", f"{group.name}_penalty"]
    return names


def unmatched_groups(rates, layer_names: list[str]) -> list[int]:
    """Indices of the ``layer_rates`` groups whose pattern matches none of ``layer_names``."""
    if rates is None:
        return []
    return [index for index, group in enumerate(rates.groups)
            if not any(re.fullmatch(group.layers, name) for name in layer_names)]


def report_unmatched_groups(rates, layer_names: list[str], path: tuple, problems: Problems) -> None:
    """A located problem for each group of ``rates`` (at ``path``) that matches no layer with weights."""
    for index in unmatched_groups(rates, layer_names):
        pattern = rates.groups[index].layers
        problems.at_value(path + ("groups", index, "layers"),
                          f"pattern {pattern!r} matches no layer with weights{did_you_mean(pattern, layer_names)}")


def check_layer_rates(spec: Spec, graph: Graph, problems: Problems) -> None:
    """Learning-rate group patterns must match a layer with weights: checked here when every component's
    plan lists its layers, otherwise when the model is built."""
    names = []
    for component in graph.components.values():
        if component.plan is None or component.plan.layers is None:
            return
        names += [layer.name for layer in component.plan.layers if layer.has_weights]
    report_unmatched_groups(spec.train.layer_rates, names, ("train", "layer_rates"), problems)
    for index, phase in enumerate(spec.train.phases):
        report_unmatched_groups(phase.layer_rates, names, ("train", "phases", index, "layer_rates"), problems)


def check_loss_balancing(spec: Spec, heads: list[Section], problems: Problems) -> None:
    """Balancing weighs heads against each other: it needs two or more."""
    method = spec.train.loss_balancing.method
    if method != "static" and len(heads) < 2:
        problems.at_value(("train", "loss_balancing"),
                          f"{method} balances the losses of several heads, and this spec has {len(heads)}; "
                          "remove train.loss_balancing or add a head")


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
                              f"'{options.monitor}' is not logged during training"
                              f"{did_you_mean(options.monitor, known)}; "
                              f"logged: {one_of(known, limit=12)}")


def check_distribute(spec: Spec, problems: Problems) -> None:
    """Multi-worker needs a seed (shared shuffling) and distinct worker addresses."""
    options = spec.distribute
    if options.strategy != "multi_worker":
        return
    if spec.seed is None:
        problems.at_value(("distribute", "strategy"), MULTI_WORKER_SEED)
    if options.workers:
        problem = address_problem(options.workers)
        if problem:
            problems.at_value(("distribute", "workers"), problem)


def check_sharing(spec, graph: Graph, problems: Problems) -> None:
    """Static checks: towers exist, differ, and use the same plugin with the same layers."""
    names = set()
    for index, group in enumerate(spec.sharing):
        path = ("sharing", index)
        if group.name in names:
            problems.at_value(path + ("name",), f"another sharing group is already named '{group.name}'; "
                                                "give each group its own name (it names the logged penalty)")
        names.add(group.name)
        seen = set()
        towers = []
        for position, tower in enumerate(group.towers):
            where = path + ("towers", position)
            component = graph.components.get(tower)
            if component is None:
                known = [c.name for c in graph.components.values()]
                problems.at_value(where, f"unknown component '{tower}'{did_you_mean(tower, known)}; "
                                         f"components: {one_of(known)}")
            elif tower in seen:
                problems.at_value(where, f"'{tower}' is named twice; a tower is tied to the others once")
            else:
                towers.append((where, component))
            seen.add(tower)
        if len(towers) < 2:
            continue
        first_where, first = towers[0]
        for where, other in towers[1:]:
            if other.section.record.name != first.section.record.name:
                problems.at_value(where, f"towers must share an architecture: '{first.name}' uses plugin "
                                         f"'{first.section.record.name}', '{other.name}' uses "
                                         f"'{other.section.record.name}'")
                continue
            layers_a = first.plan.layers if first.plan else None
            layers_b = other.plan.layers if other.plan else None
            if layers_a is not None and layers_b is not None:
                with_weights = (sum(1 for layer in layers_a if layer.has_weights),
                                sum(1 for layer in layers_b if layer.has_weights))
                if with_weights[0] != with_weights[1]:
                    problems.at_value(where, f"towers must share an architecture: '{first.name}' has "
                                             f"{with_weights[0]} layers with weights, '{other.name}' has "
                                             f"{with_weights[1]}")


def check_losses_and_metrics(heads: list[Section], problems: Problems, registry: Registry) -> None:
    """Every head's loss and metrics are names Keras or an installed plugin resolves (checked again, against
    Keras itself, at build). A loss function serves as a metric too."""
    plugin_losses = registry.keras_object_names("loss")
    plugin_metrics = registry.keras_object_names("metric", "loss")
    loss_names = [name for name in LOSSES if name.islower()] + plugin_losses
    metric_names = [name for name in METRICS if name.islower()] + list(COMPILE_METRIC_ALIASES) + plugin_metrics
    for head in heads:
        loss = problems.call(head, "loss")
        if isinstance(loss, str) and loss not in LOSSES and loss not in plugin_losses:
            problems.at_value(head.path + ("loss",), f"unknown Keras loss '{loss}'{did_you_mean(loss, loss_names)}")
        for index, metric in enumerate(problems.call(head, "metrics") or ()):
            if isinstance(metric, str) and metric not in metric_names and metric not in METRICS:
                problems.at_value(head.path + ("metrics", index),
                                  f"unknown Keras metric '{metric}'{did_you_mean(metric, metric_names)}")
