"""Freeze policies on a real keras.applications network; BatchNorm stays in inference mode."""

import numpy as np
import pytest

from helpers import build
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file

MOBILENET = """
tlspec: 1
name: t
backbone: {{plugin: keras_app, model: MobileNet, alpha: 0.25, weights: null, input_shape: [32, 32, 3]}}
freeze: {freeze}
heads: [{{name: a, plugin: classifier, classes: 2}}]
"""


def random_features(norm):
    """Random activations of the shape a BatchNorm layer reads, far from its initial statistics."""
    shape = (8,) + tuple(norm.input.shape[1:])
    return (np.random.default_rng(0).normal(3.0, 5.0, shape)).astype("float32")


def backbone_layers(assembly):
    return assembly.built["backbone"].layers


def trainable_names(assembly):
    return [layer.name for layer in backbone_layers(assembly) if layer.weights and layer.trainable]


def weighted(assembly):
    return [layer for layer in backbone_layers(assembly) if layer.weights]


def spec(write_spec, freeze):
    return write_spec(MOBILENET.format(freeze=freeze))


def test_all(write_spec, keras):
    assembly = build(spec(write_spec, "all"))
    assert trainable_names(assembly) == []
    assert sum(int(np.prod(w.shape)) for w in assembly.model.trainable_weights) == 256 * 2 + 2


def test_none_trains_everything_including_batchnorm(write_spec, keras):
    assembly = build(spec(write_spec, "none"))
    assert len(trainable_names(assembly)) == len(weighted(assembly)) == 54  # 27 convolutions, 27 BatchNorms


def test_none_with_batchnorm_in_inference_mode(write_spec, keras):
    assembly = build(spec(write_spec, "{plugin: none, batchnorm: inference}"))
    frozen = {layer.name for layer in weighted(assembly) if not layer.trainable}
    assert frozen == {layer.name for layer in weighted(assembly) if isinstance(layer, keras.layers.BatchNormalization)}
    assert len(frozen) == 27


def test_until_freezes_up_to_the_named_layer_and_keeps_batchnorm_frozen(write_spec, keras):
    assembly = build(spec(write_spec, "{plugin: until, layer: conv_pw_11_relu}"))
    assert trainable_names(assembly) == ["conv_dw_12", "conv_pw_12", "conv_dw_13", "conv_pw_13"]

    # A frozen BatchNorm runs in inference mode even when the model is called with training=True.
    norm = assembly.model.get_layer("conv_pw_13_bn")
    assert not norm.trainable
    features = random_features(norm)
    np.testing.assert_allclose(norm(features, training=True), norm(features, training=False), rtol=1e-6)


def test_until_with_batchnorm_train_lets_statistics_move(write_spec, keras):
    assembly = build(spec(write_spec, "{plugin: until, layer: conv_pw_11_relu, batchnorm: train}"))
    assert "conv_pw_13_bn" in trainable_names(assembly)
    norm = assembly.model.get_layer("conv_pw_13_bn")
    features = random_features(norm)
    assert not np.allclose(norm(features, training=True), norm(features, training=False), rtol=1e-3)


def test_until_exclusive(write_spec, keras):
    assembly = build(spec(write_spec, "{plugin: until, layer: conv_pw_13, inclusive: false}"))
    assert trainable_names(assembly) == ["conv_pw_13"]


def test_train_last_counts_layers_with_weights(write_spec, keras):
    assembly = build(spec(write_spec, "{plugin: train_last, n: 4}"))
    # the last four weighted layers are conv_dw_13_bn, conv_pw_13, conv_pw_13_bn... BN stays frozen
    assert trainable_names(assembly) == ["conv_dw_13", "conv_pw_13"]


def test_pattern_include_exclude(write_spec, keras):
    assembly = build(spec(write_spec, "{plugin: pattern, include: ['conv_(dw|pw)_\\d+'], exclude: ['conv_pw_1[0-3]']}"))
    trainable = trainable_names(assembly)
    assert "conv1" in trainable and "conv_pw_10" in trainable and "conv_pw_13" in trainable
    assert "conv_dw_10" not in trainable and "conv_pw_9" not in trainable


