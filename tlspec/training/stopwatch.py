"""Where a run's wall time goes: named stages in the order they ran, and the rest as "unaccounted".

The stages before training (Python start-up, validation, the data scan) are measured by whoever ran
them and handed in as ``before``; the stopwatch counts from the moment they ended. TensorFlow-free.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

UNACCOUNTED = "unaccounted"
TOTAL = "total"


def process_age() -> float | None:
    """Seconds since this process started (Linux's /proc), or None where that cannot be read."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as uptime:
            up = float(uptime.read().split()[0])
        return max(0.0, up - int(fields[19]) / os.sysconf("SC_CLK_TCK"))  # field 22: start time in ticks
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Stopwatch:
    """Stages may nest: an outer stage keeps only the time its inner stages did not take, so no second
    is counted twice. Stages are listed in the order they began."""

    before: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    stages: dict[str, float] = field(default_factory=dict)
    _inner: list[float] = field(default_factory=list)  # per open stage: seconds its inner stages took

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.stages.setdefault(name, 0.0)
        began = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - began
            self.add(name, elapsed - self._inner.pop())
            if self._inner:
                self._inner[-1] += elapsed

    def add(self, name: str, seconds: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + seconds

    def total(self) -> float:
        return sum(self.before.values()) + time.perf_counter() - self.started

    def breakdown(self) -> dict[str, float]:
        """Seconds per stage, then what no stage covers, then the total (all rounded to 10 ms)."""
        total = self.total()
        stages = {**self.before, **self.stages}
        unaccounted = max(0.0, total - sum(stages.values()))
        return {name: round(seconds, 2) for name, seconds in
                [*stages.items(), (UNACCOUNTED, unaccounted), (TOTAL, total)]}


def describe(breakdown: dict[str, float]) -> str:
    """One line for the console: 'time 33.9 s: validate 0.3 s, …, unaccounted 0.1 s'."""
    parts = [f"{name} {seconds:.1f} s" for name, seconds in breakdown.items() if name != TOTAL]
    return f"time {breakdown.get(TOTAL, 0.0):.1f} s: " + ", ".join(parts)
