"""`tlspec evaluate` and `tlspec predict` on a finished run directory.

The model is reloaded from ``model.keras`` with ``keras.saving.load_model`` in
safe mode; the data plugin named in the run's spec prepares the inputs the
same way it did for training (images are decoded and resized; the model holds
its own preprocessing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from tlspec.errors import TlspecError, one_of
from tlspec.located_yaml import Locations
from tlspec.rundir import MODEL, RUN, SPEC, RunDir
from tlspec.api import PlanError
from tlspec.validation import ValidatedSpec, load_datasets, validate_data


def _load(run_dir) -> tuple[RunDir, dict, ValidatedSpec]:
    from tlspec.tf_runtime import keras

    keras()  # start TensorFlow quietly before a data plugin imports it
    run = RunDir.existing(run_dir)
    info = run.read_json(RUN)
    if not run.file(MODEL).exists():
        raise TlspecError(f"{run.path} has no {MODEL} (the run did not finish an epoch)")
    data = yaml.safe_load(run.file(SPEC).read_text(encoding="utf-8"))
    # Paths in the spec are relative to where the spec was, not to the run directory.
    validated = validate_data(data, Locations(), Path(info["spec_dir"]) / SPEC)
    return run, info, validated


def load_model(run: RunDir):
    from tlspec.tf_runtime import keras

    import tlspec.layers  # noqa: F401 - registers tlspec's serializable layers

    return keras().saving.load_model(run.file(MODEL), safe_mode=True)


def evaluate_run(run_dir, split: str) -> dict:
    from tlspec.assemble import assemble
    from tlspec.compiling import compile_model
    from tlspec.training import evaluate_splits

    run, info, validated = _load(run_dir)
    datasets = load_datasets(validated)
    if split not in datasets:
        raise TlspecError(f"the data has no '{split}' split; splits: {one_of(datasets)}")
    assembly = assemble(validated)
    assembly.model.set_weights(load_model(run).get_weights())
    compile_model(assembly)
    return evaluate_splits(assembly, datasets, [split])


def predict_run(run_dir, items: list[str]) -> list[dict]:
    run, info, validated = _load(run_dir)
    source = validated.data_source
    try:
        inputs = source.record.plugin.prediction_inputs(source.config, validated.data_context(), items)
    except PlanError as error:
        raise TlspecError(error.message) from None
    model = load_model(run)
    outputs = model.predict(inputs, verbose=0)
    results = []
    for index, item in enumerate(items):
        heads = {}
        for head, meta in info["heads"].items():
            values = np.asarray(outputs[head][index])
            classes = meta.get("classes")
            if classes and meta.get("activation") == "softmax":
                best = int(values.argmax())
                heads[head] = {"label": classes[best], "probability": float(values[best]),
                               "probabilities": {c: float(p) for c, p in zip(classes, values)}}
            elif classes:
                heads[head] = {"label": [c for c, p in zip(classes, values) if p >= 0.5],
                               "probability": float(values.max()),
                               "probabilities": {c: float(p) for c, p in zip(classes, values)}}
            else:
                heads[head] = {"values": [float(v) for v in values.reshape(-1)]}
        results.append({"input": item, "heads": heads})
    return results
