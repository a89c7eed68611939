"""`tlspec evaluate` and `tlspec predict` on a finished run directory, in process and from the command line."""

import csv
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
    for kwargs, message in (({"data": ["nothere"]}, "--data: folder not found: nothere"),
                            ({"split": "tset"}, "the data has no 'tset' split; splits: 'test', 'train', "
                                                "'validation'")):
        with pytest.raises(TlspecError) as caught:
            evaluate_run("run", **kwargs)
        assert str(caught.value) == message
    files = [str(image_data / "test" / name / f"{name}.{i}.jpg") for name in ("cat", "dog") for i in range(3)]
    predictions = predict_run("run", files)
    assert [p["heads"]["animal"]["label"] for p in predictions] == ["cat"] * 3 + ["dog"] * 3
    assert set(predictions[0]["heads"]["animal"]["probabilities"]) == {"cat", "dog"}
    whole = (image_data / "test" / "cat" / "cat.0.jpg").read_bytes()
    frame = whole.index(b"\xff\xc0") + 5
    (image_data / "zero-height.jpg").write_bytes(whole[:frame] + b"\x00\x00" + whole[frame + 2:])
    (broken,) = predict_run("run", [str(image_data / "zero-height.jpg")])
    assert broken["error"].endswith("zero-height.jpg: broken JPEG (the frame is 16×0 pixels)")

    inputs = keras.Input((16, 16, 3), name="image")  # a model safe mode refuses, in place of the trained one
    keras.Model(inputs, {"animal": keras.layers.Lambda(lambda x: x[:, 0, 0, :2])(inputs)}).save("run/model.keras")
    with pytest.raises(TlspecError) as caught:
        predict_run("run", files[:1])
    assert str(caught.value).startswith("run/model.keras cannot be loaded in safe mode: Requested the "
                                        "deserialization of a `Lambda` layer")


@pytest.mark.slow  # the full suite runs it; the fast one stays near 5 minutes
def test_predict_command_line(write_spec, image_data, keras):
    """Folders and globs expand; an item that is not an image is reported on its own line and the others are
    still predicted; an image of another size gets a note; CSV to a file; the exit code says one failed."""
    import tensorflow as tf

    train(validate_file(cnn_spec(write_spec)), out="run", verbose=0)
    (image_data / "test" / "cat" / "notes.txt").write_text("not an image")
    tf.io.write_file("wide.png", tf.io.encode_png(tf.fill((20, 40, 3), tf.constant(200, tf.uint8))))
    result = run_cli("predict", "run", image_data / "test" / "cat", str(image_data / "test" / "dog" / "dog.[01].jpg"),
                     "wide.png", "nothere.jpg", "--top-k", "2", "--format", "csv", "-o", "predicted.csv", timeout=120)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {image_data / 'test' / 'cat' / 'notes.txt'}: not a JPEG, PNG, GIF or BMP image",
                      "error: nothere.jpg: file not found"]
    assert result.stderr.strip().splitlines()[-1] == "wrote 11 prediction(s) to predicted.csv"
    rows = list(csv.DictReader(open("predicted.csv", encoding="utf-8")))
    assert [Path(row["input"]).name for row in rows] == [f"cat.{i}.jpg" for i in range(8)] + [
        "notes.txt", "dog.0.jpg", "dog.1.jpg", "wide.png", "nothere.jpg"]
    assert [row["animal"].split(":")[0] for row in rows[:8]] == ["cat"] * 8
    assert rows[9]["animal"].startswith("dog:") and ";cat:" in rows[9]["animal"]  # the top two, best first
    assert rows[11]["notes"] == ("resized from 40×20 to the model's 16×16 (width×height), stretched: the aspect "
                                 "ratio differs")
    assert rows[8]["error"].endswith("notes.txt: not a JPEG, PNG, GIF or BMP image") and rows[8]["animal"] == ""

    table = run_cli("predict", "run", image_data / "test" / "cat" / "cat.0.jpg", "--json", timeout=120)
    assert table.returncode == 0, table.stderr
    assert json.loads(table.stdout)[0]["heads"]["animal"]["label"] == "cat"
