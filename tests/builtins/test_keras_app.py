"""The keras_app backbone: preprocessing inside the graph, the catalog, nested use, safe-mode saving."""

import subprocess
import sys

import numpy as np
import pytest

from helpers import build

SPEC = """
tlspec: 1
name: t
backbone: {{plugin: keras_app, model: {model}, weights: null, input_shape: [32, 32, 3]}}
heads: [{{name: a, plugin: classifier, classes: 2}}]
"""


@pytest.mark.parametrize("model, module", [
    ("VGG16", "vgg16"),            # caffe: RGB->BGR, minus the ImageNet means
    ("MobileNet", "mobilenet"),    # tf: scaled to [-1, 1]
    ("DenseNet121", "densenet"),   # torch: scaled to [0, 1], normalised per channel
])
def test_family_preprocessing_in_the_graph_equals_keras_preprocess_input(write_spec, keras, model, module):
    assembly = build(write_spec(SPEC.format(model=model)))
    first_layer = assembly.built["backbone"].layers[0]
    graph = assembly.model
    # The first backbone layer reads exactly what preprocess_input would have produced.
    probe = keras.Model(graph.inputs, first_layer.input)
    pixels = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = getattr(keras.applications, module).preprocess_input(pixels.copy())
    np.testing.assert_allclose(probe({"image": pixels}), expected, rtol=1e-5, atol=1e-4)


def test_networks_with_builtin_preprocessing_get_no_extra_layers(write_spec, keras):
    assembly = build(write_spec(SPEC.format(model="EfficientNetB0")))
    classes = [type(layer).__name__ for layer in assembly.model.layers[:4]]
    assert classes[:3] == ["InputLayer", "Rescaling", "Normalization"]  # EfficientNet's own


def test_catalog_matches_installed_keras(keras):
    from tlspec_builtins.keras_catalog import application_names, describe_application, load_catalog

    catalog = load_catalog()
    assert sorted(catalog) == application_names()
    for model in ("VGG16", "MobileNet", "ResNet50", "EfficientNetB0"):
        keras.backend.clear_session()  # Keras numbers layer names per session, as the catalog's builder starts
        described = describe_application(model)
        assert [tuple(layer) for layer in described["layers"]] == [
            (layer.name, layer.rank, layer.has_weights, layer.is_batchnorm) for layer in catalog[model].layers], model


@pytest.mark.slow
def test_catalog_matches_installed_keras_for_every_application(keras):
    from tlspec_builtins.keras_catalog import describe_application, load_catalog

    for model, entry in load_catalog().items():
        keras.backend.clear_session()
        described = describe_application(model)
        assert [layer[0] for layer in described["layers"]] == [layer.name for layer in entry.layers], model


def test_backbone_reading_another_component_is_nested_with_endpoints(write_spec, keras):
    path = write_spec("""
        tlspec: 1
        name: t
        inputs:
          raw: {shape: [64, 64, 3]}
        backbone:
          plugin: small_cnn
          from: inputs.raw
          filters: [3]
        blocks:
          - name: deep
            plugin: keras_app
            from: backbone
            model: MobileNet
            alpha: 0.25
            weights: null
        heads:
          - {name: a, plugin: classifier, from: deep, classes: 2}
          - {name: b, plugin: classifier, from: deep.conv_pw_5_relu, pooling: max, classes: 3}
        """)
    model = build(path).model
    assert tuple(model.get_layer("b").output.shape) == (None, 3)
    assert model.get_layer("deep").__class__.__name__ == "Functional"


def test_saved_model_reloads_in_safe_mode_with_tlspec_layers(write_spec, keras, tmp_path):
    assembly = build(write_spec(SPEC.format(model="VGG16")))
    path = tmp_path / "model.keras"
    assembly.model.save(path)
    pixels = np.random.default_rng(2).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "pixels.npy", pixels)
    np.save(tmp_path / "expected.npy", assembly.model.predict({"image": pixels}, verbose=0)["a"])
    script = (
        "import numpy as np, keras, tlspec.model.layers\n"
        f"model = keras.saving.load_model({str(path)!r}, safe_mode=True)\n"
        f"got = model.predict({{'image': np.load({str(tmp_path / 'pixels.npy')!r})}}, verbose=0)['a']\n"
        f"np.testing.assert_allclose(got, np.load({str(tmp_path / 'expected.npy')!r}), rtol=1e-5)\n"
        "import sys; assert 'tlspec_builtins' not in sys.modules\n"
        "print('reloaded')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "reloaded", result.stderr[-2000:]
