"""Features of frozen layers computed once: a frozen bottom under a fine-tuned top, one pass for every
phase, evaluation on them, and the persistent cache on disk (train.persistent_cache)."""

import json

import numpy as np
import pytest

from helpers import cnn_spec
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

# 4 then 8 filters: after the first stage's pooling an image is 8x8x4 = 256 numbers, against 16x16x3 = 768
# as input, so fine-tuning the second stage is worth training on the first stage's cached outputs.
NARROW = ["backbone.filters=[4, 8]", "train.phases.1.freeze.layer=backbone_pool_1"]


def test_fine_tuning_trains_the_top_on_the_frozen_bottoms_outputs(write_spec, image_data, keras, capsys):
    import tlspec

    validated = validate_file(cnn_spec(write_spec), NARROW)
    head, finetune = tlspec.plan(validated)
    assert finetune.cached and finetune.why == (
        "the frozen layers up to 'backbone_pool_1' run once and their outputs are cached; 'backbone_conv_2' and "
        "the layers above it train")
    result = train(validated, out="run", verbose=0)
    printed = capsys.readouterr().out
    # conv_1 3*3*3*4 = 108, bn_1 16, conv_2 3*3*4*8 = 288 (trains), bn_2 32
    assert ("phase finetune: epochs 7-8, training the heads and part of backbone: backbone 288 of 444 parameters "
            "trainable (the frozen layers up to 'backbone_pool_1' run once") in printed
    info = json.loads((result.run.path / "run.json").read_text())
    assert [(p["name"], p["cached_features"]) for p in info["phases"]] == [("head", True), ("finetune", True)]
    # one pass over the data computed both phases' features: the fine-tuning phase extracted nothing
    assert info["timings"]["phase finetune: extract features"] < 0.05 < info["timings"]["phase head: extract features"]
    assert result.metrics["test"]["animal"]["accuracy"] >= 0.9
    # the metrics of train and validation came from the cached features; the whole model agrees
    for split in ("train", "validation"):
        again = tlspec.evaluate(result.run.path, split)[split]["animal"]
        assert again["loss"] == pytest.approx(result.metrics[split]["animal"]["loss"], rel=1e-4, abs=1e-6)
        assert again["accuracy"] == pytest.approx(result.metrics[split]["animal"]["accuracy"])


def test_a_bottom_larger_than_the_inputs_is_not_cached(write_spec, image_data, keras):
    import tlspec

    _, finetune = tlspec.plan(validate_file(cnn_spec(write_spec)))  # 16 filters: 8x8x16 = 1,024 > 768
    assert not finetune.cached
    assert finetune.why == ("layer 'backbone_conv_2' under the heads is trainable; the outputs of the frozen layers "
                            "up to 'backbone_pool_1' are larger than the model's inputs")


def test_plan_knows_before_training_whether_every_phase_reads_cached_features(write_spec, image_data, keras):
    from tlspec.model.assemble import assemble
    from tlspec.training.feature_plan import plan_features

    class Session:  # what plan_features reads of a training session
        def __init__(self, validated):
            self.validated, self.assembly = validated, assemble(validated)

    narrow = plan_features(Session(validate_file(cnn_spec(write_spec), NARROW)), 0)
    assert (sorted(narrow.models), narrow.ahead, narrow.every_phase_cached) == ([0, 1], [0, 1], True)
    wide = plan_features(Session(validate_file(cnn_spec(write_spec))), 0)
    assert (sorted(wide.models), wide.ahead, wide.every_phase_cached) == ([0], [0], False)
    resumed = plan_features(Session(validate_file(cnn_spec(write_spec), NARROW)), 1)
    assert (sorted(resumed.models), resumed.ahead) == ([1], [1])


def test_a_phase_after_one_that_trained_its_bottom_extracts_again(write_spec, image_data, keras):
    from tlspec.model.assemble import assemble
    from tlspec.training.feature_plan import plan_features

    class Session:
        def __init__(self, validated):
            self.validated, self.assembly = validated, assemble(validated)

    # phase 1 trains everything; phase 2 freezes the first stage, whose weights phase 1 changed
    changed = NARROW + ["train.phases.0.freeze=none"]
    plan = plan_features(Session(validate_file(cnn_spec(write_spec), changed)), 0)
    assert (sorted(plan.models), plan.ahead, plan.every_phase_cached) == ([1], [], False)


