"""A run killed or interrupted anywhere continues with --resume (or restarts) to the same end.

Each case stops `tlspec train` at an exact point (see stop_at.py) with SIGKILL or SIGINT, then
continues it, and checks the finished run directory: eight epochs in two phases, run.json, the
kept model being the best epoch's, and no stray checkpoint files.
"""

import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import run_cli

STOP_AT = [sys.executable, str(Path(__file__).with_name("stop_at.py"))]

SPEC = """
tlspec: 1
name: killed
seed: 3
backbone: {plugin: mlp, from: inputs.x, units: [16]}
inputs:
  x: {shape: [4]}
heads: [{name: y, plugin: regression}]
data: {plugin: arrays, train: data.npz, validation: 0.25, inputs: {x: x}, targets: {y: y}}
train:
  batch_size: 16
  checkpoint: {monitor: val_loss}
  phases:
    - {name: first, epochs: 3}
    - {name: second, epochs: 5, learning_rate: 0.0005}
"""

# point -> (the command that continues the run, the epoch state.json names after the stop)
POINTS = {
    "first-epoch": ("restart", None),
    "checkpoint-save": ("resume", 4),
    "after-commit": ("resume", 8),
    "between-phases": ("resume", 3),
    "final-evaluation": ("resume", 8),
    "swallowed": ("resume", 4),
}
FAST = {("checkpoint-save", "SIGKILL")}  # SIGINT stays in the fast suite through swallowed-SIGINT
CASES = [pytest.param(point, name, marks=() if (point, name) in FAST else pytest.mark.slow, id=f"{point}-{name}")
         for point in POINTS if point != "swallowed" for name in ("SIGKILL", "SIGINT")] + [
    pytest.param("swallowed", "SIGINT", id="swallowed-SIGINT"),
    pytest.param("between-phases", "SIGTERM", marks=pytest.mark.slow, id="between-phases-SIGTERM")]
STOPPED = {"SIGINT": (130, "interrupted (Ctrl-C)"), "SIGTERM": (143, "terminated (SIGTERM)")}


@pytest.fixture
def run_spec(write_spec, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(320, 4)).astype("float32")
    np.savez(tmp_path / "data.npz", x=x, y=x @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32"))
    return write_spec(SPEC)


@pytest.mark.parametrize(("point", "signal_name"), CASES)
def test_a_stopped_run_continues_to_the_same_end(point, signal_name, run_spec, tmp_path):
    train = ["train", str(run_spec), "--out", "run", "--quiet"]
    stopped = subprocess.run([*STOP_AT, point, signal_name, *train], capture_output=True, text=True, timeout=300)
    run = tmp_path / "run"
    info = json.loads((run / "run.json").read_text())
    continue_with, committed = POINTS[point]
    if signal_name == "SIGKILL":
        assert stopped.returncode == -signal.SIGKILL
        assert info["status"] == "running"
    else:
        exit_code, reason = STOPPED[signal_name]
        assert stopped.returncode == exit_code, stopped.stderr[-2000:]
        assert (info["status"], info["stopped"]) == ("interrupted", reason)
        hint = "run interrupted; continue it with: tlspec train run --resume"
        assert (hint in stopped.stderr) == (continue_with == "resume")
    state = run / "state" / "state.json"
    assert (json.loads(state.read_text())["epoch"] if state.exists() else None) == committed

    if continue_with == "resume":
        continued = run_cli("train", "run", "--resume", "--quiet", cwd=tmp_path)
        assert f"resuming run after epoch {committed}" in continued.stdout
    else:
        refused = run_cli("train", "run", "--resume", "--quiet", cwd=tmp_path)
        assert refused.returncode == 1 and "run has no finished epoch to resume from; start a new run" in (
            refused.stderr)
        continued = run_cli(*train, cwd=tmp_path)
        assert "note: run holds a run that never finished an epoch; starting it again" in continued.stdout
    assert continued.returncode == 0, continued.stderr[-2000:]
    assert_finished(run)


def assert_finished(run: Path) -> None:
    rows = [line.split(",") for line in (run / "history.csv").read_text().splitlines()]
    columns = rows[0]
    rows = [dict(zip(columns, row)) for row in rows[1:]]
    assert [int(row["epoch"]) for row in rows] == list(range(1, 9))
    assert [row["phase"] for row in rows] == ["first"] * 3 + ["second"] * 5
    info = json.loads((run / "run.json").read_text())
    assert (info["status"], info["epochs"], "stopped" in info) == ("finished", 8, False)
    assert [(phase["name"], phase["epochs"]) for phase in info["phases"]] == [("first", 3), ("second", 5)]
    losses = [float(row["val_loss"]) for row in rows]
    best_epoch = int(np.argmin(losses)) + 1
    assert info["best"] == {"best": pytest.approx(losses[best_epoch - 1]), "best_epoch": best_epoch}
    # model.keras is the best epoch's model: evaluated again, it gives that epoch's validation loss
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["validation"]["y"]["loss"] == pytest.approx(losses[best_epoch - 1], rel=1e-3)
    assert all(math.isfinite(value) for split in metrics.values() for value in split["y"].values())
    assert sorted(path.name for path in (run / "state").iterdir()) == [
        "optimizer-8.npz", "state.json", "weights-8.npz"]
    assert not [path.name for path in run.rglob(".partial-*")]