def test_fraction(write_spec, keras):
    assembly = build(spec(write_spec, "{plugin: fraction, fraction: 0.5}"))
    layers = weighted(assembly)
    assert all(not layer.trainable for layer in layers[:27])
    assert [layer.name for layer in layers[27:] if layer.trainable] == [
        layer.name for layer in layers[27:] if not isinstance(layer, keras.layers.BatchNormalization)]


def test_static_freeze_plan_matches_the_built_model(write_spec, keras):
    path = spec(write_spec, "{plugin: train_last, n: 10}")
    static = validate_file(path).graph.frozen_layers
    assembly = build(path)
    assert static == assembly.frozen_layers


@pytest.mark.parametrize("freeze, message", [
    ("{plugin: train_last, n: 500}",
     "spec.yaml:4:33: freeze.n: the backbone has only 54 layers with weights; n is 500"),
    ("{plugin: pattern, include: ['conv_zz.*']}", "spec.yaml:4:37: freeze.include[0]: pattern 'conv_zz.*' matches "
                                                  "no backbone layer"),
    ("{plugin: pattern, include: ['conv(']}", "spec.yaml:4:36: freeze.include: invalid regular expression 'conv('"),
    ("{plugin: fraction, fraction: 1.5}",
     "spec.yaml:4:38: freeze.fraction: input should be less than or equal to 1; got 1.5"),
    ("{plugin: until}", "spec.yaml:4:1: freeze: missing required field 'layer'"),
])
def test_freeze_mistakes_are_located(write_spec, freeze, message):
    with pytest.raises(SpecError) as caught:
        validate_file(spec(write_spec, freeze))
    assert str(caught.value).startswith(message)


def test_a_freeze_policy_is_told_which_component_it_freezes_and_sees_every_layer(write_spec, keras):
    """The example small_cnn lists its layers once (in its plan); its build leaves tlspec to find them."""
    import types

    from tlspec.api import FreezeConfig, FreezePolicy, hookimpl
    from tlspec.model.assemble import assemble
    from tlspec.plugin.manager import Origin, discover

    seen = []

    class Options(FreezeConfig):
        pass

    class Recording(FreezePolicy):
        name = "recording"
        Config = Options

        def select(self, config, target):
            seen.append((target.component, target.plugin, target.built, [layer.name for layer in target.layers]))
            return {layer.name for layer in target.layers if layer.name.endswith("_1")}

    module = types.ModuleType("recording_policy")
    module.tlspec_freeze_policies = hookimpl(lambda: [Recording()])
    registry = discover([(module, Origin("recording", "tlspec-recording", "1.0"))])
    path = write_spec("tlspec: 1\nname: t\nbackbone: {plugin: small_cnn, input_shape: [16, 16, 3], filters: [4, 8]}\n"
                      "freeze: recording\nheads: [{name: y, plugin: classifier, classes: 2}]\n")
    assembly = assemble(validate_file(path, registry=registry))
    layers = ["backbone_rescale", "backbone_conv_1", "backbone_bn_1", "backbone_relu_1", "backbone_pool_1",
              "backbone_conv_2", "backbone_bn_2", "backbone_relu_2", "backbone_pool_2"]
    assert seen == [("backbone", "small_cnn", False, layers), ("backbone", "small_cnn", True, layers)]
    assert sorted(assembly.frozen_layers) == ["backbone_bn_1", "backbone_bn_2", "backbone_conv_1",
                                              "backbone_pool_1", "backbone_relu_1"]  # BatchNorm stays frozen
    until = write_spec("tlspec: 1\nname: t\nbackbone: {plugin: small_cnn, input_shape: [16, 16, 3], filters: [4, 8]}\n"
                       "freeze: {plugin: until, layer: backbone_relu_1}\nheads: [{name: y, plugin: classifier, "
                       "classes: 2}]\n", name="until.yaml")
    assert sorted(assemble(validate_file(until)).frozen_layers) == [
        "backbone_bn_1", "backbone_bn_2", "backbone_conv_1", "backbone_relu_1", "backbone_rescale"]
