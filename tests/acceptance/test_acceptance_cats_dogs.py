"""The lecture's cats-vs-dogs job on the real images: specs/cats_dogs_mobilenet.yaml."""

import json
import subprocess
import sys

import pytest

from helpers import SHARED_DATA, SPECS, cli_output, run_cli

IMAGES = SHARED_DATA / "cats_vs_dogs"
pytestmark = [pytest.mark.acceptance, pytest.mark.slow,
              pytest.mark.skipif(not IMAGES.exists(), reason="../shared/data is not present")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cats-dogs") / "run"
    cli_output("train", SPECS / "cats_dogs_mobilenet.yaml", "--out", out, "--quiet", timeout=1800)
    return out


def test_test_accuracy_after_frozen_and_fine_tune_phases(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    info = json.loads((run_dir / "run.json").read_text())
    print(f"\ncats vs dogs: test accuracy {metrics['test']['animal']['accuracy']:.4f}, "
          f"{info['seconds']} s, phases {info['phases']}")
    assert metrics["test"]["animal"]["accuracy"] >= 0.88
    assert [(p["name"], p["cached_features"]) for p in info["phases"]] == [("head", True), ("finetune", True)]
    assert info["phases"][1]["why"] == ("the frozen layers up to 'conv_pw_9_relu' run once and their outputs are "
                                        "cached; 'conv_dw_10' and the layers above it train")


def test_predict_names_cats_and_dogs(run_dir):
    files = [str(p) for name in ("cat", "dog") for p in sorted((IMAGES / "test" / name).glob("*.jpg"))[:10]]
    result = run_cli("predict", run_dir, *files, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    labels = [item["heads"]["animal"]["label"] for item in json.loads(result.stdout)]
    truth = ["cat"] * 10 + ["dog"] * 10
    correct = [label == expected for label, expected in zip(labels, truth)]
    assert sum(correct) >= 16, labels
    assert any(correct[:10]) and any(correct[10:])


def test_saved_model_reloads_with_plain_keras_in_safe_mode(run_dir):
    script = (
        "import sys, numpy as np, keras\n"
        f"model = keras.saving.load_model({str(run_dir / 'model.keras')!r}, safe_mode=True)\n"
        "assert not any(name.startswith('tlspec') for name in sys.modules), 'tlspec was imported'\n"
        "out = model.predict({'image': np.zeros((1, 160, 160, 3), 'float32')}, verbose=0)['animal']\n"
        "print(out.shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "(1, 2)"


def test_evaluation_json_holds_the_confusion_matrix_and_calibration(run_dir):
    evaluated = json.loads(cli_output("evaluate", run_dir, "--json"))["test"]["animal"]
    saved = json.loads((run_dir / "evaluation" / "test.json").read_text())["heads"]["animal"]["report"]
    matrix = saved["confusion_matrix"]
    test_images = sum(1 for _ in (IMAGES / "test").glob("*/*.jpg"))
    print(f"\ncats vs dogs test: confusion {matrix['classes']} {matrix['matrix']}, "
          f"ECE {saved['calibration']['ece']:.4f}")
    assert matrix["classes"] == ["cat", "dog"] and sum(map(sum, matrix["matrix"])) == test_images
    assert saved["accuracy"] == pytest.approx(evaluated["accuracy"])
    assert 0 <= saved["calibration"]["ece"] < 0.15
    assert all("input" in mistake for mistake in saved["most_confident_mistakes"])


@pytest.mark.parametrize("form", ["keras", "saved_model", "tflite", "onnx"])
def test_every_export_format_matches_model_keras_on_the_test_images(run_dir, form):
    metadata = json.loads(cli_output("export", run_dir, "--format", form, "--json", timeout=600))
    difference = metadata["check"]["max_abs_diff"]["animal"]
    print(f"\n{form}: max abs difference {difference:.3g} on {metadata['check']['examples']}, "
          f"{metadata['export_seconds']} s")
    assert difference <= metadata["check"]["tolerance"]
    assert metadata["heads"]["animal"]["classes"] == ["cat", "dog"]
    assert metadata["inputs"]["image"]["shape"] == [None, 160, 160, 3]


def test_the_report_shows_the_real_mistakes(run_dir):
    cli_output("report", run_dir)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "id='confusion-animal'" in page and "id='mistakes-animal'" in page
    assert page.count("data:image/jpeg;base64,") >= 6  # thumbnails of the most confident mistakes
    assert len(page) < 3_000_000
