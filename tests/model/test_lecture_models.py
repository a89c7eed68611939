"""The lecture's models, from specs, against the same models written by hand in Keras."""

import numpy as np
import pytest

from helpers import SPECS, build, trainable_count


def _layer_signature(layer):
    config = layer.get_config()
    config.pop("name", None)
    for key in ("kernel_initializer", "bias_initializer", "seed"):
        config.pop(key, None)
    return (type(layer).__name__, tuple(layer.output.shape),
            tuple(tuple(w.shape) for w in layer.weights), config)


def test_vgg16_cats_dogs_matches_the_lecture_layer_by_layer(keras):
    model = build(SPECS / "vgg16_cats_dogs.yaml").model
    assert model.count_params() == 14_764_866
    assert trainable_count(model) == 14_764_866

    # The lecture's code, in Keras 3 spelling.
    vggmodel = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
    for layer in vggmodel.layers:
        layer.trainable = True
    x = keras.layers.Flatten()(vggmodel.output)
    prediction = keras.layers.Dense(2, activation="softmax")(x)
    by_hand = keras.Model(inputs=vggmodel.input, outputs=prediction)

    assert len(model.layers) == len(by_hand.layers) == 21
    for ours, theirs in zip(model.layers, by_hand.layers):
        assert _layer_signature(ours) == _layer_signature(theirs), (ours.name, theirs.name)
    # Same names for the VGG16 layers, so the lecture's layer references work unchanged.
    assert [layer.name for layer in model.layers[1:19]] == [layer.name for layer in by_hand.layers[1:19]]
    assert model.layers[-1].name == "animal"


def test_vgg16_frozen_variant_trains_only_the_head(keras):
    model = build(SPECS / "vgg16_cats_dogs_frozen.yaml", ["backbone.weights=null"]).model
    assert model.count_params() == 14_764_866
    assert trainable_count(model) == 50_178
    frozen = [layer.name for layer in model.layers if layer.weights and not layer.trainable]
    assert len(frozen) == 13 and frozen[0] == "block1_conv1" and frozen[-1] == "block5_conv3"


def test_vgg16_two_tasks(keras):
    model = build(SPECS / "vgg16_two_tasks.yaml", ["backbone.weights=null"]).model
    assert model.count_params() == 14_815_056
    assert model.output_names == ["task1", "task2"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 2), (None, 2)]

    vggmodel = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
    x = keras.layers.Flatten()(vggmodel.output)
    h1 = keras.layers.Dense(2, activation="softmax")(x)
    prediction1 = keras.layers.Dense(2, activation="softmax")(h1)
    h2 = keras.layers.Dense(2, activation="softmax")(x)
    prediction2 = keras.layers.Dense(2, activation="softmax")(h2)
    by_hand = keras.Model(inputs=vggmodel.input, outputs=[prediction1, prediction2])
    assert by_hand.count_params() == model.count_params()


def test_multitask_dense_is_the_lectures_66_parameter_network(keras):
    assembly = build(SPECS / "multitask_dense.yaml")
    model = assembly.model
    assert model.count_params() == 66
    assert model.output_names == ["o1", "o2"]

    input_layer = keras.Input(shape=(3,))
    layer_1 = keras.layers.Dense(4, activation="relu")(input_layer)
    layer_2 = keras.layers.Dense(4, activation="relu")(layer_1)
    layer_3 = keras.layers.Dense(4, activation="relu")(layer_2)
    o1 = keras.layers.Dense(1, activation="linear")(layer_2)
    o2 = keras.layers.Dense(1, activation="linear")(layer_3)
    by_hand = keras.Model(inputs=input_layer, outputs=[o1, o2])
    for ours, theirs in zip(model.layers, by_hand.layers):
        assert _layer_signature(ours) == _layer_signature(theirs)

    # Same weights -> same outputs: the wiring (o1 from layer 2, o2 from layer 3) is the lecture's.
    by_hand.set_weights(model.get_weights())
    D = np.array([[4, 500, 6], [4, 550, 5.5], [2, 200, 3.5], [2, 250, 4]], dtype="float32")
    ours = model.predict({"features": D}, verbose=0)
    theirs = by_hand.predict(D, verbose=0)
    np.testing.assert_allclose(ours["o1"], theirs[0], rtol=1e-6)
    np.testing.assert_allclose(ours["o2"], theirs[1], rtol=1e-6)

    label = np.array([[1, 1, 0, 0]], dtype="float32").T
    history = model.fit({"features": D}, {"o1": label, "o2": label}, epochs=2, batch_size=128, verbose=0,
                        validation_data=({"features": D}, {"o1": label, "o2": label}))
    assert set(history.history) >= {"loss", "o1_loss", "o2_loss", "val_loss"}


def test_vgg16_two_tasks_trains_end_to_end_with_per_head_loss_weights(tmp_path, keras):
    """The lecture's two-task VGG16 on small images: two labels per image, per-head results and loss weights."""
    from tlspec.spec.validate import validate_file
    from tlspec.training.runner import train

    rng = np.random.default_rng(0)
    count = 40
    colour = rng.integers(0, 2, count)      # task1: red or blue
    bright = rng.integers(0, 2, count)      # task2: dark or bright
    images = np.zeros((count, 32, 32, 3), dtype=np.float32)
    images[np.arange(count), :, :, np.where(colour == 0, 0, 2)] = np.where(bright, 230.0, 90.0)[:, None, None]
    images += rng.normal(0, 10, images.shape)
    np.savez(tmp_path / "tasks.npz", image=images, colour=colour, bright=bright)
    overrides = ["backbone.weights=null", "backbone.input_shape=[32, 32, 3]", "heads.task2.loss_weight=0.5",
                 f"data={{plugin: arrays, train: {tmp_path / 'tasks.npz'}, test: 0.25, inputs: {{image: image}}, "
                 "targets: {task1: colour, task2: bright}}",
                 "train.epochs=2", "train.batch_size=16"]
    result = train(validate_file(SPECS / "vgg16_two_tasks.yaml", overrides), out=tmp_path / "run", verbose=0)
    test = result.metrics["test"]
    assert set(test) == {"task1", "task2", "total_loss"}
    assert set(test["task1"]) == {"loss", "accuracy"} and set(test["task2"]) == {"loss", "accuracy"}
    assert test["total_loss"] == pytest.approx(test["task1"]["loss"] + 0.5 * test["task2"]["loss"], rel=1e-4)
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert {"task1_accuracy", "task2_loss"} <= set(result.history[-1])
