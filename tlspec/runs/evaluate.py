"""`tlspec evaluate`: a finished run's metrics on a split, as training computed them, plus per-tag reports."""

from __future__ import annotations

import numpy as np

from tlspec.errors import TlspecError, one_of
from tlspec.runs.load import open_run, trained_assembly
from tlspec.spec.validate import load_datasets


def evaluate_run(run_dir, split: str) -> dict:
    from tlspec.model.compile import compile_model
    from tlspec.model.evaluate import evaluate_splits, token_predictions

    run, info, validated = open_run(run_dir)
    datasets = load_datasets(validated)
    if validated.adapt_target is not None:  # the target domain's splits, as training reports them
        target = load_datasets(validated, section=validated.adapt_target)
        datasets.update({f"target_{name}": dataset for name, dataset in target.items()})
    if split not in datasets:
        raise TlspecError(f"the data has no '{split}' split; splits: {one_of(datasets)}")
    assembly = trained_assembly(run, validated)
    compile_model(assembly)
    metrics = evaluate_splits(assembly, datasets, [split])
    # Per-tag reports for taggers; a decoder's "tags" are its whole vocabulary, so it gets none.
    token_heads = [h for h, values in metrics[split].items()
                   if isinstance(values, dict) and "token_accuracy" in values and "exact_match" not in values]
    for head, (truth, predicted) in token_predictions(assembly.model, datasets[split], token_heads).items():
        metrics[split][head]["per_tag"] = per_tag_report(truth, predicted, info.heads[head].classes)
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
