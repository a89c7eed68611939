"""``token_crossentropy``: the loss of token heads whose backbone carries no Keras mask (a KerasHub
transformer): positions labelled 0 (padding, a word's later pieces, the start and end tokens) count
nothing, as an embedding's ``mask_zero`` makes them count nothing for a recurrent tagger.

Imported only when a model is built or reloaded (declared in ``heads.tlspec_keras_objects``).
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tlspec")
class TokenCrossentropy(keras.losses.SparseCategoricalCrossentropy):
    """Sparse categorical cross-entropy over the positions whose label is not 0, averaged over them."""

    def __init__(self, name="token_crossentropy", **kwargs):
        kwargs.setdefault("ignore_class", 0)
        super().__init__(name=name, **kwargs)
