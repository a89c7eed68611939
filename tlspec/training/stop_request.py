"""Ctrl-C and SIGTERM stop a run, and a request to stop is never lost.

Python raises KeyboardInterrupt wherever the main thread happens to be. Raised inside a ``__del__``
method or a callback that C code runs (TensorFlow has many), it is printed as "Exception ignored"
and dropped, and the run trains on. So the handler also remembers the request, and training raises
it again at its next step (``raise_if_requested``, called by a Keras callback after every batch).
"""

from __future__ import annotations

import signal

from tlspec.errors import Terminated

_pending: list[BaseException] = []


def install() -> None:
    """Handle SIGINT (unless the shell started us with it ignored, as for a background job) and SIGTERM.
    Call from the main thread."""
    _pending.clear()
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def _on_signal(signum, frame) -> None:
    error = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
    if not _pending:
        _pending.append(error)
    raise error


def raise_if_requested() -> None:
    """Raise the stop request a signal made, if it was swallowed where it was first raised."""
    if _pending:
        raise _pending.pop()
