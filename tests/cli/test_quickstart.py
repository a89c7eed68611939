"""The README's main job: pretrain on generated shapes, transfer to a few-label task, beat training from scratch."""

import json

import numpy as np
import pytest

from helpers import SPECS, train_cli
from tlspec.spec.validate import validate_file


def tlspec_train(spec, out, *overrides):
    return train_cli(spec, out, *overrides, timeout=600)[1]["test"]["shape"]["accuracy"]


@pytest.mark.slow  # three training runs, 35 s: the README's quickstart command runs them too
def test_transfer_beats_training_from_scratch(tmp_path):
    source = tlspec_train("quickstart_source.yaml", tmp_path / "source")
    model = tmp_path / "source" / "model.keras"
    transfer = tlspec_train("quickstart_transfer.yaml", tmp_path / "transfer", f"backbone.path={model}")
    scratch = tlspec_train("quickstart_scratch.yaml", tmp_path / "scratch")
    print(f"\nquickstart: source {source:.3f}, target transferred {transfer:.3f}, target from scratch {scratch:.3f}")
    assert source >= 0.9
    assert transfer >= scratch + 0.15
    info = json.loads((tmp_path / "transfer" / "run.json").read_text())
    assert info["phases"][0]["cached_features"] is True


def test_generated_shapes_are_deterministic_and_balanced():
    from tlspec_builtins.data_shapes import ShapesConfig, SyntheticShapes

    config = ShapesConfig(plugin="synthetic_shapes", shapes=["ring", "cross"], train=5, test=3, image_size=16)
    first = SyntheticShapes().generate(config, "train", 5)
    again = SyntheticShapes().generate(config, "train", 5)
    test = SyntheticShapes().generate(config, "test", 3)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[0].shape == (10, 16, 16, 3) and sorted(first[1].tolist()) == [0] * 5 + [1] * 5
    assert not np.array_equal(first[0][:6], test[0])
    assert 0 <= first[0].min() and first[0].max() <= 255


def test_transfer_spec_names_the_source_model(tmp_path):
    from tlspec.errors import SpecError

    with pytest.raises(SpecError) as caught:
        validate_file(SPECS / "quickstart_transfer.yaml", [f"backbone.path={tmp_path}/missing.keras"])
    assert "backbone.path: model file not found" in str(caught.value)
