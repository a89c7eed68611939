"""`tlspec sweep`: seeds and a search over spec values, with Optuna (the ``sweep`` extra).

Every trial is ordinary tlspec runs (one per seed) under the sweep directory, trained from the spec
with the trial's values as ``--set`` overrides. Optuna's TPE sampler proposes values, and a median
pruner stops a trial whose monitored metric lags the earlier ones' at the same epoch (only the first
seed of a trial reports). The study lives in ``study.db`` (SQLite) in the sweep directory: a sweep
started again with the same ``--out`` goes on where it stopped, the trials a kill interrupted marked
failed. ``parallel`` trials run at once in worker processes sharing the study. Every value the
space can take is validated before the first trial.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tlspec.errors import Location, Problem, Pruned, SpecError, TlspecError
from tlspec.spec.search_space import Dimension, assignment, parse_dimension
from tlspec.spec.validate import ValidatedSpec, validate_file

STUDY = "study.db"
STUDY_NAME = "tlspec"
SWEEP_EXTRA = "pip install 'tlspec[sweep]'"


@dataclass
class Sweep:
    spec_path: Path
    overrides: list[str]
    validated: ValidatedSpec
    dimensions: list[Dimension]
    out: Path
    trials: int
    seeds: int
    parallel: int
    monitor: str
    maximize: bool
    pruning: bool
    sampler_seed: int


def open_sweep(spec_path, overrides=(), out=None, seeds: int | None = None, trials: int | None = None,
               parallel: int | None = None) -> Sweep:
    """The spec's sweep, every value of its space validated; command-line numbers win over the section's."""
    overrides = list(overrides)
    validated = validate_file(spec_path, overrides)
    section = validated.spec.sweep
    space = section.space if section else {}
    dimensions = [parse_dimension(key, text) for key, text in space.items()]
    check_space(spec_path, overrides, validated, dimensions)
    monitor = (section.monitor if section and section.monitor else None) or (
        validated.spec.train.checkpoint.monitor if validated.spec.train.checkpoint else "val_loss")
    direction = section.direction if section else "auto"
    maximize = direction == "maximize" or (direction == "auto" and any(
        word in monitor for word in ("acc", "auc", "precision", "recall", "f1")))
    name = validated.spec.name
    return Sweep(Path(spec_path), overrides, validated, dimensions, Path(out or Path("sweeps") / name),
                 trials or (section.trials if section and dimensions else 1),
                 seeds or (section.seeds if section else 1), parallel or (section.parallel if section else 1),
                 monitor, maximize, section.pruning if section else True,
                 section.sampler_seed if section and section.sampler_seed is not None else validated.spec.seed or 0)


def check_space(spec_path, overrides: list[str], validated: ValidatedSpec, dimensions: list[Dimension]) -> None:
    """Validate the spec with every choice and both ends of every range, one dimension at a time; a value
    that does not fit is reported at its line of the sweep section."""
    problems = []
    for dimension in dimensions:
        where = validated.locations.of_value(("sweep", "space", dimension.key)) or Location(str(spec_path), 1, 1)
        for value in dimension.extremes():
            try:
                validate_file(spec_path, [*overrides, assignment(dimension.key, value)])
            except SpecError as error:
                reason = error.problems[0].message if error.problems else str(error)
                field = error.problems[0].path if error.problems and error.problems[0].path else dimension.key
                problems.append(Problem(f"{dimension.key} = {value!r} does not fit the spec: {field}: {reason}",
                                        where, f"sweep.space.{dimension.key}"))
                break
    if problems:
        raise SpecError(problems)


def run_sweep(sweep: Sweep, worker: int | None = None) -> list[dict]:
    """Run the trials still to run (with ``parallel - 1`` worker processes beside this one, numbered from 1;
    ``worker`` is this process's number when it is one of them); the results. A trial more than asked may
    run when several finish at once."""
    optuna = _optuna()
    from tlspec.model.runtime import keras

    keras()
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # many fits in one process: TensorFlow's retracing warnings are noise
    sweep.out.mkdir(parents=True, exist_ok=True)
    study = _study(optuna, sweep, worker or 0)
    if worker is None:
        _fail_interrupted(optuna, study)
    workers = [] if worker is not None else [_start_worker(sweep, index) for index in range(1, sweep.parallel)]
    try:
        budget = optuna.study.MaxTrialsCallback(sweep.trials, states=(optuna.trial.TrialState.COMPLETE,
                                                                      optuna.trial.TrialState.PRUNED))
        if _counted(optuna, study) < sweep.trials:
            study.optimize(lambda trial: objective(sweep, trial), callbacks=[budget], catch=(TlspecError,))
    finally:
        for process in workers:
            process.wait()
    return results(optuna, study, sweep)


def objective(sweep: Sweep, trial) -> float:
    from tlspec.training.runner import train

    values = {dimension.key: dimension.suggest(trial) for dimension in sweep.dimensions}
    base_seed = sweep.validated.spec.seed or 0
    found, tests, runs = [], [], []
    for index in range(sweep.seeds):
        seed = base_seed + index
        out = sweep.out / f"trial-{trial.number:03d}" / f"seed-{seed}"
        overrides = [*sweep.overrides, *(assignment(key, value) for key, value in values.items()), f"seed={seed}"]
        hook = _pruning_hook(trial, sweep) if index == 0 and sweep.pruning else None
        try:
            result = train(validate_file(sweep.spec_path, overrides), out=out, verbose=0, epoch_hook=hook)
        except Pruned as error:
            trial.set_user_attr("runs", [*runs, str(out)])
            raise _optuna().TrialPruned(str(error)) from None
        found.append(monitored(result.history, sweep.monitor, sweep.maximize))
        tests.append(result.metrics.get("test", {}))
        runs.append(str(out))
    trial.set_user_attr("runs", runs)
    trial.set_user_attr("values", found)
    trial.set_user_attr("test", tests)
    return sum(found) / len(found)


def monitored(history: list[dict], monitor: str, maximize: bool) -> float:
    values = [row[monitor] for row in history if isinstance(row.get(monitor), (int, float))]
    if not values:
        raise TlspecError(f"sweep monitor '{monitor}' is not among the logged metrics")
    return max(values) if maximize else min(values)


def results(optuna, study, sweep: Sweep) -> list[dict]:
    rows = []
    for trial in study.trials:
        tests = trial.user_attrs.get("test", [])
        rows.append({"trial": trial.number, "state": trial.state.name.lower(), "params": dict(trial.params),
                     "value": trial.value, "values": trial.user_attrs.get("values", []),
                     "test": _mean_sd_metrics(tests), "runs": trial.user_attrs.get("runs", [])})
    return rows


def best_row(rows: list[dict], maximize: bool) -> dict | None:
    done = [row for row in rows if row["state"] == "complete" and row["value"] is not None]
    if not done:
        return None
    return (max if maximize else min)(done, key=lambda row: row["value"])


def write_best_spec(sweep: Sweep, best: dict, target: Path | None = None) -> Path:
    """The spec with the best trial's values, complete (extends and overrides resolved), next to the
    spec by default so its relative paths still hold."""
    import yaml

    from tlspec.spec.compose import load_spec_tree
    from tlspec.spec.located_yaml import plain

    chosen = [*sweep.overrides, *(assignment(key, value) for key, value in best["params"].items())]
    data = plain(load_spec_tree(sweep.spec_path, chosen))
    data.pop("sweep", None)
    target = target or sweep.spec_path.with_name(f"{sweep.spec_path.stem}.best.yaml")
    spec_dir, target_dir = sweep.spec_path.resolve().parent, target.resolve().parent
    moved = spec_dir != target_dir
    if moved:
        data = _moved_paths(data, spec_dir, target_dir)
    note = (f"its paths are rewritten to hold from here, {target_dir}" if moved else
            f"its relative paths, as in {sweep.spec_path.name}, are relative to {spec_dir}")
    header = (f"# The best of `tlspec sweep {sweep.spec_path.name}` ({sweep.out}): trial {best['trial']}, "
              f"{sweep.monitor} {best['value']:.4f}\n# {note[0].upper()}{note[1:]}\n")
    try:
        target.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    except OSError as error:  # --best names a folder that is not there, or one this user cannot write
        raise TlspecError(f"--best {target}: cannot write ({error.strerror}); the sweep itself is kept in "
                          f"{sweep.out}, so run the same command with another --best") from None
    return target


def _moved_paths(value, spec_dir: Path, target_dir: Path):
    """Relative paths (strings with a '/' or '.' naming something that exists beside the spec) rewritten
    relative to ``target_dir``, so a best spec written elsewhere still finds its files."""
    if isinstance(value, dict):
        return {key: _moved_paths(item, spec_dir, target_dir) for key, item in value.items()}
    if isinstance(value, list):
        return [_moved_paths(item, spec_dir, target_dir) for item in value]
    if (isinstance(value, str) and ("/" in value or "." in value) and not Path(value).expanduser().is_absolute()
            and _exists(spec_dir / value)):
        return os.path.relpath(spec_dir / value, target_dir)
    return value


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name no file system could hold is not a path
        return False


def mean_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, sd


def _mean_sd_metrics(tests: list[dict]) -> dict:
    """Per head and metric of the test split: [mean, sd] over the trial's seeds."""
    collected: dict[str, list[float]] = {}
    for metrics in tests:
        for head, values in metrics.items():
            if isinstance(values, dict):
                for name, value in values.items():
                    if isinstance(value, (int, float)):
                        collected.setdefault(f"{head}_{name}", []).append(float(value))
    return {name: list(mean_sd(values)) for name, values in collected.items()}


def _pruning_hook(trial, sweep: Sweep):
    def report(row: dict) -> None:
        value = row.get(sweep.monitor)
        if isinstance(value, (int, float)):
            trial.report(float(value), int(row["epoch"]))
            if trial.should_prune():
                raise Pruned(f"pruned at epoch {row['epoch']}: {sweep.monitor} {value:.4f} lags the other trials")
    return report


def _optuna():
    try:
        import optuna
    except ImportError:
        raise TlspecError(f"tlspec sweep needs Optuna, not installed here: {SWEEP_EXTRA}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _study(optuna, sweep: Sweep, worker: int):
    storage = f"sqlite:///{(sweep.out / STUDY).resolve()}"
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1) if sweep.pruning else \
        optuna.pruners.NopPruner()
    try:
        study = optuna.create_study(study_name=STUDY_NAME, storage=storage, load_if_exists=True, pruner=pruner,
                                    direction="maximize" if sweep.maximize else "minimize")
    except ValueError as error:  # e.g. the stored study goes the other direction
        raise TlspecError(f"{sweep.out} holds another sweep ({error}); give another --out") from None
    study.sampler = optuna.samplers.TPESampler(seed=sampler_seed(sweep.sampler_seed, worker, len(study.trials)))
    searched = {"space": {d.key: [d.kind, d.low, d.high, list(d.options)] for d in sweep.dimensions},
                "seeds": sweep.seeds, "monitor": sweep.monitor}
    recorded = study.user_attrs.get("searched")
    if recorded is None:
        study.set_user_attr("searched", searched)
    elif recorded != searched:  # trials of another search would mislead this one's sampler and results
        raise TlspecError(f"{sweep.out} holds a sweep of another space, seed count or monitor; give another "
                          "--out, or the same sweep: section to resume it")
    return study


def sampler_seed(seed: int, worker: int, trials_so_far: int) -> int:
    """The sampler's seed for one worker of one (re)start: workers must not propose alike, and a resumed
    sweep must not replay the random proposals its first start already tried."""
    import numpy as np

    return int(np.random.SeedSequence([seed, worker, trials_so_far]).generate_state(1)[0])


def _counted(optuna, study) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return sum(1 for trial in study.trials if trial.state in states)


def _fail_interrupted(optuna, study) -> None:
    """Trials a kill left running can never finish: mark them failed, so the budget counts on."""
    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.RUNNING:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)


def _start_worker(sweep: Sweep, index: int) -> subprocess.Popen:
    sets = [part for override in sweep.overrides for part in ("--set", override)]
    command = [sys.executable, "-m", "tlspec.cli", "sweep", str(sweep.spec_path), "--out", str(sweep.out),
               "--trials", str(sweep.trials), "--seeds", str(sweep.seeds), "--worker", str(index), *sets]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)
