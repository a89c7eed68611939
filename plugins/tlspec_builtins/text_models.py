"""Text components: ``word_embedding`` (optionally from pretrained word vectors) and ``rnn`` blocks.

``word_embedding`` reads token ids and takes its vocabulary from the data
source (the id of each word); rows of words found in the pretrained vectors are
initialised from them, and the coverage is reported. It masks padding (id 0)
unless told not to, so recurrent layers, losses and metrics skip it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field, PositiveInt

from tlspec.api import (
    Backbone,
    Built,
    ComponentConfig,
    ComponentPlan,
    LayerInfo,
    PlanContext,
    PlanError,
    TensorInfo,
    hookimpl,
)
from tlspec_builtins.common import Rate, concatenate
from tlspec_builtins.word_vectors import VectorsOptions, load_vectors


class EmbeddingConfig(ComponentConfig):
    dim: PositiveInt | None = Field(None, description="Vector size; default: that of the pretrained vectors.")
    vectors: VectorsOptions | None = Field(None, description="Pretrained vectors to initialise from.")
    lowercase_lookup: bool = Field(True, description="Look a word up lowercased when it is missing as written.")
    oov: Literal["zeros", "random"] = Field("random", description="Rows of words without a vector.")
    mask_padding: bool = Field(True, description="Mask id 0 so padding counts nowhere (the lecture: false).")


class WordEmbedding(Backbone):
    name = "word_embedding"
    summary = "Embedding of token ids, initialised from word2vec (file, gensim model, or trained)."
    Config = EmbeddingConfig

    def _vocabulary(self, context: PlanContext) -> tuple[str, ...]:
        if len(context.input_names) != 1 or context.input_names[0] is None:
            raise PlanError("word_embedding reads one model input of token ids: from: inputs.<name>", ("from",))
        vocabularies = context.data.vocabularies if context.data is not None else {}
        vocabulary = vocabularies.get(context.input_names[0])
        if vocabulary is None:
            raise PlanError(f"no vocabulary for input '{context.input_names[0]}': the data section must be a "
                            "text source that builds one (e.g. nltk_tagged)", ("from",))
        return vocabulary

    def plan(self, config: EmbeddingConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        self._vocabulary(context)
        if inputs[0].rank is not None and inputs[0].rank != 2:
            raise PlanError(f"word_embedding reads (batch, tokens) ids; got {inputs[0]}", ("from",))
        if config.dim is None and config.vectors is None:
            raise PlanError("give dim, or vectors to take it from", ("dim",))
        length = inputs[0].shape[1] if inputs[0].shape else None
        dim = config.dim
        if dim is None and config.vectors.source == "train":
            dim = config.vectors.dim  # a vectors file tells its size only once read, at build time
        return ComponentPlan(output=TensorInfo((None, length, dim)),
                             layers=[LayerInfo(f"{context.name}_embedding", True)])

    def build(self, config: EmbeddingConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        vocabulary = self._vocabulary(context)
        matrix = self._matrix(config, vocabulary, context)
        layer = keras.layers.Embedding(len(vocabulary), matrix.shape[1], mask_zero=config.mask_padding,
                                       name=f"{context.name}_embedding")
        output = layer(inputs[0])
        layer.set_weights([matrix])
        return Built(output=output, layers=[layer])

    def _matrix(self, config: EmbeddingConfig, vocabulary: Sequence[str], context: PlanContext) -> np.ndarray:
        rng = np.random.default_rng(context.seed or 0)
        if config.vectors is None:
            return rng.uniform(-0.05, 0.05, (len(vocabulary), config.dim)).astype(np.float32)
        vectors = load_vectors(config.vectors, context, context.seed)
        dim = vectors.vector_size
        if config.dim is not None and config.dim != dim:
            raise PlanError(f"dim is {config.dim} but the vectors have {dim} dimensions; remove dim or match it",
                            ("dim",))
        matrix = (rng.normal(0, 0.1, (len(vocabulary), dim)) if config.oov == "random"
                  else np.zeros((len(vocabulary), dim))).astype(np.float32)
        matrix[0] = 0.0
        found = 0
        for index, word in enumerate(vocabulary[2:], start=2):
            for candidate in (word, word.lower()) if config.lowercase_lookup else (word,):
                if candidate in vectors.key_to_index:
                    matrix[index] = vectors[candidate]
                    found += 1
                    break
        words = len(vocabulary) - 2
        context.note(f"pretrained vectors cover {found} of {words} vocabulary words "
                     f"({100 * found / max(words, 1):.1f}%)")
        return matrix


STATE_NAMES = {"lstm": ("state_h", "state_c"), "gru": ("state_h",), "simple": ("state_h",)}


class RNNConfig(ComponentConfig):
    cell: Literal["simple", "lstm", "gru"] = Field("lstm", description="simple (SimpleRNN), lstm or gru.")
    units: PositiveInt | list[PositiveInt] = Field(description="Units of each stacked layer.")
    bidirectional: bool = False
    dropout: Rate = Field(0.0, description="Dropout on each layer's inputs.")
    recurrent_dropout: Rate = 0.0
    return_sequences: bool = Field(True, description="Output every step (per-token heads) or only the last.")


class RNN(Backbone):
    """Endpoints: 'states' (the last layer's final states, e.g. (h, c) of an LSTM, to start a decoder),
    'state_h' and, for an LSTM, 'state_c'. Bidirectional states are forward and backward concatenated."""

    name = "rnn"
    summary = "Recurrent layers (SimpleRNN, LSTM, GRU), stacked, optionally bidirectional; exposes final states."
    Config = RNNConfig

    def plan(self, config: RNNConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        if not inputs:
            raise PlanError("an rnn reads a sequence: set from (several sequences are concatenated)", ("from",))
        for index, info in enumerate(inputs):
            if info.rank is not None and info.rank != 3:
                raise PlanError(f"an rnn reads sequences (batch, steps, features); got rank {info.rank} {info}",
                                ("from",) if len(inputs) == 1 else ("from", index))
        units = config.units if isinstance(config.units, list) else [config.units]
        width = units[-1] * (2 if config.bidirectional else 1)
        steps = inputs[0].shape[1] if inputs[0].shape else None
        output = TensorInfo((None, steps, width) if config.return_sequences else (None, width))
        layers = [LayerInfo(f"{context.name}_{i}", True) for i in range(1, len(units) + 1)]
        state = TensorInfo((None, width))
        names = STATE_NAMES[config.cell]
        endpoints = {"states": TensorInfo.group([state] * len(names)), **{name: state for name in names}}
        return ComponentPlan(output=output, endpoints=endpoints, layers=layers)

    def build(self, config: RNNConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        cell = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.cell]
        units = config.units if isinstance(config.units, list) else [config.units]
        layers: list = []
        x = concatenate(list(inputs), context.name, layers)
        with_states = bool(context.wanted_endpoints & {"states", *STATE_NAMES[config.cell]})
        states = []
        for index, size in enumerate(units, start=1):
            last = index == len(units)
            name = f"{context.name}_{index}"
            layer = cell(size, return_sequences=config.return_sequences or not last, dropout=config.dropout,
                         recurrent_dropout=config.recurrent_dropout, return_state=with_states and last,
                         name=f"{name}_{config.cell}" if config.bidirectional else name)
            if config.bidirectional:
                layer = keras.layers.Bidirectional(layer, name=name)
            x = layer(x)
            if with_states and last:
                x, *states = x
            layers.append(layer)
        if config.bidirectional and states:
            # Forward and backward states side by side, so one decoder of twice the units can start from them.
            half = len(states) // 2
            states = [keras.layers.Concatenate(name=f"{context.name}_{part}")([forward, backward])
                      for part, forward, backward in zip(STATE_NAMES[config.cell], states[:half], states[half:])]
        names = STATE_NAMES[config.cell]
        endpoints = {"states": list(states), **dict(zip(names, states))} if states else {}
        return Built(output=x, endpoints=endpoints, layers=layers)


class CharCNNConfig(ComponentConfig):
    dim: PositiveInt = Field(32, description="Character embedding size.")
    filters: PositiveInt = Field(64, description="Features per word.")
    kernel_size: PositiveInt = Field(3, description="Characters each filter sees.")
    mask_padding: bool = Field(True, description="Mask padded words. Keras merges masks with 'any' when "
                                                 "sequences are concatenated, so an unmasked branch would "
                                                 "unmask padding for the whole rnn.")


class CharCNN(Backbone):
    name = "char_cnn"
    summary = "Character-level word features: embedding, convolution and max-pooling over each word's characters."
    Config = CharCNNConfig

    def _alphabet(self, context: PlanContext) -> tuple[str, ...]:
        names = context.input_names
        alphabets = context.data.vocabularies if context.data is not None else {}
        if len(names) != 1 or names[0] not in alphabets:
            raise PlanError("char_cnn reads character ids from a text data source: from: inputs.chars, with "
                            "characters: {} in the data section", ("from",))
        return alphabets[names[0]]

    def plan(self, config: CharCNNConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        self._alphabet(context)
        if inputs[0].rank is not None and inputs[0].rank != 3:
            raise PlanError(f"char_cnn reads (batch, words, characters) ids; got {inputs[0]}", ("from",))
        words = inputs[0].shape[1] if inputs[0].shape else None
        return ComponentPlan(output=TensorInfo((None, words, config.filters)),
                             layers=[LayerInfo(f"{context.name}_embedding", True),
                                     LayerInfo(f"{context.name}_conv", True)])

    def build(self, config: CharCNNConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        alphabet = self._alphabet(context)
        name = context.name
        layers = [
            keras.layers.Embedding(len(alphabet), config.dim, mask_zero=config.mask_padding, name=f"{name}_embedding"),
            keras.layers.TimeDistributed(keras.layers.Conv1D(config.filters, config.kernel_size, padding="same",
                                                             activation="relu"), name=f"{name}_conv"),
            keras.layers.TimeDistributed(keras.layers.GlobalMaxPooling1D(), name=f"{name}_pool"),
        ]
        x = inputs[0]
        for layer in layers:
            x = layer(x)
        return Built(output=x, layers=layers)


class TextCNNConfig(ComponentConfig):
    kernel_sizes: list[PositiveInt] = Field([3, 5], min_length=1, description="Width of each parallel "
                                                                            "convolution, in tokens.")
    filters: PositiveInt = Field(64, description="Filters of each convolution.")
    dropout: Rate = Field(0.0, description="Dropout on the pooled features.")


class TextCNN(Backbone):
    """Kim (2014): parallel 1-D convolutions over an embedded sequence, each max-pooled over time."""

    name = "text_cnn"
    summary = "Parallel 1-D convolutions over an embedded sequence, max-pooled and concatenated (Kim 2014)."
    Config = TextCNNConfig

    def plan(self, config: TextCNNConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        if len(inputs) != 1 or (inputs[0].rank is not None and inputs[0].rank != 3):
            raise PlanError(f"text_cnn reads one embedded sequence (batch, steps, features); got "
                            f"{', '.join(str(i) for i in inputs) or 'nothing'}", ("from",))
        layers = [LayerInfo(f"{context.name}_conv{k}", True) for k in config.kernel_sizes]
        return ComponentPlan(output=TensorInfo((None, config.filters * len(config.kernel_sizes))), layers=layers)

    def build(self, config: TextCNNConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        name, layers, pooled = context.name, [], []
        for width in config.kernel_sizes:
            conv = keras.layers.Conv1D(config.filters, width, padding="same", activation="relu",
                                       name=f"{name}_conv{width}")
            pool = keras.layers.GlobalMaxPooling1D(name=f"{name}_pool{width}")
            pooled.append(pool(conv(inputs[0])))
            layers += [conv, pool]
        x = pooled[0]
        if len(pooled) > 1:
            merge = keras.layers.Concatenate(name=f"{name}_features")
            x = merge(pooled)
            layers.append(merge)
        if config.dropout:
            drop = keras.layers.Dropout(config.dropout, name=f"{name}_dropout")
            x = drop(x)
            layers.append(drop)
        return Built(output=x, layers=layers)


@hookimpl
def tlspec_backbones():
    return [WordEmbedding(), RNN(), CharCNN(), TextCNN()]
