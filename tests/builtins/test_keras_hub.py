"""KerasHub presets as backbones, offline: tiny presets written by save_to_preset, loaded the way a
downloaded one is (from a preset directory), through validate, build, train, predict and reload."""

import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import run_cli
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

pytest.importorskip("keras_hub")

WORDS = {"DET": ["the", "a"], "ADJ": ["big", "quick", "old"], "NOUN": ["dog", "cat", "house"],
         "VERB": ["sees", "likes"]}
# "quick" and "house" are not whole words of the vocabulary: they come in two pieces each.
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "the", "a", "big", "old", "dog", "cat", "sees",
              "likes", "qu", "##ick", "ho", "##use"]
HIDDEN, HEADS, BLOCKS = 16, 2, 2


def write_tagged(path, sentences=160, seed=0):
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(sentences):
        tags = ["DET"] + ["ADJ"] * int(rng.integers(0, 2)) + ["NOUN", "VERB", "DET", "NOUN"]
        words = [str(rng.choice(WORDS[tag])) for tag in tags] + ["."]
        lines.append(" ".join(f"{w}/{t}" for w, t in zip(words, [*tags, "."])))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """A 2-block BERT with its WordPiece tokenizer, and a 2-block ViT, random weights."""
    import keras_hub

    root = tmp_path_factory.mktemp("presets")
    keras_hub.models.BertBackbone(vocabulary_size=len(VOCABULARY), num_layers=BLOCKS, num_heads=HEADS,
                                  hidden_dim=HIDDEN, intermediate_dim=32, max_sequence_length=32
                                  ).save_to_preset(root / "tiny_bert")
    keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True).save_to_preset(root / "tiny_bert")
    keras_hub.models.ViTBackbone(image_shape=(16, 16, 3), patch_size=4, num_layers=BLOCKS, num_heads=HEADS,
                                 hidden_dim=HIDDEN, mlp_dim=32).save_to_preset(root / "tiny_vit")
    return root


TAGGER = """
tlspec: 1
name: bert-tagger
seed: 4
backbone: {{plugin: keras_hub, preset: {preset}}}
freeze: {freeze}
heads:
  - {{name: pos, plugin: token_classifier, from: {source}, classes: from_data, loss: token_crossentropy}}
data:
  plugin: nltk_tagged
  corpus: tiny.pos
  targets: {{pos: pos}}
  max_length: 12
  tokenizer: {{preset: {preset}}}
train: {{epochs: {epochs}, batch_size: 16, optimizer: {{name: adam, learning_rate: 0.005}}}}
"""


def tagger(write_spec, tmp_path, presets, freeze="none", source="backbone", epochs=6):
    write_tagged(tmp_path / "tiny.pos")
    return write_spec(TAGGER.format(preset=presets / "tiny_bert", freeze=freeze, source=source, epochs=epochs))


