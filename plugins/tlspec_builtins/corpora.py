"""Plain sentences (lists of words) from a named NLTK corpus or a text file, with a fingerprint of
their content: what word2vec and WordPiece vocabularies are learned from and cached by."""

from __future__ import annotations

import hashlib

from tlspec.api import PlanError, read_utf8

PLAIN_CORPORA = ("brown", "treebank", "conll2000")


def add_nltk_path(folder: str, resolve, field: tuple = ("nltk_data",)) -> None:
    """Add a spec-relative folder to NLTK's data path, as ``NLTK_DATA`` does."""
    import nltk

    path = resolve(folder)
    if not path.is_dir():
        raise PlanError(f"folder not found: {folder} (looked for {path})", field)
    if str(path) not in nltk.data.path:
        nltk.data.path.append(str(path))


def plain_sentences(corpus: str, resolve, field: tuple, limit: int | None = None) -> list[list[str]]:
    """``corpus``: brown, treebank, conll2000 (NLTK, through NLTK_DATA), or a file of one sentence per
    line, words separated by spaces (relative to the spec); the first ``limit`` sentences, if given."""
    if corpus in PLAIN_CORPORA:
        import itertools

        import nltk

        try:
            # NLTK reads its corpora lazily: a limit reads only the sentences it keeps.
            return [list(s) for s in itertools.islice(getattr(nltk.corpus, corpus).sents(), limit)]
        except LookupError:
            raise PlanError(f"NLTK cannot find the {corpus} corpus; set NLTK_DATA to a folder holding "
                            f"corpora/{corpus}.zip", field) from None
    path = resolve(corpus)
    if not path.is_file():
        raise PlanError(f"corpus file not found: {corpus} (looked for {path}); named corpora: "
                        f"{', '.join(PLAIN_CORPORA)}", field)
    return [line.split() for line in read_utf8(path, field).splitlines() if line.strip()][:limit]


def content_digest(sentences: list[list[str]]) -> str:
    digest = hashlib.sha256()
    for sentence in sentences:
        digest.update(" ".join(sentence).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
