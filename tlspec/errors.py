"""The error model every stage shares: located problems, and the errors tlspec reports to a user.

Every bad input is reported as FILE:LINE:COL: path: message, with a "did you
mean" when a name is close. A plugin raises ``PlanError``; the engine locates it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEBUG_VARIABLE = "TLSPEC_DEBUG"  # set, a plugin's or tlspec's own failure shows its traceback


@dataclass(frozen=True, order=True)
class Location:
    """A place in a spec source; ``line`` and ``column`` count from 1."""

    source: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    message: str
    location: Location | None = None
    path: str = ""
    plugin_bug: bool = False  # a plugin crashed: not the spec author's mistake

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"


class PlanError(Exception):
    """Raised by ``plan``/``build``/``select``: the spec asks for something impossible.

    ``field`` is the path of the offending option inside the plugin's section,
    e.g. ``("pooling",)``, so the error points at the right line.
    """

    def __init__(self, message: str, field: str | tuple = ()):
        super().__init__(message)
        self.message = message
        self.field = (field,) if isinstance(field, str) else tuple(field)


class TlspecError(Exception):
    """Base of every error tlspec reports to a user (never shown as a traceback)."""


class Pruned(TlspecError):
    """``tlspec sweep`` stopped this run early: its monitored metric lagged the other trials'."""


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM, as a scheduler or ``kill`` sends): handled like Ctrl-C,
    so a run records why it stopped and can be resumed."""


class SpecError(TlspecError):
    """One or more problems with a spec, each located in its source."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = sorted(problems, key=_problem_order)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def plugin_bug(self) -> bool:
        """Whether a plugin crashed (a bug to report to its authors) rather than the spec being wrong."""
        return any(problem.plugin_bug for problem in self.problems)


def _problem_order(problem: Problem):
    loc = problem.location
    return (loc is None, loc or Location("", 0, 0), problem.path)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A " (did you mean 'x'?)" suffix naming the choices closest to ``word`` (up to 3), else ''."""
    choices = [str(c) for c in choices]
    scored = sorted(((difflib.SequenceMatcher(None, str(word), c).ratio(), c) for c in choices), reverse=True)
    if not scored or scored[0][0] < 0.6:
        return ""
    best = scored[0][0]
    close = sorted(c for ratio, c in scored[:3] if ratio >= 0.6 and best - ratio < 0.05)
    names = [f"'{shorten(c)}'" for c in close]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f" (did you mean {text}?)"


def one_of(choices: Iterable[str], limit: int = 12) -> str:
    """Render a list of allowed names for a message, shortened when long."""
    names = sorted(str(c) for c in choices)
    if not names:
        return "none"
    shown = ", ".join(f"'{shorten(n)}'" for n in names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def shorten(text: str, limit: int = 40) -> str:
    """A name as a message shows it: a file's first line read as a header must not fill the screen."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_path(parts: Sequence[str | int]) -> str:
    """('heads', 0, 'units') -> 'heads[0].units'."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
