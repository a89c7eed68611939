"""Keras callbacks of a tlspec run: one history across phases, best model, resume state."""

from __future__ import annotations

import math
import time

import numpy as np

from tlspec.errors import TlspecError, one_of
from tlspec.model.runtime import keras as _load_keras
from tlspec.spec.language import CheckpointSpec
from tlspec.training.records import ResumeState
from tlspec.training.rundir import HISTORY, OPTIMIZER, RunDir, atomic_write

keras = _load_keras()


def _improved(value: float, best: float | None, mode: str, monitor: str) -> bool:
    if best is None:
        return True
    if mode == "auto":
        mode = "max" if any(word in monitor for word in ("acc", "auc", "precision", "recall")) else "min"
    return value > best if mode == "max" else value < best


class RunRecorder(keras.callbacks.Callback):
    """After every epoch: append to history.csv, save the best model, save what --resume needs.

    ``full_model`` is the complete model (when the heads train on cached features,
    ``self.model`` is only the head model, which shares its layers).
    """

    def __init__(self, run: RunDir, full_model, phase: str, phase_index: int, phase_start: int,
                 history: list[dict], checkpoint: CheckpointSpec | None, state: ResumeState):
        super().__init__()
        self.run, self.full_model = run, full_model
        self.phase, self.phase_index, self.phase_start = phase, phase_index, phase_start
        self.history, self.checkpoint, self.state = history, checkpoint, state
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = {key: float(value) for key, value in (logs or {}).items()}
        not_finite = [name for name, value in logs.items() if not math.isfinite(value)]
        if not_finite:  # stop before this epoch is recorded: the run resumes after the last finite one
            raise TlspecError(self._not_finite(epoch + 1, not_finite, logs))
        row = {"epoch": epoch + 1, "phase": self.phase, "seconds": round(time.perf_counter() - self.started, 3)}
        learning_rate = getattr(self.model.optimizer, "learning_rate", None)
        if learning_rate is not None:
            row["learning_rate"] = float(np.asarray(learning_rate))
        row.update(logs)
        self.history.append(row)
        self.run.write_csv(HISTORY, self.history)
        self._keep_best(logs)
        self._save_state(epoch + 1)

    def _not_finite(self, epoch: int, names: list[str], logs: dict) -> str:
        values = ", ".join(f"{name} = {logs[name]}" for name in names)
        rate = getattr(self.model.optimizer, "learning_rate", None)
        rate = f" ({float(np.asarray(rate)):.3g} in this phase)" if rate is not None else ""
        kept = (f"the run directory keeps epochs 1-{epoch - 1}: fix the cause and continue with --resume, or train "
                "again" if epoch > 1 else "no epoch finished: fix the cause and train again into the same --out")
        return (f"training stopped at epoch {epoch} (phase {self.phase}): {values}. Likely causes: a learning rate "
                f"too high{rate}, NaN or infinite values in the input data, or targets the head's loss cannot "
                f"take; {kept}")

    def _keep_best(self, logs: dict) -> None:
        if self.checkpoint is None:
            self.run.save_model(self.full_model)  # no checkpoint rule: the model is the latest
            return
        monitor = self.checkpoint.monitor
        if monitor not in logs:
            raise TlspecError(f"train.checkpoint.monitor: '{monitor}' is not among the logged metrics "
                              f"({one_of(logs)}); with several heads, metrics are named "
                              "'val_<head>_<metric>'")
        value = logs[monitor]
        if math.isnan(value):
            return
        if not self.checkpoint.save_best_only or _improved(value, self.state.best, self.checkpoint.mode, monitor):
            self.state.best, self.state.best_epoch = value, len(self.history)
            self.run.save_model(self.full_model)

    def _save_state(self, epoch: int) -> None:
        self.run.save_weights(self.full_model)
        values = [np.asarray(v) for v in self.model.optimizer.variables]
        atomic_write(self.run.file(OPTIMIZER), lambda partial: _save_arrays(partial, values))
        self.state.phase_index, self.state.phase_start, self.state.epoch = self.phase_index, self.phase_start, epoch
        self.run.write_state(self.state)


def _save_arrays(path, values: list) -> None:
    with open(path, "wb") as handle:  # an open file: np.savez would append .npz to the partial name
        np.savez(handle, *values)


def restore_optimizer(run: RunDir, model) -> bool:
    """Put the saved optimizer variables back (same phase, same trainable variables)."""
    path = run.file(OPTIMIZER)
    if not path.exists():
        return False
    saved = np.load(path)
    values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    if len(values) != len(optimizer.variables) or any(
            tuple(v.shape) != tuple(s.shape) for v, s in zip(optimizer.variables, values)):
        return False
    for variable, value in zip(optimizer.variables, values):
        variable.assign(value)
    return True
