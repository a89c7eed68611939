"""One training run in progress: the spec, its run directory, its records, where resuming starts.

``open_session`` decides which directory this process writes (the chief's run
directory, or a scratch copy for the other workers of a cluster) and, with
``--resume``, reads back the history and state of the interrupted run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from tlspec import __version__
from tlspec.distribute.strategy import Distribution
from tlspec.errors import TlspecError
from tlspec.model.assemble import Assembly
from tlspec.model.targets import head_outputs
from tlspec.spec.language import PhaseSpec
from tlspec.spec.validate import ValidatedSpec
from tlspec.training.checkpoint import complete_commit
from tlspec.training.provenance import environment, plugin_distributions
from tlspec.training.records import HeadRecord, PhaseRecord, ResumeState, RunInfo
from tlspec.training.rundir import HISTORY, SPEC, RunDir
from tlspec.training.stopwatch import Stopwatch


@dataclass(frozen=True)
class PhaseStep:
    """A phase still to train: its place, and the epochs it covers (numbered across phases)."""

    index: int
    spec: PhaseSpec
    start: int
    end: int
    resuming: bool  # the phase the interrupted run was in: its optimizer state is restored

    @property
    def name(self) -> str:
        return self.spec.name or f"phase_{self.index + 1}"


@dataclass
class Session:
    validated: ValidatedSpec
    run: RunDir
    state: ResumeState
    history: list[dict]
    resume: bool
    verbose: Any
    distribution: Distribution
    assembly: Assembly | None = None
    info: RunInfo | None = None
    started: float = field(default_factory=time.perf_counter)
    stopwatch: Stopwatch = field(default_factory=Stopwatch)
    trackers: Any = None  # tracking.Trackers, on the chief, once the run is open
    reporter: Any = None  # run directory -> files to give trackers beside the run's own (the HTML report)
    epoch_hook: Any = None  # called with each epoch's history row (tlspec sweep's pruning); may raise Pruned
    previous_policy: str | None = None  # Keras' dtype policy before train.precision replaced it
    feature_plan: Any = None  # feature_plan.FeaturePlan: what the phases will cache, one pass for them all
    features: Any = None  # phases.PhaseFeatures of the last phase, if it trained on cached features

    def on_epoch(self, row: dict) -> None:
        """What follows the run hears of each epoch: its trackers, a sweep."""
        if self.trackers is not None:
            self.trackers.epoch(row)
        if self.epoch_hook is not None:
            self.epoch_hook(row)

    @property
    def spec(self):
        return self.validated.spec

    @property
    def epoch(self) -> int:
        return len(self.history)

    def phases_to_run(self) -> Iterator[PhaseStep]:
        """The phases left, skipping those an interrupted run finished."""
        epoch = self.state.epoch
        for index, phase in enumerate(self.spec.train.phase_list()):
            if index < self.state.phase_index:
                continue
            resuming = self.resume and index == self.state.phase_index
            start = self.state.phase_start if resuming else epoch
            if epoch >= start + phase.epochs:
                self._record_unrecorded(index, PhaseStep(index, phase, start, start + phase.epochs, resuming))
                continue
            yield PhaseStep(index, phase, start, start + phase.epochs, resuming)
            epoch = self.epoch  # the caller trained the phase (early stopping may end it sooner)

    def _record_unrecorded(self, index: int, step: PhaseStep) -> None:
        """A phase whose last epoch ended just before an interruption has no record yet: give it one."""
        if len(self.info.phases) == index:
            self.record_phase(PhaseRecord(step.name, step.end - step.start, None,
                                          "finished just before the run was interrupted", 0.0))

    def record_phase(self, phase: PhaseRecord) -> None:
        self.info.phases.append(phase)
        self.run.write_info(self.info)


def new_info(validated: ValidatedSpec, assembly: Assembly) -> RunInfo:
    heads = {}
    for component in assembly.graph.heads():
        config, plugin = component.section.config, component.section.plugin
        heads[component.name] = HeadRecord(plugin=component.section.record.name, loss=plugin.loss(config))
    for name, output in head_outputs(assembly).items():
        heads[name].classes, heads[name].targets = list(output.classes) if output.classes else None, output.targets
    return RunInfo(tlspec_version=__version__, spec_name=validated.spec.name,
                   spec_path=str(validated.source.resolve()), spec_dir=str(validated.spec_dir), heads=heads,
                   inputs={name: list(t.shape[1:]) for name, t in assembly.inputs.items()},
                   plugins=plugin_distributions(validated, assembly.model), environment=environment())


def open_session(validated: ValidatedSpec, out, resume: bool, verbose, distribution: Distribution) -> Session:
    """The chief writes the run directory; every other worker an identical scratch one that goes at the end."""
    scratch = f"tlspec-{validated.spec.name}-worker{distribution.cluster.rank}-" if distribution.cluster else ""
    if distribution.is_chief:
        run, state, history = _open_run(validated, out, resume)
    elif resume:  # every worker resumes from the chief's run directory (a shared file system)
        shared, state, history = _open_run(validated, out, resume)
        run = shared.scratch_copy(scratch)
    else:
        run, state, history = RunDir.scratch(scratch), ResumeState(), []
    return Session(validated, run, state, history, resume, verbose, distribution)


def _open_run(validated: ValidatedSpec, out, resume: bool) -> tuple[RunDir, ResumeState, list[dict]]:
    if not resume:
        return RunDir.new(validated.spec.name, out), ResumeState(), []
    run = RunDir.existing(out) if out else RunDir.latest(validated.spec.name)
    saved_spec = yaml.safe_load(run.file(SPEC).read_text(encoding="utf-8"))
    changed = differences(saved_spec, json.loads(json.dumps(validated.data)))
    if changed:
        shown = ", ".join(changed[:6]) + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")
        raise TlspecError(f"the spec differs from the one {run.path} was started with ({run.path / SPEC}) at "
                          f"{shown}; resume with the same spec and --set options, or start a new run")
    if run.read_info().status == "finished":
        raise TlspecError(f"{run.path} has already finished; nothing to resume")
    state = run.read_state()
    if state is None:
        raise TlspecError(f"{run.path} has no finished epoch to resume from; start a new run")
    complete_commit(run, state)  # a process killed just after its last commit left it half done
    history = run.read_csv(HISTORY)[: state.epoch]
    print(f"resuming {run.path} after epoch {state.epoch}")
    return run, state, history


def differences(before, after, path: str = "") -> list[str]:
    """Dotted paths where two spec trees differ (a list of named items is told apart by name)."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = list(before) + [key for key in after if key not in before]
        return [found for key in keys for found in differences(before.get(key), after.get(key), _join(path, key))]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [found for index, (a, b) in enumerate(zip(before, after))
                for found in differences(a, b, _join(path, _item_name(a, b, index)))]
    return [] if before == after else [path or "the whole spec"]


def _item_name(a, b, index: int) -> str:
    names = [item.get("name") for item in (a, b) if isinstance(item, dict)]
    return names[0] if len(names) == 2 and names[0] == names[1] and isinstance(names[0], str) else str(index)


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)
