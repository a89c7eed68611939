"""Data-parallel training: the cluster description, the spec section, and real multi-process runs."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import REPO, SPECS, TLSPEC
from helpers import spec_problems as problems_of
from tlspec.distribute.cluster import Cluster, from_tf_config, local_addresses, resolve
from tlspec.errors import TlspecError
from tlspec.spec.validate import validate_file

TOY = str(REPO / "tests" / "distribute" / "multi_worker_toy.py")
SMALL = ["--set", "train.epochs=2", "--set", "data.train=40", "--set", "data.validation=10",
         "--set", "data.test=10", "--quiet"]


# --- which worker this process is -------------------------------------------------------------

def test_workers_from_the_command_line_make_the_run_multi_worker():
    kind, cluster, notes = resolve("none", None, "10.0.0.1:2222, 10.0.0.2:2222", 1, {})
    assert kind == "multi_worker" and notes == []
    assert cluster.addresses == ["10.0.0.1:2222", "10.0.0.2:2222"]
    assert (cluster.rank, cluster.is_chief, cluster.size) == (1, False, 2)
    assert json.loads(cluster.tf_config()) == {"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]},
                                                "task": {"type": "worker", "index": 1}}


def test_tf_config_with_a_chief():
    config = {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]}, "task": {"type": "worker", "index": 0}}
    kind, cluster, _ = resolve("multi_worker", None, None, None, {"TF_CONFIG": json.dumps(config)})
    assert kind == "multi_worker"
    assert cluster.addresses == ["a:1", "b:1", "c:1"]
    assert (cluster.rank, cluster.is_chief) == (1, False)
    assert from_tf_config(json.dumps({**config, "task": {"type": "chief", "index": 0}})).is_chief


def test_spec_workers_need_the_index():
    with pytest.raises(TlspecError, match=r"workers come from distribute.workers; pass --worker-index N"):
        resolve("multi_worker", ["a:1", "b:1"], None, None, {})
    _, cluster, _ = resolve("multi_worker", ["a:1", "b:1"], None, 0, {})
    assert cluster == Cluster({"worker": ("a:1", "b:1")}, "worker", 0, "distribute.workers")


def test_tf_config_is_ignored_with_a_note_when_the_spec_trains_alone():
    kind, cluster, notes = resolve("none", None, None, None, {"TF_CONFIG": "{}"})
    assert (kind, cluster) == ("none", None)
    assert notes == ["TF_CONFIG is set but distribute.strategy is none; this process trains alone "
                     "(use strategy: multi_worker or --workers)"]


@pytest.mark.parametrize("strategy, spec_workers, workers, index, environ, message", [
    ("none", None, "a:1,b", 0, {}, "--workers: 'b' is not host:port (e.g. 10.0.0.5:12345)"),
    ("none", None, "a:1,a:1", 0, {}, "--workers: 'a:1' appear more than once; every worker needs its own port"),
    ("none", None, "a:1,b:1", 2, {}, "--worker-index 2 is outside the 2 workers of --workers (0..1)"),
    ("none", None, "a:1,b:1", None, {}, "the workers come from --workers; pass --worker-index N"),
    ("none", None, None, 0, {}, "--worker-index needs --workers"),
    ("mirrored", None, "a:1,b:1", 0, {}, "the spec's distribute.strategy is mirrored; use strategy: multi_worker"),
    ("multi_worker", None, None, None, {}, "multi-worker training needs the cluster: pass --workers"),
    ("multi_worker", None, None, None, {"TF_CONFIG": "{oops"}, "TF_CONFIG is not JSON (Expecting property name"),
    ("multi_worker", None, None, None, {"TF_CONFIG": '{"cluster": {"ps": ["a:1"], "worker": ["b:1"]}, '
                                                     '"task": {"type": "worker", "index": 0}}'},
     "which has 'chief' and 'worker' tasks only; the cluster also has 'ps'"),
    ("multi_worker", None, None, None, {"TF_CONFIG": '{"cluster": {"worker": ["b:1"]}, '
                                                     '"task": {"type": "worker", "index": 3}}'},
     "TF_CONFIG: task index 3 is outside cluster.worker (0..0)"),
    ("multi_worker", None, None, 1, {"TF_CONFIG": '{"cluster": {"worker": ["b:1"]}, "task": {"type": "worker"}}'},
     "TF_CONFIG already names this process's task; drop --worker-index"),
])
def test_cluster_mistakes_are_explained(strategy, spec_workers, workers, index, environ, message):
    with pytest.raises(TlspecError) as caught:
        resolve(strategy, spec_workers, workers, index, environ)
    assert message in str(caught.value)


# --- the spec section ---------------------------------------------------------------------------

SHAPES = """
tlspec: 1
name: t
{seed}
backbone: {{plugin: mlp, input_shape: [4], units: [8]}}
heads: [{{name: y, plugin: classifier, classes: 2}}]
distribute:
{distribute}
"""


def spec_problems(write_spec, distribute, seed="seed: 0"):
    return problems_of(write_spec(SHAPES.format(seed=seed, distribute=distribute)))


def test_multi_worker_needs_a_seed(write_spec):
    assert spec_problems(write_spec, "  strategy: multi_worker", seed="") == [
        "spec.yaml:7:13: distribute.strategy: multi-worker training needs the spec's 'seed': every worker "
        "shuffles the data with it and keeps its own share of each batch (add e.g. 'seed: 0')"]


def test_options_of_another_strategy_are_refused(write_spec):
    assert spec_problems(write_spec, "  strategy: multi_worker\n  cpu_devices: 2") == [
        "spec.yaml:7:3: distribute: cpu_devices applies to strategy: mirrored, not to strategy: multi_worker"]
    assert spec_problems(write_spec, "  strategy: mirrored\n  workers: [a:1]") == [
        "spec.yaml:7:3: distribute: workers applies to strategy: multi_worker, not to strategy: mirrored"]


def test_strategy_typo_and_bad_worker_address(write_spec):
    [typo] = spec_problems(write_spec, "  strategy: multiworker")
    assert typo.startswith("spec.yaml:7:13: distribute.strategy:") and "'multi_worker'" in typo
    [address] = spec_problems(write_spec, "  strategy: multi_worker\n  workers: ['a:1', 'a:1']")
    assert address == ("spec.yaml:8:12: distribute.workers: 'a:1' appear more than once; "
                       "every worker needs its own port")


def test_shorthand_and_defaults(write_spec):
    validated = validate_file(write_spec(SHAPES.format(seed="seed: 1", distribute="  multi_worker")
                                         .replace("distribute:\n  multi_worker", "distribute: multi_worker")))
    options = validated.spec.distribute
    assert (options.strategy, options.communication, options.startup_timeout) == ("multi_worker", "auto", 600)


# --- real processes -----------------------------------------------------------------------------

def run_together(commands: list[list[str]], cwd, env=None, timeout: float = 400) -> list[subprocess.CompletedProcess]:
    """Start every command at once; wait for all (killing all on timeout); return their results."""
    processes = [subprocess.Popen(c, cwd=cwd, env=env or os.environ.copy(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for c in commands]
    deadline, results = time.monotonic() + timeout, []
    try:
        for process, command in zip(processes, commands):
            out, err = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
        outputs = [p.communicate() for p in processes]
        pytest.fail("workers did not finish in time:\n" + "\n---\n".join(o + e for o, e in outputs))
    return results


def toy(mode: str, examples: int, tmp_path) -> list[dict | subprocess.CompletedProcess]:
    if mode == "single":
        [result] = run_together([[sys.executable, TOY, "0", "-", "single", str(examples)]], tmp_path)
        assert result.returncode == 0, result.stderr
        return [json.loads(result.stdout.splitlines()[-1])]
    workers = ",".join(local_addresses(2))
    results = run_together([[sys.executable, TOY, str(i), workers, mode, str(examples)] for i in (0, 1)], tmp_path)
    if mode == "unpatched":
        return results
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(result.stdout.splitlines()[-1]) for result in results]


@pytest.mark.slow
def test_two_workers_train_exactly_like_one_process(tmp_path):
    """With the fix, Keras' own fit/evaluate on two workers equals one process with the same global batch."""
    first, second = toy("fixed", 256, tmp_path)
    [single] = toy("single", 256, tmp_path)
    assert first["digest"] == second["digest"]  # bit-identical weights on both workers
    assert first["history"] == second["history"]
    for ours, reference in zip(first["weights"], single["weights"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)
    for key, values in single["history"].items():
        np.testing.assert_allclose(first["history"][key], values, rtol=1e-5)
    assert first["evaluation"]["accuracy"] == pytest.approx(single["evaluation"]["accuracy"])


@pytest.mark.slow
def test_a_last_batch_smaller_than_the_workers_is_trained(tmp_path):
    # 257 examples in batches of 32: the last global batch has one example, so one worker gets none.
    first, second = toy("fixed", 257, tmp_path)
    [single] = toy("single", 257, tmp_path)
    assert first["digest"] == second["digest"]
    # Keras averages each replica's mean loss: the lone example weighs half what it does in one process.
    for ours, reference in zip(first["weights"], single["weights"]):
        np.testing.assert_allclose(ours, reference, atol=1e-2)


@pytest.mark.slow  # two worker processes (10 s)
def test_workers_share_each_shuffled_epoch_without_overlap(tmp_path):
    first, second = toy("shards", 18, tmp_path)  # batches of 4: the last global batch has 2
    for mine, theirs in zip(first["epochs"], second["epochs"]):
        assert sorted(mine + theirs) == list(range(18))
        assert len(mine) == len(theirs) == 9
    assert first["epochs"][0] != first["epochs"][1]  # reshuffled every epoch, alike on both workers


@pytest.mark.slow
def test_unpatched_keras_still_fails(tmp_path):
    """When this fails, Keras fixed model.fit under MultiWorkerMirroredStrategy: drop distribute/keras_patch.py."""
    results = toy("unpatched", 256, tmp_path)
    assert all(result.returncode != 0 for result in results)
    assert any("PerReplica" in result.stderr for result in results)


def digest_of(path) -> str:
    import keras

    from tlspec.distribute.strategy import weights_digest

    return weights_digest(keras.saving.load_model(path, compile=False))


def printed_digest(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("weights sha256 ")]
    return line.split()[2]


@pytest.mark.slow  # two worker processes, 18 s
def test_two_tlspec_workers_end_identical_and_the_chief_saves_the_model(tmp_path):
    workers = ",".join(local_addresses(2))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    commands = [TLSPEC + ["train", str(SPECS / "shapes_multi_worker.yaml"), *SMALL, "--out", "run",
                          "--workers", workers, "--worker-index", str(index)] for index in (0, 1)]
    chief, other = run_together(commands, tmp_path, env)
    assert chief.returncode == 0, chief.stderr[-3000:]
    assert other.returncode == 0, other.stderr[-3000:]

    assert "distribute: multi_worker over 2 replicas (2 workers, this is task worker:0 (127.0.0.1:" in chief.stdout
    assert "global batch 64, 32 per replica" in chief.stdout
    assert "run directory: run" in chief.stdout
    assert "the chief wrote the run directory" in other.stdout
    digest = printed_digest(chief.stdout)
    assert printed_digest(other.stdout) == digest
    assert digest_of(tmp_path / "run" / "model.keras") == digest
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["distribute"] == {"strategy": "multi_worker", "replicas": 2, "global_batch_size": 64,
                                  "workers": workers.split(","), "weights_sha256": digest}
    assert info["epochs"] == 2 and info["status"] == "finished"
    assert list(scratch.iterdir()) == []  # the other worker's scratch run directory is gone
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics) == {"train", "validation", "test"}

    # Mirrored over two logical CPUs in one process: the same spec, the same two replicas, the same weights.
    mirrored = subprocess.run(TLSPEC + ["train", str(SPECS / "shapes_mirrored.yaml"), *SMALL, "--out", "mirrored"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=400)
    assert mirrored.returncode == 0, mirrored.stderr[-3000:]
    assert "distribute: mirrored over 2 replicas (devices /cpu:0, /cpu:1)" in mirrored.stdout
    assert printed_digest(mirrored.stdout) == digest
    mirrored_metrics = json.loads((tmp_path / "mirrored" / "metrics.json").read_text())
    assert mirrored_metrics["test"]["shape"]["accuracy"] == metrics["test"]["shape"]["accuracy"]


@pytest.mark.slow  # waits out a worker timeout (12 s)
def test_a_missing_worker_is_named_instead_of_hanging(tmp_path):
    addresses = local_addresses(2)
    workers = ",".join(addresses)
    started = time.monotonic()
    [alone] = run_together([TLSPEC + ["train", str(SPECS / "shapes_multi_worker.yaml"), *SMALL,
                                      "--set", "distribute.startup_timeout=5", "--out", "run",
                                      "--workers", workers, "--worker-index", "0"]], tmp_path, timeout=120)
    assert alone.returncode != 0
    assert "tlspec: the cluster did not start within 5 s (distribute.startup_timeout)." in alone.stderr
    assert f"not reachable: {addresses[1]} (not started yet, wrong address, or a firewall)" in alone.stderr
    assert time.monotonic() - started < 100
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_lost_worker_stops_the_chief_and_all_resume(tmp_path):
    options = ["--set", "train.epochs=10", "--set", "data.train=200", "--quiet", "--out", "run"]
    spec = str(SPECS / "shapes_multi_worker.yaml")

    def start(workers, index, *extra):
        return subprocess.Popen(TLSPEC + ["train", spec, *options, *extra, "--workers", workers,
                                          "--worker-index", str(index)], cwd=tmp_path, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    workers = ",".join(local_addresses(2))
    chief, other = start(workers, 0), start(workers, 1)
    state = tmp_path / "run" / "state" / "state.json"
    deadline = time.monotonic() + 300
    while not state.exists() and time.monotonic() < deadline and chief.poll() is None:
        time.sleep(0.2)
    other.kill()
    other.communicate()
    out, err = chief.communicate(timeout=120)
    assert chief.returncode == 1, out + err
    lost = workers.split(",")[1]
    # Named by the heartbeat report, or by the connection TensorFlow saw drop first.
    assert f"error: training stopped: lost contact with worker:1 ({lost})" in err, err[-3000:]
    assert "The chief's run directory keeps every finished epoch; start every worker again with --resume" in err
    finished = json.loads(state.read_text())["epoch"]
    assert 1 <= finished < 10

    workers = ",".join(local_addresses(2))
    chief, other = run_together([TLSPEC + ["train", spec, *options, "--resume", "--workers", workers,
                                           "--worker-index", str(index)] for index in (0, 1)], tmp_path)
    assert chief.returncode == 0, chief.stderr[-3000:]
    assert other.returncode == 0, other.stderr[-3000:]
    assert f"resuming run after epoch {finished}" in chief.stdout
    assert printed_digest(chief.stdout) == printed_digest(other.stdout) == digest_of(tmp_path / "run" / "model.keras")
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == [str(epoch) for epoch in range(1, 11)]


@pytest.mark.slow
def test_sharing_penalty_is_scaled_for_replicas(tmp_path):
    """Two replicas must pull the towers together as much as one device does (not twice as hard)."""
    def distance(*extra):
        out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        result = subprocess.run(TLSPEC + ["train", str(SPECS / "soft_sharing.yaml"), "--set", "train.epochs=15",
                                          "--quiet", "--out", str(out), *extra],
                                capture_output=True, text=True, timeout=400)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads((out / "run.json").read_text())["sharing"]["sharing"]["distance"]

    alone = distance()
    mirrored = distance("--set", "distribute.strategy=mirrored", "--set", "distribute.cpu_devices=2")
    doubled = distance("--set", "sharing.0.weight=0.02")  # what an unscaled penalty would amount to
    assert abs(mirrored - alone) < 0.05 * alone  # measured: 34.49 vs 34.36
    assert doubled < 0.85 * alone  # measured: 25.1


@pytest.mark.slow  # a CLI run (8 s)
def test_mirrored_devices_that_do_not_exist_are_named(tmp_path):
    result = subprocess.run(TLSPEC + ["train", str(SPECS / "shapes_mirrored.yaml"), *SMALL, "--out", "run",
                                      "--set", "distribute.cpu_devices=null",
                                      "--set", "distribute.devices=['/gpu:0', '/cpu:0']"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert ("error: distribute.devices: '/gpu:0' not on this machine; it has '/device:CPU:0' "
            "(use cpu_devices: N to split the CPU)") in result.stderr
    assert not (tmp_path / "run").exists()


def test_workers_from_the_command_line_also_need_a_seed(write_spec):
    from tlspec.distribute.strategy import Distribution
    from tlspec.training.runner import train

    spec = SHAPES.format(seed="", distribute="  strategy: none") + \
        "data: {plugin: inline, inputs: {features: [[1, 2, 3, 4]]}, targets: {y: [1]}}\n"
    validated = validate_file(write_spec(spec))
    cluster = Cluster({"worker": ("a:1", "b:1")}, "worker", 0, "--workers")
    with pytest.raises(TlspecError, match=r"multi-worker training needs the spec's 'seed'"):
        train(validated, out="run", distribution=Distribution("multi_worker", cluster=cluster))


def test_lost_workers_are_read_from_tensorflows_heartbeat_error():
    import tensorflow as tf

    from tlspec.distribute.strategy import Distribution

    distribution = Distribution("multi_worker", cluster=Cluster({"worker": ("a:1", "b:2", "c:3")}, "worker", 0, "x"))
    error = tf.errors.UnavailableError(None, None, (
        "Collective ops is aborted by: Error reported from /job:worker/task:1: The following tasks are unhealthy "
        "(stopped sending heartbeats):\n/job:worker/replica:0/task:1\n/job:worker/replica:0/task:2\nThe tasks "
        "have crashed.\n\t [[{{node CollectiveReduceV2}} /job:worker/replica:0/task:0/device:CPU:0]]"))
    assert distribution.lost_workers(error) == "lost contact with worker:1 (b:2), worker:2 (c:3)"
    assert distribution.lost_workers(tf.errors.AbortedError(None, None, "aborted")) == (
        "a collective operation between the workers failed (AbortedError); check that worker:1 (b:2), "
        "worker:2 (c:3) still run")
    reset = tf.errors.UnavailableError(None, None, 'Error received from peer {grpc_message:"recvmsg:Connection '
                                                   'reset by peer", grpc_status:14}')
    pair = Distribution("multi_worker", cluster=Cluster({"worker": ("a:1", "b:2")}, "worker", 1, "x"))
    assert pair.lost_workers(reset) == "lost contact with worker:0 (a:1) (recvmsg:Connection reset by peer)"
    assert distribution.lost_workers(ValueError("not a cluster problem")) is None
    assert Distribution("none").lost_workers(error) is None
