"""The Python API in the README: load_spec, validate, build, train, evaluate, predict, load_model."""

import pytest

import tlspec

SPEC = """
tlspec: 1
name: colours
seed: 3
backbone: {plugin: small_cnn, input_shape: [16, 16, 3], filters: [8]}
freeze: none
heads:
  - {name: animal, plugin: classifier, classes: from_data}
data:
  plugin: image_folder
  train: images/train
  validation: images/validation
  test: images/test
  image_size: [16, 16]
train:
  batch_size: 8
  epochs: 3
  optimizer: {name: adam, learning_rate: 0.01}
"""


def test_a_spec_from_file_to_predictions(write_spec, image_data, keras):
    path = write_spec(SPEC)
    assert tlspec.load_spec(path, ["train.epochs=2"])["train"]["epochs"] == 2
    validated = tlspec.validate(path, ["train.epochs=2"])
    assert [head.config.classes for head in validated.heads] == [["cat", "dog"]]
    assembly = tlspec.build(validated)
    # conv 3x3x3 -> 8 without bias (BatchNorm follows), BatchNorm 4 x 8, average pooling, Dense(2)
    assert assembly.model.count_params() == 3 * 3 * 3 * 8 + 4 * 8 + 8 * 2 + 2

    result = tlspec.train(validated, out="run", verbose=0)
    assert [row["epoch"] for row in result.history] == [1, 2] and result.is_chief
    evaluated = tlspec.evaluate("run", split="test")
    assert evaluated["test"]["animal"].pop("report")["confusion_matrix"]["classes"] == ["cat", "dog"]
    assert evaluated == {"test": result.metrics["test"]}
    cat = str(image_data / "test" / "cat" / "cat.0.jpg")
    (prediction,) = tlspec.predict("run", [cat])
    assert prediction["input"] == cat
    assert set(prediction["heads"]["animal"]["probabilities"]) == {"cat", "dog"}
    model = tlspec.load_model("run")
    assert model.count_params() == assembly.model.count_params()


def test_errors_are_the_ones_the_cli_reports(write_spec, image_data):
    with pytest.raises(tlspec.SpecError) as caught:
        tlspec.validate(write_spec(SPEC.replace("filters: [8]", "filter: [8]")))
    assert [str(problem).split(";")[0] for problem in caught.value.problems] == [
        "spec.yaml:4:1: backbone: missing required field 'filters'",
        "spec.yaml:4:57: backbone.filter: unknown field 'filter' (did you mean 'filters'?)"]
    with pytest.raises(tlspec.TlspecError, match="--worker-index needs --workers"):
        tlspec.train(write_spec(SPEC), worker_index=1)
    with pytest.raises(tlspec.TlspecError, match="overrides apply to a spec file"):
        tlspec.build(tlspec.validate(write_spec(SPEC)), ["train.epochs=1"])
