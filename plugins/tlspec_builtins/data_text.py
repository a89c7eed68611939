"""``nltk_tagged``: tagged sentences through NLTK's own corpus readers, for per-token heads.

Corpora: ``treebank``, ``brown``, ``conll2000`` (word, POS and chunk columns),
``indian:<file>`` (e.g. ``indian:hindi.pos``), or a path to a file of
``word/TAG`` tokens (read with ``TaggedCorpusReader``). NLTK finds its data through
``NLTK_DATA`` as usual. Sentences are split deterministically (seeded), the
vocabulary is built from the training split only, sequences are padded with id 0
and tags with label 0 (``<pad>``), so padding can be masked out of the loss and
of the reported token accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

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
from tlspec_builtins.corpora import add_nltk_path, corpus_digest, preset_digest, split_fingerprints
from tlspec_builtins.subwords import (
    TokenizerOptions,
    describe_pieces,
    piece_encoder,
    run_encoder,
    saved_tokenizer,
    tokenizer_inputs,
)
from tlspec_builtins.text_vocabulary import (
    OOV,
    PAD,
    VocabularyOptions,
    build_vocabulary,
    encode,
    encode_characters,
    tokenize,
)

NAMED_CORPORA = ("treebank", "brown", "conll2000")
READING_VERSION = 1  # raise when reading or splitting changes what a corpus yields: cached descriptions go stale
COLUMNS = ("pos", "chunk")


class CharacterOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str = Field("chars", description="Model input the character ids feed.")
    max_word_length: PositiveInt = Field(16, description="Characters kept per word (the first ones).")


class TaggedConfig(DataConfig):
    corpus: str = Field(description="treebank, brown, conll2000, indian:<file>, or a word/TAG file path.")
    tagset: Literal["universal"] | None = Field(None, description="Map POS tags to the 12 universal tags.")
    input: str = Field("tokens", description="Model input the word ids feed.")
    targets: dict[str, Literal["pos", "chunk"]] = Field(description="Head name -> tag column (pos or chunk).")
    validation: float = Field(0.15, gt=0, lt=1, description="Fraction of sentences for validation.")
    test: float = Field(0.15, gt=0, lt=1, description="Fraction of sentences for testing.")
    split_seed: int | None = Field(None, ge=0, description="Seed of the train/validation/test split (default: "
                                                           "the spec's seed); fix it to compare runs of other seeds "
                                                           "on the same test set.")
    max_length: PositiveInt = Field(50, description="Sentences are cut (at the end) or padded to this length.")
    padding: Literal["pre", "post"] = Field("post", description="Where padding goes (the lecture: pre).")
    vocabulary: VocabularyOptions = Field(default_factory=VocabularyOptions)
    max_sentences: PositiveInt | None = Field(None, description="Use only the first N sentences.")
    nltk_data: str | None = Field(None, description="A folder to add to NLTK's data path (as NLTK_DATA does).")
    characters: CharacterOptions | None = Field(
        None, description="Also yield each word's characters (input 'chars' by default) for char-level features.")
    tokenizer: TokenizerOptions | None = Field(
        None, description="Split words into a KerasHub preset's pieces (for a keras_hub backbone): the inputs are "
                          "then the backbone's (token_ids, padding_mask, …), max_length counts pieces, and each "
                          "word's first piece carries its tag.")

    @model_validator(mode="after")
    def _chunks_need_conll(self):
        if "chunk" in self.targets.values() and self.corpus != "conll2000":
            raise ValueError("chunk tags exist only in conll2000")
        if self.tokenizer is not None and self.characters is not None:
            raise ValueError("characters and tokenizer do not go together: a preset's tokenizer reads the "
                             "characters itself")
        return self


def read_sentences(config: TaggedConfig, context: DataContext) -> list[list[tuple[str, ...]]]:
    """Sentences as lists of (word, pos) or (word, pos, chunk) tuples."""
    import nltk

    if config.nltk_data:
        add_nltk_path(config.nltk_data, context.resolve_path)
    try:
        if config.corpus == "conll2000":
            from nltk.corpus import conll2000

            sentences = conll2000.iob_sents()
            if config.tagset:
                sentences = [[(w, nltk.map_tag("en-ptb", "universal", p), c) for w, p, c in s] for s in sentences]
        elif config.corpus in ("treebank", "brown"):
            reader = getattr(nltk.corpus, config.corpus)
            sentences = reader.tagged_sents(tagset=config.tagset)
        elif config.corpus.startswith("indian:"):
            from nltk.corpus import indian

            sentences = indian.tagged_sents(config.corpus.split(":", 1)[1])
        else:
            path = context.resolve_path(config.corpus)
            if not path.is_file():
                raise PlanError(f"unknown corpus {config.corpus!r}: not one of {', '.join(NAMED_CORPORA)}, "
                                f"indian:<file>, nor a file (looked for {path})", ("corpus",))
            from nltk.corpus.reader import TaggedCorpusReader

            read_utf8(path, ("corpus",))  # NLTK would decode it lazily, failing mid-way without a position
            if str(path.parent) not in nltk.data.path:
                nltk.data.path.append(str(path.parent))  # NLTK reads corpora only from its data path
            sentences = TaggedCorpusReader(str(path.parent), [path.name]).tagged_sents()
        sentences = [list(s) for s in (sentences[: config.max_sentences] if config.max_sentences else sentences)]
    except UnicodeDecodeError as error:  # a named corpus in NLTK's data folder, damaged or re-encoded
        raise PlanError(f"NLTK's {config.corpus} corpus is not UTF-8 text (byte 0x{error.object[error.start]:02x} "
                        f"at offset {error.start} of one of its files: {error.reason}); reinstall it",
                        ("corpus",)) from None
    except LookupError as error:
        first = str(error).strip().splitlines()
        raise PlanError(f"NLTK cannot find the {config.corpus} corpus; set NLTK_DATA to a folder holding "
                        f"corpora/{config.corpus.split(':')[0]}.zip ({' '.join(first[:3]).strip('* ')})",
                        ("corpus",)) from None
    if not sentences:
        raise PlanError(f"the {config.corpus} corpus has no sentences", ("corpus",))
    return sentences


class NltkTagged(DataSource):
    name = "nltk_tagged"
    summary = "POS/chunk-tagged sentences from NLTK corpora (treebank, brown, conll2000, indian, files)."
    Config = TaggedConfig
    cache_description = True  # describing reads the whole corpus for its vocabulary and tags

    def _prepare(self, config: TaggedConfig, context: DataContext):
        unknown = sorted(set(config.targets) - set(context.heads))
        if unknown:
            raise PlanError(f"no head named '{unknown[0]}'; heads: {one_of(context.heads)}", ("targets",))
        sentences = read_sentences(config, context)
        split_seed = config.split_seed if config.split_seed is not None else context.seed
        splits = split_indices(len(sentences), {"validation": config.validation, "test": config.test}, split_seed)
        train = [sentences[i] for i in splits["train"]]
        vocabulary = build_vocabulary([[t[0] for t in s] for s in train], config.vocabulary)
        tags = {head: [PAD] + sorted({t[1 + COLUMNS.index(column)] for s in sentences for t in s})
                for head, column in config.targets.items()}
        characters = None
        if config.characters:
            characters = [PAD, OOV] + sorted({c for s in train for t in s for c in t[0]})
        return sentences, splits, vocabulary, tags, characters

    def fingerprint(self, config: TaggedConfig, context: DataContext) -> dict[str, str] | None:
        """The corpus files' content (and a local preset's tokenizer files), the options and the split seed
        (it decides which sentences each split holds); None when one of them cannot be read here."""
        content = corpus_digest(config.corpus, config.nltk_data, context.resolve_path,
                                ("taggers/universal_tagset",) if config.tagset else ())
        tokenizer = preset_digest(config.tokenizer.preset, context.resolve_path) if config.tokenizer else ""
        if content is None or tokenizer is None:
            return None
        split_seed = config.split_seed if config.split_seed is not None else context.seed
        return split_fingerprints(READING_VERSION, content, tokenizer, config.model_dump(mode="json"), split_seed)

    def describe(self, config: TaggedConfig, context: DataContext) -> DataDescription:
        sentences, splits, vocabulary, tags, characters = self._prepare(config, context)
        length = config.max_length
        if config.tokenizer is not None:
            inputs = {name: DataField((length,), "int32") for name in tokenizer_inputs(config.tokenizer,
                                                                                        context.resolve_path)}
            vocabularies = {}
        else:
            inputs = {config.input: DataField((length,), "int32")}
            vocabularies = {config.input: tuple(vocabulary)}
        if characters:
            inputs[config.characters.input] = DataField((length, config.characters.max_word_length), "int32")
            vocabularies[config.characters.input] = tuple(characters)
        return DataDescription(
            inputs=inputs,
            targets={head: DataField((length,), "int32", tuple(names)) for head, names in tags.items()},
            splits={name: len(indices) for name, indices in splits.items()},
            vocabularies=vocabularies,
        )

    def _encode_inputs(self, config: TaggedConfig, words: list[list[str]], index: dict, characters) -> dict:
        inputs = {config.input: encode(words, index, config.max_length, config.padding, config.vocabulary.lowercase)}
        if characters:
            inputs[config.characters.input] = encode_characters(words, {c: i for i, c in enumerate(characters)},
                                                                config.max_length, config.characters.max_word_length,
                                                                config.padding)
        return inputs

    def arrays(self, config: TaggedConfig, context: DataContext) -> dict[str, tuple[dict, dict]]:
        sentences, splits, vocabulary, tags, characters = self._prepare(config, context)
        if config.tokenizer is not None:
            return self._piece_arrays(config, context, sentences, splits, tags)
        index = {word: i for i, word in enumerate(vocabulary)}
        result = {}
        for split, indices in splits.items():
            chosen = [sentences[i] for i in indices]
            inputs = self._encode_inputs(config, [[t[0] for t in s] for s in chosen], index, characters)
            targets = {}
            for head, column in config.targets.items():
                tag_index = {tag: i for i, tag in enumerate(tags[head])}
                position = 1 + COLUMNS.index(column)
                targets[head] = encode([[t[position] for t in s] for s in chosen], tag_index, config.max_length,
                                       config.padding)
            result[split] = (inputs, targets)
        return result

    def _piece_arrays(self, config: TaggedConfig, context: DataContext, sentences, splits, tags) -> dict:
        encoder = piece_encoder(config.tokenizer, context.resolve_path, config.max_length)
        result, cut = {}, 0
        for split, indices in splits.items():
            chosen = [sentences[i] for i in indices]
            labels = []
            for head, column in config.targets.items():
                tag_index = {tag: i for i, tag in enumerate(tags[head])}
                position = 1 + COLUMNS.index(column)
                labels.append([[tag_index[t[position]] for t in s] for s in chosen])
            encoded = encoder.encode([[t[0] for t in s] for s in chosen], labels)
            cut += encoded.cut
            result[split] = (encoded.inputs, dict(zip(config.targets, encoded.labels)))
        if cut:
            context.note(f"{cut} sentence{'s' if cut != 1 else ''} lost their last words: their pieces do not fit "
                         f"in max_length {config.max_length}")
        return result

    def datasets(self, config: TaggedConfig, context: DataContext) -> dict[str, Any]:
        return array_datasets(self.arrays(config, context), context)

    def prediction_state(self, config: TaggedConfig, context: DataContext) -> dict:
        _, _, vocabulary, _, characters = self._prepare(config, context)
        if config.tokenizer is not None:
            return {"vocabulary": None, "characters": None,
                    "tokenizer": saved_tokenizer(config.tokenizer, context.resolve_path)}
        return {"vocabulary": vocabulary, "characters": characters}

    def prediction_inputs(self, config: TaggedConfig, context: DataContext, items: Sequence[str]):
        if config.tokenizer is not None:
            encoded = self._encode_items(config, context, items)
            return encoded.inputs
        state = context.state or self.prediction_state(config, context)
        vocabulary, characters = state["vocabulary"], state["characters"]
        index = {word: i for i, word in enumerate(vocabulary)}
        tokens = [tokenize(item) for item in items]
        for item, words in zip(items, tokens):
            if not words:
                raise PlanError(f"nothing to tag in {item!r}")
            if len(words) > config.max_length:
                raise PlanError(f"{item[:40]!r}… has {len(words)} tokens; this model reads at most "
                                f"{config.max_length}")
        return self._encode_inputs(config, tokens, index, characters)

    def _encode_items(self, config: TaggedConfig, context: DataContext, items: Sequence[str]):
        words = [tokenize(item) for item in items]
        for item, found in zip(items, words):
            if not found:
                raise PlanError(f"nothing to tag in {item!r}")
        encoded = run_encoder(config.tokenizer, context, config.max_length).encode(words)
        for item, found, starts in zip(items, words, encoded.starts):
            if len(starts) < len(found):
                raise PlanError(f"{item[:40]!r}… has more pieces than this model reads ({config.max_length}, "
                                "with the start and end tokens)")
        return encoded

    def token_positions(self, config: TaggedConfig, context: DataContext, items: Sequence[str]):
        if config.tokenizer is None:
            return None
        return self._encode_items(config, context, items).starts

    def input_preprocessing(self, config: TaggedConfig) -> dict[str, str]:
        if config.tokenizer is not None:
            return describe_pieces(config.tokenizer, config.max_length, "the sentence")
        case = ", lowercased" if config.vocabulary.lowercase else ""
        described = {config.input: f"the sentence split into words and punctuation{case}; each word's id is its "
                                   "line number (from 0) in the vocabulary file, 1 if it is not there; cut or "
                                   f"padded with 0 ({config.padding}) to {config.max_length} ids (int32)"}
        if config.characters is not None:
            described[config.characters.input] = (
                f"for each word position, the ids of its first {config.characters.max_word_length} characters: "
                "each one's position in the 'characters' list of data_state.json, 1 if it is not there; 0 pads "
                "(int32)")
        return described

    def item_tokens(self, config: TaggedConfig, items: Sequence[str]) -> list[list[str]]:
        return [tokenize(item) for item in items]

    def token_input(self, config: TaggedConfig) -> str:
        return "token_ids" if config.tokenizer is not None else config.input


@hookimpl
def tlspec_data_sources():
    return [NltkTagged()]
