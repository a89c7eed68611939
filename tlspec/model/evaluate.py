"""Metrics of a built model on datasets, per split and head: Keras' own, per-token accuracy, free decoding.

Training calls this after its last phase; ``tlspec evaluate`` calls it on a
finished run, so both report the same numbers.
"""

from __future__ import annotations

import contextlib
import math

from tlspec.model.assemble import Assembly
from tlspec.model.decoding import generates, generation_metrics, generators
from tlspec.model.targets import head_targets, prepare


def split_by_head(results: dict, heads: list[str]) -> dict:
    """Keras' flat metric names -> {head: {metric: value}}, plus the weighted total loss."""
    if len(heads) == 1:
        per_head = {heads[0]: {k: float(v) for k, v in results.items()}}
    else:
        per_head = {head: {} for head in heads}
        for key, value in results.items():
            for head in sorted(heads, key=len, reverse=True):
                if key.startswith(f"{head}_"):
                    per_head[head][key[len(head) + 1:]] = float(value)
                    break
    per_head["total_loss"] = float(results.get("loss", math.nan))
    return per_head


def evaluate_splits(assembly: Assembly, datasets: dict, splits: list[str], shard=lambda dataset: dataset,
                    timed=lambda split: contextlib.nullcontext(), substitutes: dict | None = None) -> dict:
    """Metrics per split and head; ``timed(split)`` is entered around each split's evaluation.
    ``substitutes``: split -> (model, dataset) that computes the same outputs more cheaply (the network
    above a frozen bottom, on that bottom's cached outputs); free decoding still reads ``datasets``."""
    substitutes = substitutes or {}
    targets = head_targets(assembly)
    names = [t.name for t in targets]
    per_token = [t.name for t in targets if len(assembly.built[t.name].output.shape) == 3 and t.integer_labels]
    generators_found = generators(assembly) if generates(assembly.validated.heads) else {}
    metrics = {}
    for split in splits:
        with timed(split):
            if split not in datasets:
                continue
            model, dataset = substitutes.get(split, (assembly.model, datasets[split]))
            results = model.evaluate(shard(prepare(dataset, targets, {})), return_dict=True, verbose=0)
            metrics[split] = split_by_head(results, names)
            if per_token:  # a second pass over the split, only for heads that tag tokens
                for head, values in token_metrics(model, dataset, per_token).items():
                    metrics[split][head].update(values)
            if split != "train" and generators_found:
                for head, values in generation_metrics(generators_found, datasets[split]).items():
                    metrics[split][head].update(values)
    return metrics


def token_predictions(model, dataset, heads: list[str]) -> dict[str, tuple]:
    """Per head: (true labels, predicted labels) over every position, padding included (label 0)."""
    import numpy as np

    truth = {head: [] for head in heads}
    predicted = {head: [] for head in heads}
    for inputs, labels in dataset:
        outputs = model(inputs, training=False)
        for head in heads:
            truth[head].append(np.asarray(labels[head]))
            predicted[head].append(np.asarray(outputs[head]).argmax(axis=-1))
    return {head: (np.concatenate(truth[head]), np.concatenate(predicted[head])) for head in heads}


def token_metrics(model, dataset, heads: list[str]) -> dict[str, dict]:
    """Token accuracy over real tokens (label > 0), and the same counting padding (the lecture's figure)."""
    result = {}
    for head, (truth, predicted) in token_predictions(model, dataset, heads).items():
        real = truth > 0
        result[head] = {"token_accuracy": float((truth[real] == predicted[real]).mean()),
                        "accuracy_with_padding": float((truth == predicted).mean()),
                        "tokens": int(real.sum())}
    return result
