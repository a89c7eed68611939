"""The tf.distribute strategy a run trains under, created before TensorFlow starts computing.

Collective ops (multi-worker) and logical CPU devices can only be configured
before the TensorFlow runtime initialises, so ``start`` runs first in
``tlspec train``, right after the spec is validated (validation never touches
TensorFlow).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from typing import Any

from tlspec.distribute.cluster import Cluster, resolve
from tlspec.errors import TlspecError, one_of


@dataclass
class Distribution:
    kind: str  # none | mirrored | multi_worker
    strategy: Any = None
    devices: list[str] = field(default_factory=list)
    cluster: Cluster | None = None

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync if self.strategy is not None else 1

    @property
    def is_chief(self) -> bool:
        return self.cluster is None or self.cluster.is_chief

    def scope(self):
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def check_batch(self, batch_size: int) -> None:
        if batch_size < self.replicas:
            raise TlspecError(f"train.batch_size {batch_size} is the global batch; it must be at least the "
                              f"{self.replicas} replicas so that every replica gets examples")

    def describe(self, batch_size: int) -> str:
        if self.kind == "none":
            return ""
        share = f"{batch_size // self.replicas}" + ("" if batch_size % self.replicas == 0 else "-" +
                                                    str(batch_size // self.replicas + 1))
        where = (f"{self.cluster.size} workers, this is {self.cluster.describe()}" if self.cluster
                 else f"devices {', '.join(self.devices)}")
        replicas = f"{self.replicas} replica{'s' if self.replicas != 1 else ''}"
        return (f"distribute: {self.kind} over {replicas} ({where}); "
                f"global batch {batch_size}, {share} per replica")

    def info(self, batch_size: int) -> dict:
        result = {"strategy": self.kind, "replicas": self.replicas, "global_batch_size": batch_size}
        if self.cluster is not None:
            result["workers"] = self.cluster.addresses
        else:
            result["devices"] = self.devices
        return result

    def lost_workers(self, error: BaseException) -> str | None:
        """What a collective-op failure says about the cluster, or None for other errors."""
        if self.kind != "multi_worker":
            return None
        import tensorflow as tf

        if not isinstance(error, (tf.errors.UnavailableError, tf.errors.AbortedError,
                                  tf.errors.DeadlineExceededError)):
            return None
        message = str(error)
        # TensorFlow lists the tasks that stopped sending heartbeats after this phrase.
        listed = []
        for line in message.partition("unhealthy")[2].splitlines()[1:]:
            if not line.startswith("/job:"):
                break
            listed.append(line)
        tasks = sorted(set(re.findall(r"/job:(chief|worker)/replica:\d+/task:(\d+)", "\n".join(listed))))
        lost = [label for kind, index in tasks if (label := self.cluster.label(kind, int(index)))]
        if not lost:  # gRPC errors name the peer's address instead
            lost = [label for label, address in self.cluster.peers() if address in message]
        if lost:
            return f"lost contact with {', '.join(lost)}"
        others = [label for label, _ in self.cluster.peers()]
        reason = re.search(r'grpc_message:"([^"]+)"', message)
        why = reason.group(1) if reason else type(error).__name__
        if len(others) == 1:  # a connection dropped before the heartbeats named the task: only one peer
            return f"lost contact with {others[0]} ({why})"
        return f"a collective operation between the workers failed ({why}); check that {', '.join(others)} still run"

    def shard(self, dataset):
        """Multi-worker: every worker reads the same seeded pipeline and keeps its share of each batch.

        Sharding by element (DATA) works for every data plugin, files or not; a worker reads
        what the others read, which is cheap beside the training step for tlspec's sources.
        """
        if dataset is None or self.kind != "multi_worker":
            return dataset
        import tensorflow as tf

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return dataset.with_options(options)


def distribution_for(options, workers: str | None = None, worker_index: int | None = None,
                     environ=None) -> Distribution:
    """What ``--workers``/``--worker-index`` do: the cluster from them, ``TF_CONFIG`` or the spec's
    ``distribute`` section (``options``), and its strategy, created before TensorFlow computes anything."""
    environ = os.environ if environ is None else environ
    kind, cluster, notes = resolve(options.strategy, options.workers, workers, worker_index, environ)
    for note in notes:
        print(f"note: {note}")
    return start(kind, options, cluster)


def start(kind: str, options, cluster: Cluster | None) -> Distribution:
    """Create the strategy (or none). ``options`` is the spec's ``distribute`` section."""
    if kind == "none":
        return Distribution("none")
    from tlspec.model.runtime import keras as load_keras

    load_keras()
    import tensorflow as tf

    try:
        if kind == "mirrored":
            devices = _mirrored_devices(tf, options)
            return Distribution(kind, tf.distribute.MirroredStrategy(devices), devices)
        return _multi_worker(tf, options, cluster)
    except RuntimeError as error:
        if "initialized" in str(error) or "startup" in str(error):
            raise TlspecError(f"distribute: TensorFlow was already running when the {kind} strategy was "
                              f"created ({error}); create it first (tlspec train does)") from None
        raise


def _mirrored_devices(tf, options) -> list[str]:
    if options.cpu_devices:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(options.cpu_devices)])
        return [f"/cpu:{index}" for index in range(options.cpu_devices)]
    available = [device.name for device in tf.config.list_logical_devices()]
    if options.devices is None:
        gpus = [device.name for device in tf.config.list_logical_devices("GPU")]
        return gpus or ["/cpu:0"]
    known = {_normalise(name): name for name in available}
    missing = [name for name in options.devices if _normalise(name) not in known]
    if missing:
        raise TlspecError(f"distribute.devices: {one_of(missing)} not on this machine; it has "
                          f"{one_of(available)} (use cpu_devices: N to split the CPU)")
    return list(options.devices)


def _normalise(name: str) -> str:
    name = name.lower().replace("/device:", "/")
    return name if name.startswith("/") else "/" + name


def _multi_worker(tf, options, cluster: Cluster) -> Distribution:
    from tlspec.distribute import keras_patch
    from tlspec.distribute.watchdog import Watchdog

    keras_patch.install()
    os.environ["TF_CONFIG"] = cluster.tf_config()
    implementation = {"auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
                      "ring": tf.distribute.experimental.CommunicationImplementation.RING,
                      "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL}[options.communication]
    peers = [address for _, address in cluster.peers()]
    print(f"waiting for the other workers ({', '.join(peers)}), at most {options.startup_timeout:g} s", flush=True)
    with Watchdog(options.startup_timeout, peers):  # creating the strategy blocks until all have joined
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(implementation=implementation))
    return Distribution("multi_worker", strategy, [], cluster)


def weights_digest(model) -> str:
    """SHA-256 of every weight's bytes, in order: equal digests mean bit-identical models."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()
