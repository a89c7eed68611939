"""Multi-input, multi-output wiring; blocks; heads reading heads; input checks."""

import numpy as np
import pytest

from helpers import build
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file

TWO_INPUTS = """
tlspec: 1
name: two-inputs
seed: 3
inputs:
  text: {shape: [10]}
  meta: {shape: [4]}
backbone: {plugin: mlp, from: inputs.text, units: [8, 6], layer_names: [t1, t2]}
blocks:
  - {name: side, plugin: mlp, from: inputs.meta, units: [5]}
heads:
  - {name: joint, plugin: classifier, from: [backbone, side], classes: 3}
  - {name: early, plugin: regression, from: backbone.t1, units: 2}
  - {name: refined, plugin: regression, from: joint}
"""


def test_two_inputs_three_outputs_and_a_head_reading_a_head(write_spec, keras):
    assembly = build(write_spec(TWO_INPUTS))
    model = assembly.model
    assert list(assembly.inputs) == ["text", "meta"]
    assert sorted(model.output_names) == ["early", "joint", "refined"]
    # joint concatenates backbone (6) and side (5): 11 * 3 + 3 weights
    assert model.get_layer("joint").count_params() == 36
    assert tuple(model.get_layer("joint_concat").output.shape) == (None, 11)
    outputs = model.predict({"text": np.ones((2, 10)), "meta": np.ones((2, 4))}, verbose=0)
    assert {name: o.shape for name, o in outputs.items()} == {"joint": (2, 3), "early": (2, 2), "refined": (2, 1)}
    np.testing.assert_allclose(outputs["joint"].sum(axis=1), 1.0, rtol=1e-5)


def test_declared_input_nothing_reads(write_spec):
    path = write_spec(TWO_INPUTS.replace("  - {name: side, plugin: mlp, from: inputs.meta, units: [5]}\n",
                                         "  - {name: side, plugin: mlp, input_shape: [4], units: [5]}\n"))
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert str(caught.value) == "spec.yaml:6:3: inputs.meta: input 'meta' is declared but nothing reads it"


def test_created_inputs_must_not_clash(write_spec):
    path = write_spec("""
        tlspec: 1
        name: t
        backbone: {plugin: mlp, input_shape: [3], units: [4]}
        blocks:
          - {name: other, plugin: mlp, input_shape: [2], units: [4]}
        heads: [{name: o, plugin: regression, from: [backbone, other]}]
        """)
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert str(caught.value) == ("spec.yaml:5:5: blocks[0]: other creates a model input named 'features', "
                                 "which backbone already uses; set its input_name")


def test_head_layer_names_are_prefixed_by_the_head(write_spec, keras):
    path = write_spec("""
        tlspec: 1
        name: t
        backbone: {plugin: small_cnn, input_shape: [16, 16, 3], filters: [4]}
        heads:
          - name: label
            plugin: classifier
            pooling: flatten
            hidden: [8, {units: 4, activation: tanh, dropout: 0.5}]
            dropout: 0.25
            classes: 3
        """)
    names = [layer.name for layer in build(path).model.layers if layer.name.startswith("label")]
    assert names == ["label_flatten", "label_hidden_1", "label_hidden_2", "label_hidden_2_dropout",
                     "label_dropout", "label"]


def test_heads_read_the_backbone_by_default_whatever_its_name(write_spec, keras):
    path = write_spec("""
        tlspec: 1
        name: t
        backbone: {name: encoder, plugin: mlp, input_shape: [3], units: [4]}
        heads: [{name: o, plugin: regression}]
        """)
    graph = validate_file(path).graph
    assert [(ref.target, ref.endpoint) for ref in graph.components["o"].refs] == [("encoder", None)]
    assert build(path).model.count_params() == 16 + 5
