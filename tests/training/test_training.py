"""`tlspec train`, `evaluate`, `predict`: run directories, phases, feature caching, resume."""

import json
import signal
import subprocess
import time

import numpy as np
import pytest

from helpers import SPECS, TLSPEC, cnn_spec, run_cli
from tlspec.errors import TlspecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train


def test_lecture_multitask_run_directory(tmp_path, keras):
    result = train(validate_file(SPECS / "multitask_dense.yaml"), out=tmp_path / "run", verbose=0)
    run = result.run.path
    assert sorted(p.name for p in run.iterdir()) == ["curves.png", "data.json", "history.csv", "metrics.json",
                                                    "model.keras", "run.json", "spec.yaml", "state"]
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["epochs"] == 2
    assert info["heads"]["o1"]["loss"] == "mse"
    history = (run / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,phase,seconds,learning_rate,loss,o1_loss,o1_mae,o2_loss,o2_mae,val_loss")
    assert [line.split(",")[0] for line in history[1:]] == ["1", "2"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics) == {"train", "validation"}
    assert set(metrics["validation"]["o1"]) == {"loss", "mae"}
    reloaded = keras.saving.load_model(run / "model.keras", safe_mode=True)
    assert reloaded.count_params() == 66
    assert (run / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_phases_cache_frozen_features_then_fine_tune(write_spec, image_data, keras):
    validated = validate_file(cnn_spec(write_spec))
    result = train(validated, out="run", verbose=0)
    info = json.loads((result.run.path / "run.json").read_text())
    assert [(p["name"], p["epochs"], p["cached_features"]) for p in info["phases"]] == [
        ("head", 6, True), ("finetune", 2, False)]
    assert [name for name in info["timings"] if name.startswith("phase ")] == [
        "phase head: set up", "phase head: extract features", "phase head: fit", "phase finetune: set up",
        "phase finetune: fit"]  # the frozen phase extracts its features once, the fine-tuning phase none
    assert [(row["epoch"], row["phase"]) for row in result.history] == [
        (epoch, "head") for epoch in range(1, 7)] + [(7, "finetune"), (8, "finetune")]
    assert result.history[6]["learning_rate"] == pytest.approx(0.001)
    assert result.metrics["test"]["animal"]["accuracy"] >= 0.9
    assert info["heads"]["animal"]["classes"] == ["cat", "dog"]
    best_epoch = info["best"]["best_epoch"]
    assert result.history[best_epoch - 1]["val_accuracy"] == max(r["val_accuracy"] for r in result.history)


def test_frozen_features_are_extracted_for_the_fitted_splits_only(write_spec, image_data, keras, monkeypatch):
    from tlspec.training import feature_cache, feature_plan

    extracted = []
    real_splits, real_ahead = feature_cache.cached_splits, feature_plan.FeaturePlan.extract_ahead

    def recording(models, datasets, store=None):
        extracted.append(sorted(datasets))
        return real_splits(models, datasets, store)

    def recording_ahead(plan, datasets, stores):
        extracted.append(sorted(datasets))
        return real_ahead(plan, datasets, stores)

    # features are extracted either ahead, for every cached phase at once, or by the phase itself
    monkeypatch.setattr(feature_cache, "cached_splits", recording)
    monkeypatch.setattr(feature_plan.FeaturePlan, "extract_ahead", recording_ahead)
    result = train(validate_file(cnn_spec(write_spec), ["train.phases=[{name: head, epochs: 1}]"]), out="run",
                   verbose=0)
    assert extracted == [["train", "validation"]]  # the test split is evaluated on the whole model, never fitted
    assert set(result.metrics) == {"train", "validation", "test"}


def test_augmentation_means_no_cache_and_cache_true_says_why(write_spec, image_data, keras):
    path = cnn_spec(write_spec, augmentation="augmentation: {flip: horizontal}", cache="cache_features: true")
    with pytest.raises(TlspecError) as caught:
        train(validate_file(path), out="run", verbose=0)
    assert str(caught.value) == ("train.cache_features is true but the features cannot be cached: "
                                 "the data applies random augmentation to training inputs")


def test_cached_and_uncached_training_agree(write_spec, image_data, keras):
    accuracies = {}
    for cache in ("true", "false"):
        path = cnn_spec(write_spec, cache=f"cache_features: {cache}")
        result = train(validate_file(path, ["train.phases=[{name: head, epochs: 6}]"]), out=f"run-{cache}",
                       verbose=0)
        accuracies[cache] = result.metrics["test"]["animal"]["accuracy"]
    assert accuracies["true"] >= 0.9 and accuracies["false"] >= 0.9


RESUMABLE = """
tlspec: 1
name: resumable
seed: 1
backbone: {plugin: mlp, from: inputs.x, units: [64, 64]}
inputs:
  x: {shape: [20]}
heads: [{name: y, plugin: regression}]
data: {plugin: arrays, train: data.npz, validation: 0.2, inputs: {x: x}, targets: {y: y}}
train:
  batch_size: 16
  phases:
    - {name: first, epochs: 3}
    - {name: second, epochs: 5, learning_rate: 0.0005}
"""


@pytest.mark.slow  # 13 s; test_kill_and_resume.py stops runs at every point in the fast suite
def test_killed_run_resumes_with_the_right_epochs(write_spec, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6000, 20)).astype("float32")
    np.savez(tmp_path / "data.npz", x=x, y=x.sum(axis=1))
    path = write_spec(RESUMABLE)
    command = [*TLSPEC, "train", str(path), "--out", "run", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "run" / "state" / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = json.loads(state.read_text())["epoch"]
    assert 2 <= killed_at < 8
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "running"

    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming run after epoch {killed_at}" in resumed.stdout
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(1, 9))
    assert [r.split(",")[1] for r in rows] == ["first"] * 3 + ["second"] * 5
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (info["status"], info["epochs"]) == ("finished", 8)
    assert [(phase["name"], phase["epochs"]) for phase in info["phases"]] == [("first", 3), ("second", 5)]

    again = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "has already finished; nothing to resume" in again.stderr


@pytest.mark.slow  # 15 s; the kill harness's SIGINT cases run in the fast suite
def test_interrupted_run_says_so_and_resumes(write_spec, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6000, 20)).astype("float32")
    np.savez(tmp_path / "data.npz", x=x, y=x.sum(axis=1))
    path = write_spec(RESUMABLE)
    command = [*TLSPEC, "train", str(path), "--out", "run", "--quiet"]
    # SIGINT as a terminal sends it; a CI job run in the background starts its children with SIGINT ignored
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    state = tmp_path / "run" / "state" / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline and not (state.exists() and json.loads(state.read_text())["epoch"] >= 4):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    code, errors = process.wait(timeout=120), process.stderr.read()
    assert code == 130, errors[-3000:]
    assert errors.strip().splitlines()[-2:] == [
        "run interrupted; continue it with: tlspec train run --resume", "interrupted"]
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (info["status"], info["stopped"]) == ("interrupted", "interrupted (Ctrl-C)")

    changed = run_cli("train", path, "--out", "run", "--quiet", "--resume", "--set", "train.phases.second.epochs=6",
                      "--set", "seed=2")
    assert changed.returncode == 1
    assert "was started with (run/spec.yaml) at seed, train.phases.second.epochs; resume with the same" in (
        changed.stderr)
    resumed = run_cli("train", "run", "--resume", "--quiet", cwd=tmp_path)  # the run's own spec: no path, no --set
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (info["status"], info["epochs"], "stopped" in info) == ("finished", 8, False)
    assert [(phase["name"], phase["epochs"]) for phase in info["phases"]] == [("first", 3), ("second", 5)]


