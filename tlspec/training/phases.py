"""One training phase: freeze, decide on feature caching, compile, fit, record.

Each phase sets its freeze policy and recompiles (a change of ``trainable``
needs it). When everything under the heads is frozen and deterministic, the
heads train on features computed once (``tlspec.training.feature_cache``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tlspec.errors import TlspecError
from tlspec.model.assemble import apply_freeze
from tlspec.model.compile import compile_model
from tlspec.model.layer_rates import phase_multipliers
from tlspec.model.targets import prepare
from tlspec.training.checkpoint import restore_optimizer
from tlspec.training.data import TrainingData
from tlspec.training.failures import explained, tensorflow_detail
from tlspec.training.loss_balancing import plan_for
from tlspec.training.phase_plan import cache_decision as planned_cache_decision
from tlspec.training.phase_plan import components, phase_line, phase_rates
from tlspec.training.records import PhaseRecord
from tlspec.training.session import PhaseStep, Session
from tlspec.training.training_model import training_model


@dataclass
class PreparedPhase:
    """A phase ready to fit: the model (the whole one, or the heads on cached features) and its data."""

    model: Any
    data: dict
    recorder: Any
    cached: bool
    reason: str
    multipliers: dict
    balancing: Any


def run_phase(session: Session, data: TrainingData, step: PhaseStep) -> PhaseRecord:
    prepared = _prepare(session, data, step)
    started, before = time.perf_counter(), session.epoch
    what = phase_line(prepared.cached, prepared.reason, components(session.assembly, prepared.multipliers))
    print(f"phase {step.name}: epochs {before + 1}-{step.end}, {what}")
    if prepared.balancing is not None:
        print(f"  {prepared.balancing.describe()}")
    shard = session.distribution.shard
    validation = prepared.data.get("validation")
    with session.stopwatch.stage(f"phase {step.name}: fit"):
        fit(session, prepared.model, shard(prepare(prepared.data["train"], data.targets, data.class_weights)),
            shard(prepare(validation, data.targets, {})) if validation is not None else None,
            initial_epoch=before, epochs=step.end, callbacks=callbacks(session, prepared.recorder),
            verbose=session.verbose)
    # epochs from the phase's start: a resumed phase counts the epochs trained before the interruption too
    return PhaseRecord(step.name, session.epoch - step.start, prepared.cached, prepared.reason,
                       round(time.perf_counter() - started, 2))


def _prepare(session: Session, data: TrainingData, step: PhaseStep) -> PreparedPhase:
    """Freeze, pick the model to fit (extracting features if the heads train alone on them), compile."""
    validated, stopwatch = session.validated, session.stopwatch
    with stopwatch.stage(f"phase {step.name}: set up"):
        freeze = validated.phase_freezes[step.index] if step.index < len(validated.phase_freezes) else None
        apply_freeze(session.assembly, freeze or validated.freeze)
        rates, rates_path = phase_rates(validated.spec.train, step.index)
        multipliers = phase_multipliers(session.assembly, rates, rates_path)
        cached, reason = cache_decision(session)
        inner, phase_data = _fit_target(session, data, cached, step)
        balancing = plan_for(session.assembly, validated.spec.train.loss_balancing, inner)
        fit_model = training_model(inner, [] if cached else data.tied, balancing, session.state.balancing)
        compile_model(session.assembly, learning_rate(session, step.spec, data.steps_per_epoch), model=fit_model,
                      rates=rates, multipliers=multipliers,
                      steps_per_execution=min(CACHED_STEPS_PER_EXECUTION, data.steps_per_epoch) if cached else 1)
        from tlspec.training.callbacks import RunRecorder

        if step.resuming:
            restore_optimizer(session.run, session.state, fit_model)
        recorder = RunRecorder(session.run, session.assembly.model, step.name, step.index, step.start,
                               session.history, validated.spec.train.checkpoint, session.state, session.on_epoch)
    return PreparedPhase(fit_model, phase_data, recorder, cached, reason, multipliers, balancing)


@dataclass
class PhaseFeatures:
    """What a phase trained on cached features: evaluation reuses them while the extractor's weights hold."""

    models: Any              # feature_cache.FeatureModels
    splits: dict             # split -> feature_cache.CachedSplit
    weights_digest: str      # of the extractor's weights when they were extracted
    store: Any = None        # feature_store.FeatureStore, with train.persistent_cache
    plain: bool = True       # the splits are the data source's own (no importance weights attached)


