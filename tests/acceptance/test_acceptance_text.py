"""Text transfer on the real corpora in ../shared/data: the lecture's POS recipe, a better tagger, multitask,
and the declared pretrain → preset → fine-tune loop. The tagger, multitask and BERT runs are shortened to keep
CI short; bench/text_tagging.py and bench/bert_pos.py run the shipped specs whole."""

import json

import pytest

from helpers import SHARED_DATA, run_cli, train_cli

CORPORA = SHARED_DATA / "nltk_data" / "corpora"
pytestmark = [pytest.mark.acceptance, pytest.mark.slow,
              pytest.mark.skipif(not (CORPORA / "treebank.zip").exists(), reason="../shared/data is not present")]


def train(spec, out, *overrides):
    return train_cli(spec, out, *overrides)[1]["test"]


def test_lecture_recipe_reports_accuracy_with_and_without_padding(tmp_path):
    pos = train("pos_treebank_rnn.yaml", tmp_path / "run")["pos"]
    print(f"\nlecture recipe: {pos['accuracy_with_padding']:.4f} counting padding, "
          f"{pos['token_accuracy']:.4f} on real tokens")
    assert pos["accuracy_with_padding"] > pos["token_accuracy"] + 0.03  # padding flatters the lecture's figure
    assert pos["token_accuracy"] >= 0.85


def test_best_tagger_beats_the_lecture_in_5_epochs_and_tags_a_sentence(tmp_path):
    # 5 of the spec's 16 epochs: 0.9469 measured (the lecture's recipe: 0.8769); all 16 reach 0.9647 in
    # bench/text_tagging.py.
    pos = train("pos_treebank_best.yaml", tmp_path / "run", "train.epochs=5")["pos"]
    print(f"\nbest tagger (5 epochs): {pos['token_accuracy']:.4f} on real tokens")
    assert pos["token_accuracy"] >= 0.94
    tagged = run_cli("predict", tmp_path / "run", "The company said it will sell its shares .", "--json")
    assert tagged.returncode == 0, tagged.stderr[-2000:]
    result = json.loads(tagged.stdout)[0]["heads"]["pos"]
    assert result["tokens"] == ["The", "company", "said", "it", "will", "sell", "its", "shares", "."]
    tags = dict(zip(result["tokens"], result["tags"]))
    assert (tags["The"], tags["company"], tags["will"], tags["shares"], tags["."]) == ("DT", "NN", "MD", "NNS", ".")


def test_pos_and_chunk_multitask_reports_both_heads(tmp_path):
    # The first 4,000 of CoNLL-2000's 10,948 sentences for 6 of 8 epochs: pos 0.9388, chunk 0.9177 measured (74 s).
    test = train("chunk_pos_multitask.yaml", tmp_path / "run", "data.max_sentences=4000", "train.epochs=6")
    print(f"\nmultitask: pos {test['pos']['token_accuracy']:.4f}, chunk {test['chunk']['token_accuracy']:.4f}")
    assert test["pos"]["token_accuracy"] >= 0.93
    assert test["chunk"]["token_accuracy"] >= 0.9


def test_bert_pretrained_on_brown_is_written_as_a_preset_and_fine_tuned_on_treebank(tmp_path):
    pytest.importorskip("keras_hub")
    pytest.importorskip("tokenizers")
    # The shipped specs, shortened: 3,000 Brown sentences once, then 3 epochs of tagging.
    stdout, pretrained = train_cli("bert_brown_pretrain.yaml", tmp_path / "bert", "data.max_sentences=3000",
                                   "data.copies=1")
    assert "as a KerasHub preset" in stdout and (tmp_path / "bert" / "preset" / "config.json").exists()
    assert pretrained["test"]["mlm"]["tokens"] >= 100
    preset = tmp_path / "bert" / "preset"
    _, tagged = train_cli("pos_treebank_bert.yaml", tmp_path / "pos", f"backbone.preset={preset}",
                          f"data.tokenizer.preset={preset}", "train.epochs=3")
    pos = tagged["test"]["pos"]
    print(f"\nBERT (3,000 Brown sentences, 3 epochs of tagging): {pos['token_accuracy']:.4f} on "
          f"{pos['tokens']} words")
    assert pos["tokens"] >= 13_000  # words of the 587 test sentences that fit in 64 pieces
    assert pos["token_accuracy"] >= 0.75  # 0.806 measured
