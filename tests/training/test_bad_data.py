"""Bad data ends in a located error or a reported skip, never a silent wrong result."""

from pathlib import Path

import numpy as np
import pytest

from helpers import make_image_folder, only_problem
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

SPEC = """
tlspec: 1
name: t
backbone: {{plugin: small_cnn, input_shape: [16, 16, 3], filters: [4]}}
heads:
  - {{name: animal, plugin: classifier, classes: {classes}}}
data:
  plugin: image_folder
  train: images/train
  validation: images/validation
  image_size: [{size}, {size}]
  skip_corrupt: {skip}
train: {{epochs: 1, batch_size: 8}}
"""


def spec(write_spec, classes="from_data", size=16, skip="true"):
    return write_spec(SPEC.format(classes=classes, size=size, skip=skip))


@pytest.fixture
def images(tmp_path):
    make_image_folder(tmp_path / "images" / "train", {"cat": 8, "dog": 8})
    make_image_folder(tmp_path / "images" / "validation", {"cat": 4, "dog": 4}, seed=1)
    return tmp_path / "images"


def test_empty_class_folder(write_spec, images):
    for file in (images / "train" / "dog").iterdir():
        file.unlink()
    assert only_problem(spec(write_spec)) == (
        "spec.yaml:8:10: data.train: class folder 'dog' in images/train has no images "
        "(.jpg, .jpeg, .png, .bmp, .gif)")


def test_missing_folder(write_spec, tmp_path):
    message = only_problem(spec(write_spec))
    assert message.startswith("spec.yaml:8:10: data.train: folder not found: images/train (looked for ")


def test_class_missing_from_validation(write_spec, images):
    for file in (images / "validation" / "dog").iterdir():
        file.unlink()
    (images / "validation" / "dog").rmdir()
    assert only_problem(spec(write_spec)) == (
        "spec.yaml:9:15: data.validation: class 'dog' is in images/train but missing from images/validation")


def test_labels_that_do_not_fit_the_head(write_spec, images):
    assert only_problem(spec(write_spec, classes="3")) == (
        "spec.yaml:5:49: heads[0].classes: head 'animal' has 3 classes but the data has 2: cat, dog")
    assert only_problem(spec(write_spec, classes="[dog, cat]")) == (
        "spec.yaml:5:49: heads[0].classes: head 'animal' names classes ['dog', 'cat'] but the data has "
        "['cat', 'dog'] (in label order)")


def test_image_size_that_does_not_fit_the_model(write_spec, images):
    assert only_problem(spec(write_spec, size=32)) == (
        "spec.yaml:6:1: data: the data yields 'image' with shape (32, 32, 3) but the model input 'image' "
        "has shape (16, 16, 3)")


def test_corrupt_jpeg_is_skipped_and_reported(write_spec, images, keras, capsys):
    broken = images / "train" / "cat" / "cat.3.jpg"
    broken.write_bytes(broken.read_bytes()[:200])  # a truncated download
    bad_table = images / "train" / "cat" / "cat.4.jpg"  # whole, but TensorFlow's decoder rejects its header
    data = bad_table.read_bytes()
    table = data.index(b"\xff\xc4") + 5
    bad_table.write_bytes(data[:table] + b"\xff" * 16 + data[table + 16:])
    frozen = write_spec(SPEC.format(classes="from_data", size=16, skip="true") + "freeze: all\n")
    result = train(validate_file(frozen), out="run", verbose=0)  # features cached: decoded before training
    assert result.phases[0].cached_features
    printed = capsys.readouterr().out
    assert (f"note: skipped 2 unreadable image(s) in the train split: {broken} (truncated JPEG (it ends inside its "
            f"header)); {bad_table} (broken JPEG (bad Huffman table))") in printed
    assert result.run.read_json("run.json")["notes"] == [printed.split("note: ")[1].splitlines()[0]]


def test_corrupt_jpeg_rejected_when_skipping_is_off(write_spec, images, keras):
    (images / "train" / "dog" / "dog.1.jpg").write_bytes(b"<html>not found</html>")
    with pytest.raises(SpecError) as caught:
        train(validate_file(spec(write_spec, skip="false")), out="run", verbose=0)
    assert str(caught.value).startswith(
        "spec.yaml:11:17: data.skip_corrupt: 1 unreadable image(s) in the train split: ")
    assert "dog.1.jpg (not a JPEG, PNG, GIF or BMP image)" in str(caught.value)


