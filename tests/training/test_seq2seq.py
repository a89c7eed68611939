"""Encoder-decoder graphs: one encoder's states start two decoders; greedy and beam decoding from a saved run."""

import json

import numpy as np
import pytest

from helpers import only_problem, run_cli
from tlspec.errors import SpecError
from tlspec.runs.predict import predict_run
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

WORDS = ["cat", "dog", "sun", "moon", "tree", "fish", "bird", "star"]

SPEC = """
tlspec: 1
name: tiny-seq2seq
seed: 1
inputs:
  source: {shape: [null], dtype: int32}
backbone: {plugin: word_embedding, from: inputs.source, dim: 16}
blocks:
  - {name: encoder, plugin: rnn, from: backbone, cell: lstm, units: 48, return_sequences: false}
heads:
  - {name: upper, plugin: sequence_decoder, from: encoder.states, classes: from_data, embedding_dim: 16}
  - {name: reverse, plugin: sequence_decoder, from: encoder.states, classes: from_data, embedding_dim: 16,
     loss_weight: 0.5}
data:
  plugin: parallel_text
  path: pairs.tsv
  targets: {upper: 1, reverse: 2}
  level: word
  validation: 0.1
  test: 0.1
train:
  epochs: 30
  batch_size: 32
  optimizer: {name: adam, learning_rate: 0.01}
"""


