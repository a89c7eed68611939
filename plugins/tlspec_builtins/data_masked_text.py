"""``masked_text``: raw sentences with some pieces hidden, for pretraining a transformer (masked LM).

The sentences (an NLTK corpus such as ``brown``, or a text file of one sentence per line) are split
into train/validation/test; a WordPiece vocabulary is learned from the training split (cached by
content) and every sentence becomes ``[CLS] pieces… [SEP]``, padded with ``[PAD]`` (id 0). Each real
piece is picked with probability ``mask_rate`` (at least one per sentence); as in BERT, a picked piece
is replaced by ``[MASK]`` 80 % of the time, by a random piece 10 %, and left alone 10 %. The target,
for the head named ``target`` (a ``token_classifier`` over the vocabulary, ``loss:
token_crossentropy``), is the original piece at the picked positions and 0 elsewhere, so the loss
and the reported token accuracy count only those. Masks are drawn once, from the seed: training
sentences ``copies`` times with different masks (BERT's duplication factor), validation and test
once, so every run is scored on the same masked pieces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import Field, PositiveInt

from tlspec.api import (
    DataConfig,
    DataContext,
    DataDescription,
    DataField,
    DataSource,
    PlanError,
    array_datasets,
    hookimpl,
    one_of,
    split_indices,
)
from tlspec_builtins.corpora import add_nltk_path, corpus_digest, plain_sentences, split_fingerprints
from tlspec_builtins.text_vocabulary import tokenize
from tlspec_builtins.wordpiece import SPECIAL_TOKENS, WordPieceOptions, learn_vocabulary

INPUTS = ("token_ids", "segment_ids", "padding_mask")  # a BERT backbone's
MASK = "[MASK]"


class MaskedTextConfig(DataConfig):
    corpus: str = Field(description="brown, treebank or conll2000 (NLTK), or a text file of one sentence per line "
                                    "(relative to the spec).")
    target: str = Field(description="The head that predicts the hidden pieces: a token_classifier with classes "
                                    "from_data (the vocabulary) and loss token_crossentropy.")
    vocabulary: WordPieceOptions = Field(default_factory=WordPieceOptions,
                                         description="The WordPiece vocabulary learned from the training split.")
    max_length: PositiveInt = Field(64, ge=3, description="Pieces per sentence, [CLS] and [SEP] included; longer "
                                                           "sentences lose their last words.")
    mask_rate: float = Field(0.15, gt=0, lt=1, description="Probability that a piece is picked for prediction.")
    copies: PositiveInt = Field(1, le=20, description="Each training sentence this many times, masked differently "
                                                      "each time.")
    segment_ids: bool = Field(True, description="Also yield segment_ids (all 0), which BERT backbones take.")
    validation: float = Field(0.05, gt=0, lt=1, description="Fraction of sentences for validation.")
    test: float = Field(0.05, gt=0, lt=1, description="Fraction of sentences for testing.")
    split_seed: int | None = Field(None, ge=0, description="Seed of the split (default: the spec's seed).")
    max_sentences: PositiveInt | None = Field(None, description="Use only the first N sentences.")
    nltk_data: str | None = Field(None, description="A folder to add to NLTK's data path (as NLTK_DATA does).")


READING_VERSION = 1  # raise when reading, splitting or masking changes what a corpus yields


class MaskedText(DataSource):
    name = "masked_text"
    summary = "Raw sentences with pieces masked, for masked-LM pretraining (a WordPiece vocabulary learned from them)."
    Config = MaskedTextConfig
    cache_description = True  # describing reads the whole corpus and learns a WordPiece vocabulary from it

    def fingerprint(self, config: MaskedTextConfig, context: DataContext) -> dict[str, str] | None:
        """The corpus files' content, the options and the seed (it splits the sentences and masks them)."""
        content = corpus_digest(config.corpus, config.nltk_data, context.resolve_path)
        if content is None:
            return None
        return split_fingerprints(READING_VERSION, content, config.model_dump(mode="json"), config.split_seed,
                                  context.seed)

    def _prepare(self, config: MaskedTextConfig, context: DataContext):
        if config.target not in context.heads:
            raise PlanError(f"no head named '{config.target}'; heads: {one_of(context.heads)}", ("target",))
        if config.nltk_data:
            add_nltk_path(config.nltk_data, context.resolve_path)
        sentences = [s for s in plain_sentences(config.corpus, context.resolve_path, ("corpus",),
                                                config.max_sentences) if s]
        if len(sentences) < 3:
            raise PlanError(f"the {config.corpus} corpus has {len(sentences)} sentences; train, validation and test "
                            "need at least one each", ("corpus",))
        split_seed = config.split_seed if config.split_seed is not None else context.seed
        splits = split_indices(len(sentences), {"validation": config.validation, "test": config.test}, split_seed)
        vocabulary = learn_vocabulary([sentences[i] for i in splits["train"]], config.vocabulary, ("vocabulary",),
                                      context.note)
        return sentences, splits, vocabulary

    def _inputs(self, config: MaskedTextConfig) -> tuple[str, ...]:
        return tuple(name for name in INPUTS if config.segment_ids or name != "segment_ids")

    def describe(self, config: MaskedTextConfig, context: DataContext) -> DataDescription:
        _, splits, vocabulary = self._prepare(config, context)
        length = config.max_length
        counts = {split: len(indices) * (config.copies if split == "train" else 1) for split, indices in splits.items()}
        return DataDescription(
            inputs={name: DataField((length,), "int32") for name in self._inputs(config)},
            targets={config.target: DataField((length,), "int32", vocabulary)},
            splits=counts,
            vocabularies={"token_ids": vocabulary},
        )

    def arrays(self, config: MaskedTextConfig, context: DataContext) -> dict[str, tuple[dict, dict]]:
        import numpy as np

        sentences, splits, vocabulary = self._prepare(config, context)
        encoder = _encoder(vocabulary, config)
        rng = np.random.default_rng(context.seed if context.seed is not None else 0)
        result, cut = {}, 0
        for split in ("train", "validation", "test"):
            encoded = encoder.encode([sentences[i] for i in splits[split]])
            cut += encoded.cut
            copies = config.copies if split == "train" else 1
            ids = np.concatenate([encoded.inputs["token_ids"]] * copies)
            masked, labels = mask_pieces(ids, rng, config.mask_rate, len(vocabulary))
            inputs = {name: np.concatenate([encoded.inputs[name]] * copies) for name in self._inputs(config)}
            inputs["token_ids"] = masked
            result[split] = (inputs, {config.target: labels})
        if cut:
            context.note(f"{cut} sentence{'s' if cut != 1 else ''} lost their last words: their pieces do not fit "
                         f"in max_length {config.max_length}")
        return result

    def datasets(self, config: MaskedTextConfig, context: DataContext) -> dict[str, Any]:
        return array_datasets(self.arrays(config, context), context)

    def prediction_state(self, config: MaskedTextConfig, context: DataContext) -> dict:
        return {"vocabulary": list(self._prepare(config, context)[2])}

    def _encode_items(self, config: MaskedTextConfig, context: DataContext, items: Sequence[str]):
        state = context.state or self.prediction_state(config, context)
        encoder = _encoder(tuple(state["vocabulary"]), config)
        words = self.item_tokens(config, items)
        for item, found in zip(items, words):
            if not found:
                raise PlanError(f"nothing to read in {item!r}")
        encoded = encoder.encode(words)
        for item, found, starts in zip(items, words, encoded.starts):
            if len(starts) < len(found):
                raise PlanError(f"{item[:40]!r}… has more pieces than this model reads ({config.max_length}, with "
                                "[CLS] and [SEP])")
        return encoded

    def prediction_inputs(self, config: MaskedTextConfig, context: DataContext, items: Sequence[str]):
        return self._encode_items(config, context, items).inputs

    def token_positions(self, config: MaskedTextConfig, context: DataContext, items: Sequence[str]):
        return self._encode_items(config, context, items).starts

    def item_tokens(self, config: MaskedTextConfig, items: Sequence[str]) -> list[list[str]]:
        # [MASK] stays one token (the tokenizer would split its brackets off).
        return [[word for part in re.split(r"(\[MASK\])", item) if part
                 for word in ([part] if part == MASK else tokenize(part))] for item in items]

    def token_input(self, config: MaskedTextConfig) -> str:
        return "token_ids"

    def input_preprocessing(self, config: MaskedTextConfig) -> dict[str, str]:
        case = ", lowercased" if config.vocabulary.lowercase else ""
        pieces = (f"the sentence split into words and punctuation{case}, each word split into the pieces of the "
                  "WordPiece vocabulary ('vocabulary' in data_state.json; a piece's id is its position) between "
                  f"[CLS] and [SEP], padded with 0 to {config.max_length} ids (int32); [MASK] where a piece is to "
                  "be predicted")
        described = {"token_ids": pieces, "padding_mask": "1 for each of those pieces, 0 for padding (int32)"}
        if config.segment_ids:
            described["segment_ids"] = f"{config.max_length} zeros (int32)"
        return described


