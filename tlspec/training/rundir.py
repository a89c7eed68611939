"""A run directory: what `tlspec train` leaves behind, written so a crash never fakes completeness.

Every file is written through ``atomic_write``: to a temporary name in the same
folder, then moved into place (``os.replace`` is atomic), so ``model.keras`` or
``metrics.json`` either is the complete new version or the previous one.
Training writes it; ``tlspec.runs`` reads finished ones.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tlspec.errors import TlspecError
from tlspec.training.records import ResumeState, RunInfo

SPEC = "spec.yaml"
RUN = "run.json"
MODEL = "model.keras"
HISTORY = "history.csv"
METRICS = "metrics.json"
CURVES = "curves.png"
DATA = "data.json"  # what the data looked like (DataDescription): predict plans the model from it
DATA_STATE = "data_state.json"  # what the data source keeps for prediction (its prediction_state)
STATE = "state"
STATE_FILE = f"{STATE}/state.json"


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """``write(partial)`` to a sibling temporary file, then move it onto ``target`` in one step.

    The partial name keeps the suffix: Keras and matplotlib choose the format by it.
    """
    partial = target.with_name(f".partial-{target.name}")
    write(partial)
    os.replace(partial, target)


class RunDir:
    def __init__(self, path: str | Path, scratch_root: Path | None = None):
        self.path = Path(path)
        self.scratch_root = scratch_root  # set for temporary run directories, removed by remove()

    @classmethod
    def new(cls, name: str, out: str | Path | None) -> RunDir:
        if out is None:
            out = Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        path = Path(out)
        if (path / RUN).exists():
            if (path / STATE_FILE).exists():
                raise TlspecError(f"{path} already holds a run; use --resume to continue it or choose another --out")
            # It stopped before its first epoch ended: nothing to resume, nothing lost by starting over.
            print(f"note: {path} holds a run that never finished an epoch; starting it again")
        (path / STATE).mkdir(parents=True, exist_ok=True)
        return cls(path)

    @classmethod
    def existing(cls, path: str | Path) -> RunDir:
        run = cls(path)
        if not (run.path / RUN).is_file():
            raise TlspecError(f"{path} is not a tlspec run directory (no {RUN})")
        return run

    @classmethod
    def latest(cls, name: str, root: str | Path = "runs") -> RunDir:
        """The most recent run of the spec ``name`` under ``root``."""
        candidates = sorted(Path(root).glob(f"{name}-*/{RUN}"), key=lambda p: p.stat().st_mtime)
        if not candidates:
            raise TlspecError(f"no earlier run of '{name}' under {root}/ to resume; pass --out DIR")
        return cls(candidates[-1].parent)

    @classmethod
    def scratch(cls, prefix: str) -> RunDir:
        """A private temporary run directory (a worker that is not the chief writes here)."""
        path = Path(tempfile.mkdtemp(prefix=prefix))
        (path / STATE).mkdir()
        return cls(path, scratch_root=path)

    def scratch_copy(self, prefix: str) -> RunDir:
        """A temporary copy of this run directory (to resume from without writing to it)."""
        root = Path(tempfile.mkdtemp(prefix=prefix))
        shutil.copytree(self.path, root / self.path.name)
        return RunDir(root / self.path.name, scratch_root=root)

    def remove(self) -> None:
        if self.scratch_root is None:
            raise TlspecError(f"refusing to delete {self.path}: not a scratch run directory")
        shutil.rmtree(self.scratch_root, ignore_errors=True)

    def file(self, name: str) -> Path:
        return self.path / name

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.file(name), lambda partial: partial.write_text(text, encoding="utf-8"))

    def write_json(self, name: str, value: Any) -> None:
        """JSON a strict reader accepts: a value that is not finite (NaN, inf) is written as null."""
        self.write_text(name, json.dumps(_finite(value), indent=2, default=_plain, allow_nan=False) + "\n")

    def read_json(self, name: str) -> Any:
        """A JSON file of the run; a TlspecError naming the file when it is missing or damaged."""
        path = self.file(name)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise TlspecError(f"cannot read {path}: {error.strerror or error}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise TlspecError(f"{path} is damaged: it is not JSON ({error}); train the run again") from None

    def read_record(self, name: str, parse: Callable[[Any], Any]) -> Any:
        """``parse(read_json(name))``; a TlspecError when the file holds something tlspec did not write."""
        data = self.read_json(name)
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise TlspecError(f"{self.file(name)} is damaged: it does not hold what tlspec writes there "
                              f"({type(error).__name__}: {error}); train the run again") from None

    def write_csv(self, name: str, rows: list[dict]) -> None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        self.write_text(name, buffer.getvalue())

    def read_csv(self, name: str) -> list[dict]:
        path = self.file(name)
        if not path.exists():
            return []
        with open(path, newline="", encoding="utf-8") as handle:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]

    def write_info(self, info: RunInfo) -> None:
        self.write_json(RUN, info.to_json())

    def read_info(self) -> RunInfo:
        return self.read_record(RUN, RunInfo.from_json)

    def write_state(self, state: ResumeState) -> None:
        self.write_text(STATE_FILE, json.dumps(state.to_json()))

    def read_state(self) -> ResumeState | None:
        return self.read_record(STATE_FILE, ResumeState.from_json) if self.file(STATE_FILE).exists() else None

    def save_model(self, model, name: str = MODEL) -> None:
        atomic_write(self.file(name), model.save)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return _finite(value.item())
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _number(text: str) -> Any:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
