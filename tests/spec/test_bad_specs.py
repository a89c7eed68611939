"""Every mistake a spec author makes gets one located, helpful line: FILE:LINE:COL: path: message."""



from helpers import only_problem, spec_problems

VGG = """
tlspec: 1
name: t
backbone:
  plugin: keras_app
  model: VGG16
  weights: null
  input_shape: [64, 64, 3]
"""


def test_key_typo_in_plugin_options(write_spec):
    path = write_spec(VGG.replace("input_shape", "input_shap") + "heads: [{name: a, plugin: classifier, classes: 2}]\n")
    message = only_problem(path)
    assert message.startswith("spec.yaml:7:3: backbone.input_shap: unknown field 'input_shap'")
    assert "(did you mean 'input_shape'?)" in message


def test_key_typo_in_core_section(write_spec):
    path = write_spec(VGG + "heads: [{name: a, plugin: classifier, classes: 2}]\ntrain:\n  epocs: 3\n")
    assert only_problem(path).startswith(
        "spec.yaml:10:3: train.epocs: unknown field 'epocs' (did you mean 'epochs'?)")


def test_wrong_type(write_spec):
    path = write_spec(VGG + "heads:\n  - name: a\n    plugin: classifier\n    classes: three\n")
    assert only_problem(path) == ("spec.yaml:11:14: heads[0].classes: expected an integer, a list "
                                  "or 'from_data'; got 'three'")


def test_unknown_plugin_lists_installed_and_suggests(write_spec):
    path = write_spec(VGG + "heads:\n  - name: a\n    plugin: classifer\n    classes: 2\n")
    message = only_problem(path)
    assert message.startswith("spec.yaml:10:13: heads[0].plugin: unknown head plugin 'classifer' "
                              "(did you mean 'classifier'?)")
    assert "installed head plugins: 'classifier', 'coral', 'regression'" in message


def test_missing_plugin_field(write_spec):
    path = write_spec(VGG + "heads:\n  - name: a\n    classes: 2\n")
    message = only_problem(path)
    assert message.startswith("spec.yaml:9:5: heads[0]: missing required field 'plugin'")
    assert "classifier" in message


def test_missing_head_name(write_spec):
    path = write_spec(VGG + "heads:\n  - plugin: classifier\n    classes: 2\n")
    assert only_problem(path) == "spec.yaml:9:5: heads[0]: missing required field 'name'"


def test_duplicate_head_name(write_spec):
    path = write_spec(VGG + "heads:\n  - {name: a, plugin: classifier, classes: 2}\n"
                            "  - {name: a, plugin: classifier, classes: 3}\n")
    assert only_problem(path).startswith(
        "spec.yaml:10:12: heads[1].name: name 'a' is already used by heads[0] (line 9 of spec.yaml)")


def test_unknown_reference_suggests(write_spec):
    path = write_spec(VGG + "heads:\n  - {name: a, plugin: classifier, from: backbon, classes: 2}\n")
    message = only_problem(path)
    assert message.startswith("spec.yaml:9:41: heads[0].from: unknown reference 'backbon' "
                              "(did you mean 'backbone'?)")


def test_unknown_layer_of_backbone_found_without_building(write_spec):
    path = write_spec(VGG + "heads:\n  - name: a\n    plugin: classifier\n    from: backbone.block4_pol\n"
                            "    classes: 2\n")
    message = only_problem(path)
    assert message.startswith("spec.yaml:11:11: heads[0].from: 'backbone' has no layer or endpoint "
                              "'block4_pol' (did you mean 'block4_pool'?)")


def test_unknown_input(write_spec):
    path = write_spec("""
        tlspec: 1
        name: t
        inputs:
          x: {shape: [3]}
        backbone: {plugin: mlp, from: inputs.z, units: [4]}
        heads: [{name: o, plugin: regression}]
        """)
    message = only_problem(path)
    assert message.startswith("spec.yaml:5:31: backbone.from: unknown input 'z'; declared inputs: 'x'")


