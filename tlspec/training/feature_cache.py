"""Frozen-feature caching: when nothing under the heads can change, compute it once.

If every layer between the model inputs and the tensors the heads read is
frozen and deterministic, and no random augmentation runs on the training
inputs, the features are computed once per split and the heads are trained on
them. The head model shares its layers with the full model, so the saved model
is still the complete input-to-label network.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

STOCHASTIC_LAYERS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                     "GaussianDropout", "AlphaDropout", "ActivityRegularization"}


@dataclass
class FeatureModels:
    keys: list[str]          # e.g. 'backbone', 'backbone.conv_pw_6_relu'
    extractor: Any           # model inputs -> {key: features}
    heads: Any               # {key: features} -> {head: output}, sharing layers with the full model


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


def blockers(assembly, augmented: bool) -> list[str]:
    """Why the features under the heads cannot be cached (empty: they can)."""
    import keras

    reasons = []
    if assembly.validated.spec.sharing:
        reasons.append("soft sharing ties tower weights while training")
    if augmented:
        reasons.append("the data applies random augmentation to training inputs")
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
        stochastic = type(layer).__name__ in STOCHASTIC_LAYERS or type(layer).__name__.startswith("Random")
        if stochastic:
            reasons.append(f"layer '{layer.name}' under the heads is random ({type(layer).__name__})")
            break
    return reasons


def feature_models(assembly) -> FeatureModels:
    import keras

    tensors = _feature_tensors(assembly)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras asks dict keys to match tensor names
        extractor = keras.Model(assembly.model.inputs, tensors, name="feature_extractor")
        outputs = {head.name: assembly.built[head.name].output for head in assembly.graph.heads()}
        heads = keras.Model(tensors, outputs, name="heads_on_features")
    return FeatureModels(list(tensors), extractor, heads)


def cached_splits(models: FeatureModels, datasets: dict, batch_size: int, seed: int | None) -> dict:
    """Compute features once per split; return batched datasets of ({key: features}, targets)."""
    import numpy as np
    import tensorflow as tf

    extract = tf.function(lambda inputs: models.extractor(inputs, training=False))
    result = {}
    for split, dataset in datasets.items():
        features: dict[str, list] = {key: [] for key in models.keys}
        targets: dict[str, list] = {}
        for inputs, labels in dataset:
            computed = extract(inputs)
            for key in models.keys:
                features[key].append(computed[key].numpy())
            for name, value in labels.items():
                targets.setdefault(name, []).append(np.asarray(value))
        stacked = ({k: np.concatenate(v) for k, v in features.items()},
                   {k: np.concatenate(v) for k, v in targets.items()})
        cached = tf.data.Dataset.from_tensor_slices(stacked)
        if split == "train":
            cached = cached.shuffle(len(stacked[0][models.keys[0]]), seed=seed, reshuffle_each_iteration=True)
        result[split] = cached.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return result
