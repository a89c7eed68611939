"""tlspec: transfer learning, declared. The Python API.

    import tlspec

    validated = tlspec.validate("specs/quickstart_source.yaml", ["train.epochs=2"])  # TensorFlow-free
    assembly = tlspec.build(validated)                 # compiled Keras model: assembly.model
    result = tlspec.train(validated, out="runs/source")
    print(result.metrics["test"])
    print(tlspec.evaluate("runs/source", split="test"))
    print(tlspec.predict("runs/quickstart-transfer", ["image.png"]))

Every function raises ``tlspec.SpecError`` (located problems, each as
``FILE:LINE:COL: path: message``) for a bad spec and ``tlspec.TlspecError`` for
anything else a user can fix. Importing this package is cheap: TensorFlow is
imported only when a model is really built. Plugin authors import ``tlspec.api``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlspec.errors import SpecError, TlspecError

if TYPE_CHECKING:
    from tlspec.model.assemble import Assembly
    from tlspec.spec.validate import ValidatedSpec
    from tlspec.training.runner import TrainResult

__version__ = "0.1.0"

__all__ = ["__version__", "SpecError", "TlspecError", "load_spec", "validate", "build", "plan", "train", "resume",
           "evaluate", "predict", "export", "report", "load_model"]


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> dict:
    """The spec at ``path`` as plain data, after ``extends`` and ``--set``-style ``overrides`` (not validated)."""
    from tlspec.spec.compose import load_spec_tree
    from tlspec.spec.located_yaml import plain

    return plain(load_spec_tree(path, list(overrides)))


def validate(path: str | Path, overrides: Sequence[str] = ()) -> ValidatedSpec:
    """Check a spec without building it, as ``tlspec validate`` does (never imports TensorFlow)."""
    from tlspec.spec.validate import validate_file

    return validate_file(path, list(overrides))


def build(spec: str | Path | ValidatedSpec, overrides: Sequence[str] = ()) -> Assembly:
    """Build and compile the spec's model; ``.model`` is the Keras model, ``.built`` each component."""
    from tlspec.model.assemble import assemble
    from tlspec.model.compile import compile_model

    assembly = assemble(_validated(spec, overrides))
    compile_model(assembly)
    return assembly


def plan(spec: str | Path | ValidatedSpec, overrides: Sequence[str] = ()) -> list:
    """What each training phase will train (``PhasePlan`` per phase): per component trainable and frozen
    parameters and BatchNorm modes, per layer whether it trains, and whether features will be cached."""
    from tlspec.training.phase_plan import plan_phases

    return plan_phases(_validated(spec, overrides))


def train(spec: str | Path | ValidatedSpec, overrides: Sequence[str] = (), *, out: str | Path | None = None,
          resume: bool = False, workers: str | None = None, worker_index: int | None = None,
          verbose: int | str = "auto") -> TrainResult:
    """Train as ``tlspec train`` does; ``workers="host:port,..."`` and ``worker_index`` make this
    process one worker of a multi-worker cluster (or set ``TF_CONFIG``)."""
    validated = _validated(spec, overrides)
    from tlspec.distribute.strategy import distribution_for
    from tlspec.training.runner import train as run_training
    from tlspec.training.stopwatch import Stopwatch

    stopwatch = Stopwatch(before=dict(validated.timings))
    with stopwatch.stage("TensorFlow start-up"):  # a cluster's strategy starts TensorFlow here
        distribution = distribution_for(validated.spec.distribute, workers, worker_index)
    return run_training(validated, out=out, resume=resume, verbose=verbose, distribution=distribution,
                        reporter=_report_for_trackers, stopwatch=stopwatch)


def _report_for_trackers(run_dir: Path) -> list[Path]:
    """The HTML report, written when a run ends, for its trackers."""
    from tlspec.runs.report import report_run

    try:
        return [report_run(run_dir)]
    except TlspecError as error:
        print(f"note: no report for the trackers: {error}", file=sys.stderr)
        return []


def resume(run_dir: str | Path, *, workers: str | None = None, worker_index: int | None = None,
           verbose: int | str = "auto") -> TrainResult:
    """Continue an interrupted run from its own resolved spec: no spec path and no overrides needed."""
    from tlspec.runs.load import saved_spec
    from tlspec.training.rundir import RunDir

    validated = saved_spec(RunDir.existing(run_dir))
    return train(validated, out=run_dir, resume=True, workers=workers, worker_index=worker_index, verbose=verbose)


def evaluate(run_dir: str | Path, split: str = "test", *, data: Sequence[str | Path] = (),
             overrides: Sequence[str] = ()) -> dict:
    """Per-head metrics and reports (confusion matrix, calibration, errors) of a finished run's model on
    one split of its data, or on new data at ``data`` that the run's data plugin reads; saved in the run
    as ``evaluation/<name>.json``. ``overrides``: ``--set``-style changes to the run's spec."""
    from tlspec.runs.evaluate import evaluate_run

    return evaluate_run(run_dir, split, [str(path) for path in data], list(overrides))


def predict(run_dir: str | Path, items: Sequence[str | Path], beam: int = 1, *, batch_size: int = 64,
            top_k: int | None = None, on_batch: Callable[[int, int], None] | None = None) -> list[dict]:
    """Predictions for ``items`` (files, folders and globs of files, sentences: whatever the run's data
    plugin reads), one result per item: ``{"input", "heads", "notes"?}``, or ``{"input", "error"}`` for an
    item the data plugin cannot read (the others are still predicted). ``top_k``: add each classifier's
    K most probable classes; ``on_batch(done, total)`` follows progress."""
    from tlspec.runs.predict import predict_run

    for name, value in (("beam", beam), ("batch_size", batch_size), ("top_k", top_k or 1)):
        if value < 1:
            raise TlspecError(f"{name} must be at least 1, got {value}")
    return predict_run(run_dir, [str(item) for item in items], beam, batch_size, top_k, on_batch)


def export(run_dir: str | Path, format: str, out: str | Path | None = None, *,
           examples: Sequence[str | Path] = ()) -> dict:
    """Write a finished run's model as ``format`` (keras, saved_model, tflite, onnx) with its metadata, after
    checking it in its own runtime against ``model.keras`` on the run's test examples (or ``examples``)."""
    from tlspec.runs.export import export_run

    return export_run(run_dir, format, out, [str(item) for item in examples])


def report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write a finished run's HTML report (default ``RUN/report.html``): one file with its curves, phases,
    evaluations (confusion matrices, calibration, mistakes), graph and spec, readable offline."""
    from tlspec.runs.report import report_run

    return report_run(run_dir, out)


def load_model(run_dir: str | Path) -> Any:
    """A finished run's Keras model, reloaded in safe mode with tlspec's layers registered."""
    from tlspec.runs.load import load_model as load
    from tlspec.training.rundir import RunDir

    return load(RunDir.existing(run_dir))


def _validated(spec: str | Path | ValidatedSpec, overrides: Sequence[str]) -> ValidatedSpec:
    from tlspec.spec.validate import ValidatedSpec

    if isinstance(spec, ValidatedSpec):
        if overrides:
            raise TlspecError("overrides apply to a spec file; this spec is already validated")
        return spec
    return validate(spec, overrides)
