"""`tlspec evaluate` and `tlspec predict` on a finished run directory, in process and from the command line."""

import json
import shutil
from pathlib import Path

import pytest

from helpers import cnn_spec, make_image_folder, run_cli
from tlspec.errors import TlspecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train


def test_evaluate_and_predict_a_run(write_spec, image_data, keras):
    from tlspec.runs.evaluate import evaluate_run
    from tlspec.runs.predict import predict_run

    result = train(validate_file(cnn_spec(write_spec)), out="run", verbose=0)
    evaluated = evaluate_run("run", "test")
    report = evaluated["test"]["animal"].pop("report")
    assert evaluated == {"test": result.metrics["test"]}  # the metrics training reported, and a report
    assert report["confusion_matrix"]["matrix"] == [[8, 0], [0, 8]]  # 8 test images a class; all right
    assert report["accuracy"] == pytest.approx(result.metrics["test"]["animal"]["accuracy"])
    assert {name: row["support"] for name, row in report["per_class"].items()} == {"cat": 8, "dog": 8}
    assert sum(row["count"] for row in report["calibration"]["bins"]) == 16
    assert 0 <= report["calibration"]["ece"] <= 1
    saved = json.loads((Path("run") / "evaluation" / "test.json").read_text())
    assert saved["data"] == {"split": "test"} and saved["heads"]["animal"]["report"] == report

    make_image_folder(Path("new"), {"cat": 3}, seed=7)  # new data: one of the two classes
    new = evaluate_run("run", data=["new"])["data-new"]["animal"]["report"]
    assert new["confusion_matrix"]["matrix"] == [[3, 0], [0, 0]] and new["per_class"]["dog"]["support"] == 0
    assert Path("run/evaluation/data-new.json").is_file()
    shutil.copytree("new/cat", "new/dgo")
    with pytest.raises(TlspecError) as caught:
        evaluate_run("run", data=["new"])
    assert str(caught.value) == ("--data: new/dgo: class 'dgo' is not one of the run's classes (did you mean "
                                 "'dog'?); its classes: cat, dog")
    files = [str(image_data / "test" / name / f"{name}.{i}.jpg") for name in ("cat", "dog") for i in range(3)]
    predictions = predict_run("run", files)
    assert [p["heads"]["animal"]["label"] for p in predictions] == ["cat"] * 3 + ["dog"] * 3
    assert set(predictions[0]["heads"]["animal"]["probabilities"]) == {"cat", "dog"}
    whole = (image_data / "test" / "cat" / "cat.0.jpg").read_bytes()
    frame = whole.index(b"\xff\xc0") + 5
    (image_data / "zero-height.jpg").write_bytes(whole[:frame] + b"\x00\x00" + whole[frame + 2:])
    with pytest.raises(TlspecError) as caught:
        predict_run("run", [str(image_data / "zero-height.jpg")])
    assert str(caught.value).endswith("zero-height.jpg: broken JPEG (the frame is 16×0 pixels)")

    inputs = keras.Input((16, 16, 3), name="image")  # a model safe mode refuses, in place of the trained one
    keras.Model(inputs, {"animal": keras.layers.Lambda(lambda x: x[:, 0, 0, :2])(inputs)}).save("run/model.keras")
    with pytest.raises(TlspecError) as caught:
        predict_run("run", files[:1])
    assert str(caught.value).startswith("run/model.keras cannot be loaded in safe mode: Requested the "
                                        "deserialization of a `Lambda` layer")


def test_predict_command_line(write_spec, image_data, keras):
    train(validate_file(cnn_spec(write_spec)), out="run", verbose=0)
    cat = image_data / "test" / "cat" / "cat.0.jpg"
    result = run_cli("predict", "run", cat, "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["heads"]["animal"]["label"] == "cat"
    missing = run_cli("predict", "run", "nothere.jpg", timeout=120)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1] == "error: nothere.jpg: file not found"
