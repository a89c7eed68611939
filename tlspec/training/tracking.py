"""The trackers a spec lists under ``track``, following one run: opened when it starts (or resumes), given
the flattened spec, every epoch's metrics and, at the end, the final metrics and the run's files.

A tracker that cannot start stops the run before any training is spent; one that fails later is
dropped with a note (in the console and ``run.json``), and training goes on. What each tracker needs to
continue after ``--resume`` (its run id) is kept in ``trackers.json``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tlspec.errors import PlanError, TlspecError
from tlspec.plugin.tracking import TrackedRun, TrackerSession, flatten_spec
from tlspec.spec.problems import plugin_crash
from tlspec.spec.validate import ValidatedSpec
from tlspec.training.records import RunInfo
from tlspec.training.rundir import RunDir

TRACKERS = "trackers.json"
NOT_METRICS = {"epoch", "phase"}


class Trackers:
    def __init__(self, run: RunDir, info: RunInfo, sessions: list[tuple]):
        self.run, self.info, self.sessions = run, info, sessions  # [(section, TrackerSession)]

    @classmethod
    def open(cls, validated: ValidatedSpec, run: RunDir, info: RunInfo, resume: bool) -> Trackers:
        previous = run.read_json(TRACKERS) if resume and run.file(TRACKERS).exists() else {}
        sessions, fresh = [], []
        for index, section in enumerate(validated.trackers):
            tracked = TrackedRun(validated.spec.name, run.path, validated.spec_dir, previous.get(str(index)))
            where = f"track[{index}] ({section.record.name})"
            try:
                session = section.plugin.open(section.config, tracked)
            except PlanError as error:
                raise TlspecError(f"{where} cannot follow this run: {error.message}") from None
            except TlspecError:
                raise
            except Exception as error:  # a plugin bug: named, before training starts
                raise TlspecError(plugin_crash(section, "open", error)) from None
            if not isinstance(session, TrackerSession):
                raise TlspecError(f"{where}: open() returned {type(session).__name__}, not a "
                                  "tlspec.api.TrackerSession")
            sessions.append((section, session))
            if tracked.previous is None:  # a new tracked run (also after --resume, for a tracker added since)
                fresh.append(session)
        trackers = cls(run, info, sessions)
        trackers._save_states()
        trackers._each("log_params", flatten_spec(validated.data), only=fresh)
        return trackers

    def epoch(self, row: dict) -> None:
        metrics = {key: float(value) for key, value in row.items()
                   if key not in NOT_METRICS and isinstance(value, (int, float))}
        self._each("log_metrics", metrics, int(row["epoch"]))

    def finish(self, metrics: dict, files: Sequence[Path], epochs: int) -> None:
        """The final metrics (``test_animal_accuracy``, …), the run's files, and the end."""
        final = {}
        for split, heads in metrics.items():
            for head, values in heads.items():
                if isinstance(values, dict):
                    final.update({f"{split}_{head}_{name}": float(value) for name, value in values.items()
                                  if isinstance(value, (int, float))})
                elif isinstance(values, (int, float)):
                    final[f"{split}_{head}"] = float(values)
        self._each("log_metrics", final, epochs)
        for path in files:
            if Path(path).exists():
                self._each("log_artifact", Path(path))
        self.stop("finished")

    def stop(self, status: str) -> None:
        self._each("close", status)
        self.sessions = []

    def _each(self, method: str, *args, only: list | None = None) -> None:
        for section, session in list(self.sessions):
            if only is not None and session not in only:
                continue
            try:
                getattr(session, method)(*args)
            except Exception as error:  # the run matters more than its tracking
                note = (f"{plugin_crash(section, method, error)}; it follows this run no further").replace(
                    " failed in ", " failed in its session's ", 1)
                print(f"note: {note}", file=sys.stderr)
                self.info.notes.append(note)
                self.sessions.remove((section, session))

    def _save_states(self) -> None:
        states = {}
        for index, (_, session) in enumerate(self.sessions):
            try:
                states[str(index)] = session.state()
            except Exception:  # without its state a resumed run starts a new tracked run
                states[str(index)] = None
        if states:
            self.run.write_json(TRACKERS, states)
