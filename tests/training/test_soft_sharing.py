"""Soft parameter sharing: two towers tied by an L2 penalty that enters the loss and is logged."""

import numpy as np
import pytest

from helpers import SPECS, spec_problems
from tlspec.errors import SpecError
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

SHORT = ["train.epochs=15"]


def tower_distance(model) -> float:
    a = [w for layer in ("tower_a_dense_1", "tower_a_dense_2") for w in model.get_layer(layer).get_weights()]
    b = [w for layer in ("tower_b_dense_1", "tower_b_dense_2") for w in model.get_layer(layer).get_weights()]
    return float(sum(np.sum((x - y) ** 2) for x, y in zip(a, b)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sharing")
    return {weight: train(validate_file(SPECS / "soft_sharing.yaml", SHORT + [f"sharing.0.weight={weight}"]),
                          out=folder / f"weight_{weight}", verbose=0)
            for weight in (0, 0.1)}


def test_penalty_pulls_corresponding_weights_together(runs, keras):
    untied, tied = runs[0], runs[0.1]
    distances = {}
    for weight, result in runs.items():
        model = keras.saving.load_model(result.run.file("model.keras"), safe_mode=True)
        distances[weight] = tower_distance(model)
        assert result.run.read_json("run.json")["sharing"]["sharing"]["distance"] == pytest.approx(distances[weight],
                                                                                               rel=1e-4)
    # Same seed, same initial towers: only the penalty differs.
    assert distances[0.1] < 0.25 * distances[0], distances
    assert untied.history[0]["sharing_distance"] == pytest.approx(tied.history[0]["sharing_distance"], rel=0.05)
    assert tied.history[-1]["sharing_distance"] < tied.history[0]["sharing_distance"] / 5


def test_penalty_enters_the_loss_and_is_logged(runs):
    for weight, result in runs.items():
        for row in result.history:
            assert row["sharing_penalty"] == pytest.approx(weight * row["sharing_distance"], rel=1e-4, abs=1e-7)
            heads = row["task_a_loss"] + row["task_b_loss"]
            # Epoch means of separately kept trackers agree to within a few percent of the total, while the
            # penalty of the tied run is most of its loss.
            assert row["loss"] - heads == pytest.approx(row["sharing_penalty"], abs=0.03 * row["loss"]), row
    assert runs[0.1].history[0]["sharing_penalty"] > 0.5 * runs[0.1].history[0]["loss"]
    assert runs[0].history[-1]["sharing_penalty"] == 0


def test_saved_model_is_the_plain_two_tower_network(runs, keras):
    model = keras.saving.load_model(runs[0.1].run.file("model.keras"), safe_mode=True)
    assert sorted(model.output_names if hasattr(model, "output_names") else model.outputs) == ["task_a", "task_b"]
    assert type(model).__name__ == "Functional"
    assert sum(int(np.prod(w.shape)) for w in model.weights) == 2 * (6 * 32 + 32 + 32 * 16 + 16 + 16 + 1)


def test_towers_must_exist_and_be_alike(write_spec):
    spec = (SPECS / "soft_sharing.yaml").read_text().replace("train: data/related_tasks.csv",
                                                              f"train: {SPECS / 'data' / 'related_tasks.csv'}")
    path = write_spec(spec)
    assert spec_problems(path, ["sharing.0.towers=[tower_a, towr_b]"]) == [
        "<--set 1>:1:28: sharing[0].towers[1]: unknown component 'towr_b' (did you mean 'tower_b'?); components: "
        "'task_a', 'task_b', 'tower_a', 'tower_b'"]
    assert spec_problems(path, ["sharing.0.towers=[tower_a, task_b]"]) == [
        "<--set 1>:1:28: sharing[0].towers[1]: towers must share an architecture: 'tower_a' uses plugin 'mlp', "
        "'task_b' uses 'regression'"]
    assert spec_problems(path, ["sharing.0.towers=[tower_a]"])[0].startswith(
        "<--set 1>:1:18: sharing[0].towers: list should have at least 2 items after validation, not 1")


def test_towers_with_different_weight_shapes_are_reported_at_build(write_spec, keras):
    from tlspec.model.assemble import assemble
    from tlspec.training.sharing import ties

    spec = (SPECS / "soft_sharing.yaml").read_text().replace("train: data/related_tasks.csv",
                                                              f"train: {SPECS / 'data' / 'related_tasks.csv'}")
    spec = spec.replace("{name: tower_b, plugin: mlp, from: inputs.features, units: [32, 16]}",
                        "{name: tower_b, plugin: mlp, from: inputs.features, units: [32, 8]}")
    assembly = assemble(validate_file(write_spec(spec)))
    with pytest.raises(SpecError) as caught:
        ties(assembly)
    assert str(caught.value.problems[0]) == (
        "spec.yaml:28:13: sharing[0].towers: towers 'tower_a' and 'tower_b' must have the same weights to be tied: "
        "[(6, 32), (32,), (32, 16), (16,)] vs [(6, 32), (32,), (32, 8), (8,)]")
