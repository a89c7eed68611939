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
from tlspec.decoding import generates
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
    from tlspec.training import evaluate_splits, token_predictions

    run, info, validated = _load(run_dir)
    datasets = load_datasets(validated)
    if validated.adapt_target is not None:  # the target domain's splits, as training reports them
        target = load_datasets(validated, section=validated.adapt_target)
        datasets.update({f"target_{name}": dataset for name, dataset in target.items()})
    if split not in datasets:
        raise TlspecError(f"the data has no '{split}' split; splits: {one_of(datasets)}")
    assembly = assemble(validated)
    assembly.model.set_weights(load_model(run).get_weights())
    compile_model(assembly)
    metrics = evaluate_splits(assembly, datasets, [split])
    # Per-tag reports for taggers; a decoder's "tags" are its whole vocabulary, so it gets none.
    token_heads = [h for h, values in metrics[split].items()
                   if isinstance(values, dict) and "token_accuracy" in values and "exact_match" not in values]
    for head, (truth, predicted) in token_predictions(assembly.model, datasets[split], token_heads).items():
        metrics[split][head]["per_tag"] = per_tag_report(truth, predicted, info["heads"][head]["classes"])
    return metrics


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


def predict_run(run_dir, items: list[str], beam_width: int = 1) -> list[dict]:
    run, info, validated = _load(run_dir)
    source = validated.data_source
    try:
        inputs = source.record.plugin.prediction_inputs(source.config, validated.data_context(), items)
    except PlanError as error:
        raise TlspecError(error.message) from None
    if generates(validated.heads):
        return _predict_by_decoding(run, info, validated, items, inputs, beam_width)
    outputs = load_model(run).predict(inputs, verbose=0)
    return _describe_outputs(info, validated, items, inputs, outputs)


def _describe_outputs(info: dict, validated: ValidatedSpec, items: list[str], inputs: dict, outputs: dict):
    """Per item and head: tags per token, a label with probabilities, or plain values."""
    source = validated.data_source
    tokens = source.record.plugin.item_tokens(source.config, items)
    word_ids = inputs.get(getattr(source.config, "input", None))
    results = []
    for index, item in enumerate(items):
        heads = {}
        for head in outputs:
            meta = info["heads"][head]
            values = np.asarray(outputs[head][index])
            classes = meta.get("classes")
            if values.ndim == 2 and classes and tokens is not None and word_ids is not None:
                positions = np.flatnonzero(np.asarray(word_ids[index]) != 0)  # real tokens, in order
                labels = values[positions].argmax(axis=-1)
                heads[head] = {"tokens": tokens[index],
                               "tags": [classes[label] for label in labels],
                               "probabilities": [float(values[p].max()) for p in positions]}
            elif classes and meta.get("activation") == "softmax":
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


def _predict_by_decoding(run: RunDir, info: dict, validated: ValidatedSpec, items: list[str], inputs: dict,
                         beam_width: int) -> list[dict]:
    """Decoders generate from the encoder inputs alone; the graph is rebuilt and given the trained weights.

    Other heads (e.g. a classifier on the encoder) are computed from the same inputs.
    """
    import keras

    from tlspec.assemble import assemble
    from tlspec.decoding import generate, generators

    assembly = assemble(validated)
    assembly.model.set_weights(load_model(run).get_weights())
    found = generators(assembly)
    results = [{"input": item, "heads": {}} for item in items]
    others = [head.name for head in assembly.graph.heads() if head.name not in found]
    if others:
        given = {name: assembly.inputs[name] for name in inputs}
        try:
            model = keras.Model(given, {name: assembly.built[name].output for name in others})
        except ValueError:
            raise TlspecError(f"head(s) {', '.join(others)} read the decoders' inputs, so `tlspec predict` cannot "
                              "compute them from the source alone") from None
        described = _describe_outputs(info, validated, items, inputs, model.predict(inputs, verbose=0))
        for result, item in zip(results, described):
            result["heads"].update(item["heads"])
    source = validated.data_source
    for name, generator in found.items():
        for result, generated in zip(results, generate(generator, inputs, beam_width)):
            text = source.record.plugin.join_tokens(source.config, name, generated["tokens"])
            result["heads"][name] = {"text": text, **generated}
    return results
