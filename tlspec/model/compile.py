"""Compile an assembled model from the spec: optimizer, and per head loss, metrics, weight.

Loss and metric names are resolved one by one first, so a misspelt name is
reported at its line in the spec instead of deep inside ``model.compile``.
"""

from __future__ import annotations

from tlspec.errors import did_you_mean
from tlspec.model.assemble import Assembly
from tlspec.plugin.keras_names import COMPILE_METRIC_ALIASES
from tlspec.plugin.manager import default_registry
from tlspec.spec.problems import Problems


def _public_names(module) -> list[str]:
    """Snake-case function names of a Keras module (its losses or metrics)."""
    return [name for name in dir(module) if name[:1].islower() and name not in ("get", "serialize", "deserialize")]


def _resolve(name: str, module, registry, kinds: tuple[str, ...]):
    """A loss or metric for ``compile``: Keras' own name as it is, a plugin's object itself (Keras resolves
    only its own names from strings); None if neither knows it."""
    record = registry.keras_objects.get(name)
    if record is not None and record.declaration.kind in kinds:
        value = record.declaration.load()
        return value() if isinstance(value, type) else value  # a Loss or Metric class: one instance
    try:
        module.get(name)
    except (ValueError, TypeError):
        return None
    return name


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


def compile_model(assembly: Assembly, learning_rate=None, model=None, rates=None, multipliers=None,
                  steps_per_execution: int = 1) -> None:
    """Compile ``model`` (default: the full model) with the spec's optimizer, per-head losses and XLA choice.

    ``learning_rate`` (a number or a Keras schedule) overrides the optimizer's; ``multipliers`` (layer
    name -> factor, from ``layer_rates.multipliers`` of the phase's ``rates``) scale it per layer.
    ``steps_per_execution`` > 1 runs that many batches per call (for small models on cached features,
    whose steps are shorter than Python's overhead per step).
    """
    import keras

    problems = Problems(assembly.validated.locations)
    registry = assembly.validated.registry or default_registry()
    losses, metrics, weights = {}, {}, {}
    for component in assembly.graph.heads():
        head, config, path = component.section.record.plugin, component.section.config, component.path
        loss = head.loss(config)
        losses[component.name] = _resolve(loss, keras.losses, registry, ("loss",))
        if losses[component.name] is None:
            hint = did_you_mean(loss, _public_names(keras.losses) + registry.keras_object_names("loss"))
            problems.at_value(path + ("loss",), f"unknown Keras loss '{loss}'{hint}")
        head_metrics = []
        for index, metric in enumerate(head.metrics(config)):
            resolved = metric if metric in COMPILE_METRIC_ALIASES else _resolve(metric, keras.metrics, registry,
                                                                               ("metric", "loss"))
            if resolved is None:
                hint = did_you_mean(metric, _public_names(keras.metrics) + list(COMPILE_METRIC_ALIASES)
                                    + registry.keras_object_names("metric", "loss"))
                problems.at_value(path + ("metrics", index), f"unknown Keras metric '{metric}'{hint}")
            head_metrics.append(resolved)
        metrics[component.name] = head_metrics
        weights[component.name] = config.loss_weight
    optimizer = make_optimizer(assembly, problems, learning_rate)
    problems.raise_if_any()
    if rates is not None:
        from tlspec.model.layer_rates import scale

        scale(optimizer, model or assembly.model, multipliers or {}, rates.weight_decay_exclude)
    target = model or assembly.model
    if getattr(target, "balances_losses", False):  # training_model's wrapper computes and weighs them itself
        target.use_head_losses(losses)
        losses, weights = None, None
    target.compile(optimizer=optimizer, loss=losses, metrics=metrics, loss_weights=weights,
                   jit_compile=assembly.validated.spec.train.jit_compile, steps_per_execution=steps_per_execution)
