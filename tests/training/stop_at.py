"""``python stop_at.py POINT SIGNAL ARG...``: run ``tlspec ARG...`` and signal this very process at POINT.

A test harness for the kill tests: it patches tlspec's own functions, so a signal lands at an
exact place instead of after a guessed delay. Each point fires the first time it is reached:

  first-epoch       inside the first epoch, after its third batch
  checkpoint-save   inside the checkpoint of epoch 5: its weights, optimizer and model are written,
                    state.json (the commit) is not
  after-commit      just after the commit of the last epoch (8), before its kept model is moved into place
  between-phases    after the first phase's last epoch, before the next phase starts
  final-evaluation  when the evaluation after the last epoch starts
  swallowed         inside epoch 5, from a __del__ method: Python drops a KeyboardInterrupt raised
                    there ("Exception ignored"), as it can inside TensorFlow's own code
"""

from __future__ import annotations

import os
import signal
import sys
import time

import tlspec.training.checkpoint as checkpoint
import tlspec.training.phases as phases
import tlspec.training.runner as runner
from tlspec.cli.main import main
from tlspec.training.session import Session


def _stop(signal_number: int) -> None:
    os.kill(os.getpid(), signal_number)
    time.sleep(60)  # not reached: SIGINT raises KeyboardInterrupt on the way out of kill; SIGKILL ends it there


def _at_batch(epoch: int, batch: int, action) -> None:
    """Run ``action`` at the end of that batch of that epoch (both 0-based), from a Keras callback."""
    from tlspec.model.runtime import keras

    original = phases.callbacks

    class AtBatch(keras().callbacks.Callback):
        def on_epoch_begin(self, number, logs=None):
            self.epoch = number

        def on_train_batch_end(self, number, logs=None):
            if (self.epoch, number) == (epoch, batch):
                action()

    phases.callbacks = lambda session, recorder: [*original(session, recorder), AtBatch()]


def _at_first_epoch(stop) -> None:
    _at_batch(0, 2, stop)


def _at_checkpoint_save(stop) -> None:
    original = checkpoint.RunDir.write_state

    def write_state(run, state):
        if state.epoch == 5:
            stop()
        original(run, state)

    checkpoint.RunDir.write_state = write_state


def _at_after_commit(stop) -> None:
    original = checkpoint.complete_commit

    def complete_commit(run, state):
        if state.epoch == 8:
            stop()
        original(run, state)

    checkpoint.complete_commit = complete_commit


def _at_between_phases(stop) -> None:
    original = Session.record_phase

    def record_phase(session, phase):
        original(session, phase)
        stop()

    Session.record_phase = record_phase


def _at_final_evaluation(stop) -> None:
    original = runner.evaluate_splits

    def evaluate_splits(*args, **kwargs):
        stop()
        return original(*args, **kwargs)

    runner.evaluate_splits = evaluate_splits


def _at_swallowed(stop) -> None:
    class Dropped:
        def __del__(self):
            stop()

    _at_batch(4, 2, Dropped)  # the instance is deleted at once: stop() runs inside __del__


POINTS = {"first-epoch": _at_first_epoch, "checkpoint-save": _at_checkpoint_save, "after-commit": _at_after_commit,
          "between-phases": _at_between_phases, "final-evaluation": _at_final_evaluation,
          "swallowed": _at_swallowed}


if __name__ == "__main__":
    point, signal_name, *arguments = sys.argv[1:]
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background CI job inherits SIGINT ignored
    signal_number = getattr(signal, signal_name)
    fired = []

    def stop_once() -> None:
        if not fired:
            fired.append(point)
            _stop(signal_number)

    POINTS[point](stop_once)
    sys.exit(main(arguments))