def test_persistent_cache_second_run_reads_features_and_trains_the_same(write_spec, image_data, keras, tmp_path,
                                                                        monkeypatch, capsys):
    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    overrides = NARROW + ["train.persistent_cache=true"]
    first = train(validate_file(cnn_spec(write_spec), overrides), out="first", verbose=0)
    printed = capsys.readouterr().out
    stored = sorted((tmp_path / "cache" / "features").glob("*.npz"))
    # per phase: train and validation; the last phase also test (evaluated on its features)
    assert len(stored) == 5, printed
    assert "features kept in" in printed
    second = train(validate_file(cnn_spec(write_spec), overrides), out="second", verbose=0)
    printed = capsys.readouterr().out
    assert "features read from" in printed and "features kept in" not in printed
    assert sorted((tmp_path / "cache" / "features").glob("*.npz")) == stored
    assert [row["val_loss"] for row in second.history] == pytest.approx([row["val_loss"] for row in first.history],
                                                                        rel=1e-5)
    assert second.metrics["test"]["animal"] == pytest.approx(first.metrics["test"]["animal"], rel=1e-5)


def test_persistent_cache_misses_when_an_image_changes_and_survives_a_broken_file(write_spec, image_data, keras,
                                                                                  tmp_path, monkeypatch, capsys):
    from tlspec.training.feature_store import cache_root

    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    overrides = ["train.persistent_cache=true", "train.phases=[{name: head, epochs: 2}]"]
    train(validate_file(cnn_spec(write_spec), overrides), out="first", verbose=0)
    before = {path.name for path in cache_root().glob("*.npz")}
    assert len(before) == 3  # train, validation, test
    image = sorted((image_data / "validation" / "cat").iterdir())[0]
    keras.utils.save_img(image, 255 - np.asarray(keras.utils.load_img(image)))  # another picture, same name
    capsys.readouterr()
    train(validate_file(cnn_spec(write_spec), overrides), out="second", verbose=0)
    printed = capsys.readouterr().out
    assert len({path.name for path in cache_root().glob("*.npz")} - before) == 1  # validation's new key
    assert "features kept in" in printed and printed.split("features kept in")[1].split("\n")[0].endswith(
        ": validation")
    for path in cache_root().glob("*.npz"):  # cut short, as a full disk or a killed copy would leave them
        path.write_bytes(path.read_bytes()[:100])
    result = train(validate_file(cnn_spec(write_spec), overrides), out="third", verbose=0)
    printed = capsys.readouterr().out
    assert "features read from" not in printed and result.metrics["test"]["animal"]["accuracy"] >= 0.5
    # rewritten whole: train, validation, test (the validation entry of the picture before is left cut short)
    assert sorted(path.stat().st_size > 100 for path in cache_root().glob("*.npz")) == [False, True, True, True]


def test_persistent_cache_without_a_fingerprint_says_so(write_spec, keras, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
    np.savez("data.npz", x=x, y=(x[:, 0] > 0).astype("int32"))
    path = write_spec("""
        tlspec: 1
        name: arrays
        seed: 1
        backbone: {plugin: mlp, from: inputs.x, units: [8]}
        freeze: all
        inputs:
          x: {shape: [6]}
        heads: [{name: y, plugin: classifier, classes: 2}]
        data: {plugin: arrays, train: data.npz, validation: 0.25, inputs: {x: x}, targets: {y: y}}
        train: {epochs: 1, persistent_cache: true}
        """)
    train(validate_file(path), out="run", verbose=0)
    assert ("note: train.persistent_cache: data plugin 'arrays' cannot fingerprint its data; features are cached "
            "in memory only") in capsys.readouterr().out
    assert not (tmp_path / "cache" / "features").exists()
