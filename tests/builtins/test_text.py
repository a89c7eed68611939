"""Text transfer on a corpus the tests write: NLTK's reader, word2vec by gensim, RNN tagger, honest metrics."""

import json

import numpy as np
import pytest

from helpers import run_cli
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train
from tlspec_builtins.text_vocabulary import VocabularyOptions, build_vocabulary, encode, encode_characters

WORDS = {"DET": ["the", "a", "every", "this"], "ADJ": ["big", "small", "red", "old", "quick"],
         "NOUN": ["dog", "cat", "bird", "man", "tree", "house"], "VERB": ["sees", "likes", "finds", "hears"]}


def write_corpus(folder, sentences=400, seed=0):
    """word/TAG lines from a tiny grammar: DET (ADJ) NOUN VERB DET (ADJ) NOUN ."""
    rng = np.random.default_rng(seed)
    lines, plain = [], []
    for _ in range(sentences):
        tags = (["DET"] + ["ADJ"] * rng.integers(0, 2) + ["NOUN", "VERB", "DET"]
                + ["ADJ"] * rng.integers(0, 3) + ["NOUN"])
        words = [str(rng.choice(WORDS[tag])) for tag in tags] + ["."]
        tags.append(".")
        lines.append(" ".join(f"{w}/{t}" for w, t in zip(words, tags)))
        plain.append(" ".join(words))
    (folder / "tiny.pos").write_text("\n".join(lines) + "\n")
    (folder / "tiny.txt").write_text("\n".join(plain) + "\n")


SPEC = """
tlspec: 1
name: tiny-tagger
seed: 3
inputs:
  tokens: {{shape: [12], dtype: int32}}
backbone:
  plugin: word_embedding
  from: inputs.tokens
  vectors: {{source: train, corpus: tiny.txt, dim: 16, min_count: 1, epochs: 3}}
freeze: {freeze}
blocks:
  - {{name: encoder, plugin: rnn, from: backbone, cell: {cell}, units: 16}}
heads:
  - {{name: pos, plugin: token_classifier, from: encoder, classes: from_data}}
data:
  plugin: nltk_tagged
  corpus: tiny.pos
  targets: {{pos: pos}}
  max_length: 12
train: {{epochs: 8, batch_size: 32, optimizer: {{name: adam, learning_rate: 0.01}}}}
"""


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    write_corpus(tmp_path)
    return tmp_path


def spec(write_spec, freeze="none", cell="gru"):
    return write_spec(SPEC.format(freeze=freeze, cell=cell))


def test_tagger_trains_and_reports_token_accuracy_on_real_tokens(write_spec, corpus, keras, capsys):
    result = train(validate_file(spec(write_spec)), out="run", verbose=0)
    test = result.metrics["test"]["pos"]
    assert test["token_accuracy"] >= 0.95
    from tlspec.api import split_indices

    sentences = (corpus / "tiny.pos").read_text().splitlines()
    test_rows = split_indices(len(sentences), {"validation": 0.15, "test": 0.15}, 3)["test"]
    assert test["tokens"] == sum(len(sentences[i].split()) for i in test_rows)  # padding not counted
    notes = json.loads((corpus / "run" / "run.json").read_text())["notes"]
    assert "backbone: pretrained vectors cover 20 of 20 vocabulary words (100.0%)" in notes, notes
    assert list((corpus / "cache" / "word2vec").glob("*.kv")), "word2vec should be cached by content"
    printed = capsys.readouterr().out
    assert "note: backbone: trained word2vec on tiny.txt (400 sentences, 20 words)" in printed


def test_word2vec_is_trained_once_per_content(write_spec, corpus, keras):
    validate_file(spec(write_spec))
    from tlspec.model.assemble import assemble

    assemble(validate_file(spec(write_spec)))
    assemble(validate_file(spec(write_spec)))
    assert len(list((corpus / "cache" / "word2vec").glob("*.kv"))) == 1
    (corpus / "tiny.txt").write_text((corpus / "tiny.txt").read_text() + "the red tree sees a man .\n")
    assemble(validate_file(spec(write_spec)))
    assert len(list((corpus / "cache" / "word2vec").glob("*.kv"))) == 2


def test_frozen_pretrained_embedding(write_spec, corpus, keras):
    from tlspec.model.assemble import assemble

    model = assemble(validate_file(spec(write_spec, freeze="all"))).model
    assert not model.get_layer("backbone_embedding").trainable


