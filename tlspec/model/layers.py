"""The few custom Keras layers a tlspec model may contain.

They are registered serializable under the package name ``tlspec``, so a saved
``model.keras`` reloads in safe mode after ``import tlspec.model.layers``.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tlspec")
class ReverseChannels(keras.layers.Layer):
    """Reverse the last axis: RGB -> BGR, as caffe-style ImageNet networks expect."""

    def call(self, inputs):
        return keras.ops.flip(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape
