"""Declared pretraining without internet: masked_text learns a WordPiece vocabulary and hides pieces, a
keras_hub backbone built from an architecture learns to predict them, and save_preset writes a KerasHub
preset that a second spec fine-tunes, through the same from_preset path a downloaded preset takes."""

import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import run_cli, served
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

pytest.importorskip("keras_hub")
pytest.importorskip("tokenizers")

WORDS = "the a dog cat house sees likes big old quick runs walks tree garden small red".split()

PRETRAIN = """
tlspec: 1
name: tiny-mlm
seed: 4
backbone:
  plugin: keras_hub
  architecture: {{class: {cls}, num_layers: 2, num_heads: 2, hidden_dim: 16, intermediate_dim: 32,
                  max_sequence_length: 16}}
  save_preset: true
freeze: none
heads:
  - {{name: mlm, plugin: token_classifier, classes: from_data, loss: token_crossentropy}}
data:
  plugin: masked_text
  corpus: sentences.txt
  target: mlm
  vocabulary: {{size: 120}}
  max_length: 16
  copies: 2
  validation: 0.1
  test: 0.1
train: {{epochs: 2, batch_size: 16, optimizer: {{name: adam, learning_rate: 0.003}}}}
"""

FINETUNE = """
tlspec: 1
name: tiny-tagger
seed: 4
backbone: {plugin: keras_hub, preset: pretrained/preset}
freeze: none
heads:
  - {name: pos, plugin: token_classifier, from: backbone.transformer_layer_1, classes: from_data,
     loss: token_crossentropy}
data:
  plugin: nltk_tagged
  corpus: tagged.pos
  targets: {pos: pos}
  max_length: 16
  tokenizer: {preset: pretrained/preset}
train: {epochs: 1, batch_size: 16}
"""


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, int(rng.integers(4, 10)))) + " ." for _ in range(300)]
    (tmp_path / "sentences.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def pretrain_spec(write_spec, cls="BertBackbone", **replace):
    text = PRETRAIN.format(cls=cls)
    for old, new in replace.items():
        text = text.replace(old, new)
    return write_spec(text)


def test_mask_pieces_hides_about_the_rate_and_labels_only_what_it_hid():
    from tlspec_builtins.data_masked_text import mask_pieces

    rng = np.random.default_rng(0)
    ids = np.zeros((400, 32), dtype="int32")
    ids[:, 0], ids[:, 21] = 2, 3  # [CLS] 20 pieces [SEP], then padding
    ids[:, 1:21] = rng.integers(5, 500, (400, 20))
    masked, labels = mask_pieces(ids, np.random.default_rng(1), 0.15, 500)
    picked = labels != 0
    assert picked[:, [0, 21, *range(22, 32)]].sum() == 0  # never the special tokens or padding
    assert picked.sum(axis=1).min() >= 1
    assert picked.mean() * 32 / 20 == pytest.approx(0.15, abs=0.01)
    assert (labels[picked] == ids[picked]).all()
    hidden = masked[picked] == 4  # [MASK]
    kept = masked[picked] == ids[picked]
    assert hidden.mean() == pytest.approx(0.8, abs=0.03)
    assert kept.mean() == pytest.approx(0.1 + 0.1 * 1 / 495, abs=0.03)  # left alone, or drawn as itself
    assert (masked[~picked] == ids[~picked]).all()
    assert masked[picked].min() >= 4  # random replacements are real pieces, never [PAD] [UNK] [CLS] [SEP]


def test_the_vocabulary_is_learned_without_tensorflow_and_the_architecture_is_planned_from_it(write_spec, corpus):
    path = pretrain_spec(write_spec)
    probe = ("import sys; from tlspec.spec.validate import validate_file; v = validate_file(sys.argv[1]); "
             "plan = v.graph.components['backbone'].plan; vocabulary = v.graph.data.vocabularies['token_ids']; "
             "print(vocabulary[:6], len(vocabulary), plan.output, sorted(plan.endpoints)[-3:], "
             "v.graph.components['mlm'].plan.output, 'tensorflow' in sys.modules, 'keras_hub' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, cwd=corpus)
    assert result.returncode == 0, result.stderr
    tokens = (corpus / "cache" / "wordpiece").glob("*.txt")
    vocabulary = next(tokens).read_text().split("\n")
    assert result.stdout.strip() == (
        f"('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.') {len(vocabulary)} (None, None, 16) "
        f"['token_embedding', 'transformer_layer_0', 'transformer_layer_1'] (None, ?, {len(vocabulary)}) "
        "False False")
    assert 60 <= len(vocabulary) <= 120 and set(WORDS) <= set(vocabulary)  # every word is whole at this size


def test_architecture_and_save_preset_mistakes_are_located(write_spec, corpus):
    with pytest.raises(SpecError) as caught:
        validate_file(pretrain_spec(write_spec, cls="BertBackbon"))
    assert str(caught.value).splitlines()[0] == (
        "spec.yaml:6:25: backbone.architecture.class: unknown architecture class 'BertBackbon' (did you mean "
        "'BertBackbone'?); classes tlspec builds: 'BertBackbone', 'DINOV2Backbone', 'DebertaV3Backbone', "
        "'DistilBertBackbone', 'RobertaBackbone', 'ViTBackbone', 'XLMRobertaBackbone'")
    with pytest.raises(SpecError) as caught:
        validate_file(pretrain_spec(write_spec, cls="RobertaBackbone"))
    assert str(caught.value).splitlines()[0] == (
        "spec.yaml:8:16: backbone.save_preset: save_preset writes a WordPiece tokenizer, which RobertaBackbone does "
        "not read; classes that read one: 'BertBackbone', 'DistilBertBackbone'")
    with pytest.raises(SpecError) as caught:
        validate_file(pretrain_spec(write_spec, **{"max_sequence_length: 16}": "max_sequence_length: 16, "
                                                                                "vocabulary_size: 50}"}))
    assert "backbone.architecture.vocabulary_size: vocabulary_size is 50 but the data's vocabulary has" \
           in str(caught.value)
    with pytest.raises(SpecError) as caught:
        validate_file(pretrain_spec(write_spec, **{"  save_preset: true": "  preset: bert_tiny_en_uncased"}))
    assert "backbone: give either preset (a pretrained backbone) or architecture (a new one), not both" \
           in str(caught.value)
    with pytest.raises(SpecError) as caught:
        validate_file(pretrain_spec(write_spec, **{"target: mlm": "target: mlmm"}))
    assert str(caught.value).splitlines()[0] == "spec.yaml:15:11: data.target: no head named 'mlmm'; heads: 'mlm'"


@pytest.mark.parametrize(("change", "expected"), [
    ("num_layers: 9999999999", "spec.yaml:6:51: backbone.architecture.num_layers: num_layers is 9,999,999,999; "
     "tlspec builds at most 1,024 blocks (the deepest KerasHub presets have under 100)"),
    ("hidden_dim: 200000", "spec.yaml:6:80: backbone.architecture.hidden_dim: these sizes make about 3.2e+11 "
     "weights (1,280 GB as float32); tlspec builds at most 20,000,000,000"),
    ("num_heads: true", "spec.yaml:6:65: backbone.architecture.num_heads: num_heads must be a positive whole "
     "number, got True"),
])
def test_sizes_no_machine_could_build_are_located_before_anything_is_listed(write_spec, corpus, change, expected):
    key = change.split(":")[0]
    spec = pretrain_spec(write_spec, **{f"{key}: {dict(num_layers=2, hidden_dim=16, num_heads=2)[key]},": f"{change},"})
    with pytest.raises(SpecError) as caught:
        validate_file(spec)
    assert str(caught.value).splitlines()[0] == expected


@pytest.mark.slow  # 45 s: pretrains, writes a preset, fine-tunes it, predicts from the command line
def test_pretrain_writes_a_preset_that_a_second_spec_fine_tunes(write_spec, corpus, keras):
    import keras_hub

    result = train(validate_file(pretrain_spec(write_spec)), out="pretrained", verbose=0)
    test = result.metrics["test"]["mlm"]
    assert 30 <= test["tokens"] <= 120 and test["token_accuracy"] > 0.1  # ~1.3 hidden pieces in 30 sentences
    preset = corpus / "pretrained" / "preset"
    assert {"config.json", "model.weights.h5", "tokenizer.json", "assets/tokenizer/vocabulary.txt"} <= {
        str(p.relative_to(preset)) for p in preset.rglob("*") if p.is_file()}
    info = json.loads((corpus / "pretrained" / "run.json").read_text())
    assert any("as a KerasHub preset" in note and "pooled_dense did not train" in note for note in info["notes"])

    # The preset holds the trained weights and the learned vocabulary, read as a downloaded one is.
    loaded = keras_hub.models.Backbone.from_preset(str(preset))
    trained = keras.saving.load_model(corpus / "pretrained" / "model.keras", safe_mode=True)
    for name in ("token_embedding", "transformer_layer_1"):
        for mine, theirs in zip(loaded.get_layer(name).get_weights(), trained.get_layer(name).get_weights()):
            np.testing.assert_array_equal(mine, theirs)
    tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(str(preset))
    vocabulary = json.loads((corpus / "pretrained" / "data.json").read_text())["vocabularies"]["token_ids"]
    assert tokenizer.get_vocabulary() == vocabulary and tokenizer.lowercase

    predicted = run_cli("predict", "pretrained", "the [MASK] sees a cat .", "--json")
    assert predicted.returncode == 0, predicted.stderr
    filled = json.loads(predicted.stdout)[0]["heads"]["mlm"]
    assert filled["tokens"] == ["the", "[MASK]", "sees", "a", "cat", "."]
    assert all(tag in vocabulary for tag in filled["tags"])

    tags = {"the": "DET", "a": "DET", "dog": "NOUN", "cat": "NOUN", "sees": "VERB", ".": "."}
    words = list(tags)
    rng = np.random.default_rng(1)
    (corpus / "tagged.pos").write_text("\n".join(
        " ".join(f"{w}/{tags[w]}" for w in rng.choice(words, 6)) for _ in range(80)) + "\n")
    validated = validate_file(write_spec(FINETUNE, "tagger.yaml"))
    assert validated.graph.components["backbone"].plan.endpoints["transformer_layer_1"].shape == (None, None, 16)
    tuned = train(validated, out="tagger", verbose=0)
    assert tuned.metrics["test"]["pos"]["tokens"] == 12 * 6

    # The run keeps its own copy of the tokenizer: pretraining again into the same folder (here: its
    # vocabulary reordered) changes nothing the trained tagger reads.
    before = run_cli("predict", "tagger", "the dog sees a cat .", "--json")
    assert before.returncode == 0, before.stderr
    file = preset / "assets" / "tokenizer" / "vocabulary.txt"
    lines = file.read_text().split("\n")
    file.write_text("\n".join(lines[:5] + lines[5:][::-1]))
    after = run_cli("predict", "tagger", "the dog sees a cat .", "--json")
    assert json.loads(after.stdout) == json.loads(before.stdout)

    # Served: texts go in, tags per word come out.
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    with served(corpus / "tagger") as base:
        answer = httpx.post(f"{base}/predict", json={"instances": ["the dog sees a cat ."]})
        assert answer.status_code == 200, answer.text
        pos = answer.json()["predictions"][0]["heads"]["pos"]
        assert pos["tokens"] == ["the", "dog", "sees", "a", "cat", "."]
        assert set(pos["tags"]) <= {"DET", "NOUN", "VERB", "."} and len(pos["tags"]) == 6
        long = httpx.post(f"{base}/predict", json={"instances": [" ".join(["dog"] * 20)]})
        assert long.status_code == 422
        assert "has more pieces than this model reads (16, with the start and end tokens)" in long.text