@pytest.mark.slow  # the full suite runs it; the fast one stays near 5 minutes
def test_evaluate_gives_a_per_tag_report_and_predict_tags_a_sentence(write_spec, corpus, keras):
    from tlspec.runs.evaluate import evaluate_run

    result = train(validate_file(spec(write_spec)), out="run", verbose=0)
    report = evaluate_run("run", "test")["test"]["pos"]
    assert set(report["per_tag"]) == {"DET", "ADJ", "NOUN", "VERB", "."}
    assert sum(row["support"] for row in report["per_tag"].values()) == report["tokens"]
    assert report["token_accuracy"] == pytest.approx(result.metrics["test"]["pos"]["token_accuracy"])
    (corpus / "tiny.pos").rename(corpus / "moved.pos")  # predict reads the vocabulary the run kept
    tagged = run_cli("predict", "run", "the old cat finds a bird .", "--json", timeout=120)
    assert tagged.returncode == 0, tagged.stderr[-2000:]
    pos = json.loads(tagged.stdout)[0]["heads"]["pos"]
    assert pos["tokens"] == ["the", "old", "cat", "finds", "a", "bird", "."]
    assert pos["tags"] == ["DET", "ADJ", "NOUN", "VERB", "DET", "NOUN", "."]


@pytest.mark.slow  # the full suite runs it; the fast one stays near 5 minutes
def test_character_features(write_spec, corpus, keras):
    text = SPEC.format(freeze="none", cell="lstm").replace(
        "  tokens: {shape: [12], dtype: int32}\n",
        "  tokens: {shape: [12], dtype: int32}\n  chars: {shape: [12, 8], dtype: int32}\n"
    ).replace("  - {name: encoder, plugin: rnn, from: backbone,",
              "  - {name: spelling, plugin: char_cnn, from: inputs.chars, filters: 8}\n"
              "  - {name: encoder, plugin: rnn, from: [backbone, spelling], bidirectional: true,").replace(
        "  max_length: 12\n", "  max_length: 12\n  characters: {max_word_length: 8}\n")
    result = train(validate_file(write_spec(text)), out="run", verbose=0)
    assert result.metrics["test"]["pos"]["token_accuracy"] >= 0.95
    model = result.run.path / "model.keras"
    assert model.exists()


@pytest.mark.parametrize("change, message", [
    (("corpus: tiny.pos", "corpus: nothere.pos"), "spec.yaml:17:11: data.corpus: unknown corpus 'nothere.pos'"),
    (("targets: {pos: pos}", "targets: {pos: chunk}"), "spec.yaml:16:3: data: chunk tags exist only in conll2000"),
    (("from: encoder, classes", "from: backbone.nothing, classes"),
     "spec.yaml:14:49: heads[0].from: 'backbone' has no layer or endpoint 'nothing'"),
    (("cell: gru, units: 16}", "cell: gru, units: 16, return_sequences: false}"),
     "spec.yaml:14:49: heads[0].from: head 'pos' tags every token, so it reads a sequence (batch, steps, features); "
     "got rank 2"),
])
def test_text_spec_mistakes(write_spec, corpus, change, message):
    path = write_spec(SPEC.format(freeze="none", cell="gru").replace(*change))
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert str(caught.value).startswith(message)


def test_missing_nltk_corpus_says_how_to_point_nltk_at_it(write_spec, corpus, tmp_path, monkeypatch):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nowhere")])  # other tests may have added shared/
    (tmp_path / "empty").mkdir()
    path = write_spec(SPEC.format(freeze="none", cell="gru").replace("corpus: tiny.pos",
                                                                      "corpus: indian:hindi.pos\n  nltk_data: empty"))
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert "NLTK cannot find the indian:hindi.pos corpus; set NLTK_DATA to a folder holding corpora/indian.zip" \
        in str(caught.value)


