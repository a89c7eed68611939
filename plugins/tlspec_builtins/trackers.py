"""Trackers: ``tensorboard`` (scalars per epoch, the spec as text) and ``mlflow`` (the ``track`` extra).

``mlflow`` logs to any tracking URI (a server ``http://host:5000``, ``sqlite:///mlflow.db``, a folder);
by default to a local store beside the spec, ``mlflow.db`` with artifacts in ``mlartifacts`` (or
``MLFLOW_TRACKING_URI`` when set). A server
that does not answer stops the run before training, not after.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import Field

from tlspec.api import PlanError, TrackedRun, Tracker, TrackerConfig, TrackerSession, hookimpl

TRACK_EXTRA = "pip install 'tlspec[track]'"
URI_SCHEMES = ("http", "https", "file", "sqlite", "postgresql", "mysql", "mssql", "databricks")
STATUS = {"finished": "FINISHED", "interrupted": "KILLED", "failed": "FAILED"}
PARAM_BATCH = 100  # MLflow takes at most 100 parameters per call
PARAM_LENGTH = 6000  # and values of at most 6,000 characters


class TensorBoardConfig(TrackerConfig):
    log_dir: str | None = Field(None, description="Where the event files go; default: <run>/tensorboard/tracker.")


class TensorBoardSession(TrackerSession):
    def __init__(self, log_dir: Path):
        import tensorflow as tf

        self.tf = tf
        self.writer = tf.summary.create_file_writer(str(log_dir))

    def log_params(self, params):
        table = "\n".join(f"| {key} | {value} |" for key, value in params.items())
        with self.writer.as_default():
            self.tf.summary.text("spec", f"| field | value |\n|---|---|\n{table}", step=0)

    def log_metrics(self, metrics, step):
        with self.writer.as_default():
            for name, value in metrics.items():
                self.tf.summary.scalar(name, value, step=step)
        self.writer.flush()

    def log_artifact(self, path):
        pass  # TensorBoard keeps no files; the run directory has them

    def close(self, status):
        self.writer.close()


class TensorBoard(Tracker):
    name = "tensorboard"
    summary = "TensorBoard scalars of every epoch and the resolved spec as text (tensorboard --logdir RUN)."
    Config = TensorBoardConfig

    def open(self, config: TensorBoardConfig, run: TrackedRun) -> TrackerSession:
        log_dir = run.spec_dir / config.log_dir if config.log_dir else run.run_dir / "tensorboard" / "tracker"
        return TensorBoardSession(log_dir)


class MlflowConfig(TrackerConfig):
    tracking_uri: str | None = Field(None, description="Where runs go: http(s)://server, sqlite:///file.db, a "
                                                       "folder; default: MLFLOW_TRACKING_URI, else a local store "
                                                       "beside the spec (mlflow.db, artifacts in mlartifacts).")
    experiment: str | None = Field(None, min_length=1, description="Experiment name; default: the spec's name.")
    run_name: str | None = Field(None, min_length=1, description="Default: the run directory's name.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags of the MLflow run.")


class MlflowSession(TrackerSession):
    def __init__(self, client, run_id: str):
        self.client, self.run_id = client, run_id

    def log_params(self, params):
        from mlflow.entities import Param

        entries = [Param(key[:250], value[:PARAM_LENGTH]) for key, value in params.items()]
        for start in range(0, len(entries), PARAM_BATCH):
            self.client.log_batch(self.run_id, params=entries[start:start + PARAM_BATCH])

    def log_metrics(self, metrics, step):
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        entries = [Metric(name, value, now, step) for name, value in metrics.items()]
        if entries:
            self.client.log_batch(self.run_id, metrics=entries)

    def log_artifact(self, path):
        self.client.log_artifact(self.run_id, str(path))

    def close(self, status):
        self.client.set_terminated(self.run_id, STATUS.get(status, "FAILED"))

    def state(self):
        return {"run_id": self.run_id, "tracking_uri": self.client.tracking_uri}


class Mlflow(Tracker):
    name = "mlflow"
    summary = "MLflow runs: the spec as parameters, metrics per epoch, the model and the report as artifacts."
    Config = MlflowConfig

    def check(self, config: MlflowConfig) -> None:
        if importlib.util.find_spec("mlflow") is None:
            raise PlanError(f"the mlflow tracker needs mlflow, not installed here: {TRACK_EXTRA}")
        uri = config.tracking_uri
        if uri and "://" in uri and uri.split("://", 1)[0].split("+", 1)[0] not in URI_SCHEMES:
            raise PlanError(f"tracking_uri {uri!r}: unknown scheme '{uri.split('://', 1)[0]}'; use one of "
                            f"{', '.join(URI_SCHEMES)}, or a folder", ("tracking_uri",))

    def open(self, config: MlflowConfig, run: TrackedRun) -> TrackerSession:
        self.check(config)
        for chatty in ("mlflow", "alembic"):  # "Creating initial MLflow database tables..." is not news
            logging.getLogger(chatty).setLevel(logging.WARNING)
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")  # an absent server: seconds, not minutes
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
        from mlflow.tracking import MlflowClient

        uri, artifacts = _tracking_uri(config, run)
        _check_reachable(uri)
        try:
            client = MlflowClient(tracking_uri=uri)
            previous = run.previous or {}
            if previous.get("run_id") and previous.get("tracking_uri") == uri:
                client.update_run(previous["run_id"], status="RUNNING")  # --resume: the same MLflow run goes on
                return MlflowSession(client, previous["run_id"])
            name = config.experiment or run.name
            experiment = client.get_experiment_by_name(name)
            experiment_id = (experiment.experiment_id if experiment is not None
                             else client.create_experiment(name, artifact_location=artifacts))
            tags = {"tlspec.run_dir": str(run.run_dir.resolve()), **config.tags}
            created = client.create_run(experiment_id, run_name=config.run_name or run.run_dir.name, tags=tags)
        except Exception as error:  # MlflowException and the database's and network's errors: the store refuses
            first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
            raise PlanError(f"MLflow at {uri} refused: {first}") from None
        return MlflowSession(client, created.info.run_id)


def _tracking_uri(config: MlflowConfig, run: TrackedRun) -> tuple[str, str | None]:
    """The tracking URI, and where a new experiment keeps its artifacts (None: the store decides).

    The default is a local SQLite store beside the spec: MLflow 3 keeps its folder store only in
    maintenance mode and refuses it unless asked, which a folder given as ``tracking_uri`` does.
    """
    uri = config.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return f"sqlite:///{(run.spec_dir / 'mlflow.db').resolve()}", (run.spec_dir / "mlartifacts").resolve().as_uri()
    if "://" not in uri and not uri.startswith(("sqlite:", "file:", "databricks")):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # a folder, asked for by name
        return (run.spec_dir / uri).resolve().as_uri(), None
    return uri, None


def _check_reachable(uri: str) -> None:
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=10) as answer:
            answer.read(100)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise PlanError(f"no MLflow tracking server answers at {uri} ({reason}); start one (mlflow server) or "
                        "fix tracking_uri") from None


@hookimpl
def tlspec_trackers() -> list[Any]:
    return [TensorBoard(), Mlflow()]
