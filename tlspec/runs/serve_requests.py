"""What a ``POST /predict`` body says, checked: items (texts and uploaded files) or model input arrays.

Bodies:

* JSON ``{"instances": [ITEM, …], "top_k": K}``, an item being a string (a text the run's data plugin
  reads, e.g. a sentence) or ``{"b64": "<base64 bytes>", "name": "cat.jpg"}`` (a file, e.g. an image);
* JSON ``{"inputs": {"image": [[…]]}}``: arrays fed to the model as they are, by input name;
* ``multipart/form-data`` with one or more ``file`` fields (and an optional ``top_k`` field).

Anything else is a ``BadRequest`` with a status and one clear sentence; an item that cannot be used is
its own error, and the other items are still predicted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

import numpy as np

from tlspec.errors import did_you_mean, one_of


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Upload:
    name: str
    data: bytes


@dataclass
class PredictRequest:
    items: list[str | Upload | None] = field(default_factory=list)  # None: the item's error is in errors
    errors: dict[int, str] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] | None = None
    top_k: int | None = None


def from_json(body: bytes, max_items: int, inputs: dict[str, tuple[tuple, str]]) -> PredictRequest:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest(400, f"the body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest(400, f"expected a JSON object, got {_kind(data)}")
    unknown = sorted(set(data) - {"instances", "inputs", "top_k"})
    if unknown or ("instances" in data) == ("inputs" in data):
        hint = did_you_mean(unknown[0], ["instances", "inputs", "top_k"]) if unknown else ""
        keys = f"; got {one_of(data)}{hint}" if data else "; got an empty object"
        raise BadRequest(400, "expected 'instances' (a list of items) or 'inputs' (arrays by model input name), "
                              f"one of the two{keys}")
    request = PredictRequest(top_k=top_k_of(data.get("top_k")))
    if "inputs" in data:
        request.arrays = arrays_of(data["inputs"], inputs)
        return request
    instances = data["instances"]
    if not isinstance(instances, list) or not instances:
        raise BadRequest(400, f"'instances' must be a non-empty list of items, got {_kind(instances)}")
    _check_count(len(instances), max_items)
    for index, instance in enumerate(instances):
        item = _instance(index, instance)
        request.items.append(None if isinstance(item, BadRequest) else item)
        if isinstance(item, BadRequest):
            request.errors[index] = item.message
    return request


def from_uploads(files: list[tuple[str, bytes]], top_k: str | None, max_items: int) -> PredictRequest:
    if not files:
        raise BadRequest(400, "a multipart request sends its items as 'file' fields; there are none")
    _check_count(len(files), max_items)
    number = None
    if top_k is not None:
        try:
            number = int(top_k)
        except ValueError:
            raise BadRequest(400, f"'top_k' must be a whole number, got {top_k!r}") from None
    return PredictRequest(items=[Upload(_file_name(name, index), data) for index, (name, data) in enumerate(files)],
                          top_k=top_k_of(number))


def top_k_of(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(400, f"'top_k' must be a whole number of at least 1, got {json.dumps(value)}")
    return value


def arrays_of(given, inputs: dict[str, tuple[tuple, str]]) -> dict[str, np.ndarray]:
    """``{input: nested list}`` -> arrays of the model's dtypes, every input there, shapes and values checked."""
    if not isinstance(given, dict) or not given:
        raise BadRequest(400, f"'inputs' must map model input names to arrays, got {_kind(given)}")
    unknown = sorted(set(given) - set(inputs))
    if unknown:
        raise BadRequest(400, f"the model has no input '{unknown[0]}'{did_you_mean(unknown[0], list(inputs))}; "
                              f"inputs: {one_of(inputs)}")
    missing = sorted(set(inputs) - set(given))
    if missing:
        raise BadRequest(400, f"'inputs' lacks '{missing[0]}'; the model reads {one_of(inputs)}")
    arrays = {}
    for name, (shape, dtype) in inputs.items():
        try:
            array = np.asarray(given[name], dtype=np.float64)
        except (TypeError, ValueError):
            raise BadRequest(400, f"input '{name}' must be a (nested) list of numbers of equal lengths") from None
        expected = "(batch, " + ", ".join("any" if dim is None else str(dim) for dim in shape) + ")"
        if array.ndim != len(shape) + 1 or any(dim is not None and dim != got for dim, got in zip(shape, array.shape[1:])):
            raise BadRequest(400, f"input '{name}' must have shape {expected}; got {tuple(array.shape)}")
        if not np.isfinite(array).all():
            raise BadRequest(400, f"input '{name}' holds NaN or infinite values")
        if dtype.startswith("int") and not np.all(array == np.round(array)):
            raise BadRequest(400, f"input '{name}' holds ids ({dtype}); got numbers with fractions")
        arrays[name] = array.astype(dtype)
    rows = {len(array) for array in arrays.values()}
    if len(rows) > 1:
        raise BadRequest(400, "the inputs have different numbers of rows: " +
                              ", ".join(f"{name}: {len(array)}" for name, array in arrays.items()))
    if rows == {0}:
        raise BadRequest(400, "the inputs have no rows")
    return arrays


def _instance(index: int, instance) -> str | Upload | BadRequest:
    if isinstance(instance, str):
        return instance if instance.strip() else BadRequest(422, f"instance {index}: an empty text")
    if isinstance(instance, dict) and "b64" in instance:
        unknown = sorted(set(instance) - {"b64", "name"})
        if unknown:
            return BadRequest(422, f"instance {index}: unknown key '{unknown[0]}'; a file is "
                                   "{\"b64\": \"…\", \"name\": \"…\"}")
        if not isinstance(instance["b64"], str):
            return BadRequest(422, f"instance {index}: 'b64' must be a base64 string, got {_kind(instance['b64'])}")
        try:
            data = base64.b64decode(instance["b64"], validate=True)
        except (binascii.Error, ValueError):
            return BadRequest(422, f"instance {index}: 'b64' is not valid base64")
        return Upload(_file_name(instance.get("name"), index), data)
    return BadRequest(422, f"instance {index}: expected a text or {{\"b64\": \"…\"}} (a file), got {_kind(instance)}")


def _check_count(count: int, max_items: int) -> None:
    if count > max_items:
        raise BadRequest(413, f"the request has {count:,} items; this server takes at most {max_items:,} per request "
                              "(--max-items)")


def _file_name(name, index: int) -> str:
    """A name safe as one path part: the client's file name without folders and odd characters."""
    if not isinstance(name, str) or not name.strip():
        return f"instance-{index}"
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")
    return cleaned[:100] or f"instance-{index}"


def _kind(value) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    if isinstance(value, list) and not value:
        return "an empty list"
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
