"""`tlspec train`: phases, callbacks, feature caching, the run directory, --resume.

One history runs across phases (epochs are numbered globally); each phase sets
its freeze policy and recompiles. The model that ends up in ``model.keras`` is
the best one by ``train.checkpoint`` (or the last one without it).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field

import yaml

from tlspec import __version__
from tlspec.assemble import Assembly, apply_freeze, assemble
from tlspec.compiling import compile_model
from tlspec.decoding import generates, generation_metrics, generators
from tlspec.distribute import Distribution, weights_digest
from tlspec.errors import Location, Problem, SpecError, TlspecError
from tlspec.rundir import CURVES, HISTORY, METRICS, MODEL, RUN, SPEC, STATE, RunDir
from tlspec.sharing import distance, penalised, ties
from tlspec.targets import class_weight_tables, head_targets, prepare
from tlspec.validation import MULTI_WORKER_SEED, ValidatedSpec, load_datasets


@dataclass
class TrainResult:
    run: RunDir
    metrics: dict
    history: list[dict]
    phases: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def require_data(validated: ValidatedSpec) -> None:
    if validated.data_source is None:
        location = validated.locations.of_value(()) or Location(str(validated.source), 1, 1)
        raise SpecError([Problem("training needs a 'data' section (installed data plugins: see "
                                 "`tlspec plugins`)", location)])


def run_info(validated: ValidatedSpec, assembly: Assembly) -> dict:
    heads = {}
    for component in assembly.graph.heads():
        config, plugin = component.section.config, component.section.record.plugin
        classes = getattr(config, "classes", None)
        heads[component.name] = {"plugin": component.section.record.name, "loss": plugin.loss(config),
                                 "classes": classes if isinstance(classes, list) else None,
                                 "activation": getattr(config, "activation", None)}
    return {
        "tlspec_version": __version__,
        "spec_name": validated.spec.name,
        "spec_path": str(validated.source.resolve()),
        "spec_dir": str(validated.spec_dir),
        "heads": heads,
        "inputs": {name: list(t.shape[1:]) for name, t in assembly.inputs.items()},
        "status": "running",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _learning_rate(validated: ValidatedSpec, phase, steps_per_epoch: int):
    import keras

    rate = phase.learning_rate or validated.spec.train.optimizer.learning_rate or 1e-3
    schedule = phase.schedule or validated.spec.train.schedule
    if schedule is None:
        return rate
    if schedule.name == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, steps_per_epoch * phase.epochs, alpha=schedule.alpha)
    return keras.optimizers.schedules.ExponentialDecay(rate, steps_per_epoch, schedule.decay_rate)


def _callbacks(validated: ValidatedSpec, run: RunDir, recorder) -> list:
    import keras

    train = validated.spec.train
    callbacks = [recorder]
    if train.early_stopping:
        stop = train.early_stopping
        callbacks.append(keras.callbacks.EarlyStopping(monitor=stop.monitor, mode=stop.mode, patience=stop.patience,
                                                       min_delta=stop.min_delta,
                                                       restore_best_weights=stop.restore_best_weights))
    if train.reduce_lr_on_plateau:
        plateau = train.reduce_lr_on_plateau
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=plateau.monitor, mode=plateau.mode,
                                                           factor=plateau.factor, patience=plateau.patience,
                                                           min_lr=plateau.min_lr))
    if train.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.file("tensorboard"))))
    return callbacks


def _cache_decision(validated: ValidatedSpec, assembly: Assembly) -> tuple[bool, str]:
    from tlspec.feature_cache import blockers

    mode = validated.spec.train.cache_features
    if mode is False:
        return False, "disabled by train.cache_features: false"
    reasons = blockers(assembly, validated.description.augmented)
    if reasons and mode is True:
        raise TlspecError(f"train.cache_features is true but the features cannot be cached: {'; '.join(reasons)}")
    return (not reasons), ("; ".join(reasons) or "everything under the heads is frozen and deterministic")


def split_by_head(results: dict, heads: list[str]) -> dict:
    """Keras' flat metric names -> {head: {metric: value}}, plus the weighted total loss."""
    if len(heads) == 1:
        per_head = {heads[0]: {k: float(v) for k, v in results.items()}}
    else:
        per_head = {head: {} for head in heads}
        for key, value in results.items():
            for head in sorted(heads, key=len, reverse=True):
                if key.startswith(f"{head}_"):
                    per_head[head][key[len(head) + 1:]] = float(value)
                    break
    per_head["total_loss"] = float(results.get("loss", math.nan))
    return per_head


