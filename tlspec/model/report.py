"""What ``tlspec build`` reports: per-component layers, shapes and parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from tlspec.model.assemble import Assembly


def _count(weights) -> int:
    total = 0
    for weight in weights:
        size = 1
        for dim in weight.shape:
            size *= int(dim)
        total += size
    return total


def _shape(tensor) -> list:
    """A tensor's shape; for a layer with several outputs (e.g. an RNN with its states), a list of shapes."""
    if isinstance(tensor, (list, tuple)):
        return [_shape(part) for part in tensor]
    return [None if d is None else int(d) for d in tensor.shape]


@dataclass
class ComponentRow:
    name: str
    role: str
    plugin: str
    layers: int
    output_shape: list
    trainable: int
    frozen: int


def component_rows(assembly: Assembly) -> list[ComponentRow]:
    rows = []
    for component in assembly.graph.components.values():
        built = assembly.built[component.name]
        layers = built.layers
        rows.append(ComponentRow(
            name=component.name,
            role=component.role,
            plugin=component.section.record.name,
            layers=len(layers),
            output_shape=_shape(built.output),
            trainable=sum(_count(layer.trainable_weights) for layer in layers),
            frozen=sum(_count(layer.non_trainable_weights) for layer in layers),
        ))
    return rows


def report(assembly: Assembly) -> dict:
    model = assembly.model
    layers = []
    owners = {}
    for component in assembly.graph.components.values():
        for layer in assembly.built[component.name].layers:
            owners[id(layer)] = component.name
    for layer in model.layers:
        layers.append({
            "name": layer.name,
            "class": type(layer).__name__,
            "component": owners.get(id(layer), "inputs" if type(layer).__name__ == "InputLayer" else None),
            "output_shape": _shape(layer.output),
            "params": _count(layer.weights),
            "trainable": bool(layer.trainable) and bool(layer.trainable_weights),
        })
    trainable = _count(model.trainable_weights)
    total = model.count_params()
    return {
        "name": model.name,
        "inputs": [{"name": name, "shape": _shape(t), "dtype": str(t.dtype)}
                   for name, t in assembly.inputs.items()],  # spec order; Keras sorts by name
        "outputs": [{"name": head.name, "shape": _shape(assembly.built[head.name].output)}
                    for head in assembly.graph.heads()],
        "params": {"total": total, "trainable": trainable, "non_trainable": total - trainable},
        "components": [asdict(row) for row in component_rows(assembly)],
        "layers": layers,
    }
