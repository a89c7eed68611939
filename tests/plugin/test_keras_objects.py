"""A plugin's own losses, metrics and layers: declared by name, known to validate, registered before every
build and load; and what a head's output means, declared by the head."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

import numpy as np
import pytest

from helpers import REPO, SPECS, run_cli, spec_problems
from tlspec.api import HeadOutput, KerasObject, describe_output, hookimpl
from tlspec.errors import TlspecError
from tlspec.plugin.manager import Origin, discover

CORAL = SPECS / "ordinal_coral.yaml"


def registry_with(*declarations, distribution="tlspec-objects"):
    module = types.ModuleType("objects_plugin")
    module.tlspec_keras_objects = hookimpl(lambda: list(declarations))
    return discover([(module, Origin("objects", distribution, "1.0"))])


def test_bad_declarations_fail_their_plugin_by_name():
    registry = registry_with(
        KerasObject("loss", "mse", "pkg.mod:mse"),
        KerasObject("optimizer", "fancy", "pkg.mod:fancy"),
        KerasObject("metric", "good_metric", "not a path"),
        KerasObject("loss", "coral_loss", "pkg.mod:other"),
        "a string",
        KerasObject("metric", "kept", "pkg.mod:kept"),
    )
    assert [failure.error for failure in registry.failures] == [
        "Keras object 'mse' would hide Keras' own 'mse'; choose another name",
        "Keras object 'fancy': kind must be one of loss, metric, layer, object",
        "Keras object 'good_metric': target must be 'package.module:attribute', got 'not a path'",
        "Keras object name 'coral_loss' is already provided by tlspec-example (small_cnn); ignored",
        "tlspec_keras_objects() returned 'a string', not a tlspec.api.KerasObject",
    ]
    assert registry.keras_object_names("metric") == ["coral_mae", "kept"]


def test_plugins_command_lists_the_keras_objects():
    result = run_cli("plugins", "--json", timeout=120)
    listed = {(p["kind"], p["name"]): (p["distribution"], p["summary"]) for p in json.loads(result.stdout)["plugins"]}
    assert listed[("keras loss", "coral_loss")] == ("tlspec-example", "tlspec_example.coral_keras:coral_loss")
    assert listed[("keras layer", "CoralOutput")] == ("tlspec-example", "tlspec_example.coral_keras:CoralOutput")


def test_validate_knows_plugin_losses_and_metrics_with_did_you_mean(write_spec):
    text = CORAL.read_text().replace("data/ordinal.csv", str(SPECS / "data" / "ordinal.csv"))
    spec = write_spec(text.replace("    classes: from_data\n",
                                   "    classes: from_data\n    loss: coral_los\n    metrics: [coral_ma, mae]\n"))
    assert spec_problems(spec) == [
        "spec.yaml:22:11: heads[0].loss: unknown Keras loss 'coral_los' (did you mean 'coral_loss'?)",
        "spec.yaml:23:15: heads[0].metrics[0]: unknown Keras metric 'coral_ma' (did you mean 'coral_mae'?)",
    ]


def test_an_object_that_cannot_be_imported_stops_the_build_naming_its_plugin(keras):
    from tlspec.model.custom_objects import register_plugin_objects

    registry = registry_with(KerasObject("layer", "Missing", "tlspec_no_such_module.layers:Missing"))
    with pytest.raises(TlspecError) as caught:
        register_plugin_objects(registry)
    assert str(caught.value) == (
        "plugin 'objects' from tlspec-objects 1.0: its layer 'Missing' cannot be imported from "
        "tlspec_no_such_module.layers:Missing (ModuleNotFoundError: No module named 'tlspec_no_such_module')")


def test_describe_output_by_target_encoding():
    names = ("cat", "dog", "cow")
    assert describe_output(HeadOutput("labels", names), [0.1, 0.7, 0.2]) == {
        "label": "dog", "probability": 0.7, "probabilities": {"cat": 0.1, "dog": 0.7, "cow": 0.2}}
    assert describe_output(HeadOutput("multi_hot", names), [0.9, 0.2, 0.6])["label"] == ["cat", "cow"]
    assert describe_output(HeadOutput(), [1.5, -2.0]) == {"values": [1.5, -2.0]}
    with pytest.raises(ValueError, match="HeadOutput.targets must be one of values, labels, one_hot, multi_hot"):
        HeadOutput("ranks")


def test_coral_prediction_is_the_number_of_boundaries_passed():
    from tlspec_example.coral import Coral, CoralConfig

    head, config = Coral(), CoralConfig(name="grade", plugin="coral", classes=["low", "mid", "high", "top"])
    logits = np.log(np.array([0.9, 0.6, 0.2]) / (1 - np.array([0.9, 0.6, 0.2])))  # P(y > k) = .9, .6, .2
    described = head.describe_prediction(config, head.output(config), logits)
    assert (described["label"], described["rank"], described["probability"]) == ("high", 2, pytest.approx(0.4))
    assert described["probabilities"] == pytest.approx({"low": 0.1, "mid": 0.3, "high": 0.4, "top": 0.2})


@pytest.mark.slow  # the full suite runs it; the fast one stays near 5 minutes
def test_a_plugin_head_with_its_own_loss_metric_and_layer_trains_evaluates_and_predicts(tmp_path):
    """Fresh processes, as a user runs them: the model holds the plugin's layer and reloads in safe mode;
    predict works with the training data moved away, from the state the data source saved."""
    (tmp_path / "data").mkdir()
    shutil.copy(SPECS / "data" / "ordinal.csv", tmp_path / "data")
    shutil.copy(CORAL, tmp_path)
    train = run_cli("train", CORAL.name, "--out", "run", "--quiet", "--set", "train.epochs=25", cwd=tmp_path,
                    timeout=300)
    assert train.returncode == 0, train.stderr[-2000:]
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["plugins"] == {"tlspec-example": "0.1.0"}
    assert info["heads"]["grade"] == {"plugin": "coral", "loss": "coral_loss", "targets": "labels",
                                      "classes": ["poor", "fair", "good", "very_good", "excellent"]}
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["grade"]["coral_mae"] < 0.5  # grades off by less than half a grade on average
    evaluated = run_cli("evaluate", "run", "--split", "test", "--json", cwd=tmp_path, timeout=120)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads(evaluated.stdout)["test"]["grade"] == pytest.approx(metrics["test"]["grade"], rel=1e-4)
    state = json.loads((tmp_path / "run" / "data_state.json").read_text())
    assert state["features"] == ["f1", "f2", "f3", "f4"] and len(state["mean"]) == 4

    (tmp_path / "data" / "ordinal.csv").rename(tmp_path / "elsewhere.csv")
    predicted = run_cli("predict", "run", "--json", "--", "1.5,-1.0,0.8,0.5", "-1.5,1.2,-0.5,-0.4", cwd=tmp_path,
                        timeout=120)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    grades = [item["heads"]["grade"] for item in json.loads(predicted.stdout)]
    assert [(grade["label"], grade["rank"]) for grade in grades] == [("excellent", 4), ("poor", 0)]
    assert all(sum(grade["probabilities"].values()) == pytest.approx(1.0) for grade in grades)

    without = subprocess.run([sys.executable, "-S", "-m", "tlspec.cli", "predict", "run", "--", "1,2,3,4"],
                             cwd=tmp_path, env=environment_without("tlspec_example", tmp_path), capture_output=True,
                             text=True, timeout=120)
    assert (without.returncode, without.stderr.strip()) == (
        1, "error: run was trained with plugins from tlspec-example 0.1.0, not installed here: "
           "pip install 'tlspec-example==0.1.0'")


def environment_without(package: str, tmp_path: Path) -> dict:
    """An environment (for ``python -S``) that sees this venv's packages except ``package``: its files are
    left out of a copy of site-packages made of links, and .pth files (editable installs) are not run."""
    site = Path(sysconfig.get_paths()["purelib"])
    farm = tmp_path / "site-without"
    farm.mkdir()
    for entry in site.iterdir():
        if package not in entry.name and not entry.name.endswith(".pth"):
            (farm / entry.name).symlink_to(entry)
    path = os.pathsep.join([str(farm), str(REPO), str(REPO / "plugins")])  # tlspec and its built-ins
    return {**os.environ, "PYTHONPATH": path}