def test_cycle(write_spec):
    path = write_spec("""
        tlspec: 1
        name: t
        backbone: {plugin: mlp, input_shape: [3], units: [4]}
        blocks:
          - {name: left, plugin: mlp, from: right, units: [2]}
          - {name: right, plugin: mlp, from: left, units: [2]}
        heads: [{name: o, plugin: regression, from: left}]
        """)
    assert only_problem(path) == ("spec.yaml:6:38: blocks[1].from: cycle in the graph: "
                                  "'left' reads from 'right', 'right' reads from 'left'")


def test_unknown_freeze_layer(write_spec):
    path = write_spec(VGG + "freeze: {plugin: until, layer: block5_conv}\n"
                            "heads: [{name: a, plugin: classifier, classes: 2}]\n")
    assert only_problem(path) == ("spec.yaml:8:32: freeze.layer: the backbone has no layer 'block5_conv' "
                                  "(did you mean 'block5_conv1', 'block5_conv2' or 'block5_conv3'?)")


def test_head_on_wrong_rank(write_spec):
    path = write_spec(VGG + "heads:\n  - name: a\n    plugin: classifier\n    pooling: none\n    classes: 2\n")
    message = only_problem(path)
    assert message.startswith("spec.yaml:11:14: heads[0].pooling: head 'a' reads a rank-4 tensor")
    assert "use pooling: flatten, avg or max" in message


def test_mlp_on_images_is_a_rank_error(write_spec):
    path = write_spec("""
        tlspec: 1
        name: t
        inputs:
          image: {shape: [8, 8, 3]}
        backbone: {plugin: mlp, from: inputs.image, units: [4]}
        heads: [{name: o, plugin: regression}]
        """)
    message = only_problem(path)
    assert message.startswith("spec.yaml:5:31: backbone.from: an mlp reads vectors (batch, features), "
                              "got rank 4 (None, 8, 8, 3)")


def test_malformed_yaml(write_spec):
    path = write_spec("tlspec: 1\nname: t\nbackbone: {plugin: mlp\nheads: []\n")
    message = only_problem(path)
    # at the '{' that is never closed, not a line later where the parser noticed
    assert message == ("spec.yaml:3:11: backbone: invalid YAML: the '{' here is not closed: expected ',' or '}' "
                       "but got ':' at line 4, column 6")


def test_duplicate_key(write_spec):
    path = write_spec(VGG + "  model: VGG19\nheads: [{name: a, plugin: classifier, classes: 2}]\n")
    assert only_problem(path) == "spec.yaml:8:3: duplicate key 'model' (first defined at line 5, column 3)"


def test_literal_value_suggests(write_spec):
    path = write_spec(VGG + "heads: [{name: a, plugin: classifier, classes: 2, pooling: flaten}]\n")
    assert only_problem(path) == ("spec.yaml:8:60: heads[0].pooling: expected one of 'flatten', 'avg', "
                                  "'max', 'none'; got 'flaten' (did you mean 'flatten'?)")


def test_unknown_optimizer(write_spec):
    path = write_spec(VGG + "heads: [{name: a, plugin: classifier, classes: 2}]\ntrain: {optimizer: adamm}\n")
    assert only_problem(path).startswith(
        "spec.yaml:9:20: train.optimizer: unknown optimizer 'adamm' (did you mean 'adam'?)")


def test_wrong_language_version(write_spec):
    path = write_spec(VGG.replace("tlspec: 1", "tlspec: 2") + "heads: [{name: a, plugin: classifier, classes: 2}]\n")
    assert only_problem(path) == "spec.yaml:1:9: tlspec: expected 1; got 2"


def test_unknown_keras_application(write_spec):
    path = write_spec(VGG.replace("VGG16", "VGG61") + "heads: [{name: a, plugin: classifier, classes: 2}]\n")
    message = only_problem(path)
    assert message.startswith("spec.yaml:5:10: backbone.model: unknown keras.applications model 'VGG61'")
    assert "(did you mean 'VGG16' or 'VGG19'?)" in message


def test_bad_set_without_equals(write_spec):
    path = write_spec(VGG + "heads: [{name: a, plugin: classifier, classes: 2}]\n")
    assert only_problem(path, ["train.epochs"]) == (
        "<--set 1>:1:1: --set expects KEY=VALUE (for example train.epochs=3), got 'train.epochs'")


