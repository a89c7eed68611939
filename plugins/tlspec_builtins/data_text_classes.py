"""``text_classes``: documents with one label each, for sequence classifiers.

From a folder (one subfolder per class, one ``.txt`` document per file), a
CSV/TSV file (a text column and a label column), or one file per class with a
separator between documents. Texts pass through the listed text transform
plugins first (e.g. into a shared script), then become words or characters; the
vocabulary comes from the training split or a file (so that a model trained on
one corpus reads another with the same ids). ``train_limit`` keeps a stratified
label budget of the training split while the test split stays the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, PositiveInt, model_validator

from tlspec.api import (
    DataConfig,
    DataContext,
    DataDescription,
    DataField,
    DataSource,
    PlanError,
    array_datasets,
    chain,
    did_you_mean,
    hookimpl,
    read_utf8,
    split_indices,
    target_head,
)
from tlspec_builtins.subwords import TokenizerOptions, describe_pieces, run_encoder, saved_tokenizer, tokenizer_inputs
from tlspec_builtins.text_documents import deduplicate, keep_classes, read_class_files, read_folder, read_table
from tlspec_builtins.text_vocabulary import OOV, PAD, VocabularyOptions, build_vocabulary, encode, tokenize

SPACES = re.compile(r"\s+")


class ClassVocabularyOptions(VocabularyOptions):
    file: str | None = Field(None, description="A fixed vocabulary, one token per line, relative to the spec "
                                               "(ids follow the file's order after <pad> and <unk>).")


class TextClassesConfig(DataConfig):
    path: str | None = Field(None, description="A folder with one subfolder of .txt files per class, or a "
                                               ".csv/.tsv file.")
    files: dict[str, str] | None = Field(None, description="Instead of path: class name -> a file of that "
                                                           "class's documents, separated by 'separator'.")
    separator: str = Field("\n", min_length=1, description="files: what separates two documents.")
    text_column: str = Field("text", description="CSV/TSV: the column holding the text.")
    label_column: str = Field("label", description="CSV/TSV: the column holding the class.")
    label_map: dict[str, str] = Field(default_factory=dict, description="Rename labels as read, e.g. {P: pos}.")
    classes: list[str] | None = Field(None, min_length=2, description="Keep only documents of these classes "
                                                                      "(after label_map).")
    transforms: list[str | dict[str, Any]] = Field(
        default_factory=list, description="Text transform plugins applied in order before tokenizing, e.g. "
                                          "[devanagari_to_urdu, {plugin: urdu_normalise, fold: true}].")
    deduplicate: bool = Field(False, description="Drop repeated texts (after the transforms); a text with two "
                                                 "labels is dropped altogether.")
    level: Literal["word", "char"] = Field("word", description="Tokens are words (and punctuation) or characters.")
    validation: float = Field(0.15, ge=0, lt=1, description="Fraction held out for validation (0: none).")
    test: float = Field(0.15, gt=0, lt=1)
    split_seed: int | None = Field(None, ge=0, description="Seed of the train/validation/test split (default: "
                                                           "the spec's seed); fix it to compare runs of other seeds "
                                                           "on the same test set.")
    train_limit: PositiveInt | None = Field(None, description="Label budget: keep this many training documents, "
                                                              "stratified by class, drawn with the spec's seed.")
    input: str = Field("tokens", description="Model input the token ids feed.")
    target: str | None = Field(None, description="Head the labels train; default: the only head.")
    max_length: PositiveInt = Field(100, description="Documents are cut or padded to this many tokens.")
    padding: Literal["pre", "post"] = "post"
    vocabulary: ClassVocabularyOptions = Field(default_factory=ClassVocabularyOptions)
    tokenizer: TokenizerOptions | None = Field(
        None, description="Split words into a KerasHub preset's pieces (for a keras_hub backbone): the inputs are "
                          "then the backbone's (token_ids, padding_mask, …) and max_length counts pieces.")

    @model_validator(mode="after")
    def _one_source(self):
        if self.tokenizer is not None and self.level == "char":
            raise ValueError("level: char and tokenizer do not go together: the preset's tokenizer splits words")
        if (self.path is None) == (self.files is None):
            raise ValueError("give either path (a folder or a table) or files (one file per class)")
        if self.files is not None and len(self.files) < 2:
            raise ValueError("files: give one file for each of at least two classes")
        return self


def read_documents(config: TextClassesConfig, context: DataContext) -> tuple[list[str], list[str]]:
    """(texts, labels) as configured: read, relabelled, filtered, transformed, deduplicated."""
    if config.files is not None:
        texts, labels = read_class_files(config.files, config.separator, context)
    else:
        path = context.resolve_path(config.path)
        if path.is_dir():
            texts, labels = read_folder(path, config.path)
        elif path.is_file():
            texts, labels = read_table(path, config.text_column, config.label_column, context)
        else:
            raise PlanError(f"not found: {config.path} (looked for {path})", ("path",))
    labels = [config.label_map.get(label, label) for label in labels]
    if config.classes is not None:
        texts, labels = keep_classes(texts, labels, config.classes, context)
    transform = chain(config.transforms)
    texts = [SPACES.sub(" ", transform(text)).strip() for text in texts]
    if config.deduplicate:
        texts, labels = deduplicate(texts, labels, context)
    return texts, labels


def tokens_of(text: str, level: str) -> list[str]:
    return list(SPACES.sub(" ", text.strip())) if level == "char" else tokenize(text)


def stratified_subset(indices: np.ndarray, labels: Sequence[str], limit: int, seed: int | None) -> np.ndarray:
    """``limit`` of ``indices``, each class in proportion (largest remainders), drawn with ``seed``."""
    if limit >= len(indices):
        return indices
    rng = np.random.default_rng(seed if seed is not None else 0)
    by_class: dict[str, list[int]] = {}
    for index in indices:
        by_class.setdefault(labels[index], []).append(int(index))
    shares = {name: limit * len(members) / len(indices) for name, members in by_class.items()}
    counts = {name: int(share) for name, share in shares.items()}
    for name in sorted(shares, key=lambda n: shares[n] - counts[n], reverse=True)[: limit - sum(counts.values())]:
        counts[name] += 1
    chosen = [i for name, members in sorted(by_class.items()) for i in rng.choice(members, counts[name], replace=False)]
    return np.sort(np.asarray(chosen, dtype=np.int64))


class TextClasses(DataSource):
    name = "text_classes"
    summary = "Labelled documents (class folders, CSV/TSV, one file per class), transformed if asked, " \
              "as word or character ids."
    Config = TextClassesConfig

    def _vocabulary(self, config: TextClassesConfig, context: DataContext, train_tokens) -> list[str]:
        if config.vocabulary.file is None:
            return build_vocabulary(train_tokens, config.vocabulary)
        path = context.resolve_path(config.vocabulary.file)
        if not path.is_file():
            raise PlanError(f"not found: {config.vocabulary.file} (looked for {path})", ("vocabulary", "file"))
        listed = [line.rstrip("\n") for line in read_utf8(path, ("vocabulary", "file")).split("\n")]
        return [PAD, OOV] + list(dict.fromkeys(t for t in listed if t and t not in (PAD, OOV)))

    def _prepare(self, config: TextClassesConfig, context: DataContext):
        texts, labels, splits = self._split(config, context)
        classes = sorted(set(labels))
        tokens = [tokens_of(text, config.level) for text in texts]
        vocabulary = self._vocabulary(config, context, [tokens[i] for i in splits["train"]])
        return tokens, labels, classes, splits, vocabulary

    def _split(self, config: TextClassesConfig, context: DataContext):
        """The documents (texts, labels) and each split's document numbers."""
        texts, labels = read_documents(config, context)
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise PlanError(f"only one class ({classes[0]!r}) in {config.path or 'files'}",
                            ("path" if config.path else "files",))
        split_seed = config.split_seed if config.split_seed is not None else context.seed
        splits = split_indices(len(texts), {"validation": config.validation, "test": config.test}, split_seed)
        if config.train_limit is not None:
            available = len(splits["train"])
            splits["train"] = stratified_subset(splits["train"], labels, config.train_limit, context.seed)
            if config.train_limit > available:
                context.note(f"train_limit {config.train_limit} exceeds the {available} training documents; "
                             "all are used")
        return texts, labels, splits

    def describe(self, config: TextClassesConfig, context: DataContext) -> DataDescription:
        _, _, classes, splits, vocabulary = self._prepare(config, context)
        names = (tokenizer_inputs(config.tokenizer, context.resolve_path) if config.tokenizer is not None
                 else (config.input,))
        return DataDescription(
            inputs={name: DataField((config.max_length,), "int32") for name in names},
            targets={target_head(config.target, context): DataField((), "int32", tuple(classes))},
            splits={name: len(indices) for name, indices in splits.items()},
            vocabularies={config.input: tuple(vocabulary)} if config.tokenizer is None else {},
        )

    def _inputs(self, config: TextClassesConfig, context: DataContext, tokens: list[list[str]],
                vocabulary: list[str]) -> dict:
        """Model inputs of tokenized documents: word ids, or the preset's pieces."""
        if config.tokenizer is not None:
            encoded = run_encoder(config.tokenizer, context, config.max_length).encode(tokens)
            if encoded.cut:
                context.note(f"{encoded.cut} document{'s' if encoded.cut != 1 else ''} cut at max_length "
                             f"{config.max_length} pieces")
            return encoded.inputs
        index = {word: i for i, word in enumerate(vocabulary)}
        return {config.input: encode(tokens, index, config.max_length, config.padding, config.vocabulary.lowercase)}

    def datasets(self, config: TextClassesConfig, context: DataContext) -> dict[str, Any]:
        tokens, labels, classes, splits, vocabulary = self._prepare(config, context)
        target = target_head(config.target, context)
        arrays = {}
        for split, rows in splits.items():
            arrays[split] = (self._inputs(config, context, [tokens[i] for i in rows], vocabulary),
                             {target: np.asarray([classes.index(labels[i]) for i in rows], dtype=np.int32)})
        return array_datasets(arrays, context)

    def evaluation_dataset(self, config: TextClassesConfig, context: DataContext, paths, targets):
        """Class folders or CSV/TSV tables like ``path``, relabelled and transformed as training read them."""
        vocabulary = (context.state or self.prediction_state(config, context))["vocabulary"]
        target = target_head(config.target, context)
        classes = list(targets[target].classes or ())
        texts, labels = [], []
        for path in paths:
            read = self._documents_at(config, context, path)
            unknown = sorted(set(read[1]) - set(classes))
            if unknown:
                raise PlanError(f"{path}: class {unknown[0]!r} is not one of the run's classes"
                                f"{did_you_mean(unknown[0], classes)}; its classes: {', '.join(classes)}")
            texts += read[0]
            labels += read[1]
        arrays = (self._inputs(config, context, [tokens_of(text, config.level) for text in texts], vocabulary),
                  {target: np.asarray([classes.index(label) for label in labels], np.int32)})
        return array_datasets({"evaluation": arrays}, context)["evaluation"]

    def input_preprocessing(self, config: TextClassesConfig) -> dict[str, str]:
        if config.tokenizer is not None:
            return describe_pieces(config.tokenizer, config.max_length, "the text")
        unit = "characters" if config.level == "char" else "words and punctuation"
        case = ", lowercased" if config.vocabulary.lowercase else ""
        transforms = f" after the text transforms {config.transforms}" if config.transforms else ""
        return {config.input: f"the text{transforms} split into {unit}{case}; each token's id is its line number "
                              f"(from 0) in the vocabulary file, 1 if it is not there; cut or padded with 0 "
                              f"({config.padding}) to {config.max_length} ids (int32)"}

    @staticmethod
    def _documents_at(config: TextClassesConfig, context: DataContext, path: str) -> tuple[list[str], list[str]]:
        if not Path(path).exists():
            raise PlanError(f"not found: {path}")
        return read_documents(config.model_copy(update={"path": str(Path(path).resolve()), "files": None,
                                                        "deduplicate": False}), context)

    def example_items(self, config: TextClassesConfig, context: DataContext, split: str, paths=()):
        if paths:
            return [text for path in paths for text in self._documents_at(config, context, path)[0]]
        texts, _, splits = self._split(config, context)
        return [texts[i] for i in splits.get(split, [])]

    def prediction_state(self, config: TextClassesConfig, context: DataContext) -> dict:
        if config.tokenizer is not None:
            return {"vocabulary": [], "tokenizer": saved_tokenizer(config.tokenizer, context.resolve_path)}
        return {"vocabulary": self._prepare(config, context)[4]}

    def prediction_inputs(self, config: TextClassesConfig, context: DataContext, items: Sequence[str]):
        vocabulary = (context.state or self.prediction_state(config, context))["vocabulary"]
        texts = [item if not context.local_files or (text := _file_text(item)) is None else text for item in items]
        transform = chain(config.transforms)
        texts = [SPACES.sub(" ", transform(text)).strip() for text in texts]
        return self._inputs(config, context, [tokens_of(t, config.level) for t in texts], vocabulary)


@hookimpl
def tlspec_data_sources():
    return [TextClasses()]


def _file_text(item: str) -> str | None:
    """The text of the file ``item`` names, or None when it is a text to classify itself (not a file)."""
    try:
        if not Path(item).is_file():
            return None
    except (OSError, ValueError):  # a sentence too long to be a file name, or holding a NUL
        return None
    return read_utf8(Path(item), ())

