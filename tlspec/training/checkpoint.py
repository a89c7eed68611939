"""One epoch's checkpoint, committed in one step.

An epoch writes its weights, its optimizer state and, when it is the model to keep,
its model under names that carry the epoch number; rewriting ``state/state.json``
is the commit. A process killed before the commit leaves the previous epoch's
checkpoint whole (the new files are stray and go at the next commit); one killed
after it has its commit finished by ``--resume`` (``complete_commit``).
"""

from __future__ import annotations

import os

import numpy as np

from tlspec.errors import TlspecError
from tlspec.training.records import ResumeState
from tlspec.training.rundir import MODEL, STATE, STATE_FILE, RunDir, atomic_write


def weights_name(epoch: int) -> str:
    return f"{STATE}/weights-{epoch}.npz"


def legacy_weights_name(epoch: int) -> str:
    """Where runs of tlspec before 0.19's checkpoints kept an epoch's weights (Keras' HDF5 format)."""
    return f"{STATE}/weights-{epoch}.weights.h5"


def optimizer_name(epoch: int) -> str:
    return f"{STATE}/optimizer-{epoch}.npz"


def kept_model_name(epoch: int) -> str:
    return f"{STATE}/model-{epoch}.keras"


def save_epoch(run: RunDir, state: ResumeState, full_model, optimizer, keep_model: bool) -> None:
    """Checkpoint epoch ``state.epoch``; with ``keep_model`` it also becomes ``model.keras``."""
    epoch = state.epoch
    # The weights as one array file, in the model's variable order: a fifth of the time of Keras' HDF5
    # writer, which walks every layer (it ran after every epoch, and was a tenth of a short run)
    weights = [np.asarray(variable) for variable in full_model.weights]
    paths = np.array([variable.path for variable in full_model.weights])
    atomic_write(run.file(weights_name(epoch)), lambda partial: _save_arrays(partial, weights, paths=paths))
    values = [np.asarray(variable) for variable in optimizer.variables]
    atomic_write(run.file(optimizer_name(epoch)), lambda partial: _save_arrays(partial, values))
    if keep_model:
        run.save_model(full_model, kept_model_name(epoch))
    run.write_state(state)  # the commit
    complete_commit(run, state)


def complete_commit(run: RunDir, state: ResumeState) -> None:
    """Move the committed epoch's kept model into place; remove every other epoch's files."""
    kept = run.file(kept_model_name(state.epoch))
    if kept.exists():
        os.replace(kept, run.file(MODEL))
    current = {STATE_FILE, weights_name(state.epoch), legacy_weights_name(state.epoch), optimizer_name(state.epoch)}
    for path in run.file(STATE).iterdir():
        if f"{STATE}/{path.name}" not in current and path.is_file():
            path.unlink()


def restore_weights(run: RunDir, state: ResumeState, model) -> None:
    path, legacy = run.file(weights_name(state.epoch)), run.file(legacy_weights_name(state.epoch))
    if not path.exists() and legacy.exists():
        model.load_weights(legacy)
        return
    if not path.exists():
        raise TlspecError(f"{run.path} has no weights for epoch {state.epoch} ({path.name} is missing from "
                          f"{run.file(STATE)}); it cannot be resumed: start a new run")
    with np.load(path, allow_pickle=False) as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files) - 1)]
        paths = list(saved["paths"])
    variables = model.weights
    if paths != [variable.path for variable in variables] or any(
            tuple(v.shape) != tuple(value.shape) for v, value in zip(variables, values)):
        raise TlspecError(f"{path} does not hold this model's weights (the model built from the spec has other "
                          "layers); it cannot be resumed: start a new run")
    for variable, value in zip(variables, values):
        variable.assign(value)


def restore_optimizer(run: RunDir, state: ResumeState, model) -> bool:
    """Put the saved optimizer variables back (same phase, same trainable variables)."""
    path = run.file(optimizer_name(state.epoch))
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


def _save_arrays(path, values: list, **named) -> None:
    with open(path, "wb") as handle:  # an open file: np.savez would append .npz to the partial name
        np.savez(handle, *values, **named)
