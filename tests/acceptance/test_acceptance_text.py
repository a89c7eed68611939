"""Text transfer on the real corpora in ../shared/data: the lecture's POS recipe, a better tagger, multitask."""

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


def test_best_tagger_reaches_096_on_real_tokens_and_tags_a_sentence(tmp_path):
    pos = train("pos_treebank_best.yaml", tmp_path / "run")["pos"]
    print(f"\nbest tagger: {pos['token_accuracy']:.4f} on real tokens")
    assert pos["token_accuracy"] >= 0.96
    tagged = run_cli("predict", tmp_path / "run", "The company said it will sell its shares .", "--json")
    assert tagged.returncode == 0, tagged.stderr[-2000:]
    result = json.loads(tagged.stdout)[0]["heads"]["pos"]
    assert result["tokens"] == ["The", "company", "said", "it", "will", "sell", "its", "shares", "."]
    tags = dict(zip(result["tokens"], result["tags"]))
    assert (tags["The"], tags["company"], tags["will"], tags["shares"], tags["."]) == ("DT", "NN", "MD", "NNS", ".")


def test_pos_and_chunk_multitask_reports_both_heads(tmp_path):
    test = train("chunk_pos_multitask.yaml", tmp_path / "run")
    print(f"\nmultitask: pos {test['pos']['token_accuracy']:.4f}, chunk {test['chunk']['token_accuracy']:.4f}")
    assert test["pos"]["token_accuracy"] >= 0.93
    assert test["chunk"]["token_accuracy"] >= 0.9
