"""``sequence_decoder``: a recurrent decoder head started from an encoder's final states.

Training uses teacher forcing: the head creates its own model input (the
target sequence shifted right, starting with ``<s>``) and predicts the next
token at every step. Several decoders may start from the same encoder. For
``tlspec predict`` the head offers a one-step model built from its trained
layers, which the engine runs greedily or with a beam.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, PositiveInt

from tlspec.api import (
    IDENTIFIER,
    Built,
    ComponentPlan,
    Head,
    HeadConfig,
    HeadOutput,
    PlanContext,
    PlanError,
    StepDecoder,
    TensorInfo,
    hookimpl,
)
from tlspec_builtins.common import Rate, class_names

STATES_PER_CELL = {"lstm": 2, "gru": 1, "simple": 1}
CELLS = {"lstm": "LSTM", "gru": "GRU", "simple": "SimpleRNN"}


class DecoderConfig(HeadConfig):
    input: str | None = Field(None, pattern=IDENTIFIER,
                              description="Name of the decoder's teacher-forcing input (default <name>_input).")
    cell: Literal["lstm", "gru", "simple"] = Field("lstm", description="Must match the encoder's cell.")
    units: PositiveInt | None = Field(None, description="Default: the size of the states it starts from.")
    embedding_dim: PositiveInt = Field(64, description="Size of the target-token embedding.")
    classes: PositiveInt | list[str] | Literal["from_data"] = Field(
        description="Target vocabulary: names in id order (0 is padding), a count, or from_data.")
    dropout: Rate = Field(0.0, description="Dropout on the decoder outputs before the softmax.")
    start_token: str = Field("<s>", description="Token that starts decoding (must be in the vocabulary).")
    end_token: str = Field("</s>", description="Token that ends a generated sequence.")
    max_output_length: PositiveInt | None = Field(
        None, description="Longest sequence `tlspec predict` generates (default: the training target length).")

    @property
    def input_name(self) -> str:
        return self.input or f"{self.name}_input"


def _class_count(config: DecoderConfig) -> int:
    return config.classes if isinstance(config.classes, int) else len(config.classes)


class SequenceDecoder(Head):
    name = "sequence_decoder"
    summary = "Recurrent decoder (teacher forcing) started from an encoder's states; greedy/beam decoding."
    Config = DecoderConfig
    default_loss = "sparse_categorical_crossentropy"
    default_metrics = ("accuracy",)
    reads_groups = True

    def output(self, config: DecoderConfig) -> HeadOutput:
        return HeadOutput("labels", class_names(config.classes))

    def _state_width(self, config: DecoderConfig, inputs: Sequence[TensorInfo]) -> int | None:
        if len(inputs) != 1:
            raise PlanError("a sequence_decoder starts from one encoder's states: from: <encoder>.states", ("from",))
        info = inputs[0]
        if not info.is_group and info.shape is None:
            return config.units  # not known before building; checked again on the real tensors
        parts = list(info.parts) if info.is_group else [info]
        wanted = STATES_PER_CELL[config.cell]
        if not info.is_group and (wanted > 1 or info.rank != 2):
            raise PlanError(f"'from' gives one tensor {info}, not an encoder's states; a {config.cell} decoder "
                            f"starts from {'the (h, c) states' if wanted > 1 else 'the state h'} of a recurrent "
                            "encoder: from: <encoder>.states", ("from",))
        if len(parts) != wanted:
            raise PlanError(f"a {config.cell} cell starts from {wanted} state tensor{'s' if wanted > 1 else ''} "
                            f"({'h and c' if wanted == 2 else 'h'}); 'from' gives {len(parts)}: {info}. "
                            "Use the encoder's cell", ("cell",))
        widths = set()
        for part in parts:
            if part.rank is not None and part.rank != 2:
                raise PlanError(f"decoder states are (batch, units); 'from' gives {info}", ("from",))
            if part.shape is not None and part.shape[-1] is not None:
                widths.add(part.shape[-1])
        width = widths.pop() if len(widths) == 1 else None
        if width is not None and config.units is not None and config.units != width:
            raise PlanError(f"units is {config.units} but the states it starts from have {width}; "
                            "remove units or match the encoder", ("units",))
        return config.units or width

    def plan(self, config: DecoderConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        self._state_width(config, inputs)
        if config.classes == "from_data":
            raise PlanError("classes: from_data needs a data section with this decoder's target", ("classes",))
        if isinstance(config.classes, list):
            for field in ("start_token", "end_token"):
                if getattr(config, field) not in config.classes:
                    raise PlanError(f"{field} {getattr(config, field)!r} is not in the target vocabulary", (field,))
        return ComponentPlan(output=TensorInfo((None, None, _class_count(config))),
                             own_inputs={config.input_name: TensorInfo((None, None))})

    def build(self, config: DecoderConfig, inputs: Sequence, context: PlanContext) -> Built:
        import keras

        states = list(inputs[0]) if isinstance(inputs[0], (list, tuple)) else [inputs[0]]
        units = self._state_width(config, [TensorInfo.of(inputs[0])])
        count, name = _class_count(config), config.name
        tokens = keras.Input(shape=(None,), dtype="int32", name=config.input_name)
        embedding = keras.layers.Embedding(count, config.embedding_dim, mask_zero=True, name=f"{name}_embedding")
        recurrent = getattr(keras.layers, CELLS[config.cell])(units, return_sequences=True, return_state=True,
                                                             name=f"{name}_{config.cell}")
        dense = keras.layers.Dense(count, activation="softmax", name=name)
        layers = [embedding, recurrent]
        x, *_ = recurrent(embedding(tokens), initial_state=states)
        if config.dropout:
            dropout = keras.layers.Dropout(config.dropout, name=f"{name}_dropout")
            layers.append(dropout)
            x = dropout(x)
        layers.append(dense)
        return Built(output=dense(x), layers=layers, inputs={config.input_name: tokens})

    def step_decoder(self, config: DecoderConfig, built: Built, context: PlanContext) -> StepDecoder:
        import keras

        if not isinstance(config.classes, list):
            raise PlanError("decoding needs the target vocabulary: give classes as names or from_data", ("classes",))
        layers = {layer.name: layer for layer in built.layers}
        embedding, recurrent = layers[f"{config.name}_embedding"], layers[f"{config.name}_{config.cell}"]
        dense = layers[config.name]
        token = keras.Input(shape=(1,), dtype="int32", name=f"{config.name}_previous")
        states = [keras.Input(shape=(recurrent.units,), name=f"{config.name}_state_{i}")
                  for i in range(STATES_PER_CELL[config.cell])]
        x, *new_states = recurrent(embedding(token), initial_state=states)
        step = keras.Model([token, *states], [dense(x), *new_states], name=f"{config.name}_step")
        length = config.max_output_length
        if length is None:
            target = context.data.targets.get(config.name) if context.data is not None else None
            length = (target.shape[0] if target is not None and target.shape[0] else None) or 100
        return StepDecoder(step, list(config.classes), config.classes.index(config.start_token),
                           config.classes.index(config.end_token), length)

    def adopt_target(self, config: DecoderConfig, target) -> DecoderConfig:
        if len(target.shape) != 1 or not target.dtype.startswith("int"):
            raise PlanError(f"decoder '{config.name}' needs one integer token id per step; the data gives "
                            f"{target.dtype} of shape {target.shape}", ("classes",))
        names = list(target.classes) if target.classes else None
        if config.classes == "from_data":
            if names is None:
                raise PlanError("classes: from_data, but the data does not name its tokens", ("classes",))
            return config.model_copy(update={"classes": names})
        if names is not None and (_class_count(config) != len(names)
                                  or (isinstance(config.classes, list) and config.classes != names)):
            raise PlanError(f"decoder '{config.name}' has {_class_count(config)} tokens but the data's vocabulary "
                            f"has {len(names)}; use classes: from_data", ("classes",))
        return config.model_copy(update={"classes": names}) if names is not None else config


@hookimpl
def tlspec_heads():
    return [SequenceDecoder()]
