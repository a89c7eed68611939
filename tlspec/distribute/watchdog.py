"""Ends a worker that waits too long for the others to join the cluster.

Creating MultiWorkerMirroredStrategy blocks inside TensorFlow, holding the GIL,
until every worker is up; a worker that never starts would hang the others for
ever (they ignore SIGTERM while blocked). So the waiting worker starts this small
process first: if the worker has not closed our stdin within the timeout, we say
which workers are unreachable and kill it.

    python -m tlspec.distribute.watchdog PARENT_PID TIMEOUT_SECONDS PEER_ADDRESS...
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys


def reachable(address: str, timeout: float = 1.0) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def report(timeout: float, peers: list[str]) -> str:
    missing = [address for address in peers if not reachable(address)]
    joined = [address for address in peers if address not in missing]
    lines = [f"tlspec: the cluster did not start within {timeout:g} s (distribute.startup_timeout)."]
    if missing:
        lines.append(f"  not reachable: {', '.join(missing)} (not started yet, wrong address, or a firewall)")
    if joined:
        lines.append(f"  reachable: {', '.join(joined)}")
    lines.append("  Start every worker with the same spec and worker list, each with its own --worker-index.")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parent, timeout, peers = int(argv[0]), float(argv[1]), argv[2:]
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    if ready:  # the worker closed the pipe: it started, or it ended
        return 0
    sys.stderr.write(report(timeout, peers))
    sys.stderr.flush()
    try:
        os.kill(parent, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return 1


class Watchdog:
    """Context manager around the blocking start-up; leaving it stops the watchdog."""

    def __init__(self, timeout: float, peers: list[str]):
        self.command = [sys.executable, "-m", "tlspec.distribute.watchdog", str(os.getpid()), str(timeout), *peers]

    def __enter__(self):
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE)
        return self

    def __exit__(self, *exc):
        self.process.stdin.close()
        self.process.wait()
        return False


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
