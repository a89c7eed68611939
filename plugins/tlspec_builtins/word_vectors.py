"""Pretrained word vectors through gensim: a word2vec file, a saved gensim model, or word2vec
trained on a named corpus or a text file and cached by content (so it trains once)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from tlspec.api import PlanContext, PlanError
from tlspec_builtins.corpora import content_digest, plain_sentences


class VectorsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Literal["word2vec_file", "gensim_model", "train"]
    path: str | None = Field(None, description="word2vec_file / gensim_model: the file.")
    binary: bool = Field(True, description="word2vec_file: binary (GoogleNews .bin) or text format.")
    limit: PositiveInt | None = Field(None, description="word2vec_file: read only the first N vectors.")
    corpus: str | None = Field(None, description="train: an NLTK corpus (brown, treebank, conll2000) or a "
                                                 "text file with one sentence per line.")
    dim: PositiveInt = Field(100, description="train: vector size.")
    window: PositiveInt = 5
    min_count: PositiveInt = 2
    epochs: PositiveInt = 5
    lowercase: bool = Field(False, description="train: lowercase the corpus.")


def cache_dir() -> Path:
    root = os.environ.get("TLSPEC_CACHE") or Path.home() / ".cache" / "tlspec"
    return Path(root) / "word2vec"


def load_vectors(options: VectorsOptions, context: PlanContext, seed: int | None):
    """gensim KeyedVectors for ``options``."""
    from gensim.models import KeyedVectors

    if options.source in ("word2vec_file", "gensim_model"):
        if not options.path:
            raise PlanError(f"vectors.source {options.source} needs vectors.path", ("vectors", "path"))
        path = context.resolve_path(options.path)
        if not path.is_file():
            raise PlanError(f"vectors file not found: {options.path} (looked for {path})", ("vectors", "path"))
        try:
            if options.source == "gensim_model":
                loaded = KeyedVectors.load(str(path))
                return getattr(loaded, "wv", loaded)
            return KeyedVectors.load_word2vec_format(str(path), binary=options.binary, limit=options.limit)
        except Exception as error:
            raise PlanError(f"gensim could not read {options.path}: {type(error).__name__}: {error}",
                            ("vectors", "path")) from None
    return _trained(options, context, seed)


def _corpus_sentences(options: VectorsOptions, context: PlanContext) -> tuple[list[list[str]], str]:
    """Sentences and a fingerprint of their content."""
    if not options.corpus:
        raise PlanError("vectors.source train needs vectors.corpus", ("vectors", "corpus"))
    sentences = plain_sentences(options.corpus, context.resolve_path, ("vectors", "corpus"))
    if options.lowercase:
        sentences = [[w.lower() for w in s] for s in sentences]
    return sentences, content_digest(sentences)


def _trained(options: VectorsOptions, context: PlanContext, seed: int | None):
    from gensim.models import KeyedVectors, Word2Vec

    sentences, content = _corpus_sentences(options, context)
    settings = {"dim": options.dim, "window": options.window, "min_count": options.min_count,
                "epochs": options.epochs, "seed": seed or 0, "content": content}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / f"{key}.kv"
    if path.exists():
        return KeyedVectors.load(str(path))
    model = Word2Vec(sentences, vector_size=options.dim, window=options.window, min_count=options.min_count,
                     epochs=options.epochs, seed=seed or 0, workers=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    model.wv.save(str(partial))
    partial.replace(path)
    context.note(f"trained word2vec on {options.corpus} ({len(sentences)} sentences, {len(model.wv)} words); "
                 f"cached in {path}")
    return model.wv
