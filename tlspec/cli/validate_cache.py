"""A repeated ``tlspec validate`` answers from its last result when nothing the check read has changed.

Validating is a function of the spec's files, the code that checks them (tlspec, its plugins and the
libraries they import), the files a data source reads, a few environment variables and the working
folder. While a spec is validated, an audit hook records every file opened for reading and every
folder listed (Python raises audit events for both), and ``resolve_spec_path`` raises a
``tlspec.path`` event for each path a spec names, so a file the check only looked for counts too.
After a valid check, each of those paths and each imported module's file is stored with its
modification time and size. The next ``validate`` with the same arguments, working folder and
environment stats them and, when all are as they were, prints the stored result without importing
pydantic or any plugin (about 0.1 s instead of 0.6–1 s here).

Not stored: a check that opened a socket or started a process (its answer may depend on more than
files), one that read a file modified less than ``RACY_SECONDS`` before it began or while it ran, and
any spec with problems (those are always checked again). ``tlspec validate --no-cache`` always checks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tlspec.plugin.paths import cache_home, write_text_atomically

FORMAT = 1
READ_EVENTS = {"open", "os.listdir", "os.scandir", "tlspec.path"}
# After any of these the answer may depend on something no file time shows (a server, another program).
UNTRACKABLE_EVENTS = {"socket.connect", "socket.getaddrinfo", "subprocess.Popen", "os.system", "os.exec",
                      "os.posix_spawn", "os.fork", "urllib.Request"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR
# Variables that can change what a check reads or how: tlspec's, the corpora's and presets' homes, Python's.
ENVIRONMENT_PREFIXES = ("TLSPEC_", "NLTK_", "KERAS_", "KAGGLE", "HF_", "XDG_", "PYTHON")
ENVIRONMENT_NAMES = ("HOME",)
SYSTEM_FOLDERS = ("/proc/", "/sys/", "/dev/")
# A file's time can lag the clock (a coarse kernel clock; a file system that keeps whole or even seconds), so
# a file modified this close to the check's start may have changed during it, unseen: such a check is not kept.
RACY_SECONDS = 2


class _Reads:
    """What the validation in progress read; the audit hook adds to it only while ``active``."""

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.untrackable: str | None = None
        self.active = False
        self.started_ns = 0

    def hook(self, event: str, arguments: tuple) -> None:
        if not self.active:
            return
        if event in UNTRACKABLE_EVENTS:
            self.untrackable = self.untrackable or event
        elif event in READ_EVENTS and arguments:
            if event == "open" and len(arguments) > 2 and isinstance(arguments[2], int) \
                    and arguments[2] & WRITE_FLAGS:
                return  # written, not read
            self._add(arguments[0])

    def _add(self, path) -> None:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if isinstance(path, str) and path and not path.endswith(".pyc"):
            self.paths.add(os.path.abspath(path))


_reads: _Reads | None = None


def _recorder() -> _Reads:
    global _reads
    if _reads is None:  # an audit hook cannot be removed: one per process, idle between checks
        _reads = _Reads()
        sys.addaudithook(_reads.hook)
    return _reads


class ValidationCache:
    """The stored result of one ``validate`` command line, in ``$TLSPEC_CACHE/validated/``."""

    def __init__(self, spec: Path, overrides: Sequence[str]) -> None:
        self.path = cache_home() / "validated" / f"{_key(spec, overrides)}.json"

    def replay(self) -> str | None:
        """The stored summary when every file the last check read is as it was; None otherwise."""
        try:
            entry = json.loads(self.path.read_text(encoding="utf-8"))  # FORMAT is in the key, not the entry
            if not isinstance(entry["summary"], str):
                return None
            if any(_state(path) != state for path, state in entry["dependencies"].items()):
                return None
            return entry["summary"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # none stored, or damaged: check again

    @contextlib.contextmanager
    def recording(self) -> Iterator[_Reads]:
        """Record what the body reads; ``store`` afterwards saves a valid result against it."""
        reads = _recorder()
        reads.paths, reads.untrackable, reads.started_ns, reads.active = set(), None, time.time_ns(), True
        try:
            yield reads
        finally:
            reads.active = False

    def store(self, summary: str, reads: _Reads) -> bool:
        if reads.untrackable:
            return False
        derived = str(cache_home().absolute()) + os.sep  # tlspec's own cache is not an input of a check
        dependencies = {path: _state(path) for path in sorted(reads.paths | _module_files())
                        if not path.startswith((derived, *SYSTEM_FOLDERS))}
        recent = reads.started_ns - RACY_SECONDS * 1_000_000_000
        if any(state is not None and state[0] >= recent for state in dependencies.values()):
            return False  # may have changed while it was read: what was checked may not be what is there now
        entry = {"summary": summary, "dependencies": dependencies}
        return write_text_atomically(self.path, json.dumps(entry))


def _key(spec: Path, overrides: Sequence[str]) -> str:
    environment = {name: value for name, value in os.environ.items()
                   if name.startswith(ENVIRONMENT_PREFIXES) or name in ENVIRONMENT_NAMES}
    identity = {"format": FORMAT, "spec": os.path.abspath(spec), "overrides": list(overrides), "cwd": os.getcwd(),
                "python": sys.executable, "sys_path": sys.path, "environment": environment}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def _state(path: str) -> list[int] | None:
    """[modification time in ns, size] of a file or folder; None when there is none (a creation counts)."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return [status.st_mtime_ns, status.st_size]


def _module_files() -> set[str]:
    files = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str):
            files.add(os.path.abspath(file))
    return files
