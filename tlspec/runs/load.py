"""Opening a finished run directory: its records, its spec as validated again, its model.

The model is reloaded from ``model.keras`` with ``keras.saving.load_model`` in
safe mode. Paths in the saved spec are relative to where the spec was, so it is
validated as if it still lived there.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tlspec.errors import TlspecError
from tlspec.spec.located_yaml import Locations
from tlspec.spec.validate import ValidatedSpec, validate_data
from tlspec.training.records import RunInfo
from tlspec.training.rundir import MODEL, SPEC, RunDir


def open_run(run_dir) -> tuple[RunDir, RunInfo, ValidatedSpec]:
    from tlspec.model.runtime import keras

    keras()  # start TensorFlow quietly before a data plugin imports it
    run = RunDir.existing(run_dir)
    info = run.read_info()
    if not run.file(MODEL).exists():
        raise TlspecError(f"{run.path} has no {MODEL} (the run did not finish an epoch)")
    data = yaml.safe_load(run.file(SPEC).read_text(encoding="utf-8"))
    # Paths in the spec are relative to where the spec was, not to the run directory.
    validated = validate_data(data, Locations(), Path(info.spec_dir) / SPEC)
    return run, info, validated


def load_model(run: RunDir):
    from tlspec.model.runtime import keras

    import tlspec.model.layers  # noqa: F401 - registers tlspec's serializable layers

    return keras().saving.load_model(run.file(MODEL), safe_mode=True)


def trained_assembly(run: RunDir, validated: ValidatedSpec):
    """The spec's graph rebuilt, holding the run's trained weights (its components stay addressable)."""
    from tlspec.model.assemble import assemble

    assembly = assemble(validated)
    assembly.model.set_weights(load_model(run).get_weights())
    return assembly