def test_data_target_without_a_head_and_head_without_a_target(write_spec):
    path = write_spec("""
        tlspec: 1
        name: t
        inputs: {x: {shape: [2]}}
        backbone: {plugin: mlp, from: inputs.x, units: [2]}
        heads: [{name: a, plugin: regression}, {name: b, plugin: regression}]
        data:
          plugin: inline
          inputs: {x: [[1, 2], [3, 4]]}
          targets: {a: [1, 2], c: [0, 1]}
        """)
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert [str(p) for p in caught.value.problems] == [
        "spec.yaml:5:40: heads[1]: the data has no target for head 'b'; it yields targets for: 'a', 'c'",
        "spec.yaml:6:1: data: the data yields a target 'c' but no head has that name; heads: 'a', 'b'",
    ]


def test_inline_rows_of_different_lengths(write_spec):
    path = write_spec("""
        tlspec: 1
        name: t
        inputs: {x: {shape: [2]}}
        backbone: {plugin: mlp, from: inputs.x, units: [2]}
        heads: [{name: a, plugin: regression}]
        data:
          plugin: inline
          inputs: {x: [[1, 2], [3]]}
          targets: {a: [1, 2]}
        """)
    assert only_problem(path) == "spec.yaml:8:15: data.inputs.x: rows have different lengths"


def test_csv_text_labels_become_classes(write_spec, tmp_path):
    (tmp_path / "rows.csv").write_text("a,b,label\n1,2,spam\n3,4,ham\n5,6,spam\n")
    path = write_spec("""
        tlspec: 1
        name: t
        inputs: {x: {shape: [2]}}
        backbone: {plugin: mlp, from: inputs.x, units: [2]}
        heads: [{name: kind, plugin: classifier, classes: from_data}]
        data: {plugin: arrays, train: rows.csv, inputs: {x: [a, b]}, targets: {kind: label}}
        """)
    validated = validate_file(path)
    assert validated.heads[0].config.classes == ["ham", "spam"]
    assert validated.description.splits == {"train": 3}


def test_csv_missing_column(write_spec, tmp_path):
    (tmp_path / "rows.csv").write_text("a,b,label\n1,2,0\n")
    path = write_spec("""
        tlspec: 1
        name: t
        inputs: {x: {shape: [2]}}
        backbone: {plugin: mlp, from: inputs.x, units: [2]}
        heads: [{name: y, plugin: regression}]
        data: {plugin: arrays, train: rows.csv, inputs: {x: [a, c]}, targets: {y: label}}
        """)
    assert only_problem(path) == ("spec.yaml:6:53: data.inputs.x: rows.csv has no column 'c'; "
                                  "columns: 'a', 'b', 'label'")


def test_regression_target_of_the_wrong_size(write_spec):
    path = write_spec("""
        tlspec: 1
        name: t
        inputs: {x: {shape: [2]}}
        backbone: {plugin: mlp, from: inputs.x, units: [2]}
        heads: [{name: y, plugin: regression, units: 2}]
        data: {plugin: inline, inputs: {x: [[1, 2], [3, 4]]}, targets: {y: [[1, 2, 3], [4, 5, 6]]}}
        """)
    assert only_problem(path) == ("spec.yaml:5:46: heads[0].units: head 'y' predicts 2 value(s) per example, "
                                  "but its target has shape (3,)")


def test_training_without_data_is_a_located_error(write_spec, keras):
    path = write_spec("tlspec: 1\nname: t\nbackbone: {plugin: mlp, input_shape: [2], units: [2]}\n"
                      "heads: [{name: y, plugin: regression}]\n")
    with pytest.raises(SpecError) as caught:
        train(validate_file(path), out="run", verbose=0)
    assert str(caught.value).startswith("spec.yaml:1:1: training needs a 'data' section")


def test_monitoring_a_validation_metric_without_validation_data(write_spec):
    path = write_spec("""
        tlspec: 1
        name: t
        inputs: {x: {shape: [2]}}
        backbone: {plugin: mlp, from: inputs.x, units: [2]}
        heads: [{name: y, plugin: regression}]
        data: {plugin: inline, inputs: {x: [[1, 2], [3, 4]]}, targets: {y: [1, 2]}}
        train:
          checkpoint: {monitor: val_loss}
        """)
    assert only_problem(path) == (
        "spec.yaml:8:25: train.checkpoint.monitor: 'val_loss' needs a validation split, and the data has none "
        "(splits: train); add one to the data section or monitor a training metric")


CSV_SPEC = """
tlspec: 1
name: t
inputs: {x: {shape: [2]}}
backbone: {plugin: mlp, from: inputs.x, units: [2]}
heads: [{name: y, plugin: regression}]
data: {plugin: arrays, train: data.csv, inputs: {x: [a, b]}, targets: {y: c}}
"""


