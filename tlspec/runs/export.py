"""`tlspec export`: a run's model in a format another runtime runs, checked against ``model.keras``.

The export directory holds the model (its preprocessing layers inside), ``metadata.json`` (inputs with
shapes, dtypes and what the data plugin does before them; heads with class names and what their
outputs mean; versions; how it was checked), the spec, and each token input's vocabulary. Before it
is kept, the export is run in its own runtime on real examples of the run's data and compared with
``model.keras``; beyond the format's tolerance nothing is written.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tlspec import __version__
from tlspec.errors import PlanError, SpecError, TlspecError, one_of
from tlspec.runs.export_formats import FORMATS, ExportFormat
from tlspec.runs.load import load_model, open_run
from tlspec.spec.problems import plugin_crash
from tlspec.spec.validate import ValidatedSpec, load_datasets
from tlspec.training.records import HeadRecord, RunInfo
from tlspec.training.rundir import DATA_STATE, SPEC, RunDir

METADATA = "metadata.json"
EXAMPLES_CHECKED = 32
SPLITS_TRIED = ("test", "validation", "train")


def export_run(run_dir, form: str, out: str | Path | None = None, examples: Sequence[str] = ()) -> dict:
    """Write the run's model as ``form`` under ``out`` (default ``RUN/export/FORM``) and return its metadata."""
    if form not in FORMATS:
        raise TlspecError(f"unknown export format '{form}'; formats: {one_of(FORMATS)}")
    export_format = FORMATS[form]
    export_format.check_installed()
    run, info, validated = open_run(run_dir, recorded_data=True)
    target = Path(out) if out is not None else run.file("export") / form
    _check_target(target)
    model = load_model(run, validated.registry)
    inputs, checked_on = check_inputs(run, validated, list(examples))
    signature = {name: ((None, *shape), dtype) for name, (shape, dtype) in _input_fields(info, validated).items()}
    partial = target.with_name(f".partial-{target.name}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        started = time.perf_counter()
        export_format.write(model, partial / export_format.artifact, signature)
        seconds = time.perf_counter() - started
        differences, shapes = compare(model, export_format, partial / export_format.artifact, inputs)
        metadata = describe_export(info, validated, export_format, signature, shapes, seconds)
        metadata["check"] = {"examples": checked_on, "max_abs_diff": differences,
                             "tolerance": export_format.tolerance}
        _write_extras(run, validated, partial, metadata)
        _replace(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    metadata["path"] = str(target)
    return metadata


def check_inputs(run: RunDir, validated: ValidatedSpec, examples: list[str]) -> tuple[dict, str]:
    """Up to ``EXAMPLES_CHECKED`` real inputs: from the items given, else the run's test split (or
    validation, or train); and what they are."""
    source = validated.data_source
    if examples:
        context = validated.data_context()
        context.state = run.read_json(DATA_STATE) if run.file(DATA_STATE).exists() else None
        try:
            return source.plugin.prediction_inputs(source.config, context, examples), f"{len(examples)} given items"
        except PlanError as error:
            raise TlspecError(f"--examples: {error.message}") from None
        except TlspecError:
            raise
        except Exception as error:  # a plugin bug: named, never a traceback
            raise TlspecError(plugin_crash(source, "prediction_inputs", error)) from None
    try:
        datasets = load_datasets(validated)
    except (SpecError, TlspecError) as error:
        first = str(error).strip().splitlines()[0]
        raise TlspecError(f"export checks the exported model against {run.path}/model.keras on the run's data, "
                          f"which cannot be read here ({first}); give items to check on with --examples ITEM…"
                          ) from None
    split = next(name for name in (*SPLITS_TRIED, *datasets) if name in datasets)
    batches, count = [], 0
    for batch_inputs, _ in datasets[split]:
        batches.append({name: np.asarray(value) for name, value in batch_inputs.items()})
        count += len(next(iter(batches[-1].values())))
        if count >= EXAMPLES_CHECKED:
            break
    inputs = {name: np.concatenate([batch[name] for batch in batches])[:EXAMPLES_CHECKED] for name in batches[0]}
    return inputs, f"the first {min(count, EXAMPLES_CHECKED)} examples of the {split} split"


def compare(model, export_format: ExportFormat, artifact: Path, inputs: dict) -> tuple[dict, dict]:
    """Per head, the largest absolute difference between the export and ``model.keras`` (beyond the
    format's tolerance, an error, and nothing is kept), and the shape of its output (no batch axis)."""
    expected = {name: np.asarray(value) for name, value in model(inputs, training=False).items()}  # eager: no retracing
    try:
        found = export_format.runner(artifact)(inputs)
    except Exception as error:  # the runtime refuses what its converter wrote
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise TlspecError(f"the {export_format.name} export does not run in its own runtime: {first}") from None
    differences = {}
    for head, values in expected.items():
        if head not in found:
            raise TlspecError(f"the {export_format.name} export has no output '{head}'; it has {one_of(found)}")
        differences[head] = float(np.max(np.abs(np.asarray(found[head], np.float64) - np.asarray(values, np.float64))))
    worst = max(differences, key=differences.get)
    if differences[worst] > export_format.tolerance:
        raise TlspecError(f"the {export_format.name} export differs from model.keras by up to "
                          f"{differences[worst]:.3g} on head '{worst}' (tolerance {export_format.tolerance:g}); "
                          "nothing was written")
    return differences, {head: list(np.shape(values)[1:]) for head, values in expected.items()}


def describe_export(info: RunInfo, validated: ValidatedSpec, export_format: ExportFormat, signature: dict,
                    output_shapes: dict[str, list], seconds: float) -> dict:
    preprocessing = input_preprocessing(validated)
    vocabularies = validated.description.vocabularies if validated.description else {}
    inputs = {name: {"shape": list(shape), "dtype": dtype, "preprocessing": preprocessing.get(name),
                     "vocabulary": f"vocabulary-{name}.txt" if name in vocabularies else None}
              for name, (shape, dtype) in signature.items()}
    return {
        "format": export_format.name,
        "artifact": export_format.artifact,
        "load_with": export_format.runtime.replace("PATH", export_format.artifact),
        "run": info.spec_name,
        "tlspec_version": __version__,
        "plugins": dict(info.plugins),
        "inputs": inputs,
        "heads": {name: head_meaning(record, output_shapes.get(name, [])) for name, record in info.heads.items()},
        "export_seconds": round(seconds, 2),
        "spec": SPEC,
    }


def input_preprocessing(validated: ValidatedSpec) -> dict[str, str]:
    """What the data plugin does before each model input, in its words; a plugin bug costs only the words."""
    source = validated.data_source
    if source is None:
        return {}
    try:
        described = source.plugin.input_preprocessing(source.config)
    except Exception as error:
        print(f"note: {plugin_crash(source, 'input_preprocessing', error)}", file=sys.stderr)
        return {}
    return {str(name): str(text) for name, text in described.items()} if isinstance(described, dict) else {}


def head_meaning(record: HeadRecord, shape: list) -> dict:
    """What a head's output holds, in words, from what the head declared (``HeadOutput``)."""
    classes = record.classes or []
    if record.targets == "values":
        meaning = "the predicted values"
    elif not shape or shape[-1] != len(classes):
        meaning = f"as the '{record.plugin}' head plugin encodes its classes ({len(classes)} classes, "\
                  f"{shape[-1] if shape else '?'} outputs)"
    elif record.targets == "multi_hot":
        meaning = "an independent probability for each class of 'classes' (on at 0.5 or more)"
    else:
        meaning = "the probability of each class, in the order of 'classes'"
    if len(shape) == 2 and meaning.startswith("the probability"):
        meaning = "for each token: " + meaning + " (class 0 is padding)"
    return {"plugin": record.plugin, "shape": [None, *shape], "classes": record.classes, "output": meaning}


def _input_fields(info: RunInfo, validated: ValidatedSpec) -> dict[str, tuple[tuple, str]]:
    """Each model input's shape (no batch axis) and dtype, as the data gave them."""
    fields = validated.description.inputs if validated.description else {}
    result = {}
    for name, shape in info.inputs.items():
        dtype = fields[name].dtype if name in fields else "float32"
        result[name] = (tuple(shape), dtype)
    return result


def _write_extras(run: RunDir, validated: ValidatedSpec, folder: Path, metadata: dict) -> None:
    import json

    shutil.copyfile(run.file(SPEC), folder / SPEC)
    if run.file(DATA_STATE).exists():  # what the data plugin keeps to prepare inputs (vocabularies, statistics)
        shutil.copyfile(run.file(DATA_STATE), folder / DATA_STATE)
        metadata["data_state"] = DATA_STATE
    vocabularies = validated.description.vocabularies if validated.description else {}
    for name, tokens in vocabularies.items():
        (folder / f"vocabulary-{name}.txt").write_text("".join(f"{token}\n" for token in tokens), encoding="utf-8")
    (folder / METADATA).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_target(target: Path) -> None:
    if target.exists() and not (target.is_dir() and (target / METADATA).is_file()):
        what = "a file" if target.is_file() else "a folder that holds no tlspec export"
        raise TlspecError(f"-o {target}: is {what}; choose a new folder (an earlier export there is replaced)")


def _replace(partial: Path, target: Path) -> None:
    """The new export takes the place of an earlier one in one rename; the old one is then removed."""
    old = target.with_name(f".old-{target.name}")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(partial, target)
    shutil.rmtree(old, ignore_errors=True)
