"""Helpers plugins share, built-ins and third parties alike: exported by ``tlspec.api``.

TensorFlow-free at import: the ones that build layers or datasets import Keras or TensorFlow
inside, when a model or a pipeline is really made.
"""

from __future__ import annotations

from typing import Any, Literal

from tlspec.errors import PlanError, one_of
from tlspec.plugin.data import DataContext

Pooling = Literal["flatten", "avg", "max", "none"]


def target_head(target: str | None, context: DataContext) -> str:
    """The head a single-label data source trains: the one named by ``target``, or the only head."""
    if target is not None:
        if target not in context.heads:
            raise PlanError(f"no head named '{target}'; heads: {one_of(context.heads)}", ("target",))
        return target
    if len(context.heads) != 1:
        raise PlanError(f"several heads ({', '.join(context.heads)}): say which one the labels train "
                        "with target: <head>", ("target",))
    return context.heads[0]


def split_indices(count: int, fractions: dict[str, float], seed: int | None) -> dict[str, Any]:
    """A deterministic random split of ``count`` examples into validation and test by ``fractions``;
    train gets the rest. Index arrays, sorted; PlanError (at the split's option) for an empty split."""
    import numpy as np

    order = np.random.default_rng(seed if seed is not None else 0).permutation(count)
    result, start = {}, 0
    for split in ("validation", "test"):
        fraction = fractions.get(split)
        if not fraction:
            continue
        size = int(round(fraction * count))
        if size == 0:
            raise PlanError(f"a {split} fraction of {fraction} of {count} examples is empty", (split,))
        result[split] = np.sort(order[start:start + size])
        start += size
    result["train"] = np.sort(order[start:])
    if len(result["train"]) == 0:
        raise PlanError("the validation and test fractions leave no training examples", ("validation",))
    return result


def array_datasets(splits: dict[str, tuple[dict, dict]], context: DataContext, shuffle: bool = True) -> dict:
    """Batched, prefetched tf.data datasets of (inputs, targets) dictionaries of arrays, per split;
    train is shuffled with the spec's seed."""
    import tensorflow as tf

    datasets = {}
    for split, (inputs, targets) in splits.items():
        dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
        if split == "train" and shuffle:
            count = len(next(iter(inputs.values())))
            dataset = dataset.shuffle(count, seed=context.seed, reshuffle_each_iteration=True)
        datasets[split] = dataset.batch(context.batch_size).prefetch(tf.data.AUTOTUNE)
    return datasets


def apply(layer, tensor, created: list):
    """Call ``layer`` on ``tensor`` and remember it among the component's layers."""
    created.append(layer)
    return layer(tensor)


def pool(tensor, pooling: str, name: str, created: list):
    """Reduce a tensor of rank > 2 to (batch, features) with Keras layers named after ``name``
    (``pooling``: avg, max or flatten); PlanError at ``pooling`` when it cannot."""
    import keras

    rank = len(tensor.shape)
    if rank == 2:
        return tensor
    if pooling == "flatten":
        return apply(keras.layers.Flatten(name=f"{name}_flatten"), tensor, created)
    spatial = rank - 2
    layer = {
        ("avg", 1): keras.layers.GlobalAveragePooling1D, ("avg", 2): keras.layers.GlobalAveragePooling2D,
        ("avg", 3): keras.layers.GlobalAveragePooling3D, ("max", 1): keras.layers.GlobalMaxPooling1D,
        ("max", 2): keras.layers.GlobalMaxPooling2D, ("max", 3): keras.layers.GlobalMaxPooling3D,
    }.get((pooling, spatial))
    if layer is None:
        raise PlanError(f"pooling '{pooling}' cannot reduce a rank-{rank} tensor; use flatten", ("pooling",))
    return apply(layer(name=f"{name}_{pooling}_pool"), tensor, created)