def mask_pieces(ids, rng, rate: float, vocabulary_size: int):
    """(ids with picked pieces hidden, labels: the original id where picked, 0 elsewhere)."""
    import numpy as np

    special = len(SPECIAL_TOKENS)  # [PAD] [UNK] [CLS] [SEP] [MASK]: never picked, never drawn at random
    mask_id = SPECIAL_TOKENS.index(MASK)
    real = ids >= special
    picked = (rng.random(ids.shape) < rate) & real
    # At least one piece per sentence that has one, so no example is empty of targets.
    empty = np.flatnonzero(~picked.any(axis=1) & real.any(axis=1))
    for row in empty:
        picked[row, rng.choice(np.flatnonzero(real[row]))] = True
    labels = np.where(picked, ids, 0).astype("int32")
    draw = rng.random(ids.shape)
    masked = ids.copy()
    masked[picked & (draw < 0.8)] = mask_id
    randomised = picked & (draw >= 0.8) & (draw < 0.9)
    masked[randomised] = rng.integers(special, vocabulary_size, int(randomised.sum()))
    return masked.astype("int32"), labels


def _encoder(vocabulary: tuple[str, ...], config: MaskedTextConfig):
    from tlspec_builtins.hub_presets import require_hub
    from tlspec_builtins.subwords import PieceEncoder

    require_hub(("plugin",), "the masked_text data source")
    import keras_hub

    tokenizer = keras_hub.models.BertTokenizer(vocabulary=list(vocabulary), lowercase=config.vocabulary.lowercase)
    encoder = PieceEncoder(tokenizer, INPUTS, config.max_length)
    encoder.pieces[MASK] = [SPECIAL_TOKENS.index(MASK)]
    return encoder


@hookimpl
def tlspec_data_sources():
    return [MaskedText()]
