"""Words through a KerasHub preset's tokenizer, for the text data sources' ``tokenizer`` option.

A sentence becomes ``[CLS] pieces… [SEP]`` (the preset's own start and end tokens), padded with its pad
id to ``max_length`` pieces, with the inputs the preset's backbone takes (``token_ids``,
``padding_mask``, and ``segment_ids`` for BERT). For tagging, each word's first piece carries the
word's label and every other position has label 0, which the loss and the reported token accuracy
leave out. A sentence whose pieces do not fit loses its last words (counted in a note).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tlspec.api import PlanError
from tlspec_builtins.hub_presets import preset_info, require_hub

DEFAULT_INPUTS = ("token_ids", "padding_mask")


class TokenizerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preset: str = Field(description="The KerasHub preset whose tokenizer splits words into pieces: the keras_hub "
                                    "backbone's preset (a name or a local directory, relative to the spec).")


def tokenizer_inputs(options: TokenizerOptions, resolve) -> tuple[str, ...]:
    """The model inputs the preset's backbone takes (TensorFlow-free; without KerasHub too, whose absence
    the backbone reports)."""
    info = preset_info(options.preset, resolve, ("tokenizer", "preset"))
    if info.image:
        raise PlanError(f"preset {options.preset} holds a {info.class_name}, an image backbone: it has no tokenizer",
                        ("tokenizer", "preset"))
    return info.text.inputs if info.text else DEFAULT_INPUTS


def describe_pieces(options: TokenizerOptions, max_length: int, what: str) -> dict[str, str]:
    """``input_preprocessing`` of a source reading ``what`` (a sentence, a text) through a preset's tokenizer;
    an export lists the inputs its model has (``segment_ids`` only for BERT)."""
    return {"token_ids": f"{what} split into words and punctuation, each word split by the tokenizer of preset "
                         f"{options.preset} between its start and end tokens, padded with its pad id to "
                         f"{max_length} ids (int32)",
            "padding_mask": "1 for each of those ids, 0 for padding (int32)",
            "segment_ids": f"{max_length} zeros (int32): every piece is in the first segment"}


@dataclass
class Encoded:
    inputs: dict  # input name -> (examples, max_length) int32
    labels: list | None  # per head: (examples, max_length) int32
    starts: list[list[int]] = field(default_factory=list)  # per example, each kept word's first position
    cut: int = 0  # sentences that lost words to max_length


class PieceEncoder:
    """A KerasHub tokenizer splitting words into pieces, with every word's pieces remembered."""

    def __init__(self, tokenizer, inputs: Sequence[str], max_length: int):
        self.tokenizer = tokenizer
        self.inputs = tuple(inputs)
        self.max_length = max_length
        if max_length < 3:
            raise PlanError(f"max_length {max_length} leaves no room for a word between the start and end tokens",
                            ("max_length",))
        self.start = _first_id(tokenizer, "cls_token_id", "start_token_id")
        self.end = _first_id(tokenizer, "sep_token_id", "end_token_id")
        self.pad = _first_id(tokenizer, "pad_token_id") or 0
        self.unknown = _first_id(tokenizer, "unk_token_id", "oov_token_id")
        self.spaced = "BytePair" in "".join(type(c).__name__ for c in type(tokenizer).__mro__)
        self.pieces: dict[str, list[int]] = {}

    @classmethod
    def from_preset(cls, options: TokenizerOptions, resolve, max_length: int) -> PieceEncoder:
        require_hub(("tokenizer",))
        import keras_hub

        info = preset_info(options.preset, resolve, ("tokenizer", "preset"))
        try:
            tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(info.preset)
        except Exception as error:
            raise PlanError(f"KerasHub cannot load the tokenizer of preset {options.preset!r}: "
                            f"{type(error).__name__}: {str(error).strip()[:300]}", ("tokenizer", "preset")) from None
        return cls(tokenizer, info.text.inputs if info.text else DEFAULT_INPUTS, max_length)

    def _learn(self, words: Sequence[str]) -> None:
        new = sorted({word for word in words if word not in self.pieces})
        if new:
            # Byte-pair vocabularies spell a word after a space differently from one that starts a text.
            found = self.tokenizer([(" " + word) if self.spaced else word for word in new])
            for word, ids in zip(new, found):
                ids = [int(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]
                self.pieces[word] = ids or ([self.unknown] if self.unknown is not None else [])

    def encode(self, sentences: Sequence[Sequence[str]], labels: Sequence[Sequence[Sequence[int]]] = ()) -> Encoded:
        """``labels``: per head, per sentence, one label per word."""
        import numpy as np

        self._learn([word for sentence in sentences for word in sentence])
        count, length = len(sentences), self.max_length
        ids = np.full((count, length), self.pad, dtype="int32")
        mask = np.zeros((count, length), dtype="int32")
        targets = [np.zeros((count, length), dtype="int32") for _ in labels]
        encoded = Encoded({}, targets if labels else None)
        for row, sentence in enumerate(sentences):
            position, starts = 0, []
            if self.start is not None:
                ids[row, 0], position = self.start, 1
            room = length - (1 if self.end is not None else 0)
            for index, word in enumerate(sentence):
                pieces = self.pieces[word]
                if position + len(pieces) > room:
                    encoded.cut += 1
                    break
                ids[row, position:position + len(pieces)] = pieces
                for head, target in enumerate(targets):
                    target[row, position] = labels[head][row][index]
                starts.append(position)
                position += len(pieces)
            if self.end is not None:
                ids[row, position], position = self.end, position + 1
            mask[row, :position] = 1
            encoded.starts.append(starts)
        encoded.inputs = {"token_ids": ids, "padding_mask": mask}
        if "segment_ids" in self.inputs:
            encoded.inputs["segment_ids"] = np.zeros((count, length), dtype="int32")
        encoded.inputs = {name: encoded.inputs[name] for name in self.inputs if name in encoded.inputs}
        return encoded


def saved_tokenizer(options: TokenizerOptions, resolve) -> dict:
    """The preset's tokenizer as the files ``save_to_preset`` writes (base64), for a run's data state: the
    run then predicts, evaluates and serves with its own copy, whether or not the preset is still there."""
    import base64
    import json
    import tempfile

    encoder = piece_encoder(options, resolve, 3)
    tokenizer, backbone = encoder.tokenizer, encoder.tokenizer.backbone_cls
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        tokenizer.save_to_preset(folder)
        # from_preset checks the backbone class a preset's config.json names; the class is all it needs.
        (root / "config.json").write_text(json.dumps({
            "module": backbone.__module__, "class_name": backbone.__name__, "config": {},
            "registered_name": f"keras_hub>{backbone.__name__}"}))
        files = {str(path.relative_to(root)): base64.b64encode(path.read_bytes()).decode("ascii")
                 for path in sorted(root.rglob("*")) if path.is_file()}
    return {"inputs": list(encoder.inputs), "files": files}


def run_encoder(options: TokenizerOptions, context, max_length: int) -> PieceEncoder:
    """When predicting, the run's own tokenizer (its data state) where it saved one; else the preset's."""
    saved = (context.state or {}).get("tokenizer")
    if not saved:
        return piece_encoder(options, context.resolve_path, max_length)
    import base64
    import hashlib
    import json
    import tempfile

    key = (hashlib.sha256(json.dumps(saved, sort_keys=True).encode()).hexdigest(), max_length)
    if key not in _ENCODERS:
        require_hub(("tokenizer",))
        import keras_hub

        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder).resolve()
            for name, content in saved["files"].items():
                path = root / name
                if root not in path.resolve().parents:
                    raise PlanError(f"the run's saved tokenizer names a file outside its folder: {name}")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(base64.b64decode(content))
            try:
                tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(folder)
            except Exception as error:
                raise PlanError(f"KerasHub cannot load the run's saved tokenizer: {type(error).__name__}: "
                                f"{str(error).strip()[:300]}") from None
        _ENCODERS[key] = PieceEncoder(tokenizer, saved["inputs"], max_length)
    return _ENCODERS[key]


def _first_id(tokenizer, *names: str) -> int | None:
    for name in names:
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    return None


_ENCODERS: dict[tuple, PieceEncoder] = {}


def piece_encoder(options: TokenizerOptions, resolve, max_length: int) -> PieceEncoder:
    """One encoder per preset and length in a process: describe, datasets and predict share it."""
    key = (str(resolve(options.preset)) if "://" not in options.preset else options.preset, max_length)
    if key not in _ENCODERS:
        _ENCODERS[key] = PieceEncoder.from_preset(options, resolve, max_length)
    return _ENCODERS[key]
