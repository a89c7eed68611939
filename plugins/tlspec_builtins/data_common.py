"""Pieces shared by the built-in data sources: splitting and tf.data batching of arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from tlspec.api import DataContext, PlanError, one_of


def target_head(target: str | None, context: DataContext) -> str:
    """The head a single-label source trains: the one named by ``target``, or the only head."""
    if target is not None:
        if target not in context.heads:
            raise PlanError(f"no head named '{target}'; heads: {one_of(context.heads)}", ("target",))
        return target
    if len(context.heads) != 1:
        raise PlanError(f"several heads ({', '.join(context.heads)}): say which one the labels train "
                        "with target: <head>", ("target",))
    return context.heads[0]


def split_indices(count: int, fractions: dict[str, float], seed: int | None) -> dict[str, np.ndarray]:
    """Deterministic random split of ``count`` examples: train gets what the fractions leave."""
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


def array_datasets(splits: dict[str, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]],
                   context: DataContext, shuffle: bool = True) -> dict[str, Any]:
    """Batched, prefetched tf.data datasets of (inputs, targets) dictionaries; train is shuffled."""
    import tensorflow as tf

    datasets = {}
    for split, (inputs, targets) in splits.items():
        dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
        if split == "train" and shuffle:
            count = len(next(iter(inputs.values())))
            dataset = dataset.shuffle(count, seed=context.seed, reshuffle_each_iteration=True)
        datasets[split] = dataset.batch(context.batch_size).prefetch(tf.data.AUTOTUNE)
    return datasets


def dtype_name(array: np.ndarray) -> str:
    if np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        return "int32"
    return "float32"


def normalise(array: np.ndarray) -> np.ndarray:
    return array.astype(np.int32) if dtype_name(array) == "int32" else array.astype(np.float32)

