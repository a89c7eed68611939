"""What a run records about itself: ``run.json`` (RunInfo) and ``state/state.json`` (ResumeState).

Typed here, written as JSON by the run directory. Optional sections (distribute,
adapt, sharing, the end of the run) are left out of the file until they exist,
so a reader can tell "not yet" from "empty".
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tlspec.errors import Pruned, Terminated
from tlspec.plugin.outputs import HeadOutput


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _set_fields(record) -> dict[str, Any]:
    """A record as JSON: fields still None are left out."""
    return {key: value for key, value in asdict(record).items() if value is not None}


def _known_fields(cls, data: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``data`` that ``cls`` has fields for (a file written by another version may hold more)."""
    known = {f.name for f in fields(cls)}
    return {key: value for key, value in data.items() if key in known}


@dataclass
class HeadRecord:
    """What prediction needs to read a head's output: its plugin, loss, target encoding and class names."""

    plugin: str
    loss: str
    classes: list[str] | None = None
    targets: str = "values"  # HeadOutput.targets

    def output(self) -> HeadOutput:
        return HeadOutput(self.targets, tuple(self.classes) if self.classes else None)


@dataclass
class PhaseRecord:
    name: str
    epochs: int
    cached_features: bool | None  # None: the phase ended just before an interruption, unrecorded
    why: str
    seconds: float


@dataclass
class RunInfo:
    """``run.json``: what was trained, how far it got, and how."""

    tlspec_version: str
    spec_name: str
    spec_path: str
    spec_dir: str
    heads: dict[str, HeadRecord]
    inputs: dict[str, list]
    plugins: dict[str, str] = field(default_factory=dict)  # plugin distribution -> version, besides tlspec
    environment: dict[str, str] = field(default_factory=dict)  # Python, TensorFlow, Keras, … that trained it
    status: str = "running"   # running | finished | interrupted | failed | pruned
    started: str = field(default_factory=_now)
    stopped: str | None = None  # why an interrupted or failed run stopped
    distribute: dict | None = None
    notes: list[str] = field(default_factory=list)
    adapt: dict | None = None
    phases: list[PhaseRecord] = field(default_factory=list)
    sharing: dict | None = None
    finished: str | None = None
    epochs: int | None = None
    best: dict | None = None
    seconds: float = 0.0
    timings: dict | None = None  # seconds per stage of the last process that trained it (stopwatch)

    def stop(self, error: BaseException) -> None:
        if isinstance(error, Pruned):
            self.status, self.stopped = "pruned", str(error)
        elif isinstance(error, KeyboardInterrupt):
            self.status = "interrupted"
            self.stopped = "terminated (SIGTERM)" if isinstance(error, Terminated) else "interrupted (Ctrl-C)"
        else:
            self.status, self.stopped = "failed", (str(error) or type(error).__name__)[:1000]

    def finish(self, epochs: int, best: dict, seconds: float) -> None:
        self.status, self.finished, self.stopped = "finished", _now(), None
        self.epochs, self.best = epochs, best
        self.seconds = round(self.seconds + seconds, 2)

    def to_json(self) -> dict[str, Any]:
        return _set_fields(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunInfo:
        values = _known_fields(cls, data)
        values["heads"] = {name: HeadRecord(**_known_fields(HeadRecord, head))
                           for name, head in data.get("heads", {}).items()}
        values["phases"] = [PhaseRecord(**phase) for phase in data.get("phases", [])]
        return cls(**values)


@dataclass
class ResumeState:
    """``state/state.json``, rewritten after every epoch: where ``--resume`` picks up."""

    phase_index: int = 0
    phase_start: int = 0
    epoch: int = 0
    best: float | None = None
    best_epoch: int | None = None
    balancing: dict | None = None  # the learned loss balancing (loss_balancing.state_of), carried on

    def best_so_far(self) -> dict:
        return {key: value for key, value in (("best", self.best), ("best_epoch", self.best_epoch))
                if value is not None}

    def to_json(self) -> dict[str, Any]:
        return _set_fields(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResumeState:
        return cls(**_known_fields(cls, data))
