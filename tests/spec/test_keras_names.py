"""Loss and metric names are checked by `tlspec validate` from a TensorFlow-free list that matches Keras."""

from helpers import only_problem
from tlspec.plugin.keras_names import LOSSES, METRICS

SPEC = ("tlspec: 1\nname: t\nbackbone: {{plugin: mlp, input_shape: [3], units: [4]}}\n"
        "heads:\n  - {{name: o, plugin: regression, {options}}}\n")


def test_the_lists_are_what_the_installed_keras_resolves(keras):
    from keras.src import losses, metrics

    installed_losses = tuple(sorted(losses.ALL_OBJECTS_DICT))
    installed_metrics = tuple(sorted(metrics.ALL_OBJECTS_DICT))
    assert (LOSSES, METRICS) == (installed_losses, installed_metrics), (
        f"Keras {keras.__version__} resolves other names; paste these into tlspec/plugin/keras_names.py:\n"
        f"LOSSES = {installed_losses}\nMETRICS = {installed_metrics}")


def test_a_misspelt_loss_is_found_by_validate(write_spec):
    assert only_problem(write_spec(SPEC.format(options="loss: mean_squared_eror"))) == (
        "spec.yaml:5:41: heads[0].loss: unknown Keras loss 'mean_squared_eror' (did you mean 'mean_squared_error'?)")


def test_a_misspelt_metric_is_found_by_validate_at_its_index(write_spec):
    assert only_problem(write_spec(SPEC.format(options="metrics: [mae, mean_absolut_error]"))) == (
        "spec.yaml:5:50: heads[0].metrics[1]: unknown Keras metric 'mean_absolut_error' (did you mean "
        "'mean_absolute_error'?)")


def test_aliases_and_class_names_keras_accepts_are_valid(write_spec):
    from tlspec.spec.validate import validate_file

    validate_file(write_spec(SPEC.format(options="loss: MeanSquaredError, metrics: [mse, RootMeanSquaredError]")))