def test_balanced_class_weights():
    import tensorflow as tf

    from tlspec.model.targets import HeadTarget, class_weight_tables

    labels = np.array([0] * 30 + [1] * 10, dtype="int32")
    dataset = tf.data.Dataset.from_tensor_slices(({"x": np.zeros((40, 1))}, {"a": labels})).batch(8)
    target = HeadTarget("a", "labels", ["cat", "dog"], 2)
    tables = class_weight_tables({"a": "balanced"}, [target], dataset)
    np.testing.assert_allclose(tables["a"], [40 / (2 * 30), 40 / (2 * 10)])
    assert class_weight_tables({"a": {"dog": 3.0}}, [target], dataset)["a"].tolist() == [1.0, 3.0]
    with pytest.raises(TlspecError, match="unknown class 'cow'"):
        class_weight_tables({"a": {"cow": 3.0}}, [target], dataset)


def test_tensorboard_logs_are_written(tmp_path, keras):
    result = train(validate_file(SPECS / "multitask_dense.yaml", ["train.tensorboard=true"]), out=tmp_path / "run",
                   verbose=0)
    events = sorted(p.parent.name for p in (result.run.path / "tensorboard").rglob("events.out.tfevents.*"))
    assert events == ["train", "validation"]


@pytest.mark.slow  # the full suite runs it; the fast one stays near 5 minutes
def test_a_loss_that_is_not_finite_stops_training_and_the_run_restarts_in_place(tmp_path):
    exploding = "train.optimizer={name: sgd, learning_rate: 1.0e+30}"
    command = ["train", SPECS / "multitask_dense.yaml", "--out", tmp_path / "run", "--quiet", "--set", exploding]
    result = run_cli(*command)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "error: training stopped at epoch 1 (phase train): val_loss = inf, val_o1_loss = inf, val_o2_loss = inf. "
        "Likely causes: a learning rate too high (1e+30 in this phase), NaN or infinite values in the input data, "
        "or targets the head's loss cannot take; no epoch finished: fix the cause and train again into the same "
        "--out")
    assert not (tmp_path / "run" / "state" / "state.json").exists()
    again = run_cli(*command[:-2])
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"note: {tmp_path / 'run'} holds a run that never finished an epoch; starting it again" in again.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics) == {"train", "validation"}


def test_metrics_that_are_not_finite_are_written_as_json_null(tmp_path):
    from tlspec.training.rundir import RunDir

    run = RunDir(tmp_path)
    run.write_json("metrics.json", {"test": {"o": {"loss": float("nan"), "mae": np.float32("inf"), "n": 3}}})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"test": {"o": {"loss": None, "mae": None, "n": 3}}}


def test_damaged_run_files_are_named_not_internal_errors(tmp_path):
    from tlspec.plugin.data import DataDescription
    from tlspec.training.rundir import RunDir

    run = RunDir(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "run.json").write_text("{bad")
    (tmp_path / "state" / "state.json").write_text('{"epoch": [')
    (tmp_path / "data.json").write_text('{"inputs": 3}')
    with pytest.raises(TlspecError, match=r"run.json is damaged: it is not JSON \(Expecting property name enclosed "
                                          r"in double quotes: line 1 column 2 \(char 1\)\); train the run again"):
        run.read_info()
    with pytest.raises(TlspecError, match=r"state.json is damaged: it is not JSON"):
        run.read_state()
    with pytest.raises(TlspecError, match=r"data.json is damaged: it does not hold what tlspec writes there "
                                          r"\(AttributeError: 'int' object has no attribute 'items'\)"):
        run.read_record("data.json", DataDescription.from_json)
    with pytest.raises(TlspecError, match=r"cannot read .*metrics.json: No such file or directory"):
        run.read_json("metrics.json")
