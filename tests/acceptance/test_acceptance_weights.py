"""Real pretrained weights from ../shared/data: `weights: imagenet` through KERAS_HOME, or a file path."""

import os
import shutil
import subprocess
import sys

import pytest

from helpers import SHARED_DATA

WEIGHTS = SHARED_DATA / "keras" / "models" / "mobilenet_2_5_224_tf_no_top.h5"
pytestmark = [pytest.mark.acceptance,
              pytest.mark.skipif(not WEIGHTS.exists(), reason="../shared/data is not present")]

SPEC = """
tlspec: 1
name: mobilenet-imagenet
backbone:
  plugin: keras_app
  model: MobileNet
  alpha: 0.25
  weights: {weights}
  input_shape: [{size}, {size}, 3]
freeze: all
heads: [{{name: animal, plugin: classifier, classes: [cat, dog]}}]
"""

CHECK = """
import json, sys
import numpy as np
from tlspec.model.assemble import assemble
from tlspec.spec.validate import validate_file
import keras
validated = validate_file(sys.argv[1])
model = assemble(validated).model
reference = keras.applications.MobileNet(alpha=0.25, include_top=False, weights=sys.argv[2],
                                         input_shape=(224, 224, 3))
same = all(np.array_equal(model.get_layer(l.name).get_weights()[0], l.get_weights()[0])
           for l in reference.layers if l.weights)
print(json.dumps({"same": same, "params": model.count_params(), "notes": validated.graph.notes,
                  "trainable": int(sum(np.prod(w.shape) for w in model.trainable_weights))}))
"""


def run_check(spec_path, reference_weights, env):
    result = subprocess.run([sys.executable, "-c", CHECK, str(spec_path), str(reference_weights)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_imagenet_weights_found_through_keras_home(tmp_path):
    keras_home = tmp_path / "keras"
    shutil.copytree(SHARED_DATA / "keras", keras_home)  # Keras may write next to its cache
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(weights="imagenet", size=224))
    report = run_check(spec, WEIGHTS, dict(os.environ, KERAS_HOME=str(keras_home)))
    assert report == {"same": True, "params": 218_544 + 256 * 2 + 2, "trainable": 514, "notes": []}


def test_imagenet_weights_at_another_size_use_the_224_file_without_a_download(tmp_path):
    keras_home = tmp_path / "keras"
    shutil.copytree(SHARED_DATA / "keras", keras_home)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(weights="imagenet", size=160))
    report = run_check(spec, WEIGHTS, dict(os.environ, KERAS_HOME=str(keras_home)))
    assert report["same"] is True  # every convolution holds the 224-px file's weights
    assert report["notes"] == [f"backbone: the ImageNet weights for 160 px (mobilenet_2_5_160_tf_no_top.h5) are not "
                               f"in {keras_home / 'models'}: used mobilenet_2_5_224_tf_no_top.h5, the 224-px file, "
                               "whose convolutions fit any input size; nothing was downloaded"]
    assert sorted(path.name for path in (keras_home / "models").iterdir()) == ["mobilenet_2_5_224_tf_no_top.h5"]


def test_weights_file_path_at_another_input_size(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(weights=str(WEIGHTS), size=128))
    report = run_check(spec, WEIGHTS, dict(os.environ, KERAS_HOME=str(tmp_path / "empty")))
    assert report["same"] is True


def test_a_weights_file_of_other_options_names_the_mismatch(write_spec):
    from helpers import build
    from tlspec.errors import SpecError

    path = write_spec(SPEC.format(weights=WEIGHTS, size=128).replace("alpha: 0.25", "alpha: 0.5"))
    with pytest.raises(SpecError) as caught:
        build(path)
    assert str(caught.value) == (
        f"spec.yaml:7:12: backbone.weights: the weights file {WEIGHTS} was saved from another MobileNet than this "
        "one (alpha: 0.5, input_shape: [128, 128, 3]): conv1/kernel is (3, 3, 3, 8) in the file but (3, 3, 3, 16) "
        "in this MobileNet; use the weights saved for these options, or the options they were saved with")
