"""Every second of a run is accounted for: the stopwatch, run.json's timings and the console's time line."""

import json
import re
import sys
import time

import pytest

from helpers import SPECS, run_cli
from tlspec.training.stopwatch import Stopwatch, describe, process_age


def test_stages_add_up_and_the_rest_is_unaccounted():
    stopwatch = Stopwatch(before={"validate": 0.5})
    with stopwatch.stage("fit"):
        time.sleep(0.05)
    with stopwatch.stage("fit"):  # a stage timed twice adds up
        time.sleep(0.05)
    time.sleep(0.05)  # in no stage
    breakdown = stopwatch.breakdown()
    assert list(breakdown) == ["validate", "fit", "unaccounted", "total"]
    assert breakdown["validate"] == 0.5
    assert breakdown["fit"] == pytest.approx(0.1, abs=0.03)
    assert breakdown["unaccounted"] == pytest.approx(0.05, abs=0.03)
    assert breakdown["total"] == pytest.approx(0.65, abs=0.05)


def test_an_outer_stage_keeps_only_what_its_inner_stages_did_not_take():
    stopwatch = Stopwatch()
    with stopwatch.stage("set up"):
        time.sleep(0.05)
        with stopwatch.stage("extract features"):
            time.sleep(0.1)
    breakdown = stopwatch.breakdown()
    assert list(breakdown) == ["set up", "extract features", "unaccounted", "total"]  # in the order they began
    assert breakdown["set up"] == pytest.approx(0.05, abs=0.03)
    assert breakdown["extract features"] == pytest.approx(0.1, abs=0.03)
    assert breakdown["unaccounted"] == pytest.approx(0.0, abs=0.03)


def test_a_stage_that_raises_is_still_timed():
    stopwatch = Stopwatch()
    with pytest.raises(ValueError), stopwatch.stage("load data"):
        raise ValueError("bad row")
    assert "load data" in stopwatch.breakdown()


def test_the_console_line():
    assert describe({"validate": 0.25, "fit": 10.04, "unaccounted": 0.0, "total": 10.29}) == (
        "time 10.3 s: validate 0.2 s, fit 10.0 s, unaccounted 0.0 s")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the process's start time is read from /proc")
def test_the_process_age_is_read_from_proc():
    age = process_age()
    assert age is not None and 0 < age < 24 * 3600


@pytest.mark.slow  # a whole CLI run (15 s); the stopwatch units stay fast
def test_a_cli_run_accounts_for_every_second(tmp_path):
    result = run_cli("train", SPECS / "multitask_dense.yaml", "--out", tmp_path / "run", "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    timings = json.loads((tmp_path / "run" / "run.json").read_text())["timings"]
    assert list(timings) == [
        "start-up", "scan data", "validate", "TensorFlow start-up", "open run", "build model", "plan features",
        "load data", "phase train: set up", "phase train: fit", "prepare evaluation", "evaluate train",
        "evaluate validation", "evaluate test", "save", "plot curves", "unaccounted", "total"]
    stages = {name: seconds for name, seconds in timings.items() if name != "total"}
    assert sum(stages.values()) == pytest.approx(timings["total"], abs=0.1)  # each is rounded to 10 ms
    assert timings["unaccounted"] <= 0.05 * timings["total"] + 0.2
    assert timings["TensorFlow start-up"] > 0.5  # TensorFlow is imported here, not before the spec is read
    line = next(line for line in result.stdout.splitlines() if line.startswith("time "))
    assert re.fullmatch(r"time [\d.]+ s: start-up [\d.]+ s, scan data [\d.]+ s, .*, unaccounted [\d.]+ s", line)
