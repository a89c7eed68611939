"""Multitask loss balancing: uncertainty weighting and GradNorm, checked against hand-computed updates,
then through specs (phases, cached features, resume) and validation."""

import json
from pathlib import Path

import numpy as np
import pytest
from balancing_cases import expected_parameters, losses_and_norms, one_sgd_step, two_heads

from helpers import SPECS, only_problem
from tlspec.spec.validate import validate_file
from tlspec.training.loss_balancing import shared_trainable
from tlspec.training.runner import train


@pytest.mark.parametrize("method", ["uncertainty", "gradnorm"])
def test_one_step_matches_the_hand_computed_update(method, keras):
    model = two_heads(keras)
    losses, norms = losses_and_norms(keras, model)
    wrapper = one_sgd_step(keras, model, method)
    np.testing.assert_allclose(np.asarray(wrapper.balance_parameters), expected_parameters(method, losses, norms),
                               rtol=1e-5)
    if method == "gradnorm":
        assert wrapper._plan.value.shared_layer == "shared"
        assert [v.path for v in wrapper._plan.value.shared] == ["shared/kernel", "shared/bias"]
        np.testing.assert_allclose(np.asarray(wrapper.initial_losses), losses, rtol=1e-5)


@pytest.mark.slow  # its own process, with TensorFlow split over two CPU devices
def test_two_mirrored_replicas_take_the_same_step():
    import subprocess
    import sys

    script = Path(__file__).with_name("mirrored_steps.py")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for method in ("uncertainty", "gradnorm"):
        np.testing.assert_allclose(found[method]["parameters"], found[method]["expected"], rtol=1e-5, err_msg=method)
    assert found["layer_rates"]["largest_difference"] < 1e-6  # layer_rates' multipliers hold across replicas
    np.testing.assert_allclose(found["gradnorm"]["initial_losses"], found["gradnorm"]["losses"], rtol=1e-5)


def test_gradnorm_measures_the_last_layer_both_heads_share(keras):
    from tlspec.model.assemble import assemble

    # o1 reads backbone.layer_2 and o2 backbone.layer_3: the last layer under both is layer_2
    assembly = assemble(validate_file(SPECS / "multitask_dense.yaml"))
    name, variables = shared_trainable(assembly.model, ["o1", "o2"])
    assert name == "layer_2"
    assert sum(int(np.prod(v.shape)) for v in variables) == 20
    # the heads on cached features share nothing
    from tlspec.training.feature_cache import feature_models

    assert shared_trainable(feature_models(assembly).heads, ["o1", "o2"]) == (None, [])


DENSE = ["train.batch_size=2", "train.optimizer={name: adam, learning_rate: 0.01}"]
TWO_PHASES = "train.phases=[{name: first, epochs: 4}, {name: second, epochs: 4, learning_rate: 0.003}]"


def weights(row: dict) -> list[float]:
    return [row["o1_loss_weight"], row["o2_loss_weight"]]


@pytest.fixture(scope="module")
def phased_spec(tmp_path_factory):
    """multitask_dense.yaml in two phases (phases hold the epochs, so train.epochs goes)."""
    path = tmp_path_factory.mktemp("phased") / "spec.yaml"
    path.write_text((SPECS / "multitask_dense.yaml").read_text().replace("  epochs: 2\n", ""))
    return path


@pytest.fixture(scope="module")
def gradnorm_run(phased_spec):
    spec = validate_file(phased_spec, DENSE + [TWO_PHASES, "train.loss_balancing=gradnorm"])
    return train(spec, out=phased_spec.parent / "run", verbose=0)


def test_gradnorm_weights_are_logged_sum_to_the_head_count_and_carry_across_phases(gradnorm_run):
    history = gradnorm_run.history
    for row in history:
        assert sum(weights(row)) == pytest.approx(2.0, abs=1e-3)
    # o2 starts with the larger loss and falls faster, so GradNorm moves weight to o1
    assert history[-1]["o1_loss_weight"] > history[0]["o1_loss_weight"] + 0.02
    first_of_second = next(row for row in history if row["phase"] == "second")
    last_of_first = [row for row in history if row["phase"] == "first"][-1]
    assert first_of_second["o1_loss_weight"] == pytest.approx(last_of_first["o1_loss_weight"], abs=0.02)
    state = gradnorm_run.run.read_json("state/state.json")["balancing"]
    assert state["method"] == "gradnorm" and state["heads"] == ["o1", "o2"]
    exps = np.exp(state["parameters"])
    assert 2 * exps[0] / exps.sum() == pytest.approx(history[-1]["o1_loss_weight"], abs=0.02)


def test_validation_loss_stays_the_static_sum(gradnorm_run):
    for row in gradnorm_run.history:
        assert row["val_loss"] == pytest.approx(row["val_o1_loss"] + row["val_o2_loss"], rel=1e-3)


