"""tlspec.testing catches plugins that break the contract, with a message that says what to change."""

import pytest

from tlspec.api import (
    Backbone,
    Built,
    ComponentConfig,
    ComponentPlan,
    DataConfig,
    DataDescription,
    DataField,
    DataSource,
    FreezeConfig,
    FreezePolicy,
    TensorInfo,
)
from tlspec.testing import (
    ContractError,
    check_backbone,
    check_data_source,
    check_freeze_policy,
    check_head,
    check_transform,
)


class Options(ComponentConfig):
    width: int = 4
    planned_width: int = 4
    prefix: bool = True


class Dense(Backbone):
    """A one-layer backbone whose plan and layer name can be made wrong on purpose."""

    name = "contract_dense"
    Config = Options

    def plan(self, config, inputs, context):
        return ComponentPlan(output=TensorInfo((None, config.planned_width)))

    def build(self, config, inputs, context):
        import keras

        name = f"{context.name}_dense" if config.prefix else "dense"
        return Built(output=keras.layers.Dense(config.width, name=name)(inputs[0]))


def test_a_backbone_that_keeps_the_contract_passes(tmp_path, keras):
    report = check_backbone(Dense(), {}, tmp_path, input_shape=[3])
    assert report.passed == ["validate: static plan (None, 4)", "plan and build agree",
                             "1 layers, prefixed 'backbone', owning their weights",
                             "trains, saves, reloads in safe mode, predicts the same"]


def test_plan_and_build_disagreeing_on_a_shape_is_caught(tmp_path, keras):
    with pytest.raises(ContractError) as caught:
        check_backbone(Dense(), {"planned_width": 8}, tmp_path, input_shape=[3])
    assert str(caught.value) == ("plan and build disagree on the output shape of 'backbone': plan says (None, 8), "
                                 "build made (None, 4)")


def test_a_layer_without_its_component_prefix_is_caught(tmp_path, keras):
    with pytest.raises(ContractError) as caught:
        check_backbone(Dense(), {"prefix": False}, tmp_path, input_shape=[3])
    assert str(caught.value).startswith("layer 'dense' of 'backbone' lacks its component prefix: name each layer "
                                        "f\"{context.name}_...\" (here 'backbone_...')")


class FreezeOptions(FreezeConfig):
    pass


class Wrong(FreezePolicy):
    name = "contract_wrong"
    Config = FreezeOptions

    def select(self, config, target):
        return {"backbone_dense_9"}


def test_a_freeze_policy_naming_layers_it_was_not_shown_is_caught(tmp_path):
    with pytest.raises(ContractError, match=r"contract_wrong.select\(\) named layers it was not shown: "
                                            r"\['backbone_dense_9'\]"):
        check_freeze_policy(Wrong(), {}, tmp_path)


def test_builtin_policies_and_transforms_pass(tmp_path, keras):
    from tlspec.plugin.manager import default_registry

    registry = default_registry()
    report = check_freeze_policy(registry.get("freeze", "until").plugin, {"layer": "backbone_dense_1"}, tmp_path)
    assert report.passed[-1] == "built and froze ['backbone_dense_1']"
    assert check_transform(registry.get("transform", "lowercase").plugin, {}).passed == ["apply() on 3 texts"]


class CountingOptions(DataConfig):
    declared: int = 10


class Miscounting(DataSource):
    name = "contract_miscounting"
    Config = CountingOptions

    def describe(self, config, context):
        return DataDescription({"x": DataField((2,), "float32")}, {"target": DataField((), "float32")},
                               {"train": config.declared})

    def datasets(self, config, context):
        import numpy as np
        import tensorflow as tf

        data = ({"x": np.zeros((12, 2), "float32")}, {"target": np.zeros(12, "float32")})
        return {"train": tf.data.Dataset.from_tensor_slices(data).batch(4)}


def test_a_data_source_whose_datasets_differ_from_its_description_is_caught(tmp_path, keras):
    with pytest.raises(ContractError) as caught:
        check_data_source(Miscounting(), {}, tmp_path)
    assert str(caught.value) == "contract_miscounting train: datasets() yields 12 examples; describe() declared 10"
    assert check_data_source(Miscounting(), {"declared": 12}, tmp_path).passed[1] == (
        "datasets() yield what describe() declared")


def test_an_uninstalled_head_is_checked_with_the_keras_objects_it_is_given(tmp_path, keras):
    from tlspec.api import KerasObject
    from tlspec_example.coral import Coral

    class Uninstalled(Coral):
        name = "uninstalled_ordinal"
        default_loss = "uninstalled_ordinal_loss"
        default_metrics = ()

    loss = KerasObject("loss", "uninstalled_ordinal_loss", "tlspec_example.coral_keras:coral_loss")
    report = check_head(Uninstalled(), {"classes": 3}, tmp_path, input_shape=[5], keras_objects=[loss])
    assert report.passed[-1] == "trains, saves, reloads in safe mode, predicts the same"
    with pytest.raises(ContractError, match="unknown Keras loss 'uninstalled_ordinal_loss'"):
        check_head(Uninstalled(), {"classes": 3}, tmp_path, input_shape=[5])


@pytest.mark.parametrize(("head", "options", "input_shape"), [
    ("classifier", {"classes": 3}, (8,)),
    ("classifier", {"classes": 3, "hidden": [{"units": 4, "dropout": 0.1}, 5], "dropout": 0.2}, (4, 4, 2)),
    ("classifier", {"classes": 2, "pooling": "flatten"}, (3, 2)),
    ("regression", {"units": 2, "pooling": "max"}, (5, 3)),
    ("token_classifier", {"classes": 4, "dropout": 0.1}, (6, 3)),
])
def test_builtin_heads_plan_the_layers_they_build(head, options, input_shape, tmp_path, keras):
    from tlspec.plugin.manager import default_registry

    report = check_head(default_registry().get("head", head).plugin, options, tmp_path, input_shape=input_shape)
    assert report.passed  # the check compares ComponentPlan.layers with the built layers, name by name