@pytest.mark.parametrize(("content", "expected"), [
    (b"a,b,c\n1,2,3\n4,5,\n6,7,8\n",
     "spec.yaml:6:75: data.targets.y: column 'c' of data.csv holds numbers, but row 3 holds ''; fill it in or drop "
     "the row (or list the head's classes if the column holds labels)"),
    (b"a,b,c\n1,2,3\n4,5\n", "spec.yaml:6:31: data.train: data.csv row 3 has 2 fields; the header has 3"),
    (b"a,b,c\n1,2,3\n4,caf\xe9,6\n",
     "spec.yaml:6:31: data.train: data.csv is not UTF-8 text: byte 0xe9 at line 3, column 6 (invalid continuation "
     "byte); save it as UTF-8"),
    (b"a,b,c\n1,nan,3\n4,5,6\ninf,1,2\n",
     "spec.yaml:6:53: data.inputs.x: column 'a' of data.csv has NaN or infinite values in 1 example (the first is "
     "example 3); fix or drop them"),
    (b"root:x:0:0:root:/root:/bin/bash-and-a-long-tail\n1\n",
     "spec.yaml:6:53: data.inputs.x: data.csv has no column 'a'; columns: "
     "'root:x:0:0:root:/root:/bin/bash-and-a-l…'"),
])
def test_csv_faults_are_named_at_their_row(write_spec, tmp_path, content, expected):
    (tmp_path / "data.csv").write_bytes(content)
    assert only_problem(write_spec(CSV_SPEC)) == expected


def test_a_csv_with_a_byte_order_mark_reads_its_first_column(write_spec, tmp_path):
    (tmp_path / "data.csv").write_bytes("a,b,c\n1,2,3\n4,5,6\n".encode("utf-8-sig"))
    assert validate_file(write_spec(CSV_SPEC)).description.splits == {"train": 2}


@pytest.mark.parametrize(("arrays", "expected"), [
    ({"x": np.array([[1.0, np.nan], [1.0, 2.0]]), "y": np.zeros(2)},
     "data.inputs.x: array 'x' of data.npz has NaN or infinite values in 1 example (the first is example 1); fix or "
     "drop them"),
    ({"x": np.float32(3.0), "y": np.zeros(2)},
     "data.inputs.x: array 'x' of data.npz is a single value, not one row per example"),
    ({"x": np.array([["a", "b"], ["c", "d"]]), "y": np.zeros(2)},
     "data.inputs.x: array 'x' of data.npz holds <U1 values, not numbers"),
    ({"x": np.array([[1, 2], None], dtype=object), "y": np.zeros(2)},
     "data.inputs.x: array 'x' of data.npz holds Python objects; save numbers (np.savez with numeric arrays)"),
    ({"x": np.zeros((5, 2)), "y": np.zeros(8)},
     "data: inputs and targets have different numbers of examples (x: 5, y: 8)"),
])
def test_npz_faults_are_named(write_spec, tmp_path, arrays, expected):
    np.savez(tmp_path / "data.npz", **arrays)
    path = write_spec(CSV_SPEC.replace("data.csv, inputs: {x: [a, b]}, targets: {y: c}",
                                       "data.npz, inputs: {x: x}, targets: {y: y}"))
    assert only_problem(path).split(": ", 1)[1] == expected


def test_numeric_labels_outside_the_declared_classes_are_refused_at_validate(write_spec, tmp_path):
    np.savez(tmp_path / "data.npz", x=np.zeros((6, 2)), y=np.array([0, 1, 2, 1, 3, 0]))
    path = write_spec(CSV_SPEC.replace("data.csv, inputs: {x: [a, b]}, targets: {y: c}",
                                       "data.npz, inputs: {x: x}, targets: {y: y}, classes: {y: [a, b, c]}")
                      .replace("plugin: regression", "plugin: classifier, classes: from_data"))
    assert only_problem(path) == ("spec.yaml:6:87: data.classes.y: target 'y' has 1 label outside the 3 classes "
                                  "(labels 0..2); the first is 3, example 5")


def test_inline_data_without_examples_is_refused(write_spec):
    path = write_spec(CSV_SPEC.replace("{plugin: arrays, train: data.csv, inputs: {x: [a, b]}, targets: {y: c}}",
                                       "{plugin: inline, inputs: {x: []}, targets: {y: []}}"))
    assert only_problem(path) == "spec.yaml:6:7: data: the data has no examples"


