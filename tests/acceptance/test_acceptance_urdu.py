"""Urdu sentiment using Hindi on the real corpora in ../shared/data/sentiment: the data as read, the
shared alphabet, Hindi pretraining with importance weights towards Urdu, fine-tuning on Urdu labels."""

import json
import subprocess
import sys
from collections import Counter

import pytest

from helpers import SHARED_DATA, SPECS, train_cli
from tlspec.api import DataContext
from tlspec.spec.validate import validate_file

SENTIMENT = SHARED_DATA / "sentiment"
pytestmark = [pytest.mark.acceptance, pytest.mark.slow,
              pytest.mark.skipif(not (SENTIMENT / "pos_hindi.txt").exists(), reason="../shared/data is not present")]


def test_corpora_are_read_as_documented():
    from tlspec_builtins.data_text_classes import read_documents

    for spec, expected in (("hindi_sentiment.yaml", {"pos": 500, "neg": 491}),
                           ("urdu_scratch.yaml", {"pos": 477, "neg": 499})):
        section = validate_file(SPECS / spec).data_source
        context = DataContext(SPECS, ("sentiment",))
        texts, labels = read_documents(section.config, context)
        assert Counter(labels) == expected, (spec, Counter(labels), context.notes)
        if spec == "urdu_scratch.yaml":
            assert "urdu-sentiment-corpus-v1.tsv: line 17 had no TAB; the label was read after the last space" \
                   in context.notes
            assert "dropped 20 documents of class 'O'" in context.notes
        # Everything is in the one alphabet both models read.
        alphabet = set((SPECS / "data" / "urdu_alphabet.txt").read_text(encoding="utf-8").split("\n"))
        characters = Counter(c for text in texts for c in text)
        unknown = sum(n for c, n in characters.items() if c not in alphabet)
        assert unknown / sum(characters.values()) < 0.001


def test_shipped_alphabet_is_what_the_script_makes():
    result = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'specs/data'); "
                             "import make_urdu_alphabet as m; print(''.join(c + '\\n' for c in m.alphabet()), end='')"],
                            capture_output=True, text=True, cwd=SPECS.parent, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (SPECS / "data" / "urdu_alphabet.txt").read_text(encoding="utf-8")


def test_hindi_pretraining_then_urdu_fine_tuning(tmp_path):
    output, hindi = train_cli("hindi_sentiment_weighted.yaml", tmp_path / "hindi", timeout=1800)
    run = json.loads((tmp_path / "hindi" / "run.json").read_text())
    print(f"\nHindi test {hindi['test']['sentiment']['accuracy']:.4f}, Urdu zero-shot "
          f"{hindi['target_test']['sentiment']['accuracy']:.4f}; {run['adapt']}")
    assert hindi["test"]["sentiment"]["accuracy"] >= 0.65
    assert run["adapt"]["train_examples"] == 693 and run["adapt"]["target_examples"] == 781
    assert 0.6 < run["adapt"]["domain_auc"] < 1.0
    assert 0 < run["adapt"]["effective_fraction"] < 1
    assert "effective sample size" in output
    assert set(hindi["target_test"]) == {"sentiment", "total_loss"}

    pretrained = tmp_path / "hindi" / "model.keras"
    _, urdu = train_cli("urdu_from_hindi.yaml", tmp_path / "urdu", f"backbone.path={pretrained}",
                        "data.train_limit=null", timeout=1800)
    _, scratch = train_cli("urdu_scratch.yaml", tmp_path / "scratch", "data.train_limit=null", timeout=1800)
    accuracy = {"pretrained": urdu["test"]["sentiment"]["accuracy"],
                "scratch": scratch["test"]["sentiment"]["accuracy"]}
    print(f"Urdu test accuracy with all labels: {accuracy}")
    assert set(urdu) == {"train", "test"}  # no validation split: no labels beyond the budget
    assert min(accuracy.values()) >= 0.55  # above the majority class (0.51) on 195 test tweets
