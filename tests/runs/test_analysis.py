"""The evaluation reports' arithmetic, against figures worked out by hand."""

import numpy as np
import pytest

from tlspec.runs.analysis import calibration, classifier_report, multi_label_report, regression_report


def test_classifier_report_by_hand():
    # Truth: a a a b b c; predicted: a a b b c c (confidences below).
    labels = np.array([0, 0, 0, 1, 1, 2])
    probabilities = np.array([[0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1],
                              [0.1, 0.8, 0.1], [0.1, 0.35, 0.55], [0.05, 0.05, 0.9]])
    report = classifier_report(labels, probabilities, ["a", "b", "c"])
    assert report["confusion_matrix"]["matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert report["accuracy"] == pytest.approx(4 / 6)
    a, b, c = (report["per_class"][name] for name in "abc")
    assert (a["precision"], a["recall"], a["support"]) == (1.0, pytest.approx(2 / 3), 3)
    assert (b["precision"], b["recall"], b["f1"]) == (0.5, 0.5, 0.5)
    assert (c["precision"], c["recall"], c["f1"]) == (0.5, 1.0, pytest.approx(2 / 3))
    assert report["macro_avg"]["f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert report["weighted_avg"]["recall"] == pytest.approx((3 * 2 / 3 + 2 * 0.5 + 1 * 1.0) / 6)
    # Example 3 (truth a, predicted b) has a second-best of a; example 5 (truth b) second-best b.
    assert report["top_k_accuracy"] == {"1": pytest.approx(4 / 6), "2": 1.0}
    # Confidences 0.9 0.6 0.7 0.8 0.55 0.9, correct T T F T F T: bins (0.5,0.6] (0.6,0.7] (0.7,0.8] (0.8,0.9].
    ece = (2 * abs(0.5 - 0.575) + 1 * abs(0 - 0.7) + 1 * abs(1 - 0.8) + 2 * abs(1 - 0.9)) / 6
    assert report["calibration"]["ece"] == pytest.approx(ece)
    assert [row["count"] for row in report["calibration"]["bins"]] == [0, 0, 0, 0, 0, 2, 1, 1, 2, 0]


def test_calibration_of_a_perfectly_calibrated_model_is_zero():
    confidence = np.array([0.75] * 4 + [1.0] * 3)
    correct = np.array([True, True, True, False, True, True, True])
    result = calibration(confidence, correct)
    assert result["ece"] == pytest.approx(0.0)
    assert result["bins"][7]["accuracy"] == 0.75 and result["bins"][9]["count"] == 3


def test_multi_label_report_by_hand():
    truth = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    probabilities = np.array([[0.9, 0.2], [0.4, 0.8], [0.1, 0.6], [0.7, 0.1]])
    report = multi_label_report(truth, probabilities, ["sun", "rain"])
    assert report["label_counts"]["sun"] == {"true_positive": 1, "false_positive": 1, "false_negative": 1,
                                             "true_negative": 1}
    assert report["per_class"]["rain"]["recall"] == 1.0 and report["per_class"]["rain"]["precision"] == 1.0
    assert report["exact_match"] == 0.5 and report["label_accuracy"] == 0.75


def test_regression_report_by_hand():
    truth = np.array([[1.0], [2.0], [3.0], [4.0]])
    predicted = np.array([[1.5], [2.0], [2.0], [5.0]])
    report = regression_report(truth, predicted)
    assert report["mae"] == pytest.approx(2.5 / 4)
    assert report["rmse"] == pytest.approx(np.sqrt(2.25 / 4))
    assert report["r2"] == pytest.approx(1 - 2.25 / 5.0)
    assert report["residual_quantiles"]["0.5"] == pytest.approx(0.25)
    assert regression_report(np.ones((3, 1)), np.ones((3, 1)))["r2"] is None  # no spread: R² undefined


def test_each_head_gets_the_report_its_output_calls_for():
    from tlspec.runs.evaluate import head_report
    from tlspec.training.records import HeadRecord

    values = np.array([[0.5], [2.0], [3.0]])
    assert head_report(HeadRecord("regression", "mse"), values, values + 1)["report"]["mae"] == pytest.approx(1.0)
    yes_no = head_report(HeadRecord("classifier", "binary_crossentropy", ["spam"], "multi_hot"),
                         np.array([[1], [0], [1]]), np.array([[0.9], [0.2], [0.3]]))["report"]
    assert yes_no["confusion_matrix"] == {"classes": ["not spam", "spam"], "rows": "true class",
                                          "columns": "predicted class", "matrix": [[1, 0], [1, 1]]}
    ordinal = HeadRecord("coral", "coral_loss", ["low", "mid", "high"], "labels")  # 2 thresholds, 3 classes
    assert head_report(ordinal, np.array([0, 2]), np.array([[0.1, 0.0], [0.9, 0.8]])) is None
    tagger = HeadRecord("token_classifier", "sparse_categorical_crossentropy", ["<pad>", "N", "V"], "labels")
    tags = np.array([[[0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.9, 0.05, 0.05]]])
    assert head_report(tagger, np.array([[1, 1, 0]]), tags)["per_tag"] == {
        "N": {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2},
        "V": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}}
