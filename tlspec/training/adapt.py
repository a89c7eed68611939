"""Importance weighting for covariate shift (the ``adapt`` section).

Under covariate shift P(y|x) is the same in both domains and only P(x) moves, so
training on the source with weights w(x) = P_target(x) / P_train(x) minimises the
target-domain risk. The ratio comes from a probabilistic domain classifier
trained with balanced classes: p(target|x) / p(train|x) = exp(logit). Weights are
clipped, scaled to mean 1 and travel with each training example as a reserved
target key, so shuffling and feature caching carry them along.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tlspec.errors import TlspecError
from tlspec.model.targets import WEIGHT_KEY


@dataclass
class Weighting:
    model: object  # Keras model: the training inputs -> (batch,) weights
    stats: dict
    warnings: list[str] = field(default_factory=list)

    def attach(self, dataset):
        """The dataset with each example's weight added to its targets under WEIGHT_KEY."""
        import tensorflow as tf

        model = self.model

        def add(inputs, targets):
            return inputs, {**targets, WEIGHT_KEY: model(inputs, training=False)}

        return dataset.map(add, num_parallel_calls=tf.data.AUTOTUNE)


def _count_tokens(vocabulary_size: int):
    import keras

    class TokenFrequencies(keras.layers.Layer):
        """Token ids -> relative frequency of each token (padding id 0 left out): a bag of tokens."""

        def __init__(self, size: int, **kwargs):
            super().__init__(**kwargs)
            self.size = size

        def call(self, ids):
            ids = keras.ops.reshape(keras.ops.cast(ids, "int32"), (keras.ops.shape(ids)[0], -1))
            counts = keras.ops.sum(keras.ops.one_hot(ids, self.size), axis=1)[:, 1:]
            return counts / keras.ops.maximum(keras.ops.sum(counts, axis=1, keepdims=True), 1.0)

        def get_config(self):
            return {**super().get_config(), "size": self.size}

    return TokenFrequencies(vocabulary_size)


def feature_model(assembly, features: str):
    """A model from the training inputs to one vector per example, what the domain classifier reads."""
    import keras

    inputs = dict(assembly.inputs)
    if features == "backbone":
        backbone = assembly.built[assembly.graph.backbone].output
        live = keras.Model(inputs, backbone, name="adapt_backbone_features")
        # A copy: training goes on to change the backbone, the weights must not change with it.
        extractor = keras.models.clone_model(live)
        extractor.set_weights(live.get_weights())
        x = extractor(inputs, training=False)
        if len(x.shape) > 2:
            x = keras.layers.Reshape((-1, x.shape[-1]))(x)
            x = keras.layers.GlobalAveragePooling1D()(x)
        return keras.Model(inputs, x, name="adapt_features")
    vocabularies = assembly.validated.description.vocabularies if assembly.validated.description else {}
    parts = []
    for name, tensor in inputs.items():
        if "int" in str(tensor.dtype):  # validation made sure it has a vocabulary
            parts.append(_count_tokens(len(vocabularies[name]))(tensor))
        else:
            parts.append(keras.layers.Flatten()(tensor))
    x = parts[0] if len(parts) == 1 else keras.layers.Concatenate()(parts)
    return keras.Model(inputs, x, name="adapt_features")


def _features(model, dataset) -> np.ndarray:
    import tensorflow as tf

    compute = tf.function(lambda inputs: model(inputs, training=False), reduce_retracing=True)
    return np.concatenate([np.asarray(compute(inputs)) for inputs, *_ in dataset]).astype(np.float32)


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (rank form, ties averaged)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    positives = labels.sum()
    negatives = len(labels) - positives
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _classifier(dim: int, options):
    import keras

    regulariser = keras.regularizers.L2(options.l2) if options.l2 else None
    layers = [keras.Input((dim,))]
    layers += [keras.layers.Dense(units, activation="relu", kernel_regularizer=regulariser) for units in options.hidden]
    layers.append(keras.layers.Dense(1, kernel_regularizer=regulariser, name="domain_logit"))
    model = keras.Sequential(layers, name="domain_classifier")
    model.compile(keras.optimizers.Adam(options.learning_rate),
                  keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def _logits(classifier, x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(classifier(x[i:i + 4096], training=False))[:, 0]
                           for i in range(0, len(x), 4096)])


@dataclass
class DomainClassifier:
    model: object  # Keras model: standardised features -> logit of "target"
    mean: np.ndarray
    std: np.ndarray
    accuracy: float  # held out, classes balanced
    auc: float


