"""A saved .keras model as a backbone, cut at a named layer; safe mode only."""

import numpy as np
import pytest

from helpers import build
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file


@pytest.fixture
def saved_model(tmp_path, keras):
    inputs = keras.Input((6,), name="measurements")
    x = keras.layers.Dense(8, activation="relu", name="encoder_1")(inputs)
    x = keras.layers.Dense(4, activation="relu", name="encoder_2")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="old_task")(x)
    model = keras.Model(inputs, outputs)
    path = tmp_path / "source.keras"
    model.save(path)
    return model, path


SPEC = """
tlspec: 1
name: t
backbone:
  plugin: keras_file
  path: source.keras
  cut_at: {cut}
freeze: all
heads:
  - {{name: new_task, plugin: classifier, classes: 2}}
"""


def test_cut_at_a_named_layer_reuses_the_weights(write_spec, saved_model, keras):
    source, _ = saved_model
    assembly = build(write_spec(SPEC.format(cut="encoder_2")))
    model = assembly.model
    assert [layer.name for layer in model.layers] == ["measurements", "encoder_1", "encoder_2", "new_task"]
    np.testing.assert_array_equal(model.get_layer("encoder_2").get_weights()[0],
                                  source.get_layer("encoder_2").get_weights()[0])
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 4 * 2 + 2


def test_unknown_cut_layer_is_found_without_tensorflow(write_spec, saved_model):
    with pytest.raises(SpecError) as caught:
        validate_file(write_spec(SPEC.format(cut="encoder_3")))
    assert str(caught.value).startswith(
        "spec.yaml:6:11: backbone.cut_at: source.keras has no layer 'encoder_3' "
        "(did you mean 'encoder_1' or 'encoder_2'?)")


def test_missing_model_file(write_spec):
    with pytest.raises(SpecError) as caught:
        validate_file(write_spec(SPEC.format(cut="encoder_2")))
    assert str(caught.value).startswith("spec.yaml:5:9: backbone.path: model file not found: source.keras")


def test_rank_mismatch_seen_only_at_build_time_is_still_located(write_spec, tmp_path, keras):
    inputs = keras.Input((8, 8, 3), name="pixels")
    features = keras.layers.Conv2D(4, 3, padding="same", name="features")(inputs)
    outputs = keras.layers.Dense(1, name="score")(keras.layers.Flatten(name="flat")(features))
    keras.Model(inputs, outputs).save(tmp_path / "source.keras")
    path = write_spec(SPEC.format(cut="features").replace("classes: 2", "classes: 2, pooling: none"))
    validate_file(path)  # shapes inside a saved model are unknown until it is loaded
    with pytest.raises(SpecError) as caught:
        build(path)
    assert str(caught.value) == (
        "spec.yaml:9:63: heads[0].pooling: head 'new_task' reads a rank-4 tensor (None, 8, 8, 4) but pooling "
        "is 'none': a head needs rank 2 (batch, features); use pooling: flatten, avg or max")


def test_lambda_layers_are_refused_in_safe_mode(write_spec, tmp_path, keras):
    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda t: t * 2, name="double")(inputs)
    keras.Model(inputs, outputs).save(tmp_path / "source.keras")
    with pytest.raises(SpecError) as caught:
        build(write_spec(SPEC.format(cut="double")))
    message = str(caught.value)
    assert message.startswith("spec.yaml:5:9: backbone.path: could not load source.keras in safe mode:")
    assert "Lambda" in message
