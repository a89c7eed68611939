"""Which Keras layer a converter's error is about, from the TensorFlow op paths the error quotes.

Keras 3 on TensorFlow scopes every op as ``<model>_1/<layer>_1/<inner layer>_1/…/<Op>``. LiteRT's
converter quotes such paths in ``fused["Op:", "path@…"]``, the ONNX checker as ``Name: path OpType``,
tf2onnx's log as ``op [path: Op]``. Each path is walked down the model's layers (nested models
included), matching a part to a layer's name as written or without TensorFlow's ``_N`` suffix.
"""

from __future__ import annotations

import re

OP_PATH = re.compile(r'fused\["[^"]*:",\s*"([^"@]+)|Name:\s*(\S+)\s+OpType|op \[([^:\]]+):|node \'([^\']+)\'')


def layers_named_in(model, text: str) -> list[str]:
    """The layers the op paths in ``text`` run in, each once, as ``'outer/inner' (ClassName)``."""
    found = []
    for path in op_paths(text):
        chain = layer_chain(model, path)
        if chain:
            named = f"'{'/'.join(layer.name for layer in chain)}' ({type(chain[-1]).__name__})"
            if named not in found:
                found.append(named)
    return found


def op_paths(text: str) -> list[str]:
    paths = [next(group for group in match.groups() if group) for match in OP_PATH.finditer(text)]
    return [part for path in paths for part in path.split(";") if part]  # LiteRT joins fused names with ';'


def layer_chain(model, path: str) -> list:
    """The layers of ``model`` a scoped op path runs in, outermost first (nested models are walked into)."""
    parts = path.split("/")
    if parts and _match(parts[0], [model.name]):
        parts = parts[1:]
    current, chain = model, []
    for part in parts:
        children = {child.name: child for child in getattr(current, "layers", [])}
        name = _match(part, list(children))
        if name is None:
            break
        current = children[name]
        chain.append(current)
    return chain


def _match(part: str, names: list[str]) -> str | None:
    if part in names:
        return part
    stripped = re.sub(r"_\d+$", "", part)
    return stripped if stripped in names else None