@pytest.mark.slow  # the full suite runs it; the fast one stays near 5 minutes
def test_an_interrupted_balanced_run_continues_its_weights(gradnorm_run, phased_spec, tmp_path):
    spec = validate_file(phased_spec, DENSE + [TWO_PHASES, "train.loss_balancing=gradnorm"])

    def stop_after_five(row):
        if row["epoch"] == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(spec, out=tmp_path / "run", verbose=0, epoch_hook=stop_after_five)
    saved = json.loads((tmp_path / "run" / "state" / "state.json").read_text())["balancing"]
    exps = np.exp(saved["parameters"])
    at_stop = 2 * exps[0] / exps.sum()
    assert at_stop == pytest.approx(gradnorm_run.history[4]["o1_loss_weight"], abs=0.01)
    assert at_stop > 1.02  # not the starting weight
    resumed = train(spec, out=tmp_path / "run", resume=True, verbose=0)
    assert resumed.history[5]["o1_loss_weight"] == pytest.approx(at_stop, abs=0.01)


@pytest.mark.slow  # the full suite runs it; the fast one stays near 5 minutes
def test_uncertainty_learns_on_cached_features_and_gradnorm_holds(tmp_path, capsys):
    frozen = DENSE + ["freeze=all", "train.epochs=6"]
    learned = train(validate_file(SPECS / "multitask_dense.yaml", frozen + ["train.loss_balancing=uncertainty"]),
                    out=tmp_path / "uncertainty", verbose=0)
    printed = capsys.readouterr().out
    assert "training heads on cached features" in printed
    assert "loss balancing: uncertainty (a learned log-variance per head)" in printed
    assert learned.history[-1]["o1_loss_weight"] < 0.97  # large losses: both heads trusted less
    held = train(validate_file(SPECS / "multitask_dense.yaml", frozen + ["train.loss_balancing=gradnorm"]),
                 out=tmp_path / "gradnorm", verbose=0)
    assert ("loss balancing: gradnorm, weights held this phase (no shared layer trains, so the heads' gradients "
            "meet nowhere to be balanced)") in capsys.readouterr().out
    assert all(weights(row) == pytest.approx([1.0, 1.0]) for row in held.history)


def test_balancing_one_head_is_a_located_error(write_spec):
    text = (SPECS / "multitask_dense.yaml").read_text()
    text = text.replace("""  - name: o2
    plugin: regression
    from: backbone.layer_3
    loss: mse
""", "").replace("    o2: [1, 1, 0, 0]\n", "").replace("  epochs: 2\n", "  epochs: 2\n  loss_balancing: gradnorm\n")
    path = write_spec(text)
    assert only_problem(path) == (f"{path}:28:19: train.loss_balancing: gradnorm balances the losses of several "
                                  "heads, and this spec has 1; remove train.loss_balancing or add a head")


def test_balancing_options_are_checked():
    assert only_problem(SPECS / "multitask_dense.yaml", ["train.loss_balancing={method: uncertainty, alpha: 1}"]) \
        .endswith("train.loss_balancing: alpha is an option of gradnorm, not of uncertainty")
    assert only_problem(SPECS / "multitask_dense.yaml", ["train.loss_balancing=gradnrom"]) == (
        "<--set 1>:1:22: train.loss_balancing: expected one of 'static', 'uncertainty', 'gradnorm'; got 'gradnrom' "
        "(did you mean 'gradnorm'?)")


def test_the_logged_weights_are_known_to_monitors():
    monitor = "train.checkpoint={monitor: val_o1_loss_weight}"
    spec = validate_file(SPECS / "multitask_dense.yaml", ["train.loss_balancing=uncertainty", monitor])
    assert spec.spec.train.checkpoint.monitor == "val_o1_loss_weight"
    assert "'val_o1_loss_weight' is not logged during training" in only_problem(SPECS / "multitask_dense.yaml",
                                                                                 [monitor])



def test_plan_says_what_balancing_does_in_each_phase(phased_spec):
    import tlspec

    phases = "train.phases=[{name: frozen, epochs: 1, freeze: all}, {name: open, epochs: 1}]"
    plans = tlspec.plan(phased_spec, [phases, "train.loss_balancing=gradnorm"])
    assert [plan.loss_balancing for plan in plans] == [
        "loss balancing: gradnorm, weights held this phase (no shared layer trains, so the heads' gradients meet "
        "nowhere to be balanced)",
        "loss balancing: gradnorm (alpha 1.5) on shared layer layer_2 (20 parameters)"]
    assert tlspec.plan(SPECS / "multitask_dense.yaml")[0].loss_balancing is None


def test_balancing_and_soft_sharing_train_together(tmp_path):
    spec = validate_file(SPECS / "soft_sharing.yaml", ["train.epochs=3", "train.loss_balancing=uncertainty",
                                                      "sharing.0.weight=0.1"])
    result = train(spec, out=tmp_path / "run", verbose=0)
    for row in result.history:
        assert row["sharing_penalty"] == pytest.approx(0.1 * row["sharing_distance"], rel=1e-4)
        assert row["sharing_penalty"] > 0.1 * row["loss"]  # the penalty is part of the loss
        assert {"task_a_loss_weight", "task_b_loss_weight"} <= set(row)
    assert result.history[-1]["task_a_loss_weight"] != 1.0