def test_a_local_preset_is_validated_without_tensorflow_from_its_config(write_spec, tmp_path, presets):
    path = tagger(write_spec, tmp_path, presets, source="backbone.transformer_layer_1")
    probe = ("import sys; from tlspec.spec.validate import validate_file; v = validate_file(sys.argv[1]); "
             "print(sorted(v.graph.components['backbone'].plan.endpoints)[:4], "
             "'tensorflow' in sys.modules, 'keras_hub' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("['embeddings_add', 'embeddings_dropout', 'embeddings_layer_norm', "
                                     "'pooled_dense'] False False")
    wrong = tagger(write_spec, tmp_path, presets, source="backbone.transformer_layer_2")
    with pytest.raises(SpecError) as caught:
        validate_file(wrong)
    assert str(caught.value).startswith(
        "spec.yaml:7:49: heads[0].from: 'backbone' has no layer or endpoint 'transformer_layer_2' (did you mean "
        "'transformer_layer_0' or 'transformer_layer_1'?)")


def test_a_preset_config_no_machine_could_build_is_located_at_its_first_reader(write_spec, tmp_path, presets):
    import shutil

    shutil.copytree(presets / "tiny_bert", tmp_path / "deep")
    config_file = tmp_path / "deep" / "config.json"
    config = json.loads(config_file.read_text())
    config["config"]["num_layers"] = 10**40  # validate lists every block: this must stop before the list
    config_file.write_text(json.dumps(config))
    write_tagged(tmp_path / "tiny.pos")
    with pytest.raises(SpecError) as caught:
        validate_file(write_spec(TAGGER.format(preset=tmp_path / "deep", freeze="none", source="backbone", epochs=1)))
    assert str(caught.value).splitlines()[0] == (
        f"spec.yaml:13:23: data.tokenizer.preset: {config_file}: num_layers is {10**40:,}; tlspec builds at most 1,024 "
        "blocks (the deepest KerasHub presets have under 100)")


@pytest.mark.slow  # 25 s: trains, then predicts from the command line
def test_a_tiny_bert_tags_words_from_their_first_piece_and_reloads_in_safe_mode(write_spec, tmp_path, presets,
                                                                                  keras):
    result = train(validate_file(tagger(write_spec, tmp_path, presets)), out="run", verbose=0)
    test = result.metrics["test"]["pos"]
    words_per_sentence = [len(line.split()) for line in (tmp_path / "tiny.pos").read_text().splitlines()]
    assert test["tokens"] == pytest.approx(np.mean(words_per_sentence) * 24, rel=0.15)  # words, not pieces
    assert test["token_accuracy"] >= 0.9
    predicted = run_cli("predict", "run", "the quick dog likes a house .", "--json")
    assert predicted.returncode == 0, predicted.stderr
    [item] = json.loads(predicted.stdout)
    tags = item["heads"]["pos"]
    assert tags["tokens"] == ["the", "quick", "dog", "likes", "a", "house", "."]
    assert len(tags["tags"]) == 7
    model = keras.saving.load_model(tmp_path / "run" / "model.keras", safe_mode=True)
    assert {"transformer_layer_0", "transformer_layer_1", "token_embedding"} <= {layer.name for layer in model.layers}


def test_lora_leaves_only_the_adapters_trainable(write_spec, tmp_path, presets):
    from tlspec.model.assemble import assemble

    path = tagger(write_spec, tmp_path, presets, freeze="{plugin: lora, rank: 2}", epochs=2)
    layers = assemble(validate_file(path)).built["backbone"].layers
    head_dim = HIDDEN // HEADS
    # Per query and value projection (kernel hidden x heads x head_dim): A is hidden x heads x 2, B is 2 x head_dim.
    adapters = BLOCKS * 2 * (HIDDEN * HEADS * 2 + 2 * head_dim)
    assert sum(int(np.prod(w.shape)) for layer in layers for w in layer.trainable_weights) == adapters == 320
    assert all("lora_kernel" in w.path for layer in layers for w in layer.trainable_weights)
    import keras_hub

    bert = keras_hub.models.Backbone.from_preset(str(presets / "tiny_bert")).count_params()
    assert sum(int(np.prod(w.shape)) for layer in layers for w in layer.non_trainable_weights) == bert == 5_584


@pytest.mark.slow  # 24 s: trains, then evaluates from the command line
def test_lora_adapters_are_saved_merged_and_evaluate_the_same(write_spec, tmp_path, presets, keras):
    path = tagger(write_spec, tmp_path, presets, freeze="{plugin: lora, rank: 2}", epochs=2)
    result = train(validate_file(path), out="run", verbose=0)
    saved = keras.saving.load_model(tmp_path / "run" / "model.keras", safe_mode=True)
    assert not any("lora" in w.path for w in saved.weights)  # merged into the kernels
    evaluated = run_cli("evaluate", "run", "--split", "test", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["test"]["pos"]["token_accuracy"] == pytest.approx(
        result.metrics["test"]["pos"]["token_accuracy"], abs=1e-6)


def test_blocks_freezes_the_embeddings_and_the_bottom_blocks(write_spec, tmp_path, presets):
    validated = validate_file(tagger(write_spec, tmp_path, presets, freeze="{plugin: blocks, n: 1}"))
    assert validated.graph.frozen_layers == {"token_embedding", "position_embedding", "segment_embedding",
                                             "embeddings_add", "embeddings_layer_norm", "embeddings_dropout",
                                             "transformer_layer_0"}
    with pytest.raises(SpecError) as caught:
        validate_file(tagger(write_spec, tmp_path, presets, freeze="{plugin: blocks, n: 3}"))
    assert str(caught.value).startswith("spec.yaml:5:29: freeze.n: the backbone has 2 blocks; n is 3")


def test_without_the_hub_extra_a_spec_naming_it_gets_one_located_line(write_spec, tmp_path, presets, monkeypatch):
    path = tagger(write_spec, tmp_path, presets)
    monkeypatch.setitem(sys.modules, "keras_hub", None)  # as if not installed: find_spec answers None
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert str(caught.value).splitlines()[0] == (
        "spec.yaml:4:20: backbone.plugin: the keras_hub backbone needs KerasHub, which is not installed; install it "
        "with: pip install 'tlspec[hub]'")
    assert len(caught.value.problems) == 1


def test_a_tiny_vit_reads_images_as_patch_tokens(write_spec, image_data, presets, keras):
    path = write_spec(f"""
        tlspec: 1
        name: vit
        seed: 1
        backbone: {{plugin: keras_hub, preset: {presets / 'tiny_vit'}}}
        freeze: all
        heads:
          - {{name: label, plugin: classifier, from: backbone, pooling: avg, classes: from_data}}
        data: {{plugin: image_folder, train: {image_data / 'train'}, validation: {image_data / 'validation'},
                image_size: [16, 16]}}
        train: {{epochs: 1, batch_size: 8}}
        """)
    validated = validate_file(path)
    assert str(validated.graph.components["backbone"].plan.output) == "(None, 17, 16)"
    result = train(validated, out="run", verbose=0)
    assert set(result.metrics["validation"]["label"]) >= {"accuracy", "loss"}
    model = keras.saving.load_model(image_data.parent / "run" / "model.keras", safe_mode=True)
    assert model.output["label"].shape == (None, 2)


def test_layer_wise_decay_runs_over_the_blocks_with_the_embeddings_as_one(write_spec, tmp_path, presets):
    from tlspec.model.assemble import assemble
    from tlspec.model.layer_rates import multipliers

    text = TAGGER.format(preset=presets / "tiny_bert", freeze="none", source="backbone", epochs=1)
    write_tagged(tmp_path / "tiny.pos")
    path = write_spec(text.replace("optimizer: {name: adam, learning_rate: 0.005}}",
                                   "optimizer: {name: adam, learning_rate: 0.005}, layer_rates: {decay: 0.5}}"))
    validated = validate_file(path)
    found = multipliers(assemble(validated), validated.spec.train.layer_rates)
    assert found == {"pooled_dense": 1.0, "transformer_layer_1": 0.5, "transformer_layer_0": 0.25,
                     "token_embedding": 0.125, "position_embedding": 0.125, "segment_embedding": 0.125,
                     "embeddings_layer_norm": 0.125, "pos": 1.0}


def test_words_become_pieces_and_each_first_piece_carries_the_label(presets):
    from tlspec_builtins.subwords import PieceEncoder, TokenizerOptions

    options, resolve = TokenizerOptions(preset=str(presets / "tiny_bert")), (lambda value: presets / value)
    encoded = PieceEncoder.from_preset(options, resolve, 8).encode([["the", "Quick", "dog"]], [[[1, 2, 3]]])
    assert encoded.inputs["token_ids"].tolist() == [[2, 6, 14, 15, 10, 3, 0, 0]]  # [CLS] the qu ##ick dog [SEP]
    assert encoded.inputs["padding_mask"].tolist() == [[1, 1, 1, 1, 1, 1, 0, 0]]
    assert encoded.inputs["segment_ids"].tolist() == [[0] * 8]
    assert encoded.labels[0].tolist() == [[0, 1, 2, 0, 3, 0, 0, 0]]
    assert encoded.starts == [[1, 2, 4]] and encoded.cut == 0
    short = PieceEncoder.from_preset(options, resolve, 5).encode([["the", "quick", "dog"]])
    assert short.inputs["token_ids"].tolist() == [[2, 6, 14, 15, 3]]  # 'dog' does not fit: the sentence is cut
    assert short.starts == [[1, 2]] and short.cut == 1


def test_text_classes_feed_the_preset_its_pieces(write_spec, tmp_path, presets):
    (tmp_path / "animals.txt").write_text("the dog sees a cat\na big dog\nthe old cat likes a dog\n")
    (tmp_path / "things.txt").write_text("the house\na big house\nthe old house\n")
    path = write_spec(f"""
        tlspec: 1
        name: bert-classes
        seed: 1
        backbone: {{plugin: keras_hub, preset: {presets / 'tiny_bert'}}}
        heads:
          - {{name: kind, plugin: classifier, from: backbone.pooled_output, classes: from_data}}
        data:
          plugin: text_classes
          files: {{animal: animals.txt, thing: things.txt}}
          validation: 0.2
          test: 0.2
          max_length: 10
          tokenizer: {{preset: {presets / 'tiny_bert'}}}
        """)
    original = path.read_text()
    validated = validate_file(path)
    described = validated.description
    assert {name: field.shape for name, field in described.inputs.items()} == {
        "token_ids": (10,), "segment_ids": (10,), "padding_mask": (10,)}
    with pytest.raises(SpecError) as caught:
        validate_file(write_spec(original.replace("max_length: 10", "max_length: 10\n  level: char")))
    assert "level: char and tokenizer do not go together" in str(caught.value)
    with pytest.raises(SpecError) as caught:
        validate_file(write_spec(original.replace(f"tokenizer: {{preset: {presets / 'tiny_bert'}}}",
                                                          f"tokenizer: {{preset: {presets / 'tiny_vit'}}}")))
    assert f"data.tokenizer.preset: preset {presets / 'tiny_vit'} holds a ViTBackbone, an image backbone: it has " \
           "no tokenizer" in str(caught.value)


def test_token_crossentropy_counts_only_positions_labelled_other_than_0(keras):
    from tlspec_builtins.token_loss import TokenCrossentropy

    probabilities = np.array([[[0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]]], dtype="float32")
    labels = np.array([[0, 2, 1]])
    expected = -(np.log(0.8) + np.log(0.2)) / 2  # positions 1 and 2; position 0 is padding
    assert float(TokenCrossentropy()(labels, probabilities)) == pytest.approx(expected, rel=1e-5)
    restored = keras.losses.deserialize(keras.losses.serialize(TokenCrossentropy()))
    assert float(restored(labels, probabilities)) == pytest.approx(expected, rel=1e-5)


def test_a_lora_phase_after_a_head_phase_adds_its_adapters_from_the_start(write_spec, tmp_path, presets):
    from tlspec.training.phase_plan import plan_phases

    path = tagger(write_spec, tmp_path, presets, freeze="all", epochs=1)
    text = path.read_text().replace("train: {epochs: 1, batch_size: 16, optimizer: {name: adam, learning_rate: 0.005}}",
                                    "train:\n  batch_size: 16\n  phases:\n    - {name: head, epochs: 1}\n"
                                    "    - {name: lora, epochs: 1, freeze: {plugin: lora, rank: 2}}")
    plans = plan_phases(validate_file(write_spec(text)))
    backbone = [next(part for part in plan.components if part.name == "backbone") for plan in plans]
    # The adapters exist in both phases (so a checkpoint of either reloads); only the LoRA phase trains them.
    assert [(part.trainable, part.frozen) for part in backbone] == [(0, 5_584 + 320), (320, 5_584)]