def test_vocabulary_and_padding():
    sentences = [["The", "dog", "barks"], ["the", "cat"], ["a", "dog"]]
    vocabulary = build_vocabulary(sentences, VocabularyOptions(lowercase=True, min_count=2))
    assert vocabulary == ["<pad>", "<unk>", "dog", "the"]
    index = {w: i for i, w in enumerate(vocabulary)}
    assert encode(sentences, index, 2, "post", lowercase=True).tolist() == [[3, 2], [3, 1], [1, 2]]
    assert encode([["dog"]], index, 3, "pre").tolist() == [[0, 0, 2]]
    chars = encode_characters([["ab", "c"]], {"<pad>": 0, "<unk>": 1, "a": 2, "b": 3}, 3, 2, "pre")
    assert chars.tolist() == [[[0, 0], [2, 3], [1, 0]]]
    assert build_vocabulary(sentences, VocabularyOptions(max_size=3)) == ["<pad>", "<unk>", "dog"]


def test_word2vec_file_binary_or_text_with_limit(write_spec, corpus, keras):
    from gensim.models import Word2Vec

    from tlspec.model.assemble import assemble

    sentences = [line.split() for line in (corpus / "tiny.txt").read_text().splitlines()]
    vectors = Word2Vec(sentences, vector_size=16, min_count=1, seed=1, workers=1).wv
    vectors.save_word2vec_format(str(corpus / "vectors.txt"), binary=False)
    vectors.save_word2vec_format(str(corpus / "vectors.bin"), binary=True)
    for path, binary, limit, found in (("vectors.txt", "false", 10, 10), ("vectors.bin", "true", 100, 20)):
        text = SPEC.format(freeze="all", cell="gru").replace(
            "vectors: {source: train, corpus: tiny.txt, dim: 16, min_count: 1, epochs: 3}",
            f"vectors: {{source: word2vec_file, path: {path}, binary: {binary}, limit: {limit}}}")
        validated = validate_file(write_spec(text))
        model = assemble(validated).model
        assert f"backbone: pretrained vectors cover {found} of 20 vocabulary words ({found * 5}.0%)" in \
            validated.graph.notes
        row = model.get_layer("backbone_embedding").get_weights()[0][2]  # the most frequent word
        word = validated.description.vocabularies["tokens"][2]
        np.testing.assert_allclose(row, vectors[word], rtol=1e-5)


def test_sequence_classifier_on_text_folders(write_spec, tmp_path, keras):
    rng = np.random.default_rng(0)
    filler = ["the", "film", "was", "a", "story", "of", "and", "it", "with", "actors"]
    for label, cues in (("pos", ["good", "great", "fine", "lovely"]), ("neg", ["bad", "awful", "poor", "dull"])):
        folder = tmp_path / "reviews" / label
        folder.mkdir(parents=True)
        for index in range(60):
            words = list(rng.choice(filler, 8)) + list(rng.choice(cues, 2))
            rng.shuffle(words)
            (folder / f"{index}.txt").write_text(" ".join(words))
    path = write_spec("""
        tlspec: 1
        name: reviews
        seed: 2
        inputs: {tokens: {shape: [16], dtype: int32}}
        backbone: {plugin: word_embedding, from: inputs.tokens, dim: 16}
        blocks:
          - {name: encoder, plugin: rnn, from: backbone, cell: gru, units: 16, return_sequences: false}
        heads: [{name: sentiment, plugin: classifier, from: encoder, classes: from_data}]
        data: {plugin: text_classes, path: reviews, max_length: 16}
        train: {epochs: 12, batch_size: 16, optimizer: {name: adam, learning_rate: 0.01}}
        """)
    result = train(validate_file(path), out="run", verbose=0)
    assert result.metrics["test"]["sentiment"]["accuracy"] >= 0.9
    from tlspec.runs.predict import predict_run

    predictions = predict_run("run", ["the film was good and lovely", "an awful and dull story"])
    assert [p["heads"]["sentiment"]["label"] for p in predictions] == ["pos", "neg"]


def test_text_table_mistakes_are_located(write_spec, tmp_path):
    (tmp_path / "reviews.tsv").write_text("review\tlabel\ngood film\tpos\nbad film\tneg\n")
    path = write_spec("""
        tlspec: 1
        name: reviews
        inputs: {tokens: {shape: [16], dtype: int32}}
        backbone: {plugin: word_embedding, from: inputs.tokens, dim: 16}
        heads: [{name: sentiment, plugin: classifier, pooling: avg, classes: from_data}]
        data: {plugin: text_classes, path: reviews.tsv, max_length: 16}
        """)
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert str(caught.value) == ("spec.yaml:6:7: data.text_column: reviews.tsv has no column 'text'; "
                                 "columns: 'label', 'review'")