def _fit_target(session: Session, data: TrainingData, cached: bool, step: PhaseStep) -> tuple[Any, dict]:
    """The model to fit and its data: the heads (or the network above its frozen bottom) on cached
    features, or the whole model."""
    session.features = None
    if not cached:
        return session.assembly.model, data.to_fit
    from tlspec.training.feature_cache import cached_splits, feature_models

    plan = session.feature_plan
    models = plan.models.get(step.index) if plan is not None else None
    models = models or feature_models(session.assembly)
    spec = session.spec
    fitted = {split: data.to_fit[split] for split in ("train", "validation") if split in data.to_fit}  # not test
    with session.stopwatch.stage(f"phase {step.name}: extract features"):
        if plan is not None and plan.stores is None:
            plan.stores = {index: open_store(session, data, found) for index, found in plan.models.items()}
        store = plan.stores.get(step.index) if plan is not None and step.index in plan.models else None
        store = store or open_store(session, data, models)
        if plan is not None and step.index in plan.ahead and not plan.extracted:  # the first pass, for all
            plan.extract_ahead(fitted, plan.stores)
        splits = plan.take(step.index, models) if plan is not None else None
        splits = splits or cached_splits(models, fitted, store)
        report_store(store)
    session.features = PhaseFeatures(models, splits, models.weights_digest(), store, data.to_fit is data.datasets)
    batch_size = spec.train.batch_size
    return models.heads, {split: found.dataset(batch_size, spec.seed, shuffle=split == "train")
                          for split, found in splits.items()}


def open_store(session: Session, data: TrainingData, models):
    """The persistent feature cache for these features, when the spec asks for it and the data allows."""
    if data.fingerprints is None:
        return None
    from tlspec.training.feature_store import FeatureStore, cache_root

    return FeatureStore(cache_root(), data.fingerprints, models, session.spec.seed)


def report_store(store) -> None:
    said = store.describe() if store is not None else None
    if said:
        print(f"  {said}")


# Batches per call when fitting on cached features: their steps are too short for Python's overhead per step.
CACHED_STEPS_PER_EXECUTION = 16


def cache_decision(session: Session) -> tuple[bool, str]:
    mode = session.spec.train.cache_features
    cached, why = planned_cache_decision(session.assembly, mode, session.validated.description)
    if not cached and mode is True:
        raise TlspecError(f"train.cache_features is true but the features cannot be cached: {why}")
    return cached, why


def learning_rate(session: Session, phase, steps_per_epoch: int):
    """The phase's learning rate: a number, or a Keras schedule over the phase."""
    import keras

    train = session.spec.train
    rate = phase.learning_rate or train.optimizer.learning_rate or 1e-3
    schedule = phase.schedule or train.schedule
    if schedule is None:
        return rate
    if schedule.name == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, steps_per_epoch * phase.epochs, alpha=schedule.alpha)
    return keras.optimizers.schedules.ExponentialDecay(rate, steps_per_epoch, schedule.decay_rate)


def callbacks(session: Session, recorder) -> list:
    import keras

    from tlspec.training.callbacks import StopWhenRequested

    train = session.spec.train
    found = [recorder, StopWhenRequested()]  # after the recorder: an epoch that ended is kept
    if train.early_stopping:
        stop = train.early_stopping
        found.append(keras.callbacks.EarlyStopping(monitor=stop.monitor, mode=stop.mode, patience=stop.patience,
                                                   min_delta=stop.min_delta,
                                                   restore_best_weights=stop.restore_best_weights))
    if train.reduce_lr_on_plateau:
        plateau = train.reduce_lr_on_plateau
        found.append(keras.callbacks.ReduceLROnPlateau(monitor=plateau.monitor, mode=plateau.mode,
                                                       factor=plateau.factor, patience=plateau.patience,
                                                       min_lr=plateau.min_lr))
    if train.tensorboard:
        found.append(keras.callbacks.TensorBoard(log_dir=str(session.run.file("tensorboard"))))
    return found


def fit(session: Session, model, train_data, validation_data, **options) -> None:
    import tensorflow as tf

    try:
        model.fit(train_data, validation_data=validation_data, shuffle=False, **options)  # datasets shuffle
    except tf.errors.InvalidArgumentError as error:
        recognised = explained(session, error)
        if recognised is not error:
            raise recognised from None
        raise TlspecError(f"training stopped on data it could not read or use: {tensorflow_detail(error)}. The run "
                          "directory keeps every finished epoch; fix the data and continue with --resume") from None
