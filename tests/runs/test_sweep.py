"""`tlspec sweep`: seeds, a search that resumes where it stopped, and values checked before any trial."""

import json
from pathlib import Path

import pytest

from helpers import only_problem
from tlspec.errors import TlspecError
from tlspec.spec.validate import validate_file

pytest.importorskip("optuna")

SPEC = """
tlspec: 1
name: tiny-sweep
seed: 3
inputs:
  x: {shape: [2]}
backbone: {plugin: mlp, from: inputs.x, units: [4]}
heads:
  - {name: y, plugin: regression}
data:
  plugin: inline
  inputs: {x: [[1, 2], [0, 1], [2, 0], [1, 1], [0, 0], [2, 2], [1, 0], [0, 2]]}
  targets: {y: [3, 1, 2, 2, 0, 4, 1, 2]}
  validation: 0.25
  test: 0.25
train:
  batch_size: 4
  optimizer: {name: adam, learning_rate: 0.01}
  phases: [{name: fit, epochs: 3}]
sweep:
  trials: 2
  space:
    train.phases.fit.learning_rate: loguniform(1e-3, 1e-1)
    train.batch_size: choice(2, 4)
"""


def test_seeds_alone_give_mean_and_sd(write_spec, keras):
    from tlspec.runs.sweep import open_sweep, run_sweep

    sweep = open_sweep(write_spec(SPEC.replace("sweep:", "unused:").split("unused:")[0]), seeds=3, out="seeds")
    (row,) = run_sweep(sweep)
    assert row["state"] == "complete" and len(row["values"]) == 3 and len(row["runs"]) == 3
    assert [run.rsplit("/", 1)[-1] for run in row["runs"]] == ["seed-3", "seed-4", "seed-5"]
    mean, sd = row["test"]["y_loss"]
    assert sd > 0  # three seeds, three different results


def test_a_sweep_resumes_and_writes_its_best_spec(write_spec, keras):
    import optuna

    from tlspec.runs.sweep import best_row, open_sweep, run_sweep, write_best_spec

    spec = write_spec(SPEC)
    first = run_sweep(open_sweep(spec, out="sweep"))
    assert [row["state"] for row in first] == ["complete", "complete"]
    study = optuna.load_study(study_name="tlspec", storage="sqlite:///sweep/study.db")
    study.ask()  # a trial a kill left running
    again = open_sweep(spec, out="sweep", trials=3)
    rows = run_sweep(again)
    assert [row["state"] for row in rows][:3] == ["complete", "complete", "fail"]
    assert rows[3]["state"] in ("complete", "pruned")  # the budget counts on past the failed trial
    # the resumed start proposes afresh instead of replaying the first start's random proposals
    assert rows[3]["params"] not in (rows[0]["params"], rows[1]["params"])
    best = best_row(rows, again.maximize)
    assert best["value"] == min(row["value"] for row in rows if row["state"] == "complete")  # val_loss: lowest
    path = write_best_spec(again, best)
    with pytest.raises(TlspecError, match=r"^--best missing/best\.yaml: cannot write \(No such file or directory\); "
                                          "the sweep itself is kept in sweep, so run the same command with another"):
        write_best_spec(again, best, Path("missing/best.yaml"))
    written = validate_file(path)
    assert written.spec.train.phases[0].learning_rate == best["params"]["train.phases.fit.learning_rate"]
    assert written.spec.sweep is None and json.loads(json.dumps(rows))
    other = open_sweep(write_spec(SPEC.replace("choice(2, 4)", "choice(2, 8)"), "other.yaml"), out="sweep")
    with pytest.raises(TlspecError, match="^sweep holds a sweep of another space, seed count or monitor; give "):
        run_sweep(other)


def test_every_value_of_the_space_is_checked_before_a_trial(write_spec):
    from tlspec.errors import SpecError
    from tlspec.runs.sweep import open_sweep

    spec = write_spec(SPEC.replace("choice(2, 4)", "choice(2, -4)"))
    with pytest.raises(SpecError) as caught:
        open_sweep(spec)
    (problem,) = caught.value.problems
    assert str(problem) == ("spec.yaml:23:23: sweep.space.train.batch_size: train.batch_size = -4 does not fit the "
                            "spec: train.batch_size: input should be greater than 0; got -4")
    assert only_problem(write_spec(SPEC.replace("loguniform(1e-3, 1e-1)", "loguniform(0, 1)"))) == (
        "spec.yaml:22:37: sweep.space.train.phases.fit.learning_rate: loguniform(LOW, HIGH) needs LOW above 0, "
        "got 0")


def test_a_best_spec_written_elsewhere_keeps_finding_its_files(tmp_path):
    from tlspec.runs.sweep import _moved_paths

    (tmp_path / "specs" / "data").mkdir(parents=True)
    (tmp_path / "specs" / "data" / "train.csv").write_text("x\n")
    (tmp_path / "out" / "deep").mkdir(parents=True)
    data = {"data": {"train": "data/train.csv", "missing": "data/test.csv", "plugin": "table"},
            "heads": [{"name": "y.z", "loss": "mse"}], "seed": 3}
    assert _moved_paths(data, tmp_path / "specs", tmp_path / "out" / "deep") == {
        "data": {"train": "../../specs/data/train.csv", "missing": "data/test.csv", "plugin": "table"},
        "heads": [{"name": "y.z", "loss": "mse"}], "seed": 3}