@pytest.mark.slow  # 13 s of training; the masking units stay fast
def test_padding_stays_masked_when_character_features_join(write_spec, corpus, keras):
    """Keras merges masks of concatenated sequences with 'any': every branch must mask padding."""
    text = SPEC.format(freeze="none", cell="gru").replace(
        "  tokens: {shape: [12], dtype: int32}\n",
        "  tokens: {shape: [12], dtype: int32}\n  chars: {shape: [12, 8], dtype: int32}\n"
    ).replace("  - {name: encoder, plugin: rnn, from: backbone,",
              "  - {name: spelling, plugin: char_cnn, from: inputs.chars, filters: 8}\n"
              "  - {name: encoder, plugin: rnn, from: [backbone, spelling],").replace(
        "  max_length: 12\n", "  max_length: 12\n  characters: {max_word_length: 8}\n").replace(
        "train: {epochs: 8,", "train: {epochs: 2,")
    result = train(validate_file(write_spec(text)), out="run", verbose=0)
    test = result.metrics["test"]["pos"]
    # Keras' own (masked) accuracy equals the accuracy over real tokens only if padding is masked.
    assert test["accuracy"] == pytest.approx(test["token_accuracy"], abs=1e-4)
    assert test["accuracy"] != pytest.approx(test["accuracy_with_padding"], abs=1e-3)


def test_saved_gensim_model_and_stacked_bidirectional_rnn(write_spec, corpus, keras):
    from gensim.models import Word2Vec

    from tlspec.model.assemble import assemble

    sentences = [line.split() for line in (corpus / "tiny.txt").read_text().splitlines()]
    Word2Vec(sentences, vector_size=12, min_count=1, seed=1, workers=1).save(str(corpus / "w2v.model"))
    text = SPEC.format(freeze="all", cell="lstm").replace(
        "vectors: {source: train, corpus: tiny.txt, dim: 16, min_count: 1, epochs: 3}",
        "vectors: {source: gensim_model, path: w2v.model}").replace(
        "cell: lstm, units: 16}", "cell: lstm, units: [16, 8], bidirectional: true}")
    validated = validate_file(write_spec(text))
    model = assemble(validated).model
    assert model.get_layer("backbone_embedding").get_weights()[0].shape == (22, 12)
    assert [type(model.get_layer(n)).__name__ for n in ("encoder_1", "encoder_2")] == ["Bidirectional"] * 2
    assert tuple(model.get_layer("encoder_2").output.shape) == (None, 12, 16)
    assert not model.get_layer("backbone_embedding").trainable
    assert "backbone: pretrained vectors cover 20 of 20 vocabulary words (100.0%)" in validated.graph.notes


def test_a_tagged_corpus_file_that_is_not_utf8_is_located(write_spec, corpus, tmp_path):
    lines = (tmp_path / "tiny.pos").read_bytes().splitlines(keepends=True)
    (tmp_path / "tiny.pos").write_bytes(b"".join(lines[:2]) + "Stra\u00dfe/NOUN ./.\n".encode("latin-1") + lines[2])
    with pytest.raises(SpecError) as caught:
        validate_file(write_spec(SPEC.format(freeze="none", cell="gru")))
    assert str(caught.value) == ("spec.yaml:17:11: data.corpus: tiny.pos is not UTF-8 text: byte 0xdf at line 3, "
                                 "column 5 (invalid continuation byte); save it as UTF-8")


def test_a_named_nltk_corpus_that_is_not_utf8_says_to_reinstall_it(write_spec, corpus, tmp_path, monkeypatch):
    import nltk

    hindi = tmp_path / "nltk" / "corpora" / "indian"
    hindi.mkdir(parents=True)
    (hindi / "hindi.pos").write_bytes("\u0939\u093f/NN ./.\n".encode() + b"\xff\xfe/NN\n")
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nltk")])
    path = write_spec(SPEC.format(freeze="none", cell="gru").replace("corpus: tiny.pos", "corpus: indian:hindi.pos"))
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert str(caught.value) == (
        "spec.yaml:17:11: data.corpus: NLTK's indian:hindi.pos corpus is not UTF-8 text (byte 0xff at offset 14 of "
        "one of its files: invalid start byte); reinstall it")
