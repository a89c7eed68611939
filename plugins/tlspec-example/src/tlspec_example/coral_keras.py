"""The Keras objects of the ``coral`` head: its output layer, its loss and its metric.

Imported only when a model is built or reloaded (``tlspec_keras_objects`` in ``__init__.py``
declares them by name). Each is registered serializable, so a saved run reloads in safe mode.
"""

from __future__ import annotations

import keras
from keras import ops

PACKAGE = "tlspec_example"


@keras.saving.register_keras_serializable(package=PACKAGE)
class CoralOutput(keras.layers.Layer):
    """K-1 logits of P(y > k): one shared weight vector, one bias per class boundary."""

    def __init__(self, levels: int, **kwargs):
        super().__init__(**kwargs)
        self.levels = levels

    def build(self, input_shape):
        self.weight = self.add_weight(shape=(input_shape[-1], 1), initializer="glorot_uniform", name="weight")
        self.boundaries = self.add_weight(shape=(self.levels,), initializer="zeros", name="boundaries")

    def call(self, features):
        return ops.matmul(features, self.weight) + self.boundaries

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.levels)

    def get_config(self):
        return {**super().get_config(), "levels": self.levels}


def _levels(y_true, y_pred):
    """1 where the true class lies above boundary k, for each of the K-1 boundaries."""
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1, 1))
    return ops.cast(ops.arange(ops.shape(y_pred)[-1])[None, :] < labels, y_pred.dtype)


@keras.saving.register_keras_serializable(package=PACKAGE)
def coral_loss(y_true, y_pred):
    """Mean binary cross-entropy of the K-1 "above boundary k?" answers."""
    return ops.mean(ops.binary_crossentropy(_levels(y_true, y_pred), y_pred, from_logits=True), axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
def coral_mae(y_true, y_pred):
    """How many classes off the predicted class is (the count of boundaries with P(y > k) > 0.5)."""
    predicted = ops.sum(ops.cast(y_pred > 0, "float32"), axis=-1)
    return ops.abs(predicted - ops.cast(ops.reshape(y_true, (-1,)), "float32"))