def test_bad_set_field_is_located_on_the_command_line(write_spec):
    path = write_spec(VGG + "heads: [{name: a, plugin: classifier, classes: 2}]\n")
    message = only_problem(path, ["train.epochs=3", "train.epocs=4"])
    assert message.startswith("<--set 2>:1:1: train.epocs: unknown field 'epocs' (did you mean 'epochs'?)")


def test_bad_set_value_type(write_spec):
    path = write_spec(VGG + "heads: [{name: a, plugin: classifier, classes: 2}]\n")
    assert only_problem(path, ["train.epochs=many"]) == (
        "<--set 1>:1:14: train.epochs: expected an integer; got 'many'")


def test_bad_set_unknown_list_item(write_spec):
    path = write_spec(VGG + "heads: [{name: animal, plugin: classifier, classes: 2}]\n")
    message = only_problem(path, ["heads.animl.dropout=0.5"])
    assert "no item named 'animl' in heads (did you mean 'animal'?)" in message


def test_missing_extended_file(write_spec):
    path = write_spec("tlspec: 1\nextends: base.yaml\nname: t\n")
    assert only_problem(path) == ("spec.yaml:2:10: extends: extended file not found: base.yaml "
                                  "(looked for base.yaml)")


def test_extends_cycle(write_spec):
    write_spec("extends: spec.yaml\nname: b\n", "base.yaml")
    path = write_spec("tlspec: 1\nextends: base.yaml\nname: t\n")
    assert only_problem(path) == "base.yaml:1:10: extends: cycle: spec.yaml -> base.yaml -> spec.yaml"


def test_error_inside_extended_file_points_into_that_file(write_spec):
    write_spec(VGG + "heads: [{name: a, plugin: classifier, classes: 2, dropout: 2}]\n", "base.yaml")
    path = write_spec("tlspec: 1\nextends: base.yaml\nname: child\n")
    assert only_problem(path).startswith("base.yaml:8:60: heads[0].dropout: input should be less than 1")


def test_several_problems_reported_together_in_line_order(write_spec):
    path = write_spec(VGG.replace("input_shape", "input_shap")
                      + "heads: [{name: a, plugin: classifer, classes: 2}]\ntrain: {epochs: -1}\n")
    found = spec_problems(path)
    assert [p.split(":")[1] for p in found] == ["7", "8", "9"]


TWO_HEADS = """
tlspec: 1
name: t
inputs:
  x: {shape: [3]}
backbone: {plugin: mlp, from: inputs.x, units: [4]}
heads:
  - {name: price, plugin: regression}
  - {name: kind, plugin: classifier, classes: 2}
train:
  class_weights: {knd: balanced}
  checkpoint: {monitor: val_prize_mae}
"""


def test_head_names_outside_heads_must_exist(write_spec):
    assert spec_problems(write_spec(TWO_HEADS)) == [
        "spec.yaml:10:19: train.class_weights.knd: no head named 'knd' (did you mean 'kind'?); heads: 'kind', "
        "'price'",
        "spec.yaml:11:25: train.checkpoint.monitor: 'val_prize_mae' is not logged during training (did you mean "
        "'val_price_mae'?); logged: 'kind_accuracy', 'kind_loss', 'loss', 'price_loss', 'price_mae', "
        "'val_kind_accuracy', 'val_kind_loss', 'val_loss', 'val_price_loss', 'val_price_mae'",
    ]


def test_single_head_metrics_are_logged_without_a_prefix(write_spec):
    spec = TWO_HEADS.replace("  - {name: kind, plugin: classifier, classes: 2}\n", "").replace("{knd: balanced}", "{}")
    assert spec_problems(write_spec(spec.replace("val_prize_mae", "val_price_mae"))) == [
        "spec.yaml:10:25: train.checkpoint.monitor: 'val_price_mae' is not logged during training (did you mean "
        "'val_mae'?); logged: 'loss', 'mae', 'val_loss', 'val_mae'"]
