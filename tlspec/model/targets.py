"""Targets as each head's loss wants them, and class weights as per-example sample weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tlspec.errors import TlspecError, one_of
from tlspec.plugin.outputs import HeadOutput
from tlspec.spec.problems import Problems

# The target key an ``adapt`` section's importance weight travels under, beside each head's target.
WEIGHT_KEY = "__importance_weight__"

@dataclass(frozen=True)
class HeadTarget:
    name: str
    encoding: str  # HeadOutput.targets: values | labels | one_hot | multi_hot
    classes: list[str] | None  # class names, in label order
    units: int

    @property
    def one_hot(self) -> bool:
        return self.encoding == "one_hot"

    @property
    def integer_labels(self) -> bool:
        return self.encoding == "labels"


def head_outputs(assembly) -> dict[str, HeadOutput]:
    """What each head declares its output means (``Head.output``); a plugin failure is a located problem."""
    problems = Problems(assembly.validated.locations)
    outputs = {}
    for component in assembly.graph.heads():
        output = problems.call(component.section, "output")
        if output is not None and not isinstance(output, HeadOutput):
            problems.at_key(component.path, f"head plugin '{component.section.record.name}': output() returned "
                                            f"{output!r}, not a tlspec.api.HeadOutput")
        outputs[component.name] = output
    problems.raise_if_any()
    return outputs


def head_targets(assembly) -> list[HeadTarget]:
    """Each head's targets, as the head declares them."""
    return [HeadTarget(name, output.targets, list(output.classes) if output.classes else None,
                       int(assembly.built[name].output.shape[-1])) for name, output in head_outputs(assembly).items()]


def class_weight_tables(spec_weights: dict, targets: list[HeadTarget], train_dataset) -> dict[str, np.ndarray]:
    """Per head, a weight for each class label: 'balanced' (n / (k * count)) or as written in the spec."""
    by_name = {t.name: t for t in targets}
    tables = {}
    for head, weights in spec_weights.items():
        if head not in by_name:
            raise TlspecError(f"train.class_weights: no head named '{head}'; heads: {one_of(by_name)}")
        target = by_name[head]
        if weights == "balanced":
            counts = _label_counts(train_dataset, head, target.units)
            present = counts > 0
            table = np.zeros(target.units, dtype=np.float32)
            table[present] = counts.sum() / (present.sum() * counts[present])
        else:
            names = target.classes or [str(i) for i in range(target.units)]
            unknown = sorted(set(weights) - set(names))
            if unknown:
                raise TlspecError(f"train.class_weights.{head}: unknown class '{unknown[0]}'; classes: "
                                  f"{one_of(names)}")
            table = np.array([weights.get(name, 1.0) for name in names], dtype=np.float32)
        tables[head] = table
    return tables


def _label_counts(dataset, head: str, classes: int) -> np.ndarray:
    counts = np.zeros(classes, dtype=np.int64)
    for _, targets in dataset:
        labels = np.asarray(targets[head]).reshape(-1).astype(np.int64)
        counts += np.bincount(labels, minlength=classes)[:classes]
    return counts


def prepare(dataset, targets: list[HeadTarget], weight_tables: dict[str, np.ndarray]):
    """Map a dataset of (inputs, targets) to what the compiled model expects, with sample weights if any:
    class weights, times the importance weight an ``adapt`` section attached to each example."""
    import tensorflow as tf

    tables = {head: tf.constant(table) for head, table in weight_tables.items()}

    def convert(inputs, raw):
        converted = {}
        for target in targets:
            value = raw[target.name]
            if target.one_hot:
                value = tf.one_hot(tf.cast(tf.reshape(value, [-1]), tf.int32), target.units)
            elif target.integer_labels:
                value = tf.cast(value, tf.int32)
            else:
                value = tf.cast(value, tf.float32)
            converted[target.name] = value
        importance = raw.get(WEIGHT_KEY)
        if not tables and importance is None:
            return inputs, converted
        weights = {}
        for target in targets:
            if target.name in tables:
                labels = tf.cast(tf.reshape(raw[target.name], [-1]), tf.int32)
                weights[target.name] = tf.gather(tables[target.name], labels)
            else:
                weights[target.name] = tf.ones(tf.shape(raw[target.name])[:1], tf.float32)
            if importance is not None:
                weights[target.name] = weights[target.name] * tf.cast(importance, tf.float32)
        return inputs, converted, weights

    return dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