def evaluate_splits(assembly: Assembly, datasets: dict, splits: list[str], shard=lambda dataset: dataset) -> dict:
    targets = head_targets(assembly)
    names = [t.name for t in targets]
    per_token = [t.name for t in targets if len(assembly.built[t.name].output.shape) == 3 and t.integer_labels]
    generators_found = generators(assembly) if generates(assembly.validated.heads) else {}
    metrics = {}
    for split in splits:
        if split in datasets:
            results = assembly.model.evaluate(shard(prepare(datasets[split], targets, {})), return_dict=True,
                                              verbose=0)
            metrics[split] = split_by_head(results, names)
            for head, values in token_metrics(assembly.model, datasets[split], per_token).items():
                metrics[split][head].update(values)
            if split != "train" and generators_found:
                for head, values in generation_metrics(generators_found, datasets[split]).items():
                    metrics[split][head].update(values)
    return metrics


def token_predictions(model, dataset, heads: list[str]) -> dict[str, tuple]:
    """Per head: (true labels, predicted labels) over every position, padding included (label 0)."""
    import numpy as np

    truth = {head: [] for head in heads}
    predicted = {head: [] for head in heads}
    for inputs, labels in dataset:
        outputs = model(inputs, training=False)
        for head in heads:
            truth[head].append(np.asarray(labels[head]))
            predicted[head].append(np.asarray(outputs[head]).argmax(axis=-1))
    return {head: (np.concatenate(truth[head]), np.concatenate(predicted[head])) for head in heads}


def token_metrics(model, dataset, heads: list[str]) -> dict[str, dict]:
    """Token accuracy over real tokens (label > 0), and the same counting padding (the lecture's figure)."""
    result = {}
    for head, (truth, predicted) in token_predictions(model, dataset, heads).items():
        real = truth > 0
        result[head] = {"token_accuracy": float((truth[real] == predicted[real]).mean()),
                        "accuracy_with_padding": float((truth == predicted).mean()),
                        "tokens": int(real.sum())}
    return result


def train(validated: ValidatedSpec, out=None, resume: bool = False, verbose: int | str = "auto",
          distribution: Distribution | None = None) -> TrainResult:
    """Train under ``distribution`` (default: one device); on a multi-worker cluster every worker
    runs this, and only the chief keeps its run directory."""
    require_data(validated)
    distribution = distribution or Distribution("none")
    distribution.check_batch(validated.spec.train.batch_size)
    if distribution.kind == "multi_worker" and validated.spec.seed is None:
        raise TlspecError(MULTI_WORKER_SEED)
    scratch = f"tlspec-{validated.spec.name}-worker{distribution.cluster.rank}-" if distribution.cluster else ""
    if distribution.is_chief:
        run, state, history = _open_run(validated, out, resume)
    elif resume:  # every worker resumes from the chief's run directory (a shared file system)
        shared, state, history = _open_run(validated, out, resume)
        run = shared.scratch_copy(scratch)
    else:  # the others write identical files to a scratch directory that goes at the end
        run, state, history = RunDir.scratch(scratch), {}, []
    try:
        with distribution.scope():
            return _train(validated, run, state, history, resume, verbose, distribution)
    except Exception as error:
        lost = distribution.lost_workers(error)
        if lost is None:
            raise
        raise TlspecError(f"training stopped: {lost}. The chief's run directory keeps every finished epoch; "
                          "start every worker again with --resume (and the same --out on the chief)") from None
    finally:
        if not distribution.is_chief:
            run.remove()


