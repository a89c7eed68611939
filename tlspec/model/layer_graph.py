"""The layers a built component owns, found from Keras' graph: a plugin need not list them twice.

Walking back from a component's output tensors to the tensors it was given finds every layer it
applied, in the order they were applied; ``keras.Input`` layers are not the component's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def layers_between(inputs: Sequence[Any], outputs: Sequence[Any]) -> list[Any]:
    """The layers on every path from ``inputs`` to ``outputs``, each once, inputs first."""
    import keras

    given = {id(tensor) for tensor in inputs}
    ordered, seen = [], set()
    # Depth-first with an explicit stack (a deep network would exhaust recursion): a layer is placed
    # after the layers that made its inputs.
    stack = [(tensor, False) for tensor in reversed(list(outputs))]
    while stack:
        tensor, inputs_done = stack.pop()
        history = getattr(tensor, "_keras_history", None)
        if id(tensor) in given or history is None:
            continue
        operation = history.operation
        if isinstance(operation, keras.layers.InputLayer) or id(operation) in seen:
            continue
        if inputs_done:
            seen.add(id(operation))
            ordered.append(operation)
            continue
        node = operation._inbound_nodes[history.node_index]
        stack.append((tensor, True))
        stack += [(parent, False) for parent in reversed(list(node.input_tensors))]
    return ordered
