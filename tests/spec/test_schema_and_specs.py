"""The JSON Schema covers every installed plugin; every shipped spec validates and builds."""

import json

import pytest

from helpers import SHARED_DATA, SPECS, build, run_cli
from tlspec.plugin.manager import default_registry
from tlspec.spec.compose import load_spec_tree
from tlspec.spec.json_schema import json_schema, spec_model
from tlspec.spec.located_yaml import plain
from tlspec.spec.validate import validate_file

# quickstart_transfer.yaml, urdu_from_hindi.yaml and pos_treebank_bert.yaml read models other specs train:
# tested in test_quickstart.py, test_acceptance_urdu.py and test_acceptance_text.py. Specs on ../shared/data
# are tested only where it is.
READS_A_RUN = {"quickstart_transfer.yaml", "urdu_from_hindi.yaml", "pos_treebank_bert.yaml"}
NEEDS_SHARED_DATA = {"cats_dogs_mobilenet.yaml", "pos_treebank_rnn.yaml", "pos_treebank_best.yaml",
                     "bert_brown_pretrain.yaml",
                     "chunk_pos_multitask.yaml", "seq2seq_two_decoders.yaml", "hindi_sentiment.yaml",
                     "hindi_sentiment_weighted.yaml", "urdu_scratch.yaml"}
ALL_SPECS = sorted(p.name for p in SPECS.glob("*.yaml") if p.name not in READS_A_RUN
                   and (SHARED_DATA.exists() or p.name not in NEEDS_SHARED_DATA))
# Specs naming ImageNet weights that are not on this offline machine are built with random weights.
OFFLINE = {"vgg16_two_tasks.yaml": ["backbone.weights=null"],
           "vgg16_cats_dogs_frozen.yaml": ["backbone.weights=null"]}


def test_schema_has_every_plugin_with_its_options():
    schema = json_schema(default_registry())
    text = json.dumps(schema)
    definitions = schema["$defs"]
    assert {"backbone_keras_app", "backbone_mlp", "backbone_small_cnn", "head_classifier",
            "freeze_until"} <= set(definitions)
    assert definitions["backbone_keras_app"]["properties"]["plugin"]["const"] == "keras_app"
    assert "input_shape" in definitions["backbone_keras_app"]["properties"]
    closed = definitions["backbone_keras_app"]["propertyNames"]  # other keys are errors, listing these
    assert closed["enum"] == sorted(definitions["backbone_keras_app"]["properties"])
    assert "from" in definitions["head_classifier"]["properties"]  # the YAML name, not from_
    assert '"tlspec"' in text and schema["title"] == "tlspec spec"


def test_schema_command_writes_a_file(tmp_path):
    out = tmp_path / "tlspec.schema.json"
    result = run_cli("schema", "-o", out, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["title"] == "tlspec spec"


@pytest.mark.parametrize("name", ALL_SPECS)
def test_every_spec_validates_and_agrees_with_the_schema_model(name):
    validated = validate_file(SPECS / name)
    data = plain(load_spec_tree(SPECS / name))
    spec_model(default_registry()).model_validate(data)  # the schema's model accepts it too
    assert validated.graph.heads()


# Building these takes over 15 s (embedding tables): the full suite builds them.
SLOW_TO_BUILD = {"chunk_pos_multitask.yaml"}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW_TO_BUILD else name
                                  for name in ALL_SPECS])
def test_every_spec_builds(name, keras):
    model = build(SPECS / name, OFFLINE.get(name, ())).model
    assert model.count_params() > 0
    keras.backend.clear_session()


def test_shipped_editor_schema_is_up_to_date():
    shipped = json.loads((SPECS / "tlspec.schema.json").read_text())
    assert shipped == json.loads(json.dumps(json_schema(default_registry()))), \
        "specs/tlspec.schema.json is stale: run `make schema`"
