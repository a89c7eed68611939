"""Trackers: a real MLflow tracking server on 127.0.0.1, TensorBoard event files, and what goes wrong."""

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import CNN_SPEC, only_problem
from tlspec.errors import TlspecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tracked_spec(write_spec, track: str):
    return write_spec(CNN_SPEC.format(augmentation="", cache="").replace("train:\n", f"track: {track}\ntrain:\n", 1))


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    pytest.importorskip("mlflow")
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if mlflow is None:
        pytest.skip("the mlflow command is not installed")
    root, port = tmp_path_factory.mktemp("mlflow"), free_port()
    server = subprocess.Popen([mlflow, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                               "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
                               "--artifacts-destination", str(root / "artifacts")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    uri = f"http://127.0.0.1:{port}"
    import urllib.request

    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the MLflow server did not start: {server.communicate()[1][-2000:]}")
            time.sleep(0.5)
    yield uri
    server.terminate()
    server.wait(timeout=30)


@pytest.mark.slow  # a real tracking server takes about 10 s to start
def test_mlflow_receives_params_metrics_and_artifacts(write_spec, image_data, mlflow_server, keras):
    from mlflow.tracking import MlflowClient

    import tlspec

    spec = tracked_spec(write_spec, f"[{{plugin: mlflow, tracking_uri: '{mlflow_server}', experiment: colours-e2e}}]")
    result = tlspec.train(spec, out="run", verbose=0)
    client = MlflowClient(tracking_uri=mlflow_server)
    (tracked,) = client.search_runs([client.get_experiment_by_name("colours-e2e").experiment_id])
    assert tracked.info.status == "FINISHED" and tracked.info.run_name == "run"
    assert tracked.data.params["backbone.plugin"] == "small_cnn"
    assert tracked.data.params["train.phases.1.learning_rate"] == "0.001"
    history = client.get_metric_history(tracked.info.run_id, "val_accuracy")
    assert [m.step for m in history] == list(range(1, 9))
    assert [m.value for m in history] == [row["val_accuracy"] for row in result.history]
    assert tracked.data.metrics["test_animal_accuracy"] == result.metrics["test"]["animal"]["accuracy"]
    files = {entry.path for entry in client.list_artifacts(tracked.info.run_id)}
    assert {"model.keras", "report.html", "metrics.json", "curves.png", "spec.yaml"} <= files
    report = Path(client.download_artifacts(tracked.info.run_id, "report.html", "."))
    assert "<h1 id='title'>colours</h1>" in report.read_text(encoding="utf-8")
    assert json.loads(Path("run/trackers.json").read_text())["0"]["run_id"] == tracked.info.run_id


def test_an_unreachable_server_stops_the_run_before_training(write_spec, image_data, keras):
    pytest.importorskip("mlflow")
    port = free_port()
    spec = tracked_spec(write_spec, f"[{{plugin: mlflow, tracking_uri: 'http://127.0.0.1:{port}'}}]")
    with pytest.raises(TlspecError) as caught:
        train(validate_file(spec), out="run", verbose=0)
    assert str(caught.value).startswith(f"track[0] (mlflow) cannot follow this run: no MLflow tracking server "
                                        f"answers at http://127.0.0.1:{port} (")
    assert str(caught.value).endswith("); start one (mlflow server) or fix tracking_uri")
    assert not Path("run/history.csv").exists()


def test_tracker_sections_are_checked_by_validate(write_spec, image_data):
    spec = tracked_spec(write_spec, "[{plugin: mlflow, tracking_uri: 'htp://x'}]")
    assert only_problem(spec) == ("spec.yaml:15:40: track[0].tracking_uri: tracking_uri 'htp://x': unknown "
                                  "scheme 'htp'; use one of http, https, file, sqlite, postgresql, mysql, mssql, "
                                  "databricks, or a folder")
    assert only_problem(tracked_spec(write_spec, "[mlfow]")) == (
        "spec.yaml:15:9: track[0].plugin: unknown tracker plugin 'mlfow' (did you mean 'mlflow'?); installed "
        "tracker plugins: 'mlflow', 'tensorboard'")


def test_tensorboard_writes_every_epoch_and_a_failing_tracker_is_dropped(write_spec, image_data, keras):
    import tensorflow as tf

    from tlspec.plugin.tracking import TrackerSession
    from tlspec.training.records import RunInfo
    from tlspec.training.tracking import Trackers

    train(validate_file(tracked_spec(write_spec, "[tensorboard]")), out="run", verbose=0)
    (events,) = Path("run/tensorboard/tracker").glob("events.out.tfevents.*")
    tags = {}
    for record in tf.data.TFRecordDataset(str(events)):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
            tags.setdefault(value.tag, []).append(event.step)
    assert tags["val_accuracy"] == list(range(1, 9)) and "spec" in tags

    class Broken(TrackerSession):
        def log_params(self, params): ...
        def log_metrics(self, metrics, step): raise ConnectionError("the server went away")
        def log_artifact(self, path): ...
        def close(self, status): ...

    info = RunInfo("0.1.0", "colours", "spec.yaml", ".", {}, {})
    section = validate_file(tracked_spec(write_spec, "[tensorboard]")).trackers[0]
    trackers = Trackers(None, info, [(section, Broken())])
    trackers.epoch({"epoch": 1, "phase": "head", "loss": 0.5})
    trackers.epoch({"epoch": 2, "phase": "head", "loss": 0.4})  # dropped after the first failure: one note
    assert trackers.sessions == [] and len(info.notes) == 1
    assert info.notes[0].startswith("tracker plugin 'tensorboard' (tlspec 0.1.0) failed in its session's "
                                    "log_metrics(): ConnectionError: the server went away")
