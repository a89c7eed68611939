"""The values a ``sweep:`` section searches over, parsed from their spec text. TensorFlow-free.

``space`` maps a spec field, written as ``--set`` writes it (``train.phases.finetune.learning_rate``),
to one of ``loguniform(LOW, HIGH)``, ``uniform(LOW, HIGH)``, ``int(LOW, HIGH)`` (both ends included)
or ``choice(A, B, …)`` (each a YAML value: a number, a name, a quoted string).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

KINDS = ("loguniform", "uniform", "int", "choice")
CALL = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Dimension:
    key: str  # the spec field, in --set syntax
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    options: tuple = ()

    def extremes(self) -> list[Any]:
        """The values that bound the search: every option, or both ends of a range."""
        return list(self.options) if self.kind == "choice" else [self.low, self.high]

    def suggest(self, trial) -> Any:
        """This dimension's value for an Optuna trial."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(self.options))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high))
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=self.kind == "loguniform")


def parse_dimension(key: str, text: Any) -> Dimension:
    """A ``Dimension``, or ValueError with a sentence saying what is wrong."""
    from tlspec.errors import did_you_mean

    if not isinstance(text, str) or not (call := CALL.match(text)):
        raise ValueError(f"expected loguniform(LOW, HIGH), uniform(LOW, HIGH), int(LOW, HIGH) or choice(A, B, …), "
                         f"got {text!r}")
    kind, arguments = call.group(1), call.group(2)
    if kind not in KINDS:
        raise ValueError(f"unknown distribution '{kind}'{did_you_mean(kind, list(KINDS))}; use one of "
                         f"{', '.join(KINDS)}")
    try:
        values = yaml.safe_load(f"[{arguments}]") or []
    except yaml.YAMLError:
        raise ValueError(f"cannot read the values of {kind}(…): {arguments!r}") from None
    if kind == "choice":
        if len(values) < 2:
            raise ValueError("choice(…) needs at least two values")
        if any(not isinstance(value, (str, int, float, bool)) for value in values):
            raise ValueError("choice(…) takes numbers, names and strings (a list or mapping cannot be a choice)")
        return Dimension(key, kind, options=tuple(values))
    values = [_number(value) for value in values]  # YAML 1.1 reads 1e-4 (no dot) as a string
    if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise ValueError(f"{kind}(LOW, HIGH) takes two numbers, got {arguments!r}")
    low, high = values
    if not low < high:
        raise ValueError(f"{kind}(LOW, HIGH): LOW must be below HIGH, got {low} and {high}")
    if kind == "loguniform" and low <= 0:
        raise ValueError(f"loguniform(LOW, HIGH) needs LOW above 0, got {low}")
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise ValueError(f"int(LOW, HIGH) takes whole numbers, got {low} and {high}")
    return Dimension(key, kind, low, high)


def assignment(key: str, value: Any) -> str:
    """``key=value`` as ``--set`` reads it (JSON is YAML, so strings stay strings)."""
    import json

    return f"{key}={json.dumps(value)}"


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def check_text(text: str) -> str:
    """A pydantic validator: the text parses as a dimension (the key does not matter here)."""
    parse_dimension("", text)
    return text
