"""Bad data ends in a located error or a reported skip, never a silent wrong result."""

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
    result = train(validate_file(spec(write_spec)), out="run", verbose=0)
    printed = capsys.readouterr().out
    assert f"note: skipped 1 unreadable image(s) in the train split: {broken} (truncated JPEG (no end marker))" \
        in printed
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
