"""Frozen-feature caching: what cannot change during a phase is computed once.

If every layer between the model inputs and the tensors the heads read is
frozen and deterministic, and no random augmentation runs on the training
inputs, the features are computed once per split and the heads are trained on
them. When some of the network under the heads trains (fine-tuning its top
blocks), the frozen part below it is still computed once: the phase trains the
rest of the network on the outputs of its frozen bottom (its *frontier*). The
model that trains shares its layers with the full model, so the saved model is
still the complete input-to-label network.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

STOCHASTIC_LAYERS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                     "GaussianDropout", "AlphaDropout", "ActivityRegularization"}


# A frontier's cached outputs may take at most this share of the machine's memory.
MEMORY_SHARE = 0.25


@dataclass
class FeatureModels:
    keys: list[str]          # e.g. 'backbone', 'backbone.conv_pw_6_relu', or a frozen layer's name
    extractor: Any           # model inputs -> {key: features}
    heads: Any               # {key: features} -> {head: output}, sharing layers with the full model
    partial: bool = False    # the keys are a frozen bottom's outputs, and part of the network above trains
    frozen: list = field(default_factory=list)  # the layers the extractor runs (their weights key the cache)
    tensors: dict = field(default_factory=dict)  # key -> the Keras tensor of the full model it is

    def weights_digest(self) -> str:
        """A digest of the extractor's weights: features computed under other weights are not these."""
        import hashlib

        import numpy as np

        digest = hashlib.blake2b(digest_size=16)
        for layer in self.frozen:
            for weight in getattr(layer, "weights", ()):
                digest.update(weight.path.encode())
                digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
        return digest.hexdigest()


def _feature_tensors(assembly) -> dict[str, Any]:
    """The tensors heads read that are not produced by other heads."""
    head_names = {head.name for head in assembly.graph.heads()}
    tensors = {}
    for head in assembly.graph.heads():
        for ref in head.refs:
            if ref.target in head_names:
                continue
            tensors[ref.text] = assembly.tensor(ref)
    return tensors


def _trains(operation) -> bool:
    # keras.ops calls in a functional graph (NotEqual, Cast ...) are operations, not layers: no weights
    return bool(getattr(operation, "trainable", False) and getattr(operation, "trainable_weights", None))


def _stochastic(layer) -> bool:
    name = type(layer).__name__
    return name in STOCHASTIC_LAYERS or name.startswith("Random")


def blockers(assembly, augmented: bool) -> list[str]:
    """Why the features under the heads cannot be cached (empty: they can)."""
    import keras

    reasons = _whole_model_blockers(assembly, augmented)
    tensors = _feature_tensors(assembly)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        extractor = keras.Model(assembly.model.inputs, list(tensors.values()))
    for layer in extractor.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if layer.trainable and layer.trainable_weights:
            reasons.append(f"layer '{layer.name}' under the heads is trainable")
            break
        if _stochastic(layer):
            reasons.append(f"layer '{layer.name}' under the heads is random ({type(layer).__name__})")
            break
    return reasons


def _whole_model_blockers(assembly, augmented: bool) -> list[str]:
    reasons = []
    if assembly.validated.spec.sharing:
        reasons.append("soft sharing ties tower weights while training")
    if augmented:
        reasons.append("the data applies random augmentation to training inputs")
    return reasons


@dataclass
class Frontier:
    """The outputs of a model's frozen, deterministic bottom that the rest of it reads."""

    tensors: dict[str, Any]   # by key (the producing layer's name)
    frozen: list              # the layers below it, producers first
    first_trained: str        # the first layer above it, for messages

    @property
    def last_frozen(self) -> str:
        """The frontier in words: the layer (or layers) whose outputs are cached."""
        names = list(self.tensors)
        return names[0] if len(names) == 1 else f"{', '.join(names[:3])}{' …' if len(names) > 3 else ''}"


def frontier(assembly, description) -> tuple[Frontier | None, str]:
    """The frozen bottom of the model whose outputs can be computed once, or None and why not."""
    import keras

    reasons = _whole_model_blockers(assembly, bool(description and description.augmented))
    if reasons:
        return None, "; ".join(reasons)
    model = assembly.model
    fixed = {id(tensor) for tensor in model.inputs}
    frozen, above = [], []
    for operation, node in _nodes(model):
        if isinstance(operation, keras.layers.InputLayer):
            continue
        if all(id(t) in fixed for t in node.input_tensors) and not _stochastic(operation) and not _trains(
                operation):
            fixed.update(id(t) for t in node.output_tensors)
            frozen.append(operation)
        else:
            above.append((operation, node))
    if any(id(t) in fixed for t in model.outputs):
        return None, "an output is computed by frozen layers alone"
    weighted = [layer for layer in frozen if getattr(layer, "weights", None)]
    if not weighted:
        return None, "no frozen layer is below it"
    tensors: dict[str, Any] = {}
    for _, node in above:
        for tensor in node.input_tensors:
            if id(tensor) in fixed:
                tensors.setdefault(_key(tensor), tensor)
    return Frontier(tensors, frozen, above[0][0].name), ""


