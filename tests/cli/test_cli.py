"""The tlspec command line, run as a user runs it."""

import json
import subprocess
import sys

import pytest

from helpers import SHARED_DATA, SPECS, run_cli

PROBE = """
import sys
from tlspec.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules)
print("HEAVY_MODULES=" + ",".join(heavy))
sys.exit(code)
"""


def test_validate_never_imports_tensorflow():
    specs = ["vgg16_cats_dogs.yaml", "multitask_dense.yaml", "small_cnn_plugin.yaml", "mobilenet_two_depths.yaml"]
    if SHARED_DATA.exists():
        specs.append("cats_dogs_mobilenet.yaml")  # lists 2,000 images, still without TensorFlow
    for spec in specs:
        result = subprocess.run([sys.executable, "-c", PROBE, "validate", str(SPECS / spec)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "valid — " in result.stdout
        assert "HEAVY_MODULES=\n" in result.stdout


def test_schema_and_plugins_never_import_tensorflow():
    for args in (["schema"], ["plugins", "--json"]):
        result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.rstrip().endswith("HEAVY_MODULES=")


def test_spec_errors_exit_2_with_located_lines_and_no_traceback(tmp_path):
    (tmp_path / "bad.yaml").write_text("tlspec: 1\nname: t\nbackbone: {plugin: mlpp}\nheads: []\n")
    result = run_cli("validate", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "bad.yaml:3:20: backbone.plugin: unknown backbone plugin 'mlpp' (did you mean 'mlp'?); "
        "installed backbone plugins: 'char_cnn', 'keras_app', 'keras_file', 'keras_hub', 'mlp', 'rnn', 'small_cnn', "
        "'text_cnn', 'word_embedding'",
        "bad.yaml:4:8: heads: list should have at least 1 item after validation, not 0; got a list",
        "bad.yaml: 2 problems",
    ]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("where", ["validate", "a plugin's plan"])
def test_running_out_of_memory_is_the_spec_s_to_change_not_a_tlspec_bug(monkeypatch, capsys, where):
    import tlspec
    from tlspec.cli import main
    from tlspec_example.small_cnn import SmallCNN

    def exhausted(*args, **kwargs):
        raise MemoryError

    if where == "validate":
        monkeypatch.setattr(tlspec, "validate", exhausted)
    else:  # not reported as a bug in the plugin: the spec asked for too much
        monkeypatch.setattr(SmallCNN, "plan", exhausted)
    assert main(["validate", str(SPECS / "quickstart_source.yaml"), "--no-cache"]) == 1
    assert capsys.readouterr().err == (
        "error: out of memory: the spec asks for more memory than this machine has; make batch_size, max_length or "
        "the model's sizes smaller\n")


def test_a_deleted_working_folder_is_a_clear_error(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    probe = f"import os, sys; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); from tlspec.cli import main; " \
            f"sys.exit(main(['validate', {str(SPECS / 'quickstart_source.yaml')!r}]))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (
        1, "error: the working folder no longer exists; change to a folder that does\n")


def test_missing_spec_file_is_a_clear_error(tmp_path):
    result = run_cli("validate", "nothere.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "file not found: nothere.yaml"


@pytest.mark.slow  # builds VGG16 (10 s); the build table test stays fast
def test_build_json_report(tmp_path):
    result = run_cli("build", str(SPECS / "multitask_dense.yaml"), "--json", "--plot", "graph.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["inputs"] == [{"name": "features", "shape": [None, 3], "dtype": "float32"}]
    assert report["outputs"] == [{"name": "o1", "shape": [None, 1]}, {"name": "o2", "shape": [None, 1]}]
    assert report["params"] == {"total": 66, "trainable": 66, "non_trainable": 0}
    assert [(c["name"], c["plugin"], c["trainable"]) for c in report["components"]] == [
        ("backbone", "mlp", 56), ("o1", "regression", 5), ("o2", "regression", 5)]
    assert [layer["name"] for layer in report["layers"]] == ["features", "layer_1", "layer_2", "layer_3", "o1", "o2"]
    png = (tmp_path / "graph.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


def test_build_table_shows_frozen_and_trainable_counts():
    result = run_cli("build", str(SPECS / "vgg16_cats_dogs_frozen.yaml"), "--set", "backbone.weights=null")
    assert result.returncode == 0, result.stderr
    assert "parameters: 14,764,866 total, 50,178 trainable, 14,714,688 non-trainable" in result.stdout
    assert "oneDNN" not in result.stderr  # TensorFlow's start-up chatter is kept out of the way


def test_build_time_errors_are_located(tmp_path):
    (tmp_path / "spec.yaml").write_text(
        "tlspec: 1\nname: t\nbackbone: {plugin: mlp, input_shape: [3], units: [4]}\n"
        "heads:\n  - {name: o, plugin: regression, loss: mean_squared_eror}\n")
    result = run_cli("build", "spec.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == ("spec.yaml:5:41: heads[0].loss: unknown Keras loss "
                                             "'mean_squared_eror' (did you mean 'mean_squared_error'?)")


def test_a_run_directory_is_resumed_only_as_it_was_started(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text("{}")
    plain = run_cli("train", "run", cwd=tmp_path)
    assert (plain.returncode, plain.stderr.strip()) == (1, "error: run is a directory; to continue the run in it, "
                                                           "add --resume (to train a spec, give the spec file)")
    changed = run_cli("train", "run", "--resume", "--set", "seed=1", cwd=tmp_path)
    assert (changed.returncode, changed.stderr.strip()) == (
        1, "error: --set cannot change a run being resumed from its directory: it continues with its own spec "
           "(start a new run to change it)")


@pytest.mark.slow  # trains a run first; the full suite runs it
def test_a_model_safe_mode_refuses_is_an_error_not_a_crash(tmp_path, keras):
    from tlspec.spec.validate import validate_file
    from tlspec.training.runner import train

    train(validate_file(SPECS / "multitask_dense.yaml"), out=tmp_path / "run", verbose=0)
    inputs = keras.Input((3,), name="features")
    outputs = {"o1": keras.layers.Lambda(lambda x: x[:, :1])(inputs), "o2": keras.layers.Dense(1)(inputs)}
    keras.Model(inputs, outputs).save(tmp_path / "run" / "model.keras")
    result = run_cli("evaluate", tmp_path / "run", "--split", "train")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {tmp_path / 'run' / 'model.keras'} cannot be loaded in safe mode: ")
    assert result.stderr.rstrip().endswith("tlspec loads models only in safe mode (no Lambda layers; custom layers "
                                           "must be registered serializable by an installed plugin)")
