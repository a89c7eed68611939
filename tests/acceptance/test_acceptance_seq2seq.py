"""The lecture's one-encoder, two-decoder model on ../shared/data/text/fra.txt, trained and used from the CLI."""

import json

import pytest

from helpers import SHARED_DATA, SPECS, cli_output

PAIRS = SHARED_DATA / "text" / "fra.txt"
pytestmark = [pytest.mark.acceptance, pytest.mark.slow,
              pytest.mark.skipif(not PAIRS.exists(), reason="../shared/data is not present")]


def tlspec(*args):
    return cli_output(*args, timeout=3600)


def test_two_decoders_train_on_fra_and_predict(tmp_path):
    # The first 6,000 pairs (fra.txt's shortest), 8 of the spec's 20 epochs: French 0.6124, English 0.7664 token
    # accuracy, 233 s on this 2-core machine (a38e398, which shortened it, is as fast: 2 epochs 104-125 s against
    # 105-117 s now). bench/seq2seq_two_decoders.py trains the spec whole (the README's figures).
    tlspec("train", str(SPECS / "seq2seq_two_decoders.yaml"), "--out", str(tmp_path / "run"), "--quiet",
           "--set", "data.max_pairs=6000", "--set", "train.epochs=8")
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    french, english = test["french"], test["english"]
    print(f"\nfrench: token accuracy {french['token_accuracy']:.4f}, exact {french['exact_match']:.4f}; "
          f"english: token accuracy {english['token_accuracy']:.4f}, exact {english['exact_match']:.4f}")
    assert french["generated"] == english["generated"] == 600  # every held-out pair is decoded free-running
    assert french["token_accuracy"] >= 0.58
    assert english["token_accuracy"] >= 0.72  # copying the input is the easier task
    assert english["token_error_rate"] < french["token_error_rate"] < 0.8  # 0.48 and 0.73 measured
    predicted = json.loads(tlspec("predict", str(tmp_path / "run"), "Thank you.", "I love you.", "--json"))
    assert [p["input"] for p in predicted] == ["Thank you.", "I love you."]
    for item in predicted:
        for head in ("french", "english"):
            text = item["heads"][head]["text"]
            assert text and len(text) < 60 and "</s>" not in text and "<s>" not in text, (head, text)
