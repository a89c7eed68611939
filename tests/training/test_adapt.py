"""Importance weighting for covariate shift: weights, diagnostics, spec errors, and the benchmark."""

import numpy as np
import pytest
from covariate_shift import write_problem

from tlspec.errors import SpecError
from tlspec.runs.evaluate import evaluate_run
from tlspec.spec.validate import validate_file
from tlspec.training.adapt import _auc, support_warnings, weight_stats
from tlspec.training.runner import train

FAST = ["train.epochs=20", "train.batch_size=50", "train.optimizer.learning_rate=0.06"]


def target_mse(folder, seed, method, extra=()):
    spec = write_problem(folder / f"seed{seed}", seed)
    result = train(validate_file(spec, FAST + [f"adapt.method={method}", *extra]),
                   out=folder / f"seed{seed}" / method, verbose=0)
    return result, result.metrics["target_test"]["y"]["loss"]


@pytest.mark.slow  # the full suite runs it; the fast one stays near 5 minutes
def test_weighting_lowers_target_error(tmp_path, capsys):
    weighted, weighted_mse = target_mse(tmp_path, 0, "importance_weighting")
    unweighted, unweighted_mse = target_mse(tmp_path, 0, "none")
    assert weighted_mse < 0.6 * unweighted_mse, (weighted_mse, unweighted_mse)
    assert weighted_mse < 0.16  # the noise floor is 0.09
    stats = weighted.run.read_json("run.json")["adapt"]
    assert stats["train_examples"] == 300 and stats["target_examples"] == 300
    assert 0.1 * 300 < stats["effective_sample_size"] < 300
    assert 0.6 < stats["domain_accuracy"] < 0.95 and stats["domain_auc"] > 0.7
    assert stats["weight_max"] <= 20 * stats["scale"] + 1e-6  # clipped, then scaled to mean 1
    assert "effective sample size" in capsys.readouterr().out
    assert unweighted.run.read_json("run.json")["adapt"] == {"method": "none"}
    again = evaluate_run(weighted.run.path, "target_test")["target_test"]["y"]["loss"]
    assert again == pytest.approx(weighted_mse, rel=1e-5)  # `tlspec evaluate RUN --split target_test`
    # The price: on the training domain the unweighted fit is the better one.
    assert unweighted.metrics["validation"]["y"]["loss"] < weighted.metrics["validation"]["y"]["loss"]


@pytest.mark.slow
def test_weighting_lowers_target_error_for_every_seed(tmp_path):
    pairs = [(target_mse(tmp_path, seed, "importance_weighting")[1], target_mse(tmp_path, seed, "none")[1])
             for seed in range(1, 6)]
    weighted, unweighted = np.array(pairs).T
    assert (weighted < unweighted).all(), pairs
    assert weighted.mean() < 0.6 * unweighted.mean(), pairs


def test_weights_on_frozen_backbone_features_survive_feature_caching(tmp_path, capsys):
    spec = write_problem(tmp_path, 3, train=120, target=120, test=200)
    result = train(validate_file(spec, ["train.epochs=2", "freeze=all", "adapt.classifier.features=backbone"]),
                   out=tmp_path / "run", verbose=0)
    out = capsys.readouterr().out
    assert "training heads on cached features" in out
    assert result.run.read_json("run.json")["adapt"]["features"] == "backbone"
    assert "target_test" in result.metrics


def test_disjoint_domains_warn_that_support_is_violated(tmp_path, capsys):
    spec = write_problem(tmp_path, 4, train=150, target=150, test=50)
    far = np.load(tmp_path / "target_inputs.npz")
    np.savez(tmp_path / "target_inputs.npz", x=far["x"] + 6.0, y=far["y"])
    result = train(validate_file(spec, ["train.epochs=1"]), out=tmp_path / "run", verbose=0)
    warnings = result.run.read_json("run.json")["adapt"]["warnings"]
    assert any("separates the domains almost perfectly" in w for w in warnings), warnings
    # Every ratio clips at the floor, so the weights are uniform again: the floor warning says so.
    assert any("fall below the lower clip" in w for w in warnings), warnings
    assert "warning: the domain classifier separates" in capsys.readouterr().out


def test_effective_sample_size_and_auc():
    uniform = weight_stats(np.ones(50), np.ones(50), 0.1, 10)
    assert uniform["effective_sample_size"] == 50 and uniform["effective_fraction"] == 1
    one_heavy = weight_stats(np.r_[np.full(9, 0.01), 10.0], np.r_[np.full(9, 0.01), 30.0], 0.05, 10)
    assert one_heavy["effective_sample_size"] == pytest.approx(10.09 ** 2 / 100.0009, abs=0.05)
    assert one_heavy["clipped_high"] == 0.1 and one_heavy["clipped_low"] == 0.9
    assert _auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    assert _auc(np.array([1.0, 1.0]), np.array([0, 1])) == 0.5
    calm = {**uniform, "train_examples": 50, "domain_accuracy": 0.7}
    assert support_warnings(calm, 0.1) == []


