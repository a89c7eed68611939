"""`tlspec export`: four formats, each checked against model.keras and run in its own runtime without tlspec."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import cnn_spec, run_cli
from tlspec.errors import TlspecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

# Runs in a fresh interpreter: each format in its own runtime, with tlspec never imported.
RUNTIMES = """
import json, sys
import numpy as np
inputs = {"image": np.load("images.npy")}
found = {}
import tensorflow as tf
loaded = tf.saved_model.load("run/export/saved_model/saved_model")  # kept: serve() needs its variables
found["saved_model"] = loaded.serve(inputs)["animal"].numpy()
from ai_edge_litert.interpreter import Interpreter
found["tflite"] = Interpreter(model_path="run/export/tflite/model.tflite").get_signature_runner()(**inputs)["animal"]
import onnxruntime
session = onnxruntime.InferenceSession("run/export/onnx/model.onnx", providers=["CPUExecutionProvider"])
found["onnx"] = session.run(["animal"], inputs)[0]
assert not any(name.startswith("tlspec") for name in sys.modules), "a runtime imported tlspec"
print(json.dumps({name: np.asarray(value).tolist() for name, value in found.items()}))
"""


@pytest.mark.slow  # the full suite runs it; the fast one stays near 5 minutes
def test_every_format_matches_the_keras_model_in_its_own_runtime(write_spec, image_data, keras):
    import tlspec

    train(validate_file(cnn_spec(write_spec)), out="run", verbose=0)
    for form in ("keras", "saved_model", "tflite", "onnx"):
        metadata = tlspec.export("run", form)
        assert metadata["check"]["examples"] == "the first 16 examples of the test split"
        assert metadata["check"]["max_abs_diff"]["animal"] <= metadata["check"]["tolerance"]
        saved = json.loads(Path(f"run/export/{form}/metadata.json").read_text())
        assert saved["heads"]["animal"] == {"plugin": "classifier", "shape": [None, 2], "classes": ["cat", "dog"],
                                            "output": "the probability of each class, in the order of 'classes'"}
        assert saved["inputs"]["image"]["shape"] == [None, 16, 16, 3] and saved["inputs"]["image"]["dtype"] == "float32"
        assert (Path(f"run/export/{form}") / saved["artifact"]).exists()
        assert Path(f"run/export/{form}/spec.yaml").read_text() == Path("run/spec.yaml").read_text()

    from tlspec.runs.load import open_run
    images = np.stack([np.asarray(keras.utils.load_img(path, target_size=(16, 16)), np.float32)
                       for path in sorted((image_data / "test" / "cat").glob("*.jpg"))[:3]])
    np.save("images.npy", images)
    expected = tlspec.load_model("run").predict({"image": images}, verbose=0)["animal"]
    found = subprocess.run([sys.executable, "-c", RUNTIMES], capture_output=True, text=True, timeout=300)
    assert found.returncode == 0, found.stderr[-3000:]
    for form, values in json.loads(found.stdout).items():
        assert np.max(np.abs(np.asarray(values) - expected)) < 1e-4, form
    assert open_run  # the run still opens after every export (nothing of it was moved)


def test_a_format_that_cannot_represent_a_layer_names_it(keras, tmp_path):
    from tlspec.runs.export_formats import FORMATS

    words = keras.Input((None,), dtype="int32", name="words")
    x = keras.layers.Embedding(20, 4, mask_zero=True, name="embed")(words)
    x = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), name="bilstm")(x)
    tagger = keras.Model({"words": words}, {"tags": keras.layers.Dense(3, activation="softmax", name="tags")(x)})
    with pytest.raises(TlspecError) as caught:
        FORMATS["tflite"].write(tagger, tmp_path / "tagger.tflite", {"words": ((None, None), "int32")})
    assert str(caught.value) == ("the tflite format cannot represent layer 'bilstm' (Bidirectional): "
                                 "'tf.TensorListReserve' op requires element_shape to be static during TF Lite "
                                 "transformation pass")
    text = keras.Input((), dtype="string", name="text")
    ids = keras.layers.StringLookup(vocabulary=["a", "b"], name="lookup")(text)
    embedded = keras.layers.Embedding(4, 3, name="emb")(ids)
    lookup = keras.Model({"text": text}, {"out": keras.layers.Dense(2, name="out")(embedded)})
    with pytest.raises(TlspecError) as caught:
        FORMATS["onnx"].write(lookup, tmp_path / "lookup.onnx", {"text": ((None,), "string")})
    assert str(caught.value) == ("the onnx format cannot represent layer 'lookup' (StringLookup): No Op registered "
                                 "for LookupTableFindV2 with domain_version of 15")


def test_bad_export_requests_get_clear_messages(write_spec, image_data, keras):
    import shutil

    import tlspec

    train(validate_file(cnn_spec(write_spec)), out="run", verbose=0)
    with pytest.raises(TlspecError, match="^unknown export format 'pmml'; formats: 'keras', 'onnx', "):
        tlspec.export("run", "pmml")
    with pytest.raises(TlspecError) as caught:
        tlspec.export("run", "onnx", examples=["nothere.jpg"])
    assert str(caught.value) == "--examples: nothere.jpg: file not found"
    shutil.rmtree(image_data)  # the data is gone: the check needs examples
    with pytest.raises(TlspecError) as caught:
        tlspec.export("run", "onnx")
    assert str(caught.value).startswith("export checks the exported model against run/model.keras on the run's "
                                        "data, which cannot be read here (")
    assert str(caught.value).endswith("); give items to check on with --examples ITEM…")
    result = run_cli("export", "run", "--format", "onnx", "-o", "run/spec.yaml", timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == ("error: -o run/spec.yaml: is a file; choose a new folder (an "
                                                      "earlier export there is replaced)")
    assert not Path("run/export").exists()