def _train(validated: ValidatedSpec, run: RunDir, state: dict, history: list[dict], resume: bool,
           verbose, distribution: Distribution) -> TrainResult:
    started = time.perf_counter()
    if distribution.kind != "none":
        print(distribution.describe(validated.spec.train.batch_size))
    assembly = assemble(validated)
    info = run.read_json(RUN) if resume else run_info(validated, assembly)
    if distribution.kind != "none":
        info["distribute"] = distribution.info(validated.spec.train.batch_size)
    if not resume:
        run.write_text(SPEC, yaml.safe_dump(validated.data, sort_keys=False))
        run.write_json(RUN, info)
    else:
        assembly.model.load_weights(run.file(f"{STATE}/weights.weights.h5"))

    context = validated.data_context()
    datasets = load_datasets(validated, context)
    notes = list(dict.fromkeys(validated.graph.notes + context.notes))
    for note in notes:
        print(f"note: {note}")
    info["notes"] = notes
    weighting, target_data = _importance_weighting(validated, assembly, datasets, info)
    if weighting is not None:
        datasets_to_fit = {split: weighting.attach(dataset) if split in ("train", "validation") else dataset
                           for split, dataset in datasets.items()}
    else:
        datasets_to_fit = datasets
    tied = ties(assembly)
    targets = head_targets(assembly)
    tables = class_weight_tables(validated.spec.train.class_weights, targets, datasets["train"])
    steps = max(1, math.ceil(validated.description.splits["train"] / validated.spec.train.batch_size))

    phases_run = info.get("phases", [])
    epoch = state.get("epoch", 0)
    for index, phase in enumerate(validated.spec.train.phase_list()):
        if index < state.get("phase_index", 0):
            continue
        resuming_phase = resume and index == state.get("phase_index")
        phase_start = state["phase_start"] if resuming_phase else epoch
        end = phase_start + phase.epochs
        if epoch >= end:
            continue
        name = phase.name or f"phase_{index + 1}"
        freeze = validated.phase_freezes[index] if index < len(validated.phase_freezes) else None
        apply_freeze(assembly, freeze or validated.freeze)
        cached, reason = _cache_decision(validated, assembly)
        if cached:
            from tlspec.feature_cache import cached_splits, feature_models

            models = feature_models(assembly)
            fit_model = models.heads
            phase_data = cached_splits(models, datasets_to_fit, validated.spec.train.batch_size, validated.spec.seed)
        else:
            fit_model, phase_data = penalised(assembly.model, tied), datasets_to_fit
        compile_model(assembly, _learning_rate(validated, phase, steps), model=fit_model)
        if resuming_phase:
            from tlspec.callbacks import restore_optimizer

            restore_optimizer(run, fit_model)
        from tlspec.callbacks import RunRecorder

        recorder = RunRecorder(run, assembly.model, name, index, phase_start, history,
                               validated.spec.train.checkpoint, state)
        phase_started, before = time.perf_counter(), epoch
        print(f"phase {name}: epochs {epoch + 1}-{end}, "
              f"{'training heads on cached features' if cached else 'training end to end'} ({reason})")
        _fit(fit_model, distribution.shard(prepare(phase_data["train"], targets, tables)),
             distribution.shard(prepare(phase_data["validation"], targets, {})) if "validation" in phase_data else None,
             initial_epoch=epoch, epochs=end, callbacks=_callbacks(validated, run, recorder), verbose=verbose)
        epoch = len(history)
        phases_run.append({"name": name, "epochs": epoch - before,
                           "cached_features": cached, "why": reason,
                           "seconds": round(time.perf_counter() - phase_started, 2)})
        info["phases"] = phases_run
        run.write_json(RUN, info)

    if validated.spec.train.checkpoint is not None and run.file(MODEL).exists():
        with warnings.catch_warnings():  # the file's optimizer state is not needed to evaluate
            warnings.simplefilter("ignore", UserWarning)
            assembly.model.load_weights(run.file(MODEL))
    compile_model(assembly)
    metrics = evaluate_splits(assembly, datasets, ["train", "validation", "test"], shard=distribution.shard)
    if target_data is not None and "test" in target_data:
        metrics["target_test"] = evaluate_splits(assembly, {"target_test": target_data["test"]},
                                                 ["target_test"])["target_test"]
    run.write_json(METRICS, metrics)
    from tlspec.curves import plot_history

    plot_history(history, run.file(CURVES), validated.spec.name)
    seconds = time.perf_counter() - started
    if distribution.kind != "none":
        digest = weights_digest(assembly.model)
        info["distribute"]["weights_sha256"] = digest
        print(f"weights sha256 {digest} (every worker and replica prints the same)")
    if tied:
        info["sharing"] = {tie.name: {"weight": tie.weight, "distance": distance(tie)} for tie in tied}
    info.update({"status": "finished", "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "epochs": len(history), "best": {k: state[k] for k in ("best", "best_epoch") if k in state}})
    info["seconds"] = round(info.get("seconds", 0) + seconds, 2)
    run.write_json(RUN, info)
    return TrainResult(run, metrics, history, phases_run, seconds)


def _importance_weighting(validated: ValidatedSpec, assembly: Assembly, datasets: dict, info: dict):
    """(weighting or None, target datasets to evaluate or None) for a spec with 'adapt'."""
    adapt = validated.spec.adapt
    if adapt is None:
        return None, None
    from tlspec.adapt import describe, fit_weighting

    target_data = load_datasets(validated, section=validated.adapt_target)
    evaluated = target_data if adapt.evaluate else None
    if adapt.method == "none":
        info["adapt"] = {"method": "none"}
        return None, evaluated
    splits = list(target_data) if adapt.split == "all" else [adapt.split]
    target_inputs = target_data[splits[0]]
    for split in splits[1:]:
        target_inputs = target_inputs.concatenate(target_data[split])
    weighting = fit_weighting(assembly, adapt, datasets["train"], target_inputs, validated.spec.seed)
    print(describe(weighting.stats))
    for warning in weighting.warnings:
        print(f"warning: {warning}")
    info["adapt"] = {"method": adapt.method, **weighting.stats, "warnings": weighting.warnings}
    return weighting, evaluated


def _fit(model, train_data, validation_data, **options) -> None:
    import tensorflow as tf

    try:
        model.fit(train_data, validation_data=validation_data, shuffle=False, **options)  # datasets shuffle
    except tf.errors.InvalidArgumentError as error:
        message = error.message.splitlines()[0] if error.message else str(error)
        raise TlspecError(f"training stopped on data it could not read or use: {message}. The run directory "
                          "keeps every finished epoch; fix the data and continue with --resume") from None


def _open_run(validated: ValidatedSpec, out, resume: bool) -> tuple[RunDir, dict, list[dict]]:
    if not resume:
        return RunDir.new(validated.spec.name, out), {}, []
    run = RunDir.existing(out) if out else RunDir.latest(validated.spec.name)
    saved_spec = yaml.safe_load(run.file(SPEC).read_text(encoding="utf-8"))
    if saved_spec != json.loads(json.dumps(validated.data)):
        raise TlspecError(f"the spec differs from the one {run.path} was started with ({run.path / SPEC}); "
                          "resume with the same spec and --set options, or start a new run")
    info = run.read_json(RUN)
    if info.get("status") == "finished":
        raise TlspecError(f"{run.path} has already finished; nothing to resume")
    state_file = run.file(f"{STATE}/state.json")
    if not state_file.exists():
        raise TlspecError(f"{run.path} has no finished epoch to resume from; start a new run")
    state = json.loads(state_file.read_text(encoding="utf-8"))
    history = run.read_csv(HISTORY)[: state["epoch"]]
    print(f"resuming {run.path} after epoch {state['epoch']}")
    return run, state, history