ADAPT_SPEC = """
tlspec: 1
name: adapt-errors
seed: 0
inputs:
  x: {shape: [1]}
backbone: {plugin: mlp, from: inputs.x, units: [2]}
heads:
  - {name: y, plugin: regression}
data: {plugin: inline, inputs: {x: [[1], [2], [3], [4]]}, targets: {y: [[1], [2], [3], [4]]}, validation: train}
adapt:
  target: {plugin: inline, inputs: {%s: [[1], [2]]}, targets: {y: [[1], [2]]}%s}
%s
"""


@pytest.mark.parametrize("target_input, target_extra, more, field, expected", [
    ("z", "", "", "adapt.target", "the model has an input 'x' but the data yields 'z'"),
    ("x", "", "  split: test", "adapt.split", "the target data has no 'test' split; it has 'train'"),
    ("x", "", "  clip: [5, 1]", "adapt.clip", "0 <= low < high"),
    ("x", "", "distribute: mirrored", "adapt", "adapt cannot be combined with distribute"),
    ("x", "", "  method: weighting", "adapt.method", "got 'weighting' (did you mean 'importance_weighting'?)"),
])
def test_adapt_mistakes_are_located(write_spec, target_input, target_extra, more, field, expected):
    path = write_spec(ADAPT_SPEC % (target_input, target_extra, more))
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    text = str(caught.value)
    assert expected in text and f": {field}: " in text, text
    assert "spec.yaml:" in text


def test_token_ids_without_a_vocabulary_need_backbone_features(write_spec):
    path = write_spec("""
        tlspec: 1
        name: ids
        inputs:
          ids: {shape: [2], dtype: int32}
        backbone: {plugin: mlp, from: inputs.ids, units: [2]}  # e.g. ids as numeric codes
        heads:
          - {name: y, plugin: regression}
        data: {plugin: inline, inputs: {ids: [[1, 2], [2, 3]]}, targets: {y: [[1], [2]]}, validation: train}
        adapt:
          target: {plugin: inline, inputs: {ids: [[1, 1], [3, 2]]}, targets: {y: [[1], [2]]}}
        """)
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert ("spec.yaml:10:3: adapt.classifier.features: the integer input 'ids' has no vocabulary to count tokens "
            "over, so the domain classifier cannot read it; use features: backbone") in str(caught.value)


def test_target_classes_must_match_for_evaluation(write_spec):
    path = write_spec("""
        tlspec: 1
        name: classes
        inputs:
          x: {shape: [1]}
        backbone: {plugin: mlp, from: inputs.x, units: [2]}
        heads:
          - {name: c, plugin: classifier, classes: from_data}
        data: {plugin: inline, inputs: {x: [[1], [2]]}, targets: {c: [0, 1]}, classes: {c: [neg, pos]},
               validation: train}
        adapt:
          target: {plugin: inline, inputs: {x: [[1], [2]]}, targets: {c: [0, 1]}, classes: {c: [N, P]},
                   test: 0.5}
        """)
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert "labels head 'c' with classes ['N', 'P'] but the training data with ['neg', 'pos']" in str(caught.value)


def test_weights_attached_to_examples_are_the_reported_ones(tmp_path):
    from tlspec.model.assemble import assemble
    from tlspec.spec.validate import load_datasets
    from tlspec.training.adapt import WEIGHT_KEY, fit_weighting

    validated = validate_file(write_problem(tmp_path, 5, train=200, target=200, test=20))
    assembly = assemble(validated)
    datasets = load_datasets(validated)
    target = load_datasets(validated, section=validated.adapt_target)["train"]
    weighting = fit_weighting(assembly, validated.spec.adapt, datasets["train"], target, seed=5)
    batches = list(weighting.attach(datasets["train"]))  # one pass: the dataset reshuffles every pass
    attached = np.concatenate([np.asarray(labels[WEIGHT_KEY]) for _, labels in batches])
    xs = np.concatenate([np.asarray(inputs["x"])[:, 0] for inputs, _ in batches])
    assert attached.shape == (200,)
    assert attached.mean() == pytest.approx(1.0, abs=1e-4)  # normalised over the training split
    assert attached.sum() ** 2 / np.square(attached).sum() == pytest.approx(
        weighting.stats["effective_sample_size"], abs=0.1)
    assert attached.max() == pytest.approx(weighting.stats["weight_max"], rel=1e-4)
    # The target lies left of the training data: the left half of the inputs carries more weight.
    assert attached[xs < np.median(xs)].mean() > 2 * attached[xs >= np.median(xs)].mean()
