"""Vocabularies and padding for token sequences. Id 0 is padding, id 1 unknown words."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

PAD, OOV = "<pad>", "<unk>"
TOKEN = re.compile(r"\w+(?:[-'.]\w+)*|[^\w\s]")


class VocabularyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_count: PositiveInt = Field(1, description="Words seen fewer times in training become <unk>.")
    max_size: PositiveInt | None = Field(None, description="Keep only the most frequent words.")
    lowercase: bool = Field(False, description="Lowercase words before looking them up.")


def build_vocabulary(sentences: Iterable[Sequence[str]], options: VocabularyOptions) -> list[str]:
    counts = Counter(word.lower() if options.lowercase else word for sentence in sentences for word in sentence)
    words = sorted((w for w, c in counts.items() if c >= options.min_count), key=lambda w: (-counts[w], w))
    if options.max_size is not None:
        words = words[: max(0, options.max_size - 2)]
    return [PAD, OOV] + words


def encode(sentences: Sequence[Sequence[str]], index: dict[str, int], max_length: int,
           padding: Literal["pre", "post"], lowercase: bool = False) -> np.ndarray:
    """Ids, padded with 0 and cut after ``max_length`` tokens (the start of a sentence is kept)."""
    result = np.zeros((len(sentences), max_length), dtype=np.int32)
    for row, sentence in enumerate(sentences):
        ids = [index.get(w.lower() if lowercase else w, 1) for w in sentence[:max_length]]
        if padding == "post":
            result[row, :len(ids)] = ids
        elif ids:
            result[row, -len(ids):] = ids
    return result


def encode_characters(sentences: Sequence[Sequence[str]], index: dict[str, int], max_length: int,
                      max_word_length: int, padding: Literal["pre", "post"]) -> np.ndarray:
    """Character ids per word: (sentences, max_length, max_word_length), aligned with ``encode``."""
    result = np.zeros((len(sentences), max_length, max_word_length), dtype=np.int32)
    for row, sentence in enumerate(sentences):
        words = sentence[:max_length]
        start = 0 if padding == "post" else max_length - len(words)
        for position, word in enumerate(words):
            ids = [index.get(c, 1) for c in word[:max_word_length]]
            result[row, start + position, :len(ids)] = ids
    return result


def tokenize(text: str) -> list[str]:
    """Words and punctuation, Penn-Treebank-like enough for tagging a typed sentence."""
    return TOKEN.findall(text)
