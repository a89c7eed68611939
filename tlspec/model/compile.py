"""Compile an assembled model from the spec: optimizer, and per head loss, metrics, weight.

Loss and metric names are resolved one by one first, so a misspelt name is
reported at its line in the spec instead of deep inside ``model.compile``.
"""

from __future__ import annotations

from tlspec.errors import did_you_mean
from tlspec.model.assemble import Assembly
from tlspec.spec.keras_names import COMPILE_METRIC_ALIASES
from tlspec.spec.problems import Problems


def _public_names(module) -> list[str]:
    """Snake-case function names of a Keras module (its losses or metrics)."""
    return [name for name in dir(module) if name[:1].islower() and name not in ("get", "serialize", "deserialize")]


def make_optimizer(assembly: Assembly, problems: Problems, learning_rate=None):
    import keras

    spec = assembly.validated.spec.train.optimizer
    options = spec.model_dump(exclude={"name"}, exclude_none=True)
    if learning_rate is not None:
        options["learning_rate"] = learning_rate
    optimizer_class = type(keras.optimizers.get(spec.name))
    try:
        return optimizer_class(**options)
    except (TypeError, ValueError) as error:
        problems.at_value(("train", "optimizer"), f"{spec.name} does not accept these options: {error}")
        return None


def compile_model(assembly: Assembly, learning_rate=None, model=None) -> None:
    """Compile ``model`` (default: the full model) with the spec's optimizer and per-head losses.

    ``learning_rate`` (a number or a Keras schedule) overrides the optimizer's.
    """
    import keras

    problems = Problems(assembly.validated.locations)
    losses, metrics, weights = {}, {}, {}
    for component in assembly.graph.heads():
        head, config, path = component.section.record.plugin, component.section.config, component.path
        loss = head.loss(config)
        try:
            keras.losses.get(loss)
            losses[component.name] = loss
        except (ValueError, TypeError):
            hint = did_you_mean(loss, _public_names(keras.losses))
            problems.at_value(path + ("loss",), f"unknown Keras loss '{loss}'{hint}")
        head_metrics = head.metrics(config)
        for index, metric in enumerate(head_metrics):
            if metric in COMPILE_METRIC_ALIASES:
                continue
            try:
                keras.metrics.get(metric)
            except (ValueError, TypeError):
                hint = did_you_mean(metric, _public_names(keras.metrics) + list(COMPILE_METRIC_ALIASES))
                problems.at_value(path + ("metrics", index), f"unknown Keras metric '{metric}'{hint}")
        metrics[component.name] = head_metrics
        weights[component.name] = config.loss_weight
    optimizer = make_optimizer(assembly, problems, learning_rate)
    problems.raise_if_any()
    (model or assembly.model).compile(optimizer=optimizer, loss=losses, metrics=metrics, loss_weights=weights)
