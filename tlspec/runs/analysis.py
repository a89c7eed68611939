"""What a head's predictions on a split say beyond loss and accuracy, from arrays alone (no TensorFlow).

Classifiers: the confusion matrix, per-class precision, recall, F1 and support, macro and weighted
averages, top-k accuracy, and calibration (expected calibration error over equal-width confidence
bins, with the bins themselves for a reliability diagram). Multi-label heads: the same per label, at
the 0.5 threshold. Regression: MAE, RMSE, R² and residual quantiles.
"""

from __future__ import annotations

import numpy as np

CALIBRATION_BINS = 10
RESIDUAL_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOP_K = (1, 2, 3, 5)


def classifier_report(labels: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> dict:
    """One class per example: ``labels`` (n,) whole numbers, ``probabilities`` (n, classes)."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=-1)
    count = len(classes)
    confusion = np.zeros((count, count), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = {name: _precision_recall(int(confusion[i, i]), int(confusion[:, i].sum()), int(confusion[i].sum()))
                 for i, name in enumerate(classes)}
    confidence = probabilities.max(axis=-1)
    return {
        "kind": "classifier",
        "examples": int(len(labels)),
        "accuracy": _ratio(int(np.trace(confusion)), len(labels)),
        "top_k_accuracy": {str(k): top_k_accuracy(labels, probabilities, k) for k in TOP_K if k < count or k == 1},
        "per_class": per_class,
        "macro_avg": _average(per_class, weighted=False),
        "weighted_avg": _average(per_class, weighted=True),
        "confusion_matrix": {"classes": list(classes), "rows": "true class", "columns": "predicted class",
                             "matrix": confusion.tolist()},
        "calibration": calibration(confidence, predicted == labels),
    }


def multi_label_report(truth: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> dict:
    """Independent 0/1 labels, ``truth`` and ``probabilities`` both (n, classes); a label is predicted at ≥ 0.5."""
    truth = np.asarray(truth).reshape(len(truth), -1) > 0.5
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(len(truth), -1)
    chosen = probabilities >= 0.5
    per_class = {}
    for index, name in enumerate(classes):
        hits = int((truth[:, index] & chosen[:, index]).sum())
        per_class[name] = _precision_recall(hits, int(chosen[:, index].sum()), int(truth[:, index].sum()))
    return {
        "kind": "multi_label",
        "examples": int(len(truth)),
        "exact_match": _ratio(int((truth == chosen).all(axis=-1).sum()), len(truth)),
        "label_accuracy": _ratio(int((truth == chosen).sum()), truth.size),
        "per_class": per_class,
        "macro_avg": _average(per_class, weighted=False),
        "weighted_avg": _average(per_class, weighted=True),
        "label_counts": {name: {"true_positive": int((truth[:, i] & chosen[:, i]).sum()),
                                "false_positive": int((~truth[:, i] & chosen[:, i]).sum()),
                                "false_negative": int((truth[:, i] & ~chosen[:, i]).sum()),
                                "true_negative": int((~truth[:, i] & ~chosen[:, i]).sum())}
                         for i, name in enumerate(classes)},
        # Every label's probability against whether it is on: the reliability of the probabilities themselves.
        "calibration": calibration(probabilities.reshape(-1), truth.reshape(-1), positive_rate=True),
    }


def regression_report(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """MAE, RMSE, R² and residual (predicted − true) quantiles over every value; per output too if several."""
    truth = np.asarray(truth, dtype=np.float64).reshape(len(truth), -1)
    predicted = np.asarray(predicted, dtype=np.float64).reshape(len(truth), -1)
    report = {"kind": "regression", "examples": int(len(truth)), **_errors(truth.reshape(-1), predicted.reshape(-1))}
    if truth.shape[1] > 1:
        report["per_output"] = [_errors(truth[:, i], predicted[:, i]) for i in range(truth.shape[1])]
    return report


def top_k_accuracy(labels: np.ndarray, probabilities: np.ndarray, k: int) -> float | None:
    """The fraction of examples whose class is among the k most probable (ties broken by class order)."""
    if not len(labels):
        return None
    best = np.argsort(-probabilities, axis=-1, kind="stable")[:, :k]
    return float((best == labels[:, None]).any(axis=-1).mean())


def calibration(confidence: np.ndarray, correct: np.ndarray, bins: int = CALIBRATION_BINS,
                positive_rate: bool = False) -> dict:
    """Expected calibration error: the gap between confidence and accuracy, averaged over equal-width
    confidence bins weighted by how many examples fall in each; the bins are the reliability diagram."""
    confidence = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    correct = np.asarray(correct, dtype=bool)
    # Bin i holds confidences in (i/bins, (i+1)/bins]; 0 joins the first bin. The tolerance keeps a
    # float32 edge (0.3 is 0.30000001) in the bin it names.
    which = np.clip(np.ceil(confidence * bins - 1e-6).astype(np.int64) - 1, 0, bins - 1)
    rows, gap = [], 0.0
    for index in range(bins):
        inside = which == index
        count = int(inside.sum())
        row = {"lower": index / bins, "upper": (index + 1) / bins, "count": count, "confidence": None,
               "accuracy": None}
        if count:
            row["confidence"] = float(confidence[inside].mean())
            row["accuracy"] = float(correct[inside].mean())
            gap += count * abs(row["accuracy"] - row["confidence"])
        rows.append(row)
    measured = "fraction positive" if positive_rate else "accuracy"
    return {"ece": float(gap / len(confidence)) if len(confidence) else None, "bins": rows,
            "confidence": "predicted probability" if positive_rate else "top-class probability",
            "accuracy": measured}


def _errors(truth: np.ndarray, predicted: np.ndarray) -> dict:
    residual = predicted - truth
    spread = float(((truth - truth.mean()) ** 2).sum()) if len(truth) else 0.0
    return {
        "mae": float(np.abs(residual).mean()) if len(truth) else None,
        "rmse": float(np.sqrt((residual ** 2).mean())) if len(truth) else None,
        # R² is undefined when every true value is the same.
        "r2": 1.0 - float((residual ** 2).sum()) / spread if spread > 0 else None,
        "residual_quantiles": {f"{q:g}": float(np.quantile(residual, q)) for q in RESIDUAL_QUANTILES}
        if len(truth) else {},
    }


def _precision_recall(hits: int, chosen: int, support: int) -> dict:
    precision = hits / chosen if chosen else 0.0
    recall = hits / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": support, "predicted": chosen}


def _average(per_class: dict[str, dict], weighted: bool) -> dict:
    """Macro: every class with examples or predictions counts once; weighted: by support."""
    rows = [row for row in per_class.values() if row["support"] or row["predicted"]]
    weights = np.array([row["support"] if weighted else 1 for row in rows], dtype=np.float64)
    if not rows or not weights.sum():
        return {"precision": None, "recall": None, "f1": None, "support": 0}
    average = {key: float(np.dot(weights, [row[key] for row in rows]) / weights.sum())
               for key in ("precision", "recall", "f1")}
    return {**average, "support": int(sum(row["support"] for row in rows))}


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
