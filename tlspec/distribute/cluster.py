"""Which worker of which cluster this process is, from the CLI, TF_CONFIG or the spec.

Pure Python (no TensorFlow): ``tlspec validate`` and argument errors stay fast.
TF_CONFIG is TensorFlow's standard description of a cluster, set by Kubernetes
operators and cluster launchers; tlspec reads it, or writes it from ``--workers``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tlspec.errors import TlspecError, one_of
from tlspec.spec.addresses import address_problem

TASK_TYPES = ("chief", "worker")


@dataclass(frozen=True)
class Cluster:
    """Every task's address by type (chief first), and this process's task."""

    tasks: dict[str, tuple[str, ...]]
    task_type: str
    task_index: int
    source: str  # where the cluster came from, for messages

    @property
    def addresses(self) -> list[str]:
        return [address for kind in TASK_TYPES for address in self.tasks.get(kind, ())]

    @property
    def size(self) -> int:
        return len(self.addresses)

    @property
    def rank(self) -> int:
        """Position among all tasks, the chief first."""
        before = len(self.tasks.get("chief", ())) if self.task_type == "worker" else 0
        return before + self.task_index

    @property
    def address(self) -> str:
        return self.addresses[self.rank]

    def peers(self) -> list[tuple[str, str]]:
        """(label like 'worker:1 (host:port)', address) of every other task."""
        return [(self.label(kind, index), address) for kind in TASK_TYPES
                for index, address in enumerate(self.tasks.get(kind, ())) if address != self.address]

    def label(self, kind: str, index: int) -> str | None:
        """'worker:1 (host:port)', or None when the cluster has no such task."""
        addresses = self.tasks.get(kind, ())
        return f"{kind}:{index} ({addresses[index]})" if index < len(addresses) else None

    @property
    def is_chief(self) -> bool:
        # TensorFlow's rule: the 'chief' task if there is one, else worker 0.
        return self.rank == 0

    def tf_config(self) -> str:
        return json.dumps({"cluster": {kind: list(self.tasks[kind]) for kind in TASK_TYPES if kind in self.tasks},
                           "task": {"type": self.task_type, "index": self.task_index}})

    def describe(self) -> str:
        role = "the chief" if self.is_chief else "not the chief"
        return f"task {self.task_type}:{self.task_index} ({self.address}, {role}) of {self.size}"


def parse_workers(text: str, origin: str = "--workers") -> tuple[str, ...]:
    addresses = tuple(part.strip() for part in text.split(",") if part.strip())
    if not addresses:
        raise TlspecError(f"{origin}: expected a comma-separated list of host:port, got '{text}'")
    check_addresses(addresses, origin)
    return addresses


def check_addresses(addresses, origin: str) -> None:
    problem = address_problem(addresses)
    if problem:
        raise TlspecError(f"{origin}: {problem}")


def from_tf_config(text: str) -> Cluster:
    origin = "TF_CONFIG"
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise TlspecError(f"{origin} is not JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not config["cluster"]:
        raise TlspecError(f"{origin} needs a 'cluster' object, e.g. "
                          '{"cluster": {"worker": ["host1:port", "host2:port"]}, '
                          '"task": {"type": "worker", "index": 0}}')
    others = sorted(set(config["cluster"]) - set(TASK_TYPES))
    if others:
        raise TlspecError(f"{origin}: tlspec trains with MultiWorkerMirroredStrategy, which has 'chief' and "
                          f"'worker' tasks only; the cluster also has {one_of(others)}")
    tasks = {}
    for kind in TASK_TYPES:
        if kind in config["cluster"]:
            addresses = config["cluster"][kind]
            if not isinstance(addresses, list) or not addresses:
                raise TlspecError(f"{origin}: cluster.{kind} must be a non-empty list of host:port")
            tasks[kind] = tuple(addresses)
    if len(tasks.get("chief", ())) > 1:
        raise TlspecError(f"{origin}: a cluster has at most one chief")
    check_addresses([a for kind in TASK_TYPES for a in tasks.get(kind, ())], origin)
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task:
        raise TlspecError(f"{origin} needs 'task': {{'type': 'worker', 'index': N}} naming this process")
    kind, index = task["type"], task.get("index", 0)
    if kind not in tasks:
        raise TlspecError(f"{origin}: task type '{kind}' is not in the cluster ({one_of(sorted(tasks))})")
    if not isinstance(index, int) or not 0 <= index < len(tasks[kind]):
        raise TlspecError(f"{origin}: task index {index!r} is outside cluster.{kind} "
                          f"(0..{len(tasks[kind]) - 1})")
    return Cluster(tasks, kind, index, origin)


def resolve(strategy: str, spec_workers: list[str] | None, workers: str | None, worker_index: int | None,
            environ) -> tuple[str, Cluster | None, list[str]]:
    """(strategy to use, cluster or None, notes) from the spec and this process's arguments/environment."""
    notes = []
    tf_config = environ.get("TF_CONFIG")
    if workers is not None:
        if strategy == "mirrored":
            raise TlspecError("--workers asks for multi-worker training but the spec's distribute.strategy is "
                              "mirrored; use strategy: multi_worker (each worker uses all its local GPUs)")
        addresses, origin = parse_workers(workers), "--workers"
        if tf_config:
            notes.append("--workers replaces the TF_CONFIG of the environment")
    elif strategy != "multi_worker":
        if worker_index is not None:
            raise TlspecError("--worker-index needs --workers (or distribute.strategy: multi_worker)")
        if tf_config:
            notes.append("TF_CONFIG is set but distribute.strategy is "
                         f"{strategy}; this process trains alone (use strategy: multi_worker or --workers)")
        return strategy, None, notes
    elif tf_config:
        if worker_index is not None:
            raise TlspecError("TF_CONFIG already names this process's task; drop --worker-index "
                              "(or unset TF_CONFIG and use --workers/--worker-index)")
        return "multi_worker", from_tf_config(tf_config), notes
    elif spec_workers:
        addresses, origin = tuple(spec_workers), "distribute.workers"  # checked when the spec was validated
    else:
        raise TlspecError("multi-worker training needs the cluster: pass --workers host:port,host:port and "
                          "--worker-index N, set TF_CONFIG, or list distribute.workers in the spec")
    if worker_index is None:
        raise TlspecError(f"the workers come from {origin}; pass --worker-index N (0 for the chief) "
                          "to say which one this process is")
    if not 0 <= worker_index < len(addresses):
        raise TlspecError(f"--worker-index {worker_index} is outside the {len(addresses)} workers "
                          f"of {origin} (0..{len(addresses) - 1})")
    return "multi_worker", Cluster({"worker": addresses}, "worker", worker_index, origin), notes


def local_addresses(count: int) -> list[str]:
    """``count`` free ports on 127.0.0.1 as worker addresses (tests, benchmarks, one-host clusters)."""
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{each.getsockname()[1]}" for each in sockets]
    finally:
        for each in sockets:
            each.close()
