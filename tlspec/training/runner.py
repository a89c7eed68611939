"""`tlspec train`: open the run, load the data, train phase after phase, evaluate, finish.

One history runs across phases (epochs are numbered globally). The model that
ends up in ``model.keras`` is the best one by ``train.checkpoint`` (or the last
one without it); ``--resume`` continues after the last finished epoch.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tlspec.distribute.strategy import Distribution, weights_digest
from tlspec.errors import Location, PlanError, Problem, SpecError, TlspecError
from tlspec.model.assemble import assemble
from tlspec.model.compile import compile_model
from tlspec.model.evaluate import evaluate_splits
from tlspec.spec.checks import MULTI_WORKER_SEED
from tlspec.spec.validate import ValidatedSpec
from tlspec.training.checkpoint import restore_weights
from tlspec.training.data import TrainingData, load_training_data
from tlspec.training.failures import explained
from tlspec.training.feature_plan import plan_features
from tlspec.training.phases import run_phase
from tlspec.training.records import PhaseRecord
from tlspec.training.rundir import CURVES, HISTORY, METRICS, MODEL, SPEC, RunDir
from tlspec.training.session import Session, new_info, open_session
from tlspec.training.sharing import distance
from tlspec.training.stop_request import raise_if_requested
from tlspec.training.stopwatch import Stopwatch
from tlspec.training.tracking import Trackers


@dataclass
class TrainResult:
    run: RunDir
    metrics: dict
    history: list[dict]
    phases: list[PhaseRecord] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # Stopwatch.breakdown
    is_chief: bool = True  # False: a worker that wrote a scratch copy, now removed


def train(validated: ValidatedSpec, out=None, resume: bool = False, verbose: int | str = "auto",
          distribution: Distribution | None = None,
          reporter: Callable[[Path], list[Path]] | None = None,
          epoch_hook: Callable[[dict], None] | None = None, stopwatch: Stopwatch | None = None) -> TrainResult:
    """Train under ``distribution`` (default: one device); on a multi-worker cluster every worker
    runs this, and only the chief keeps its run directory. ``reporter(run_dir)`` writes files the
    spec's trackers receive besides the run's own (the HTML report). ``stopwatch`` has timed what ran
    before (validation, TensorFlow's start); by default it starts here, after the spec's validation."""
    stopwatch = stopwatch or Stopwatch(before=dict(validated.timings))
    require_data(validated)
    distribution = distribution or Distribution("none")
    distribution.check_batch(validated.spec.train.batch_size)
    if distribution.kind == "multi_worker" and validated.spec.seed is None:
        raise TlspecError(MULTI_WORKER_SEED)
    with stopwatch.stage("open run"):
        session = open_session(validated, out, resume, verbose, distribution)
    session.reporter, session.epoch_hook, session.stopwatch = reporter, epoch_hook, stopwatch
    try:
        with distribution.scope():
            return _train(session)
    except BaseException as error:
        error = explained(session, error)
        lost = distribution.lost_workers(error) if isinstance(error, Exception) else None
        if lost is not None:
            error = TlspecError(f"training stopped: {lost}. The chief's run directory keeps every finished epoch; "
                                "start every worker again with --resume (and the same --out on the chief)")
        record_stop(session, error)
        if lost is not None or isinstance(error, TlspecError):
            raise error from None
        raise
    finally:
        if session.previous_policy is not None:  # the dtype policy is global: put back the caller's
            set_precision(session.previous_policy)
        if not distribution.is_chief:
            session.run.remove()


def set_precision(policy: str) -> str:
    """Make ``policy`` Keras' global dtype policy (float32, mixed_float16, mixed_bfloat16); returns the
    one it replaces."""
    from tlspec.model.runtime import keras

    previous = keras().config.dtype_policy().name
    keras().config.set_dtype_policy(policy)
    return previous


def record_stop(session: Session, error: BaseException) -> None:
    """run.json says the run was interrupted or failed, and why, instead of still 'running'."""
    if session.info is None or not session.distribution.is_chief:
        return
    session.info.stop(error)
    if session.trackers is not None:
        session.trackers.stop(session.info.status)
    session.run.write_info(session.info)
    if session.epoch and session.info.status != "pruned":  # something to continue from
        print(f"run {session.info.status}; continue it with: tlspec train {session.run.path} --resume",
              file=sys.stderr)


def require_data(validated: ValidatedSpec) -> None:
    if validated.data_source is None:
        location = validated.locations.of_value(()) or Location(str(validated.source), 1, 1)
        raise SpecError([Problem("training needs a 'data' section (installed data plugins: see "
                                 "`tlspec plugins`)", location)])


def _train(session: Session) -> TrainResult:
    start_run(session)
    with session.stopwatch.stage("plan features"):
        session.feature_plan = plan_features(session, session.state.phase_index)
    with session.stopwatch.stage("load data"):
        data = load_training_data(session, keep_decoded=decoded_inputs_reread(session))
    for step in session.phases_to_run():
        session.record_phase(run_phase(session, data, step))
        raise_if_requested()
    metrics = evaluate(session, data)
    raise_if_requested()
    return finish(session, data, metrics)


def decoded_inputs_reread(session: Session) -> bool:
    """Whether the training data is read more than once per split (so a source's cache of decoded inputs
    pays): a phase that trains on it, importance weighting, class weights counted from it."""
    spec = session.spec
    return not session.feature_plan.every_phase_cached or spec.adapt is not None or bool(spec.train.class_weights)


def start_run(session: Session) -> None:
    """Build the model; record a new run, or put back the weights of the interrupted one."""
    from tlspec.model.runtime import keras

    if session.distribution.kind != "none":
        print(session.distribution.describe(session.spec.train.batch_size))
    with session.stopwatch.stage("TensorFlow start-up"):
        keras()
    session.previous_policy = set_precision(session.spec.train.precision)
    with session.stopwatch.stage("build model"):
        session.assembly = assemble(session.validated)
    with session.stopwatch.stage("open run"):
        _open_run_records(session)


def _open_run_records(session: Session) -> None:
    validated, run, distribution = session.validated, session.run, session.distribution
    batch_size = validated.spec.train.batch_size
    session.info = run.read_info() if session.resume else new_info(validated, session.assembly)
    session.info.status, session.info.stopped = "running", None
    if distribution.kind != "none":
        session.info.distribute = distribution.info(batch_size)
    if session.resume:
        restore_weights(run, session.state, session.assembly.model)
    else:
        run.write_text(SPEC, yaml.safe_dump(validated.data, sort_keys=False))
        run.write_info(session.info)
    if validated.trackers and distribution.is_chief:
        session.trackers = Trackers.open(validated, run, session.info, session.resume)


def evaluate(session: Session, data: TrainingData) -> dict:
    """Metrics of the kept model (the best checkpoint, else the last) on every split."""
    assembly, run, stopwatch = session.assembly, session.run, session.stopwatch
    with stopwatch.stage("prepare evaluation"):  # the kept weights, and the decoders' generators
        if session.spec.train.checkpoint is not None and run.file(MODEL).exists():
            with warnings.catch_warnings():  # the file's optimizer state is not needed to evaluate
                warnings.simplefilter("ignore", UserWarning)
                assembly.model.load_weights(run.file(MODEL))
        compile_model(assembly)
        cached = cached_evaluation(session, data)
        metrics = evaluate_splits(assembly, data.datasets, ["train", "validation", "test"],
                                  shard=session.distribution.shard,
                                  timed=lambda split: stopwatch.stage(f"evaluate {split}"), substitutes=cached)
    if data.target is not None and "test" in data.target:
        with stopwatch.stage("evaluate target_test"):
            metrics["target_test"] = evaluate_splits(assembly, {"target_test": data.target["test"]},
                                                     ["target_test"])["target_test"]
    return metrics


def cached_evaluation(session: Session, data: TrainingData) -> dict:
    """Split -> (the network above the frozen bottom, its cached features) for the splits the last phase
    cached, while the kept model's frozen weights are those they were computed with; with
    ``train.persistent_cache`` the test split's features are extracted (or found) too."""
    from tlspec.training.feature_cache import cached_splits

    features = session.features
    if features is None or not features.plain or features.models.weights_digest() != features.weights_digest:
        return {}
    splits = dict(features.splits)
    if features.store is not None and "test" in data.datasets:
        from tlspec.training.phases import report_store

        with session.stopwatch.stage("evaluate test"):
            splits |= cached_splits(features.models, {"test": data.datasets["test"]}, features.store)
        report_store(features.store)
    compile_model(session.assembly, model=features.models.heads)
    batch_size = session.spec.train.batch_size
    return {split: (features.models.heads, found.dataset(batch_size)) for split, found in splits.items()}


def save_artifacts(session: Session) -> list[Path]:
    """What the backbone and blocks write beside the kept model (a KerasHub preset, say)."""
    graph, written = session.validated.graph, []
    for component in graph.components.values():
        if component.role == "head":
            continue
        context = graph.context(component)
        context.notes = []
        try:
            written += component.section.plugin.save_artifacts(component.section.config, session.run.file(MODEL),
                                                               session.run.path, context)
        except PlanError as error:
            where = ".".join(str(part) for part in component.path + error.field)
            raise TlspecError(f"{where}: the model is saved, but {error.message}") from None
        for note in context.notes:
            print(f"note: {note}")
            session.info.notes.append(note)
    return written


def finish(session: Session, data: TrainingData, metrics: dict) -> TrainResult:
    from tlspec.training.curves import plot_history

    run, info, stopwatch = session.run, session.info, session.stopwatch
    with stopwatch.stage("save"):
        run.write_json(METRICS, metrics)
        artifacts = save_artifacts(session) if session.distribution.is_chief else []
    with stopwatch.stage("plot curves"):
        plot_history(session.history, run.file(CURVES), session.spec.name)
    seconds = time.perf_counter() - session.started
    if session.distribution.kind != "none":
        digest = weights_digest(session.assembly.model)
        info.distribute["weights_sha256"] = digest
        print(f"weights sha256 {digest} (every worker and replica prints the same)")
    if data.tied:
        info.sharing = {tie.name: {"weight": tie.weight, "distance": distance(tie)} for tie in data.tied}
    info.finish(len(session.history), session.state.best_so_far(), seconds)
    info.timings = stopwatch.breakdown()
    run.write_info(info)
    if session.trackers is not None:
        with stopwatch.stage("report and trackers"):
            extra = session.reporter(run.path) if session.reporter is not None else []
            files = [run.file(name) for name in (MODEL, METRICS, CURVES, HISTORY, SPEC)] + artifacts + list(extra)
            session.trackers.finish(metrics, files, len(session.history))
        info.timings = stopwatch.breakdown()
        run.write_info(info)  # with any tracker's note
    return TrainResult(run, metrics, session.history, info.phases, seconds, info.timings,
                       session.distribution.is_chief)

