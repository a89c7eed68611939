"""A text source's description is kept on disk and found again by the corpus's content: validate reads the
corpus once, not on every run, and never uses a description of other data."""

import pytest

from tlspec.spec.description_cache import descriptions_root
from tlspec.spec.validate import validate_file
from tlspec_builtins import data_text
from tlspec_builtins.corpora import nltk_resources_digest

SPEC = """
tlspec: 1
name: cached-tagger
seed: 3
inputs:
  tokens: {shape: [12], dtype: int32}
backbone:
  plugin: word_embedding
  from: inputs.tokens
  vectors: {source: train, corpus: tiny.txt, dim: 8, min_count: 1, epochs: 1}
heads:
  - {name: pos, plugin: token_classifier, from: backbone, classes: from_data}
data:
  plugin: nltk_tagged
  corpus: tiny.pos
  targets: {pos: pos}
  max_length: 12
"""

LINES = ["the/DET dog/NOUN sees/VERB a/DET cat/NOUN ./.", "a/DET big/ADJ man/NOUN likes/VERB the/DET tree/NOUN ./.",
         "every/DET bird/NOUN hears/VERB this/DET house/NOUN ./."]


@pytest.fixture
def tagged(write_spec, tmp_path, monkeypatch):
    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    (tmp_path / "tiny.pos").write_text("\n".join(LINES * 10) + "\n")
    (tmp_path / "tiny.txt").write_text("the dog sees a cat .\n" * 10)
    calls = []
    real = data_text.NltkTagged.describe

    def counting(self, config, context):
        calls.append(config.corpus)
        return real(self, config, context)

    monkeypatch.setattr(data_text.NltkTagged, "describe", counting)
    return write_spec(SPEC), calls


def test_the_second_validation_reads_the_description_not_the_corpus(tagged):
    path, calls = tagged
    first = validate_file(path).description
    assert calls == ["tiny.pos"] and len(list(descriptions_root().glob("*.json"))) == 1
    second = validate_file(path).description
    assert calls == ["tiny.pos"]  # not described again
    assert second == first
    assert second.targets["pos"].classes == ("<pad>", ".", "ADJ", "DET", "NOUN", "VERB")
    assert sum(second.splits.values()) == 30


def test_other_content_or_options_describe_again(tagged, tmp_path):
    path, calls = tagged
    validate_file(path)
    (tmp_path / "tiny.pos").write_text("\n".join(LINES[:2] * 10) + "\n")  # same name, other sentences
    changed = validate_file(path).description
    assert len(calls) == 2 and sum(changed.splits.values()) == 20
    validate_file(path, ["data.validation=0.2"])
    assert len(calls) == 3
    validate_file(path, ["seed=4"])  # the split seed decides which sentences train
    assert len(calls) == 4


def test_a_damaged_entry_is_described_again_and_replaced(tagged):
    path, calls = tagged
    first = validate_file(path).description
    entry = next(descriptions_root().glob("*.json"))
    entry.write_text('{"inputs": ')  # a process killed while writing leaves no such file; a disk might
    assert validate_file(path).description == first
    assert len(calls) == 2
    assert validate_file(path).description == first and len(calls) == 2


def test_a_named_corpus_is_fingerprinted_wherever_nltk_may_read_it(tmp_path):
    folder = tmp_path / "nltk_data"
    (folder / "corpora").mkdir(parents=True)
    archive = folder / "corpora" / "toycorpus.zip"
    assert nltk_resources_digest(["corpora/toycorpus"], [folder]) is None  # missing: NLTK's own error says so
    archive.write_bytes(b"first")
    first = nltk_resources_digest(["corpora/toycorpus"], [folder])
    archive.write_bytes(b"second")
    assert nltk_resources_digest(["corpora/toycorpus"], [folder]) not in (None, first)
