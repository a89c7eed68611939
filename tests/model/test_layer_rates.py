"""Learning rates per layer: updates against hand-computed ones, layer-wise decay, located mistakes."""

import numpy as np
import pytest

from helpers import cnn_spec, only_problem
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file

TINY = """
tlspec: 1
name: tiny
seed: 3
inputs:
  x: {{shape: [2]}}
backbone: {{plugin: mlp, from: inputs.x, units: [3], activation: linear}}
heads:
  - {{name: y, plugin: regression}}
data:
  plugin: inline
  inputs: {{x: [[1.0, 2.0], [0.5, -1.0], [-1.5, 0.25], [2.0, 1.0]]}}
  targets: {{y: [1.0, -2.0, 0.5, 3.0]}}
train:
  batch_size: 4
  optimizer: {{name: {optimizer}, learning_rate: 0.1}}
  layer_rates:
    groups: [{{layers: "backbone.*", multiplier: {multiplier}}}]
  phases: [{{name: one, epochs: 1}}]
"""


def one_step(write_spec, optimizer: str, multiplier: float):
    """The weights before and after one training step on the whole data, and the step's gradients."""
    import keras
    import tensorflow as tf

    import tlspec

    validated = validate_file(write_spec(TINY.format(optimizer=optimizer, multiplier=multiplier)))
    model = tlspec.build(validated).model
    before = [np.asarray(v) for v in model.trainable_variables]
    x = {"x": np.array([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.25], [2.0, 1.0]], np.float32)}
    y = np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError()(y, model(x, training=True)["y"])
    gradients = [np.asarray(g) for g in tape.gradient(loss, model.trainable_variables)]
    names = [v.path.split("/")[0] for v in model.trainable_variables]
    result = tlspec.train(validated, out="run", verbose=0)
    after = [np.asarray(v) for v in tlspec.load_model(result.run.path).trainable_variables]
    return names, before, gradients, after


def test_sgd_steps_are_scaled_exactly(write_spec, keras):
    names, before, gradients, after = one_step(write_spec, "sgd", 0.25)
    for name, start, gradient, end in zip(names, before, gradients, after):
        rate = 0.1 * (0.25 if name.startswith("backbone") else 1.0)
        np.testing.assert_allclose(end, start - rate * gradient, rtol=1e-5, atol=1e-7, err_msg=name)


def test_adam_steps_are_scaled_too(write_spec, keras):
    """Adam's first step is lr * g / (|g| + eps): scaling the gradient would change nothing; the rate does."""
    names, before, gradients, after = one_step(write_spec, "adam", 0.25)
    for name, start, gradient, end in zip(names, before, gradients, after):
        rate = 0.1 * (0.25 if name.startswith("backbone") else 1.0)
        np.testing.assert_allclose(end, start - rate * gradient / (np.abs(gradient) + 1e-7), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


def test_decay_counts_blocks_from_the_top_and_zero_freezes(write_spec, image_data, keras):
    from tlspec.model.assemble import assemble
    from tlspec.model.layer_rates import multipliers, phase_multipliers

    validated = validate_file(cnn_spec(write_spec), ["train.layer_rates={decay: 0.5}"])
    assembly = assemble(validated)
    by_block = multipliers(assembly, validated.spec.train.layer_rates)
    assert by_block == {"backbone_conv_1": 0.5, "backbone_bn_1": 0.5, "backbone_conv_2": 1.0, "backbone_bn_2": 1.0,
                        "animal": 1.0}
    per_layer = validated.spec.train.layer_rates.model_copy(update={"per": "layer"})
    assert [multipliers(assembly, per_layer)[name] for name in ("backbone_conv_1", "backbone_bn_1",
                                                                "backbone_conv_2", "backbone_bn_2")] == [
        0.125, 0.25, 0.5, 1.0]
    zero = validate_file(cnn_spec(write_spec), ["train.layer_rates={groups: [{layers: backbone_conv_., "
                                                "multiplier: 0}]}"])
    assembly = assemble(zero)
    phase_multipliers(assembly, zero.spec.train.layer_rates, ("train", "layer_rates"))
    assert not assembly.model.get_layer("backbone_conv_2").trainable


def test_a_pattern_that_matches_no_layer_is_located(write_spec, image_data, keras):
    import tlspec

    spec = cnn_spec(write_spec)
    with pytest.raises(SpecError) as caught:
        tlspec.plan(spec, ["train.layer_rates={groups: [{layers: backbone_conv_9, multiplier: 0.1}]}"])
    assert [str(problem) for problem in caught.value.problems] == [
        "<--set 1>:1:38: train.layer_rates.groups[0].layers: pattern 'backbone_conv_9' matches no layer with "
        "weights (did you mean 'backbone_conv_1' or 'backbone_conv_2'?)"]
    assert only_problem(spec, ["train.layer_rates={groups: [{layers: '(', multiplier: 1}]}"]).startswith(
        "<--set 1>:1:")


def test_a_pattern_is_checked_at_validate_when_every_layer_is_planned(write_spec):
    path = write_spec(TINY.format(optimizer="sgd", multiplier=0.5))
    validate_file(path)  # "backbone.*" matches the MLP's layers
    # the MLP backbone and the regression head both list their layers in their plans
    assert only_problem(path, ["train.layer_rates.groups.0.layers=backbone_dense_9"]) == (
        "<--set 1>:1:35: train.layer_rates.groups[0].layers: pattern 'backbone_dense_9' matches no layer with "
        "weights (did you mean 'backbone_dense_1'?)")
    assert only_problem(path, ["train.phases.one.layer_rates={groups: [{layers: head, multiplier: 2}]}"]).endswith(
        "train.phases[0].layer_rates.groups[0].layers: pattern 'head' matches no layer with weights")
    validate_file(path, ["train.layer_rates.groups.0.layers=y"])  # the head's own layer


def test_rates_hold_inside_the_soft_sharing_wrapper(tmp_path, keras):
    import tlspec
    from helpers import SPECS
    from tlspec.training.runner import train

    one_step = ["train.epochs=1", "train.batch_size=100000", "train.optimizer={name: sgd, learning_rate: 0.05}",
                "sharing.0.weight=0.1"]
    initial = {w.path: np.asarray(w) for w in tlspec.build(validate_file(SPECS / "soft_sharing.yaml", one_step))
               .model.weights}
    after = {}
    for multiplier in (1.0, 0.5):
        rates = f"train.layer_rates={{groups: [{{layers: 'tower_a.*', multiplier: {multiplier}}}]}}"
        result = train(validate_file(SPECS / "soft_sharing.yaml", one_step + [rates]), out=tmp_path / str(multiplier),
                       verbose=0)
        model = keras.saving.load_model(result.run.file("model.keras"), safe_mode=True)
        after[multiplier] = {w.path: np.asarray(w) for w in model.weights}
    assert any(path.startswith("tower_a") for path in initial) and any(path.startswith("tower_b") for path in initial)
    for path, start in initial.items():
        full, half = after[1.0][path] - start, after[0.5][path] - start
        assert np.abs(full).max() > 0, path  # one step moved it (the penalty reaches every tower weight)
        np.testing.assert_allclose(half, (0.5 if path.startswith("tower_a") else 1.0) * full, rtol=1e-4, atol=1e-7,
                                   err_msg=path)
