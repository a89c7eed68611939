"""``parallel_text``: tab-separated sentence pairs for encoder-decoder models.

One column feeds the encoder; each decoder head gets a column of its own as
target (several decoders may read the same or different columns). A decoder
is trained with teacher forcing: its input is ``<s> t1 … tn`` and its target
``t1 … tn </s>``, both padded with id 0 (masked out of loss and metrics).
Tokens are characters or words; vocabularies are built from the training
split only and each decoder's vocabulary is both its input and its classes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, NonNegativeInt, PositiveInt

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
    read_utf8,
    split_indices,
)
from tlspec_builtins.text_vocabulary import OOV, PAD, VocabularyOptions, build_vocabulary, encode, tokenize

START, END = "<s>", "</s>"


class ParallelConfig(DataConfig):
    path: str = Field(description="Tab-separated file, one example per line (e.g. English<TAB>French).")
    source_column: NonNegativeInt = Field(0, description="Column the encoder reads (0 is the first).")
    input: str = Field("source", description="Model input the source token ids feed.")
    targets: dict[str, NonNegativeInt] = Field(description="Decoder head name -> column it learns to produce.")
    decoder_inputs: dict[str, str] = Field(
        default_factory=dict, description="Decoder head -> name of its teacher-forcing input (default <head>_input).")
    level: Literal["char", "word"] = Field("char", description="Tokens are characters or words (and punctuation).")
    lowercase: bool = Field(False, description="Lowercase every column before tokenizing.")
    max_pairs: PositiveInt | None = Field(None, description="Use only the first N lines.")
    max_source_length: PositiveInt | None = Field(None, description="Drop pairs with a longer source (tokens).")
    max_target_length: PositiveInt | None = Field(None, description="Drop pairs with a longer target (tokens).")
    validation: float = Field(0.1, gt=0, lt=1, description="Fraction of pairs for validation.")
    test: float = Field(0.1, gt=0, lt=1, description="Fraction of pairs held out for testing.")
    source_vocabulary: VocabularyOptions = Field(default_factory=VocabularyOptions)
    target_vocabulary: VocabularyOptions = Field(default_factory=VocabularyOptions)

    def decoder_input(self, head: str) -> str:
        return self.decoder_inputs.get(head, f"{head}_input")


def tokens_of(text: str, config: ParallelConfig) -> list[str]:
    text = text.lower() if config.lowercase else text
    return list(text) if config.level == "char" else tokenize(text)


def join_tokens(tokens: Sequence[str], level: str) -> str:
    return "".join(tokens) if level == "char" else " ".join(tokens)


class _Corpus:
    """The file read, tokenized, filtered and split, with the vocabularies of the training split."""

    def __init__(self, config: ParallelConfig, context: DataContext):
        unknown = sorted(set(config.targets) - set(context.heads))
        if unknown:
            raise PlanError(f"no head named '{unknown[0]}'; heads: {one_of(context.heads)}", ("targets",))
        stray = sorted(set(config.decoder_inputs) - set(config.targets))
        if stray:
            raise PlanError(f"'{stray[0]}' is not a decoder head of targets; targets: {one_of(config.targets)}",
                            ("decoder_inputs",))
        path = context.resolve_path(config.path)
        if not path.is_file():
            raise PlanError(f"file not found: {config.path} (looked for {path})", ("path",))
        columns = [config.source_column, *config.targets.values()]
        rows = []
        with io.StringIO(read_utf8(path, ("path",)), newline="") as handle:
            for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
                if config.max_pairs and len(rows) >= config.max_pairs:
                    break
                if not row:
                    continue
                if len(row) <= max(columns):
                    raise PlanError(f"{path.name} line {number} has {len(row)} column(s); the spec reads column "
                                    f"{max(columns)} (columns count from 0)",
                                    ("source_column",) if config.source_column >= len(row) else ("targets",))
                rows.append([tokens_of(row[c], config) for c in columns])
        if not rows:
            raise PlanError(f"{path.name} has no sentence pairs", ("path",))
        kept = [r for r in rows if self._fits(r, config)]
        self.dropped = len(rows) - len(kept)
        if not kept:
            raise PlanError("every pair is longer than max_source_length/max_target_length", ("max_target_length",))
        self.rows = kept
        self.splits = split_indices(len(kept), {"validation": config.validation, "test": config.test}, context.seed)
        train = [kept[i] for i in self.splits["train"]]
        self.source_vocabulary = build_vocabulary([r[0] for r in train], config.source_vocabulary)
        self.target_vocabularies = {}
        for position, head in enumerate(config.targets, start=1):
            words = build_vocabulary([r[position] for r in train], config.target_vocabulary)
            self.target_vocabularies[head] = [PAD, OOV, START, END] + [w for w in words[2:] if w not in (START, END)]
        self.source_length = max(len(r[0]) for r in kept)
        self.target_lengths = {head: max(len(r[p]) for r in kept) + 1
                               for p, head in enumerate(config.targets, start=1)}

    @staticmethod
    def _fits(row, config: ParallelConfig) -> bool:
        if config.max_source_length and len(row[0]) > config.max_source_length:
            return False
        return not (config.max_target_length and any(len(t) > config.max_target_length for t in row[1:]))


class ParallelText(DataSource):
    name = "parallel_text"
    summary = "Tab-separated sentence pairs (e.g. English-French) for encoder-decoder heads; char or word level."
    Config = ParallelConfig

    def describe(self, config: ParallelConfig, context: DataContext) -> DataDescription:
        corpus = _Corpus(config, context)
        if corpus.dropped:
            context.note(f"{corpus.dropped} pair(s) longer than the maximum lengths were left out")
        inputs = {config.input: DataField((corpus.source_length,), "int32")}
        vocabularies = {config.input: tuple(corpus.source_vocabulary)}
        targets = {}
        for head, vocabulary in corpus.target_vocabularies.items():
            length = corpus.target_lengths[head]
            inputs[config.decoder_input(head)] = DataField((length,), "int32")
            vocabularies[config.decoder_input(head)] = tuple(vocabulary)
            targets[head] = DataField((length,), "int32", tuple(vocabulary))
        return DataDescription(inputs=inputs, targets=targets,
                               splits={name: len(indices) for name, indices in corpus.splits.items()},
                               vocabularies=vocabularies)

    def arrays(self, config: ParallelConfig, context: DataContext) -> dict[str, tuple[dict, dict]]:
        corpus = _Corpus(config, context)
        source_index = {w: i for i, w in enumerate(corpus.source_vocabulary)}
        result = {}
        for split, indices in corpus.splits.items():
            rows = [corpus.rows[i] for i in indices]
            inputs = {config.input: encode([r[0] for r in rows], source_index, corpus.source_length, "post")}
            targets = {}
            for position, head in enumerate(config.targets, start=1):
                index = {w: i for i, w in enumerate(corpus.target_vocabularies[head])}
                length = corpus.target_lengths[head]
                starts = [[START] + row[position] for row in rows]
                inputs[config.decoder_input(head)] = encode(starts, index, length, "post")
                targets[head] = encode([r[position] + [END] for r in rows], index, length, "post")
            result[split] = (inputs, targets)
        return result

    def datasets(self, config: ParallelConfig, context: DataContext) -> dict[str, Any]:
        return array_datasets(self.arrays(config, context), context)

    def prediction_state(self, config: ParallelConfig, context: DataContext) -> dict:
        corpus = _Corpus(config, context)
        return {"source_vocabulary": corpus.source_vocabulary, "source_length": corpus.source_length}

    def prediction_inputs(self, config: ParallelConfig, context: DataContext, items: Sequence[str]):
        state = context.state or self.prediction_state(config, context)
        index = {w: i for i, w in enumerate(state["source_vocabulary"])}
        length = state["source_length"]
        sentences = [tokens_of(item, config) for item in items]
        for item, tokens in zip(items, sentences):
            if not tokens:
                raise PlanError(f"nothing to read in {item!r}")
            if len(tokens) > length:
                raise PlanError(f"{item[:40]!r} has {len(tokens)} {config.level} tokens; this model was trained on "
                                f"at most {length}")
        return {config.input: encode(sentences, index, length, "post")}

    def item_tokens(self, config: ParallelConfig, items: Sequence[str]) -> list[list[str]]:
        return [tokens_of(item, config) for item in items]

    def join_tokens(self, config: ParallelConfig, head: str, tokens: Sequence[str]) -> str:
        return join_tokens(tokens, config.level)


@hookimpl
def tlspec_data_sources():
    return [ParallelText()]
