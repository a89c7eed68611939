"""Keras callbacks of a tlspec run: one history across phases, best model, resume state."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from tlspec.errors import TlspecError, one_of
from tlspec.model.runtime import keras as _load_keras
from tlspec.spec.language import CheckpointSpec
from tlspec.training.checkpoint import save_epoch
from tlspec.training.records import ResumeState
from tlspec.training.rundir import HISTORY, RunDir
from tlspec.training.stop_request import raise_if_requested

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
                 history: list[dict], checkpoint: CheckpointSpec | None, state: ResumeState,
                 on_epoch: Callable[[dict], None] | None = None):
        super().__init__()
        self.on_epoch = on_epoch  # the trackers
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
        keep_model = self._is_model_to_keep(logs)
        self.state.phase_index, self.state.phase_start, self.state.epoch = self.phase_index, self.phase_start, epoch + 1
        if hasattr(self.model, "balancing_state"):
            self.state.balancing = self.model.balancing_state()
        save_epoch(self.run, self.state, self.full_model, self.model.optimizer, keep_model)
        if self.on_epoch is not None:
            self.on_epoch(row)

    def _not_finite(self, epoch: int, names: list[str], logs: dict) -> str:
        values = ", ".join(f"{name} = {logs[name]}" for name in names)
        rate = getattr(self.model.optimizer, "learning_rate", None)
        rate = f" ({float(np.asarray(rate)):.3g} in this phase)" if rate is not None else ""
        kept = (f"the run directory keeps epochs 1-{epoch - 1}: fix the cause and continue with --resume, or train "
                "again" if epoch > 1 else "no epoch finished: fix the cause and train again into the same --out")
        return (f"training stopped at epoch {epoch} (phase {self.phase}): {values}. Likely causes: a learning rate "
                f"too high{rate}, NaN or infinite values in the input data, or targets the head's loss cannot "
                f"take; {kept}")

    def _is_model_to_keep(self, logs: dict) -> bool:
        """Whether this epoch's model becomes model.keras (the best so far, or the latest without a rule)."""
        if self.checkpoint is None:
            return True
        monitor = self.checkpoint.monitor
        if monitor not in logs:
            raise TlspecError(f"train.checkpoint.monitor: '{monitor}' is not among the logged metrics "
                              f"({one_of(logs)}); with several heads, metrics are named "
                              "'val_<head>_<metric>'")
        value = logs[monitor]
        if math.isnan(value):
            return False
        if not self.checkpoint.save_best_only or _improved(value, self.state.best, self.checkpoint.mode, monitor):
            self.state.best, self.state.best_epoch = value, len(self.history)
            return True
        return False


class StopWhenRequested(keras.callbacks.Callback):
    """Raises a Ctrl-C or SIGTERM that TensorFlow's code swallowed, at the next batch (see stop_request)."""

    def on_train_batch_end(self, batch, logs=None):
        raise_if_requested()

    def on_test_batch_end(self, batch, logs=None):
        raise_if_requested()

    def on_epoch_end(self, epoch, logs=None):
        raise_if_requested()