def test_a_decode_failure_mid_training_is_reported_not_an_internal_error(images, keras):
    import tensorflow as tf

    from tlspec.training.failures import undecodable_input

    whole = (images / "train" / "cat" / "cat.0.jpg").read_bytes()
    table = whole.index(b"\xff\xc4") + 5
    damaged = images / "damaged.jpg"
    damaged.write_bytes(whole[:table] + b"\xff" * 16 + whole[table + 16:])
    decoded = tf.data.Dataset.from_tensor_slices([str(damaged)]).map(
        lambda path: tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False))
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        list(decoded)
    assert str(undecodable_input(caught.value)) == (
        "training stopped: TensorFlow could not decode an input file (jpeg::Uncompress failed. Invalid JPEG data "
        "or crop window.), which the data plugin's checks did not catch; remove or re-save the damaged file and "
        "continue with --resume")
    assert undecodable_input(tf.errors.InvalidArgumentError(None, None, "Incompatible shapes: [2] vs. [3]")) is None


def test_numeric_labels_outside_the_head_classes_are_refused_at_validate(write_spec, tmp_path):
    np.savez(tmp_path / "data.npz", x=np.zeros((7, 2)), y=np.array([0, 1, 2, 4, 1, -1, 4]))
    path = write_spec(CSV_SPEC.replace("data.csv, inputs: {x: [a, b]}, targets: {y: c}",
                                       "data.npz, inputs: {x: x}, targets: {y: y}")
                      .replace("plugin: regression", "plugin: classifier, classes: 3"))
    assert only_problem(path) == ("spec.yaml:5:48: heads[0].classes: head 'y': the data has 3 labels outside the 3 "
                                  "classes (labels 0..2); the first is 4, example 4")
    np.savez(tmp_path / "data.npz", x=np.zeros((7, 2)), y=np.array([0, 1, 2, 2, 1, 0, 2]))
    validate_file(path)  # every label a class: valid


def test_inline_inputs_and_targets_of_different_lengths(write_spec):
    path = write_spec(CSV_SPEC.replace("{plugin: arrays, train: data.csv, inputs: {x: [a, b]}, targets: {y: c}}",
                                       "{plugin: inline, inputs: {x: [[1, 2], [3, 4]]}, targets: {y: [1, 2, 3]}}"))
    assert only_problem(path) == ("spec.yaml:6:7: data: inputs and targets have different numbers of examples "
                                  "(x: 2, y: 3)")


def test_a_data_plugin_failing_while_training_reads_its_data_is_named(write_spec, keras):
    import types

    import tensorflow as tf

    from tlspec.api import DataConfig, DataDescription, DataField, DataSource, hookimpl
    from tlspec.errors import TlspecError
    from tlspec.plugin.manager import Origin, discover

    class Options(DataConfig):
        pass

    class Flaky(DataSource):
        name = "flaky"
        Config = Options

        def describe(self, config, context):
            return DataDescription({"x": DataField((2,), "float32")}, {"y": DataField((), "float32")}, {"train": 8})

        def datasets(self, config, context):
            def rows():
                for index in range(8):
                    if index == 5:
                        raise ValueError("row 6 has no value")
                    yield {"x": [float(index), 1.0]}, {"y": float(index)}

            signature = ({"x": tf.TensorSpec((2,), tf.float32)}, {"y": tf.TensorSpec((), tf.float32)})
            return {"train": tf.data.Dataset.from_generator(rows, output_signature=signature).batch(2)}

    module = types.ModuleType("flaky_plugin")
    module.tlspec_data_sources = hookimpl(lambda: [Flaky()])
    registry = discover([(module, Origin("flaky", "tlspec-flaky", "0.3"))])
    path = write_spec("tlspec: 1\nname: t\ninputs: {x: {shape: [2]}}\nbackbone: {plugin: mlp, from: inputs.x, "
                      "units: [2]}\nheads: [{name: y, plugin: regression}]\ndata: {plugin: flaky}\n")
    with pytest.raises(TlspecError) as caught:
        train(validate_file(path, registry=registry), out="run", verbose=0)
    assert str(caught.value).startswith(
        "data plugin 'flaky' (tlspec-flaky 0.3) failed while training read its data, in rows (test_bad_data.py:")
    assert str(caught.value).endswith("ValueError: row 6 has no value. This is a bug in that plugin (rerun with "
                                      "TLSPEC_DEBUG=1 for its traceback)")
    import json

    assert json.loads(Path("run", "run.json").read_text())[
        "status"] == "failed"
