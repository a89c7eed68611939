"""The example package's own tests: every plugin checked against tlspec's contract with tlspec.testing.

A plugin package runs these with its own pytest; tlspec's `make test` runs them too.
"""

import json

from tlspec.testing import check_backbone, check_data_source, check_freeze_policy, check_head, check_transform, run_cli
from tlspec_example.coral import Coral
from tlspec_example.feature_table import FeatureTable
from tlspec_example.freeze_by_weight import BottomShare
from tlspec_example.small_cnn import SmallCNN
from tlspec_example.transforms import StripAccents

TABLE = "f1,f2,grade\n" + "".join(f"{i / 10:.1f},{(i % 7) / 7:.3f},{i % 3}\n" for i in range(30))


def test_small_cnn_keeps_the_backbone_contract(tmp_path):
    report = check_backbone(SmallCNN(), {"input_shape": [16, 16, 3], "filters": [4, 8]}, tmp_path)
    assert report.passed[-1] == "trains, saves, reloads in safe mode, predicts the same"
    assert "9 layers, prefixed 'backbone', owning their weights" in report.passed


def test_coral_keeps_the_head_contract(tmp_path):
    report = check_head(Coral(), {"classes": 4}, tmp_path, input_shape=[6])
    assert report.passed[0] == "validate: static plan (None, 3)"


def test_feature_table_keeps_the_data_source_contract(tmp_path):
    (tmp_path / "table.csv").write_text(TABLE)
    options = {"path": "table.csv", "features": ["f1", "f2"], "target": "grade", "validation": 0.2, "test": 0.1}
    report = check_data_source(FeatureTable(), options, tmp_path, heads=["grade"])
    assert report.passed[0] == "describe(): {'validation': 6, 'test': 3, 'train': 21}"


def test_bottom_share_keeps_the_freeze_policy_contract(tmp_path):
    report = check_freeze_policy(BottomShare(), {"share": 0.5}, tmp_path)
    assert report.passed[-1] == "built and froze ['backbone_dense_1']"


def test_strip_accents_keeps_the_transform_contract():
    check_transform(StripAccents(), {})
    assert StripAccents().apply(StripAccents.Config(plugin="strip_accents"), "Café Ñandú") == "Cafe Nandu"


SPEC = """
tlspec: 1
name: grades
inputs: {features: {shape: [2]}}
backbone: {plugin: mlp, from: inputs.features, units: [8]}
heads: [{name: grade, plugin: coral, classes: from_data}]
data: {plugin: feature_table, path: table.csv, features: [f1, f2], target: grade, classes: [low, mid, high]}
train: {epochs: 2, batch_size: 8}
"""


def test_the_package_from_the_command_line(tmp_path):
    (tmp_path / "table.csv").write_text(TABLE)
    (tmp_path / "spec.yaml").write_text(SPEC)
    built = run_cli("build", "spec.yaml", "--json", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    model = json.loads(built.stdout)
    assert (model["outputs"], model["params"]["total"]) == ([{"name": "grade", "shape": [None, 2]}], 2 * 8 + 8 + 8 + 2)
    trained = run_cli("train", "spec.yaml", "--out", "run", "--quiet", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    predicted = run_cli("predict", "run", "--json", "0.5,0.2", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)[0]["heads"]["grade"]["label"] in ("low", "mid", "high")
