"""`tlspec evaluate`: a finished run's metrics on a split of its data or on new data, with each head's report.

Loss and Keras' metrics are computed as training computed them; on top, each head gets the report its
output calls for (``analysis``): classifiers their confusion matrix, per-class table and calibration,
regression heads their errors, taggers their per-tag table. The result is saved in the run directory
as ``evaluation/<name>.json``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tlspec.errors import PlanError, TlspecError, one_of
from tlspec.runs import analysis
from tlspec.runs.load import open_run, trained_assembly
from tlspec.spec.problems import plugin_crash
from tlspec.spec.validate import ValidatedSpec, load_datasets
from tlspec.training.records import HeadRecord
from tlspec.training.rundir import DATA_STATE, RunDir

EVALUATION = "evaluation"
MISTAKES_KEPT = 20


def evaluate_run(run_dir, split: str = "test", data: Sequence[str] = (), overrides: Sequence[str] = ()) -> dict:
    """``{name: {head: metrics and report, "total_loss": loss}}`` for one split, or for the new data at
    ``data`` (named ``data-<first path>``), saved as ``evaluation/<name>.json``."""
    from tlspec.model.compile import compile_model
    from tlspec.model.decoding import generates, generators
    from tlspec.model.evaluate import evaluate_splits

    run, info, validated = open_run(run_dir, recorded_data=bool(data), overrides=overrides)
    if data:
        name, dataset = evaluation_name(data), new_data(run, validated, data)
    else:
        name, dataset = split, run_split(validated, split)
    assembly = trained_assembly(run, validated)
    compile_model(assembly)
    metrics = evaluate_splits(assembly, {name: dataset}, [name])
    decoders = set(generators(assembly)) if generates(validated.heads) else set()
    reported = [head for head in info.heads if head not in decoders]
    for head, (truth, outputs) in collect(assembly.model, dataset, reported).items():
        report = head_report(info.heads[head], truth, outputs)
        if report is not None:
            metrics[name][head].update(report)
    name_examples(validated, metrics[name], split, data)
    save(run, name, list(data) or None, metrics[name])
    return metrics


def name_examples(validated: ValidatedSpec, metrics: dict, split: str, data: Sequence[str]) -> None:
    """Give each listed mistake its item (file, text) where the data plugin can say what its examples are."""
    reports = [values["report"] for values in metrics.values()
               if isinstance(values, dict) and "most_confident_mistakes" in values.get("report", {})]
    if not reports or (split.startswith("target_") and not data):
        return
    source = validated.data_source
    try:
        items = source.plugin.example_items(source.config, validated.data_context(), split, list(data))
    except Exception as error:  # a plugin bug costs the names, never the evaluation
        print(f"note: {plugin_crash(source, 'example_items', error)}; mistakes are listed by number",
              file=sys.stderr)
        return
    for report in reports:
        if items is not None and len(items) == report["examples"]:
            for mistake in report["most_confident_mistakes"]:
                mistake["input"] = items[mistake["example"]]


def run_split(validated: ValidatedSpec, split: str):
    datasets = load_datasets(validated)
    if validated.adapt_target is not None:  # the target domain's splits, as training reports them
        target = load_datasets(validated, section=validated.adapt_target)
        datasets.update({f"target_{name}": dataset for name, dataset in target.items()})
    if split not in datasets:
        raise TlspecError(f"the data has no '{split}' split; splits: {one_of(datasets)}")
    return datasets[split]


def new_data(run: RunDir, validated: ValidatedSpec, paths: Sequence[str]):
    """The run's data plugin reads ``paths`` with the run's preprocessing and class order."""
    source = validated.data_source
    context = validated.data_context()
    context.state = run.read_json(DATA_STATE) if run.file(DATA_STATE).exists() else None
    try:
        dataset = source.plugin.evaluation_dataset(source.config, context, list(paths), validated.description.targets)
    except PlanError as error:
        raise TlspecError(f"--data: {error.message}") from None
    except TlspecError:
        raise
    except Exception as error:  # a plugin bug: named, never a traceback
        raise TlspecError(plugin_crash(source, "evaluation_dataset", error)) from None
    for note in context.notes:
        print(f"note: {note}", file=sys.stderr)
    return dataset


def evaluation_name(paths: Sequence[str]) -> str:
    """``data-<name of the first path>``, in characters any file system takes."""
    stem = Path(paths[0]).resolve().name or "data"
    return "data-" + re.sub(r"[^A-Za-z0-9._-]+", "_", Path(stem).stem or stem)[:80]


def collect(model, dataset, heads: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per head: (targets as the data gives them, the model's outputs), over the whole dataset, in order."""
    truth = {head: [] for head in heads}
    outputs = {head: [] for head in heads}
    for inputs, targets in dataset:
        predicted = model(inputs, training=False)
        for head in heads:
            truth[head].append(np.asarray(targets[head]))
            outputs[head].append(np.asarray(predicted[head]))
    return {head: (np.concatenate(truth[head]), np.concatenate(outputs[head])) for head in heads if truth[head]}


