"""Opening a finished run directory: its records, its spec as validated again, its model.

The model is reloaded from ``model.keras`` with ``keras.saving.load_model`` in
safe mode. Paths in the saved spec are relative to where the spec was, so it is
validated as if it still lived there.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from tlspec.errors import TlspecError
from tlspec.plugin.data import DataDescription
from tlspec.spec.compose import apply_override, load_file
from tlspec.spec.located_yaml import flatten
from tlspec.spec.validate import ValidatedSpec, validate_data
from tlspec.training.records import RunInfo
from tlspec.training.rundir import DATA, MODEL, SPEC, RunDir


def open_run(run_dir, recorded_data: bool = False, overrides: Sequence[str] = ()) -> tuple[RunDir, RunInfo,
                                                                                          ValidatedSpec]:
    """The run, its record, and its spec validated again, with ``--set``-style ``overrides``.
    ``recorded_data``: plan from what the training data looked like (``data.json``) instead of
    describing it again, so the data need not be there."""
    from tlspec.model.runtime import keras

    keras()  # start TensorFlow quietly before a data plugin imports it
    run = RunDir.existing(run_dir)
    info = run.read_info()
    check_plugins(run, info)
    if not run.file(MODEL).exists():
        raise TlspecError(f"{run.path} has no {MODEL} (the run did not finish an epoch)")
    description = None
    if recorded_data and run.file(DATA).exists():
        description = run.read_record(DATA, DataDescription.from_json)
    return run, info, saved_spec(run, info, description, overrides)


def check_plugins(run: RunDir, info: RunInfo) -> None:
    """The plugin distributions the run was trained with are installed (a different version is only noted)."""
    missing = []
    for distribution, version in info.plugins.items():
        try:
            installed = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            missing.append((distribution, version))
            continue
        if installed != version:
            print(f"note: {run.path} was trained with {distribution} {version}; {installed} is installed",
                  file=sys.stderr)
    if missing:
        names = ", ".join(f"{distribution} {version}" for distribution, version in missing)
        pins = " ".join(f"'{distribution}=={version}'" for distribution, version in missing)
        raise TlspecError(f"{run.path} was trained with plugins from {names}, not installed here: "
                          f"pip install {pins}")


def saved_spec(run: RunDir, info: RunInfo | None = None, description: DataDescription | None = None,
               overrides: Sequence[str] = ()) -> ValidatedSpec:
    """The run's own resolved spec, validated again; problems point into the run's spec.yaml.

    Paths in it are relative to where the spec was, not to the run directory, so it is validated as
    if it still lived there. TensorFlow-free.
    """
    info = info or run.read_info()
    spec_file = run.file(SPEC)
    tree = load_file(spec_file)
    for number, assignment in enumerate(overrides, start=1):
        apply_override(tree, assignment, number)
    data, locations = flatten(tree)
    return validate_data(data, locations, Path(info.spec_dir) / SPEC, description=description)


def load_model(run: RunDir, registry=None):
    import tlspec.model.layers  # noqa: F401 - registers tlspec's serializable layers
    from tlspec.model.custom_objects import register_plugin_objects
    from tlspec.model.runtime import keras

    register_plugin_objects(registry)

    try:
        return keras().saving.load_model(run.file(MODEL), safe_mode=True)
    except (ValueError, TypeError) as error:  # safe mode refuses Lambda layers and unregistered objects
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TlspecError(f"{run.file(MODEL)} cannot be loaded in safe mode: {first[:300]}. tlspec loads models "
                          "only in safe mode (no Lambda layers; custom layers must be registered serializable "
                          "by an installed plugin)") from None


def trained_assembly(run: RunDir, validated: ValidatedSpec):
    """The spec's graph rebuilt, holding the run's trained weights (its components stay addressable)."""
    from tlspec.model.assemble import assemble

    assembly = assemble(validated)
    load_model(run, validated.registry)  # what safe mode refuses is refused here, with its message
    # Layer by layer, as training reloads its best epoch: a LoRA layer reads the kernel its adapters were
    # merged into when it was saved, and starts its adapters at zero.
    with warnings.catch_warnings():  # the file's optimizer state is not needed
        warnings.simplefilter("ignore", UserWarning)
        assembly.model.load_weights(run.file(MODEL))
    return assembly
