"""A WordPiece vocabulary learned from sentences, without TensorFlow, cached by content.

Learned with Hugging Face ``tokenizers`` (the ``hub`` extra): a Rust trainer that needs no TensorFlow,
so ``validate`` knows the vocabulary, and with it the masked-LM head's classes and the backbone's
vocabulary size, before anything is built. Tokens are BERT's: the special tokens first (``[PAD]`` is
id 0, which the token loss leaves out), whole words and word-initial pieces as they are, word-inner
pieces with ``##``. KerasHub's ``BertTokenizer`` reads the same vocabulary.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tlspec.api import PlanError
from tlspec_builtins.corpora import content_digest

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
INSTALL_HINT = "install it with: pip install 'tlspec[hub]'"


class WordPieceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(8000, ge=len(SPECIAL_TOKENS) + 100, le=200_000,
                      description="Tokens in the vocabulary, the special ones included (at most: a small corpus "
                                  "may have fewer pieces).")
    lowercase: bool = Field(True, description="Lowercase the text first, as uncased BERT does.")
    min_frequency: int = Field(2, ge=1, description="A piece joins the vocabulary only if it occurs this often.")


def cache_dir() -> Path:
    root = os.environ.get("TLSPEC_CACHE") or Path.home() / ".cache" / "tlspec"
    return Path(root) / "wordpiece"


def learn_vocabulary(sentences: list[list[str]], options: WordPieceOptions, field: tuple,
                     note=None) -> tuple[str, ...]:
    """The vocabulary of ``sentences`` (lists of words), id order; learned once per content and options."""
    settings = {"size": options.size, "lowercase": options.lowercase, "min_frequency": options.min_frequency,
                "content": content_digest(sentences), "special": SPECIAL_TOKENS, "version": 1}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / f"{key}.txt"
    if path.is_file():
        return tuple(path.read_text(encoding="utf-8").split("\n"))
    tokens = _train(sentences, options, field)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text("\n".join(tokens), encoding="utf-8")
    partial.replace(path)
    if note is not None:
        note(f"learned a WordPiece vocabulary of {len(tokens)} tokens from {len(sentences)} sentences; cached "
             f"in {path}")
    return tokens


def _train(sentences: list[list[str]], options: WordPieceOptions, field: tuple) -> tuple[str, ...]:
    if importlib.util.find_spec("tokenizers") is None:
        raise PlanError(f"learning a WordPiece vocabulary needs the tokenizers package; {INSTALL_HINT}", field)
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    # BERT's own normalisation and splitting, which KerasHub's BertTokenizer repeats when it reads text.
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=options.lowercase, strip_accents=False,
                                                      clean_text=True, handle_chinese_chars=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=options.size, min_frequency=options.min_frequency,
                                        special_tokens=list(SPECIAL_TOKENS), show_progress=False)
    tokenizer.train_from_iterator((" ".join(sentence) for sentence in sentences), trainer)
    vocabulary = tokenizer.get_vocab()
    tokens = tuple(sorted(vocabulary, key=vocabulary.get))
    if tokens[:len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
        raise PlanError(f"the learned vocabulary does not start with {', '.join(SPECIAL_TOKENS)}", field)
    if len(tokens) <= len(SPECIAL_TOKENS):
        raise PlanError("the corpus has no words to learn a vocabulary from", field)
    return tokens