def head_report(record: HeadRecord, truth: np.ndarray, outputs: np.ndarray) -> dict | None:
    """The report a head's output calls for, or None for outputs tlspec cannot read (a plugin head's own
    encoding, e.g. ordinal thresholds)."""
    classes = list(record.classes or [])
    if outputs.ndim == 3 and record.targets == "labels" and len(classes) == outputs.shape[-1]:
        return {"per_tag": per_tag_report(truth, outputs.argmax(axis=-1), classes)}
    if outputs.ndim != 2:
        return None
    units = outputs.shape[-1]
    if record.targets in ("labels", "one_hot") and len(classes) == units:
        report = analysis.classifier_report(truth, outputs, classes)
        report["most_confident_mistakes"] = confident_mistakes(truth, outputs, classes)
        return {"report": report}
    if record.targets == "multi_hot" and units == 1:  # one yes/no label: a two-class classifier
        names = classes if len(classes) == 2 else [f"not {classes[0]}" if classes else "0", classes[0] if classes
                                                   else "1"]
        both = np.concatenate([1 - outputs, outputs], axis=-1)
        report = analysis.classifier_report(np.asarray(truth).reshape(-1) > 0.5, both, names)
        return {"report": report}
    if record.targets == "multi_hot" and len(classes) == units:
        return {"report": analysis.multi_label_report(truth, outputs, classes)}
    if record.targets == "values":
        return {"report": analysis.regression_report(truth, outputs)}
    return None


def confident_mistakes(truth: np.ndarray, outputs: np.ndarray, classes: list[str]) -> list[dict]:
    """The wrong predictions the model was surest of: example number (0-based, in the data's order)."""
    labels = np.asarray(truth).reshape(-1).astype(np.int64)
    predicted = outputs.argmax(axis=-1)
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-outputs[wrong, predicted[wrong]], kind="stable")][:MISTAKES_KEPT]
    return [{"example": int(i), "true": classes[labels[i]], "predicted": classes[predicted[i]],
             "confidence": float(outputs[i, predicted[i]])} for i in order]


def per_tag_report(truth: np.ndarray, predicted: np.ndarray, tags: list[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support of every tag, over real tokens (label 0 is padding)."""
    real = truth > 0
    truth, predicted = truth[real], predicted[real]
    report = {}
    for label, tag in enumerate(tags):
        if label == 0:
            continue
        support = int((truth == label).sum())
        chosen = int((predicted == label).sum())
        hits = int(((truth == label) & (predicted == label)).sum())
        if not support and not chosen:
            continue
        precision = hits / chosen if chosen else 0.0
        recall = hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        report[tag] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                       "support": support}
    return report


def save(run: RunDir, name: str, paths: list[str] | None, metrics: dict) -> Path | None:
    """``evaluation/<name>.json``; a run directory that cannot be written keeps the results on screen only."""
    source = {"paths": [str(Path(p).resolve()) for p in paths]} if paths else {"split": name}
    heads = {head: values for head, values in metrics.items() if head != "total_loss"}
    target = run.file(f"{EVALUATION}/{name}.json")
    try:
        run.file(EVALUATION).mkdir(exist_ok=True)
        run.write_json(f"{EVALUATION}/{name}.json", {"name": name, "data": source,
                                                     "total_loss": metrics["total_loss"], "heads": heads})
    except OSError as error:
        print(f"note: cannot save {target} ({error.strerror}); the results are not kept", file=sys.stderr)
        return None
    return target