def train_domain_classifier(source: np.ndarray, target: np.ndarray, options, seed: int | None) -> DomainClassifier:
    """Train inputs = 0, target inputs = 1, classes balanced so that exp(logit) estimates the density ratio."""
    import keras

    pooled = np.concatenate([source, target])
    mean, std = pooled.mean(axis=0), pooled.std(axis=0)
    std[std == 0] = 1.0
    x = (pooled - mean) / std
    y = np.concatenate([np.zeros(len(source)), np.ones(len(target))]).astype(np.float32)
    balance = np.where(y == 1, len(source) / len(target), 1.0).astype(np.float32)
    order = np.random.default_rng(seed if seed is not None else 0).permutation(len(x))
    held = order[: max(2, int(round(options.holdout * len(x))))]
    fit = order[len(held):]
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = _classifier(x.shape[1], options)
    model.fit(x[fit], y[fit], sample_weight=balance[fit], epochs=options.epochs,
              batch_size=max(32, min(512, len(fit) // 8)), verbose=0, shuffle=True)
    logits, truth = _logits(model, x[held]), y[held]
    accuracy = float(np.average((logits > 0) == (truth == 1), weights=balance[held]))
    auc = _auc(logits, truth) if 0 < truth.sum() < len(truth) else float("nan")
    return DomainClassifier(model, mean, std, accuracy, auc)


def fit_weighting(assembly, spec_adapt, train_dataset, target_dataset, seed: int | None) -> Weighting:
    """Train the domain classifier on the training and target inputs and derive the weighting."""
    import keras

    features = feature_model(assembly, spec_adapt.classifier.features)
    source = _features(features, train_dataset)
    target = _features(features, target_dataset)
    if len(target) < 2:
        raise TlspecError(f"adapt.target: the domain classifier needs target inputs; split "
                          f"'{spec_adapt.split}' has {len(target)}")
    domain = train_domain_classifier(source, target, spec_adapt.classifier, seed)
    ratio = np.exp(np.clip(_logits(domain.model, (source - domain.mean) / domain.std), -50, 50))
    low, high = spec_adapt.clip
    clipped = np.clip(ratio, low, high)
    scale = 1.0 / clipped.mean() if spec_adapt.normalise else 1.0
    stats = weight_stats(clipped * scale, ratio, low, high)
    stats.update({"features": spec_adapt.classifier.features, "feature_size": int(source.shape[1]),
                  "train_examples": int(len(source)), "target_examples": int(len(target)),
                  "domain_accuracy": round(domain.accuracy, 4), "domain_auc": round(domain.auc, 4),
                  "scale": float(scale)})

    inputs = {name: keras.Input(tensor.shape[1:], dtype=tensor.dtype, name=name)
              for name, tensor in assembly.inputs.items()}
    standardised = keras.layers.Normalization(mean=domain.mean, variance=domain.std ** 2,
                                              name="adapt_standardise")(features(inputs))
    logit = domain.model(standardised)
    weight = keras.layers.Activation("exponential")(keras.ops.clip(logit, -50.0, 50.0))
    weight = keras.ops.clip(weight, low, high)[:, 0] * scale
    model = keras.Model(inputs, weight, name="importance_weights")
    return Weighting(model, stats, support_warnings(stats, spec_adapt.min_effective_fraction))


def weight_stats(weights: np.ndarray, ratio: np.ndarray, low: float, high: float) -> dict:
    ess = float(weights.sum() ** 2 / np.square(weights).sum())
    return {
        "effective_sample_size": round(ess, 1),
        "effective_fraction": round(ess / len(weights), 4),
        "weight_min": float(weights.min()), "weight_median": float(np.median(weights)),
        "weight_max": float(weights.max()),
        "ratio_max": float(ratio.max()),
        "clipped_high": round(float((ratio > high).mean()), 4),
        "clipped_low": round(float((ratio < low).mean()), 4),
    }


def support_warnings(stats: dict, min_fraction: float) -> list[str]:
    """What suggests the covariate-shift assumptions fail: weights exploding, domains barely overlapping."""
    found = []
    if stats["effective_fraction"] < min_fraction:
        found.append(f"the effective sample size is {stats['effective_sample_size']:.0f} of "
                     f"{stats['train_examples']} training examples ({stats['effective_fraction']:.0%}, below "
                     f"adapt.min_effective_fraction {min_fraction:.0%}): a few examples carry most of the weight")
    if stats["clipped_high"] > 0.01:
        found.append(f"{stats['clipped_high']:.1%} of the training examples hit the upper clip (largest ratio "
                     f"{stats['ratio_max']:.3g}): the target has inputs the training data hardly covers")
    if stats["clipped_low"] > 0.5:
        found.append(f"{stats['clipped_low']:.0%} of the training examples fall below the lower clip: most of "
                     "the training data looks unlike the target, and after clipping and normalising their "
                     "weights are equal again, so the effective sample size says nothing here")
    if stats["domain_accuracy"] > 0.95:
        found.append(f"the domain classifier separates the domains almost perfectly (held-out accuracy "
                     f"{stats['domain_accuracy']:.3f}): the supports barely overlap, so the covariate-shift "
                     "assumption (same support) looks violated and the weights are unreliable")
    return found


def describe(stats: dict) -> str:
    return (f"importance weights from a domain classifier on {stats['features']} ({stats['feature_size']} "
            f"features; {stats['train_examples']} training vs {stats['target_examples']} target inputs; held-out "
            f"accuracy {stats['domain_accuracy']:.3f}, AUC {stats['domain_auc']:.3f}): weights "
            f"{stats['weight_min']:.3g}..{stats['weight_max']:.3g} (median {stats['weight_median']:.3g}), "
            f"effective sample size {stats['effective_sample_size']:.0f} ({stats['effective_fraction']:.0%})")