def frontier_problem(found: Frontier, model_inputs, description) -> str | None:
    """Why caching this frontier's outputs is not worth it or would not fit in memory (None: it is)."""
    import os

    per_example = 0
    for key, tensor in found.tensors.items():
        if any(size is None for size in tensor.shape[1:]):
            return f"the output of '{key}' has no fixed shape"
        if getattr(tensor, "_keras_mask", None) is not None:
            return f"the output of '{key}' carries a mask"
        per_example += _bytes(tensor)
    if all(all(size is not None for size in t.shape[1:]) for t in model_inputs) and per_example > sum(
            _bytes(t) for t in model_inputs):
        return f"the outputs of the frozen layers up to '{found.last_frozen}' are larger than the model's inputs"
    examples = sum(description.splits.get(split, 0) for split in ("train", "validation", "test"))
    total, memory = per_example * examples, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if total > MEMORY_SHARE * memory:
        return (f"the outputs of the frozen layers up to '{found.last_frozen}' would take {total / 2**30:.1f} GiB, "
                f"more than {MEMORY_SHARE:.0%} of this machine's {memory / 2**30:.0f} GiB")
    return None


def _bytes(tensor) -> int:
    import math

    import numpy as np

    return math.prod(tensor.shape[1:]) * np.dtype(str(tensor.dtype)).itemsize


def _key(tensor) -> str:
    history = tensor._keras_history
    key = history.operation.name
    if history.node_index:
        key += f"_call{history.node_index}"
    if history.tensor_index:
        key += f"_{history.tensor_index}"
    return key


def _nodes(model) -> list[tuple[Any, Any]]:
    """(layer, node) for every layer call from the model's inputs to its outputs, producers first."""
    ordered, seen = [], set()
    stack = [(tensor, False) for tensor in reversed(list(model.outputs))]
    while stack:  # depth-first with an explicit stack: a deep network would exhaust recursion
        tensor, inputs_done = stack.pop()
        history = tensor._keras_history
        operation = history.operation
        node = operation._inbound_nodes[history.node_index]
        if id(node) in seen:
            continue
        if inputs_done:
            seen.add(id(node))
            ordered.append((operation, node))
            continue
        stack.append((tensor, True))
        stack += [(parent, False) for parent in reversed(list(node.input_tensors))]
    return ordered


def feature_models(assembly) -> FeatureModels:
    """The network above its frozen bottom when part of what is under the heads trains, else the heads on
    the features under them (``cache_decision`` says whether either may be cached)."""
    import keras

    found = frontier(assembly, None)[0] if blockers(assembly, False) else None
    tensors, partial = (found.tensors, True) if found is not None else (_feature_tensors(assembly), False)
    outputs = {head.name: assembly.built[head.name].output for head in assembly.graph.heads()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras asks dict keys to match tensor names
        extractor = keras.Model(assembly.model.inputs, tensors, name="feature_extractor")
        heads = keras.Model(tensors, outputs, name="heads_on_features")
    frozen = [layer for layer in extractor.layers if not isinstance(layer, keras.layers.InputLayer)]
    return FeatureModels(list(tensors), extractor, heads, partial, frozen, dict(tensors))


@dataclass
class CachedSplit:
    """One split's features (by key) and targets (by head), as arrays in the order the split yielded them."""

    features: dict[str, Any]
    targets: dict[str, Any]

    def __len__(self) -> int:
        return len(next(iter(self.features.values())))

    def dataset(self, batch_size: int, shuffle_seed: int | None = None, shuffle: bool = False):
        """Batched ``({key: features}, targets)``; shuffled anew each epoch with ``shuffle``."""
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices((self.features, self.targets))
        if shuffle:
            dataset = dataset.shuffle(len(self), seed=shuffle_seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def extract(models: FeatureModels, dataset) -> CachedSplit:
    """One pass of the extractor over a split."""
    return extract_many([models], dataset)[0]


def extract_many(models: list[FeatureModels], dataset) -> list[CachedSplit]:
    """One pass over a split for the features of several phases: one network computes them all."""
    import keras
    import numpy as np
    import tensorflow as tf

    tensors = {key: tensor for found in models for key, tensor in found.tensors.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras asks dict keys to match tensor names
        extractor = models[0].extractor if len(models) == 1 else keras.Model(models[0].extractor.inputs, tensors)
    run = tf.function(lambda inputs: extractor(inputs, training=False))
    features: dict[str, list] = {key: [] for key in tensors}
    targets: dict[str, list] = {}
    for inputs, labels in dataset:
        computed = run(inputs)
        for key in tensors:
            features[key].append(np.asarray(computed[key], dtype=_stored_dtype(computed[key])))
        for name, value in labels.items():
            targets.setdefault(name, []).append(np.asarray(value))
    stacked = {key: np.concatenate(value) for key, value in features.items()}
    labels = {key: np.concatenate(value) for key, value in targets.items()}
    return [CachedSplit({key: stacked[key] for key in found.keys}, labels) for found in models]


def _stored_dtype(tensor):
    """16-bit features (mixed precision) are kept as float32: numpy has no bfloat16 of its own."""
    return "float32" if tensor.dtype.is_floating else None


def cached_splits(models: FeatureModels, datasets: dict, store=None) -> dict[str, CachedSplit]:
    """Each split's features, from ``store`` (a ``feature_store.FeatureStore``) where it has them, else
    extracted (and given to the store)."""
    result = {}
    for split, dataset in datasets.items():
        found = store.load(split) if store is not None else None
        if found is None:
            found = extract(models, dataset)
            if store is not None:
                store.save(split, found)
        result[split] = found
    return result