def write_pairs(path, count=300, seed=0):
    """source <TAB> the same words upper-cased <TAB> the words in reverse order."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(count):
        words = [str(w) for w in rng.choice(WORDS, size=rng.integers(1, 4))]
        lines.append(f"{' '.join(words)}\t{' '.join(words).upper()}\t{' '.join(reversed(words))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seq2seq")
    write_pairs(folder / "pairs.tsv")
    (folder / "spec.yaml").write_text(SPEC, encoding="utf-8")
    result = train(validate_file(folder / "spec.yaml"), out=folder / "run", verbose=0)
    return folder, result


def test_two_decoders_learn_their_own_targets(trained):
    folder, result = trained
    test = result.metrics["test"]
    for head in ("upper", "reverse"):
        # Teacher-forced next-token accuracy over real tokens (</s> included, padding excluded).
        assert test[head]["token_accuracy"] > 0.95, test[head]
        assert abs(test[head]["accuracy"] - test[head]["token_accuracy"]) < 1e-3  # Keras masks padding too
        # Free-running greedy decoding of every held-out pair, compared with its target.
        assert test[head]["generated"] == 30
        assert test[head]["exact_match"] >= 0.85 and test[head]["token_error_rate"] <= 0.1, test[head]
    assert "exact_match" not in result.metrics["train"]["upper"]  # decoding is measured on held-out splits
    run = json.loads((folder / "run" / "run.json").read_text())
    assert run["inputs"] == {"source": [None], "upper_input": [None], "reverse_input": [None]}


def test_predict_decodes_each_decoder_greedily_and_with_a_beam(trained):
    folder, _ = trained
    items = ["cat dog", "moon", "star fish tree"]
    for beam in (1, 3):
        predictions = predict_run(folder / "run", items, beam_width=beam)
        texts = [(p["heads"]["upper"]["text"], p["heads"]["reverse"]["text"]) for p in predictions]
        assert texts == [("CAT DOG", "dog cat"), ("MOON", "moon"), ("STAR FISH TREE", "tree fish star")], beam
        assert all(p["heads"]["upper"]["score"] <= 0 for p in predictions)


def test_evaluate_reports_teacher_forced_and_free_running_results(trained):
    from tlspec.runs.evaluate import evaluate_run

    folder, result = trained
    test = evaluate_run(folder / "run", "test")["test"]
    for head in ("upper", "reverse"):
        assert test[head]["token_accuracy"] == pytest.approx(result.metrics["test"][head]["token_accuracy"])
        assert test[head]["exact_match"] == pytest.approx(result.metrics["test"][head]["exact_match"])
        assert "per_tag" not in test[head]
    assert test["total_loss"] == pytest.approx(test["upper"]["loss"] + 0.5 * test["reverse"]["loss"], rel=1e-4)


def test_predict_command_prints_the_generated_text(trained):
    folder, _ = trained
    result = run_cli("predict", folder / "run", "sun bird")
    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if "sun bird" in line]
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == ["sun bird", "'SUN BIRD'", "'bird sun'"]


def test_step_models_share_the_trained_layers(trained, keras):
    from tlspec.model.assemble import assemble
    from tlspec.model.decoding import generators

    folder, _ = trained
    assembly = assemble(validate_file(folder / "spec.yaml"))
    found = generators(assembly)
    assert sorted(found) == ["reverse", "upper"]
    step = found["upper"].decoder.step
    shared = {id(layer) for layer in assembly.model.layers}
    assert {"upper_embedding", "upper_lstm", "upper"} <= {layer.name for layer in step.layers if id(layer) in shared}
    # Both decoders start from the encoder's (h, c); the start-state model reads only the encoder's input.
    assert [t.name for t in found["upper"].start_states.inputs] == ["source"]
    assert len(found["upper"].start_states.outputs) == 2


def test_step_by_step_decoding_matches_the_trained_graph(trained, keras):
    """Greedy tokens fed back as teacher-forcing input make the full model predict the same tokens."""
    from tlspec.model.assemble import assemble
    from tlspec.model.decoding import generators, greedy
    from tlspec.runs.load import load_model
    from tlspec.training.rundir import RunDir

    folder, _ = trained
    assembly = assemble(validate_file(folder / "spec.yaml"))
    assembly.model.set_weights(load_model(RunDir.existing(folder / "run")).get_weights())
    found = generators(assembly)
    source = np.array([[5, 6, 0, 0], [7, 0, 0, 0], [6, 5, 7, 5]], dtype=np.int32)  # any word ids
    decoded = {name: [ids for ids, _ in greedy(generator, {"source": source})] for name, generator in found.items()}
    width = 1 + max(len(ids) for all_ids in decoded.values() for ids in all_ids)
    feed = {"source": source}
    for name, generator in found.items():
        rows = np.zeros((len(source), width), dtype=np.int32)
        for row, ids in enumerate(decoded[name]):
            rows[row, :len(ids) + 1] = [generator.decoder.start, *ids]
        feed[f"{name}_input"] = rows
    outputs = assembly.model(feed, training=False)
    for name, generator in found.items():
        predicted = np.asarray(outputs[name]).argmax(axis=-1)
        for row, ids in enumerate(decoded[name]):
            assert predicted[row, :len(ids) + 1].tolist() == [*ids, generator.decoder.end]


def test_bidirectional_encoder_starts_a_decoder_of_twice_its_units(write_spec, keras):
    from tlspec.model.assemble import assemble

    write_pairs(write_spec("", "pairs.tsv"))
    spec = SPEC.replace("units: 48, return_sequences: false", "units: 24, bidirectional: true, return_sequences: false")
    assembly = assemble(validate_file(write_spec(spec)))
    assert assembly.model.get_layer("upper_lstm").units == 48
    assert tuple(assembly.model.get_layer("encoder_state_h").output.shape) == (None, 48)


def test_edit_distance_and_references():
    from tlspec.model.decoding import edit_distance, reference

    assert edit_distance([1, 2, 3], [1, 3]) == 1 and edit_distance([], [4, 5]) == 2
    assert edit_distance([5, 6, 7], [7, 6, 5]) == 2
    assert reference([4, 5, 3, 0, 0], end=3) == [4, 5] and reference([4, 0, 0], end=3) == [4]


def problem(write_spec, spec) -> str:
    write_pairs(write_spec("", "pairs.tsv"), count=30)
    return only_problem(write_spec(spec))


def test_decoder_cell_must_match_the_encoder_states(write_spec):
    spec = SPEC.replace("classes: from_data, embedding_dim: 16}", "classes: from_data, embedding_dim: 16, cell: gru}")
    assert problem(write_spec, spec) == (
        "spec.yaml:10:112: heads[0].cell: a gru cell starts from 1 state tensor (h); 'from' gives 2: "
        "[(None, 48), (None, 48)]. Use the encoder's cell")


def test_a_decoder_reading_a_tensor_that_is_not_states_is_told_at_from(write_spec):
    spec = SPEC.replace("from: encoder.states, classes: from_data, embedding_dim: 16}",
                        "from: encoder, classes: from_data, embedding_dim: 16}", 1)
    assert problem(write_spec, spec) == (
        "spec.yaml:10:51: heads[0].from: 'from' gives one tensor (None, 48), not an encoder's states; a lstm decoder "
        "starts from the (h, c) states of a recurrent encoder: from: <encoder>.states")


def test_decoder_units_must_match_the_states(write_spec):
    spec = SPEC.replace("classes: from_data, embedding_dim: 16}", "classes: from_data, embedding_dim: 16, units: 32}")
    assert problem(write_spec, spec).startswith(
        "spec.yaml:10:113: heads[0].units: units is 32 but the states it starts from have 48")


def test_a_single_tensor_plugin_cannot_read_a_state_group(write_spec):
    spec = SPEC.replace("blocks:\n", "blocks:\n  - {name: summary, plugin: mlp, from: encoder.states, units: [4]}\n")
    assert problem(write_spec, spec) == (
        "spec.yaml:8:40: blocks[0].from: 'encoder.states' is a group of 2 tensors [(None, 48), (None, 48)] (recurrent "
        "states); the mlp plugin reads single tensors: refer to one part, e.g. 'encoder.state_h'")


def test_decoder_input_names_must_agree_with_the_data(write_spec):
    spec = SPEC.replace("classes: from_data, embedding_dim: 16}",
                        "classes: from_data, embedding_dim: 16, input: up_in}")
    write_pairs(write_spec("", "pairs.tsv"), count=30)
    with pytest.raises(SpecError) as caught:
        validate_file(write_spec(spec))
    assert [str(p) for p in caught.value.problems] == [
        "spec.yaml:13:1: data: the model has an input 'up_in' but the data yields 'reverse_input', 'source', "
        "'upper_input'",
        "spec.yaml:13:1: data: the data yields an input 'upper_input' the model does not have; model inputs: "
        "'reverse_input', 'source', 'up_in'"]


def test_parallel_text_targets_name_existing_heads(write_spec):
    spec = SPEC.replace("targets: {upper: 1, reverse: 2}", "targets: {upper: 1, revers: 2}")
    assert problem(write_spec, spec).startswith("spec.yaml:16:12: data.targets: no head named 'revers'")


def test_parallel_text_reports_a_missing_column(write_spec):
    spec = SPEC.replace("targets: {upper: 1, reverse: 2}", "targets: {upper: 1, reverse: 3}")
    assert problem(write_spec, spec) == (
        "spec.yaml:16:12: data.targets: pairs.tsv line 1 has 3 column(s); the spec reads column 3 (columns count "
        "from 0)")
