"""Turn pydantic's ValidationError into located, human problems."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from tlspec.errors import Problem, did_you_mean, format_path, one_of
from tlspec.plugin.configs import IDENTIFIER
from tlspec.spec.located_yaml import Locations

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "none_required": "null",
}


def problems_from(exc: ValidationError, data: Any, locations: Locations, model: type[BaseModel],
                  prefix: tuple = ()) -> list[Problem]:
    """Located problems for ``exc``, raised validating ``data`` (found at ``prefix``) with ``model``."""
    grouped: dict[tuple, list[dict]] = {}
    for error in exc.errors(include_url=False):
        path = _data_path(data, error["loc"], error["type"])
        grouped.setdefault(path, []).append(error)
    return [_problem(path, errors, data, locations, model, prefix) for path, errors in grouped.items()]


def _data_path(data: Any, loc: tuple, error_type: str) -> tuple:
    """Drop pydantic's union-member tags from ``loc``, keeping the real keys into ``data``."""
    path, current = [], data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if part == "[key]":
            continue
        if isinstance(current, dict) and part in current:
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        elif last and error_type == "missing" and isinstance(current, dict):
            path.append(part)
        # anything else is a union-member tag such as 'str' or 'list[str]': not part of the path
    return tuple(path)


def _problem(path: tuple, errors: list[dict], data: Any, locations: Locations,
             model: type[BaseModel], prefix: tuple) -> Problem:
    full = prefix + path
    first = errors[0]
    kind = first["type"]
    if kind == "missing":
        location = locations.of_key(full[:-1]) if full[:-1] else locations.of_value(())
        return Problem(f"missing required field '{path[-1]}'", location, format_path(full[:-1]) or "")
    if kind == "extra_forbidden":
        allowed = _fields_at(model, path[:-1])
        hint = did_you_mean(path[-1], allowed)
        return Problem(f"unknown field '{path[-1]}'{hint}; allowed fields: {one_of(allowed, limit=30)}",
                       locations.of_key(full), format_path(full))
    got = _got(first.get("input"))
    if all(e["type"] in _EXPECTED or e["type"] == "literal_error" for e in errors):
        expected, hint = [], ""
        for error in errors:
            if error["type"] != "literal_error":
                expected.append(_EXPECTED[error["type"]])
                continue
            shown = [c.strip() for c in error["ctx"]["expected"].replace(" or ", ", ").split(",")]
            choices = [c.strip("'") for c in shown]  # pydantic quotes strings, not numbers
            hint = hint or did_you_mean(str(first.get("input")), choices)
            quoted = ", ".join(shown)
            expected.append(quoted if len(choices) == 1 or len(errors) > 1 else f"one of {quoted}")
        expected = list(dict.fromkeys(expected))
        listed = expected[0] if len(expected) == 1 else ", ".join(expected[:-1]) + " or " + expected[-1]
        message = f"expected {listed}; got {got}{hint}"
    else:
        message = "; ".join(dict.fromkeys(_message(e) for e in errors if e["type"] not in _EXPECTED))
        if kind not in ("value_error", "assertion_error"):
            message += f"; got {got}"
    return Problem(message, locations.of_value(full), format_path(full))


def _message(error: dict) -> str:
    if error["type"] == "string_pattern_mismatch" and error["ctx"].get("pattern") == IDENTIFIER:
        return "expected a name made of letters, digits and '_' (not starting with a digit)"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message[:1].lower() + message[1:]


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(model: type[BaseModel], path: tuple) -> list[str]:
    """Field names (as written in YAML) of the model found at ``path`` inside ``model``."""
    annotation: Any = model
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    target = _model_in(annotation)
    if target is None:
        return []
    return [info.alias or name for name, info in target.model_fields.items()]


def _step(annotation: Any, part: Any) -> Any:
    target = _model_in(annotation)
    if target is not None and isinstance(part, str):
        for name, info in target.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    for candidate in _members(annotation):
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if origin is list and isinstance(part, int):
            return args[0]
        if origin is dict and isinstance(part, str):
            return args[1]
    return None


def _members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    return [annotation]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None
