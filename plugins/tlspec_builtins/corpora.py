"""Plain sentences (lists of words) from a named NLTK corpus or a text file, with a fingerprint of
their content: what word2vec and WordPiece vocabularies are learned from and cached by."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

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


def nltk_search_path(extra: list[Path] = ()) -> list[Path]:
    """The folders NLTK looks in, in its order, without importing NLTK (a second): its own list when it is
    already imported, else the one nltk.data builds (NLTK_DATA, ~/nltk_data, the prefix's and system
    folders), then ``extra`` (a spec's ``nltk_data``, appended as ``add_nltk_path`` does)."""
    if "nltk.data" in sys.modules:
        folders = [Path(os.path.expanduser(str(p))) for p in sys.modules["nltk.data"].path if isinstance(p, str)]
    else:
        folders = [Path(os.path.expanduser(d)) for d in os.environ.get("NLTK_DATA", "").split(os.pathsep) if d]
        folders.append(Path.home() / "nltk_data")
        folders += [Path(sys.prefix, "nltk_data"), Path(sys.prefix, "share", "nltk_data"),
                    Path(sys.prefix, "lib", "nltk_data"), Path("/usr/share/nltk_data"),
                    Path("/usr/local/share/nltk_data"), Path("/usr/lib/nltk_data"), Path("/usr/local/lib/nltk_data")]
    return folders + [folder for folder in extra if folder not in folders]


def nltk_resources_digest(resources: list[str], extra: list[Path] = ()) -> str | None:
    """A digest of every copy of these NLTK resources (e.g. ``corpora/brown``, as a .zip or a folder) on
    NLTK's search path; None when one is missing (NLTK's own error then says so). Every copy is read, not
    only the one NLTK would pick, so whichever it picks, a change to it changes the digest."""
    digest = hashlib.blake2b(digest_size=20)
    for resource in resources:
        found = False
        for folder in nltk_search_path(extra):
            for candidate in (folder / f"{resource}.zip", folder / resource):
                if candidate.is_file():
                    digest.update(str(candidate).encode() + b"\0" + candidate.read_bytes())
                    found = True
                elif candidate.is_dir():
                    for file in sorted(p for p in candidate.rglob("*") if p.is_file()):
                        digest.update(str(file).encode() + b"\0" + file.read_bytes())
                    found = True
        if not found:
            return None
    return digest.hexdigest()


def corpus_digest(corpus: str, nltk_data: str | None, resolve, resources: tuple[str, ...] = ()) -> str | None:
    """A digest of what ``corpus`` reads: a named NLTK corpus (``indian:<file>`` included) wherever NLTK may
    find it, with any further NLTK ``resources`` it needs (a tagset mapping), or a file relative to the
    spec; None when it cannot be found."""
    name = corpus.split(":", 1)[0]
    if name in (*PLAIN_CORPORA, "indian"):
        extra = [resolve(nltk_data)] if nltk_data else []
        return nltk_resources_digest([f"corpora/{name}", *resources], extra)
    path = resolve(corpus)
    return hashlib.blake2b(path.read_bytes(), digest_size=20).hexdigest() if path.is_file() else None


def preset_digest(preset: str, resolve) -> str | None:
    """A digest of a local KerasHub preset's files other than its weights (its config, its tokenizer's
    vocabulary): what splitting text into its pieces depends on. None for a named preset."""
    path = resolve(preset) if "://" not in preset else None
    if path is None or not path.is_dir():
        return None
    digest = hashlib.blake2b(digest_size=20)
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.endswith(".weights.h5")):
        digest.update(str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def split_fingerprints(*parts) -> dict[str, str]:
    """Per split, a digest of ``parts`` (JSON-ready: content digests, options, seeds) and the split's name."""
    options = json.dumps(parts, sort_keys=True, default=str)
    return {split: hashlib.blake2b(f"{split}:{options}".encode(), digest_size=20).hexdigest()
            for split in ("train", "validation", "test")}
