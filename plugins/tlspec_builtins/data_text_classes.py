"""``text_classes``: documents with one label each, for sequence classifiers.

From a folder (one subfolder per class, one ``.txt`` document per file) or a
CSV/TSV file (a text column and a label column). Documents are tokenized,
the vocabulary is built from the training split, ids are padded with 0.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from pydantic import Field, PositiveInt

from tlspec.api import DataConfig, DataContext, DataDescription, DataField, DataSource, PlanError
from tlspec.errors import did_you_mean, one_of
from tlspec.hookspecs import hookimpl
from tlspec_builtins.data_common import array_datasets, split_indices, target_head
from tlspec_builtins.text_vocabulary import VocabularyOptions, build_vocabulary, encode, tokenize


class TextClassesConfig(DataConfig):
    path: str = Field(description="A folder with one subfolder of .txt files per class, or a .csv/.tsv file.")
    text_column: str = Field("text", description="CSV/TSV: the column holding the text.")
    label_column: str = Field("label", description="CSV/TSV: the column holding the class.")
    validation: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    input: str = Field("tokens", description="Model input the word ids feed.")
    target: str | None = Field(None, description="Head the labels train; default: the only head.")
    max_length: PositiveInt = Field(100, description="Documents are cut or padded to this many tokens.")
    padding: Literal["pre", "post"] = "post"
    vocabulary: VocabularyOptions = Field(default_factory=VocabularyOptions)


def read_documents(config: TextClassesConfig, context: DataContext) -> tuple[list[str], list[str]]:
    """(texts, labels) from the folder or table."""
    path = context.resolve_path(config.path)
    if path.is_dir():
        texts, labels = [], []
        for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = sorted(folder.glob("*.txt"))
            if not files:
                raise PlanError(f"class folder {folder.name!r} in {config.path} has no .txt files", ("path",))
            for file in files:
                texts.append(file.read_text(encoding="utf-8", errors="replace"))
                labels.append(folder.name)
        if not texts:
            raise PlanError(f"{config.path} has no class subfolders", ("path",))
        return texts, labels
    if not path.is_file():
        raise PlanError(f"not found: {config.path} (looked for {path})", ("path",))
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        columns = reader.fieldnames or []
        for field, column in (("text_column", config.text_column), ("label_column", config.label_column)):
            if column not in columns:
                raise PlanError(f"{path.name} has no column {column!r}{did_you_mean(column, columns)}; "
                                f"columns: {one_of(columns)}", (field,))
        rows = [(row[config.text_column], row[config.label_column]) for row in reader
                if row.get(config.text_column) and row.get(config.label_column)]
    if not rows:
        raise PlanError(f"{path.name} has no rows with both a text and a label", ("path",))
    return [text for text, _ in rows], [label for _, label in rows]


class TextClasses(DataSource):
    name = "text_classes"
    summary = "Labelled documents from class folders or a CSV/TSV file, tokenized for sequence classifiers."
    Config = TextClassesConfig

    def _prepare(self, config: TextClassesConfig, context: DataContext):
        texts, labels = read_documents(config, context)
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise PlanError(f"only one class ({classes[0]!r}) in {config.path}", ("path",))
        tokens = [tokenize(text) for text in texts]
        splits = split_indices(len(texts), {"validation": config.validation, "test": config.test}, context.seed)
        vocabulary = build_vocabulary([tokens[i] for i in splits["train"]], config.vocabulary)
        return tokens, labels, classes, splits, vocabulary

    def describe(self, config: TextClassesConfig, context: DataContext) -> DataDescription:
        _, _, classes, splits, vocabulary = self._prepare(config, context)
        return DataDescription(
            inputs={config.input: DataField((config.max_length,), "int32")},
            targets={target_head(config.target, context): DataField((), "int32", tuple(classes))},
            splits={name: len(indices) for name, indices in splits.items()},
            vocabularies={config.input: tuple(vocabulary)},
        )

    def datasets(self, config: TextClassesConfig, context: DataContext) -> dict[str, Any]:
        tokens, labels, classes, splits, vocabulary = self._prepare(config, context)
        index = {word: i for i, word in enumerate(vocabulary)}
        target = target_head(config.target, context)
        arrays = {}
        for split, rows in splits.items():
            ids = encode([tokens[i] for i in rows], index, config.max_length, config.padding,
                         config.vocabulary.lowercase)
            arrays[split] = ({config.input: ids},
                             {target: np.asarray([classes.index(labels[i]) for i in rows], dtype=np.int32)})
        return array_datasets(arrays, context)

    def prediction_inputs(self, config: TextClassesConfig, context: DataContext, items: Sequence[str]):
        _, _, _, _, vocabulary = self._prepare(config, context)
        index = {word: i for i, word in enumerate(vocabulary)}
        texts = [Path(item).read_text(encoding="utf-8") if Path(item).is_file() else item for item in items]
        return {config.input: encode([tokenize(t) for t in texts], index, config.max_length, config.padding,
                                     config.vocabulary.lowercase)}


@hookimpl
def tlspec_data_sources():
    return [TextClasses()]
