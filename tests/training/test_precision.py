"""train.precision and train.jit_compile: the dtype policy a run trains under, put back after it."""

import numpy as np
import pytest

from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

SPEC = """
tlspec: 1
name: precise
seed: 3
backbone: {plugin: mlp, from: inputs.x, units: [16]}
inputs:
  x: {shape: [6]}
heads: [{name: y, plugin: classifier, classes: 2}]
data: {plugin: arrays, train: data.npz, validation: 0.25, inputs: {x: x}, targets: {y: y}}
train: {epochs: 8, batch_size: 16, optimizer: {name: adam, learning_rate: 0.01}}
"""


@pytest.fixture
def arrays_spec(write_spec):
    x = np.random.default_rng(0).normal(size=(256, 6)).astype("float32")
    np.savez("data.npz", x=x, y=(x[:, 0] + x[:, 1] > 0).astype("int32"))
    return write_spec(SPEC)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_a_mixed_precision_run_trains_saves_and_puts_the_policy_back(arrays_spec, keras, precision):
    result = train(validate_file(arrays_spec, [f"train.precision={precision}"]), out="run", verbose=0)
    assert keras.config.dtype_policy().name == "float32"
    assert result.metrics["validation"]["y"]["accuracy"] >= 0.85
    model = keras.saving.load_model(result.run.path / "model.keras", safe_mode=True)
    dense = [layer for layer in model.layers if layer.weights]
    assert {layer.dtype_policy.name for layer in dense} == {precision}
    assert {weight.dtype for layer in dense for weight in layer.weights} == {"float32"}  # weights stay float32


def test_jit_compile_reaches_keras(arrays_spec, keras, monkeypatch):
    from tlspec.model.assemble import assemble
    from tlspec.model.compile import compile_model

    for value, expected in (("false", False), ("true", True)):
        assembly = assemble(validate_file(arrays_spec, [f"train.jit_compile={value}"]))
        compile_model(assembly)
        assert assembly.model.jit_compile is expected


def test_an_unknown_precision_is_located(arrays_spec):
    with pytest.raises(SpecError) as caught:
        validate_file(arrays_spec, ["train.precision=float16"])
    assert "train.precision" in str(caught.value) and "mixed_float16" in str(caught.value)
