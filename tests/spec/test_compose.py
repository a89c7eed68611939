"""extends and --set: merged like the spec itself, every value still located in its own file."""

import pytest

from tlspec.errors import SpecError
from tlspec.spec.compose import load_spec_tree
from tlspec.spec.located_yaml import flatten
from tlspec.spec.validate import validate_file

BASE = """
tlspec: 1
name: base
backbone: {plugin: mlp, input_shape: [3], units: [8, 4]}
heads:
  - {name: a, plugin: regression, from: backbone.backbone_dense_1}
  - {name: b, plugin: classifier, classes: 3, dropout: 0.1}
train: {epochs: 10, batch_size: 16}
"""


def test_child_overrides_merge_mappings_and_named_lists(write_spec):
    write_spec(BASE, "base.yaml")
    path = write_spec("""
        extends: base.yaml
        name: child
        train: {epochs: 3}
        heads:
          - {name: b, dropout: 0.5}
          - {name: c, plugin: regression}
        """)
    spec = validate_file(path).spec
    assert spec.name == "child"
    assert (spec.train.epochs, spec.train.batch_size) == (3, 16)
    assert [(h["name"], h.get("dropout")) for h in spec.heads] == [("a", None), ("b", 0.5), ("c", None)]
    assert spec.heads[1]["classes"] == 3


def test_locations_follow_the_file_each_value_came_from(write_spec):
    write_spec(BASE, "configs/base.yaml")
    path = write_spec("extends: configs/base.yaml\nname: child\n")
    data, locations = flatten(load_spec_tree(path))
    assert str(locations.of_value(("name",))) == "spec.yaml:2:7"
    assert str(locations.of_value(("heads", 1, "classes"))) == "configs/base.yaml:6:44"


def test_several_parents_merge_left_to_right(write_spec):
    write_spec(BASE, "base.yaml")
    write_spec("train: {epochs: 7, batch_size: 64}\n", "long.yaml")
    path = write_spec("extends: [base.yaml, long.yaml]\nname: c\ntrain: {batch_size: 8}\n")
    train = validate_file(path).spec.train
    assert (train.epochs, train.batch_size) == (7, 8)


def test_set_reaches_nested_fields_list_items_by_name_and_index(write_spec):
    path = write_spec(BASE)
    spec = validate_file(path, ["train.epochs=2", "heads.b.hidden=[16, 8]", "heads.0.loss=huber",
                                "train.optimizer={name: sgd, momentum: 0.9}", "seed=3"]).spec
    assert spec.train.epochs == 2 and spec.seed == 3
    assert spec.heads[1]["hidden"] == [16, 8] and spec.heads[0]["loss"] == "huber"
    assert (spec.train.optimizer.name, spec.train.optimizer.momentum) == ("sgd", 0.9)


def test_set_can_create_a_section(write_spec):
    path = write_spec(BASE)
    spec = validate_file(path, ["train.early_stopping.patience=5"]).spec
    assert spec.train.early_stopping.patience == 5


@pytest.mark.parametrize("assignment, message", [
    ("heads.7.dropout=0.1", "<--set 1>:1:1: heads: --set: heads has 2 items, no index 7"),
    ("name.first=x", "<--set 1>:1:1: name: --set: name is a single value, it has no field 'first'"),
    ("train..epochs=1", "<--set 1>:1:1: --set: malformed key 'train..epochs' (empty part between dots)"),
    ("train.epochs=[1", "<--set 1>:1:14: invalid YAML: the '[' here is not closed: expected ',' or ']' but got the "
                        "end at line 1, column 16"),
])
def test_bad_set(write_spec, assignment, message):
    path = write_spec(BASE)
    with pytest.raises(SpecError) as caught:
        validate_file(path, [assignment])
    assert str(caught.value).startswith(message)


def test_yaml_anchors_and_merge_keys_work(write_spec):
    path = write_spec("""
        tlspec: 1
        name: anchors
        backbone: {plugin: mlp, input_shape: [3], units: [4]}
        heads:
          - &head {name: a, plugin: regression, loss: mae}
          - {<<: *head, name: b, loss: mse}
        """)
    heads = validate_file(path).spec.heads
    assert [(h["name"], h["plugin"], h["loss"]) for h in heads] == [("a", "regression", "mae"),
                                                                    ("b", "regression", "mse")]


def test_yaml_tags_that_build_python_objects_are_refused(write_spec):
    for value in ("!!python/object/apply:os.system ['echo unsafe']", "!!python/name:os.system"):
        path = write_spec(f"tlspec: 1\nname: {value}\n")
        with pytest.raises(SpecError) as caught:
            validate_file(path)
        assert str(caught.value).startswith("spec.yaml:2:7: invalid YAML:")
        assert "python" in str(caught.value)


def test_schedule_and_reduce_on_plateau_exclude_each_other(write_spec):
    path = write_spec(BASE)
    with pytest.raises(SpecError) as caught:
        validate_file(path, ["train.schedule={name: cosine}", "train.reduce_lr_on_plateau={patience: 2}"])
    assert "reduce_lr_on_plateau cannot change a scheduled learning rate" in str(caught.value)


def test_a_misspelt_head_in_an_extending_spec_gets_a_did_you_mean(write_spec):
    write_spec("tlspec: 1\nname: base\nbackbone: {plugin: mlp, input_shape: [3], units: [4]}\n"
               "heads:\n  - {name: animal, plugin: classifier, classes: 2}\n", "base.yaml")
    path = write_spec("extends: base.yaml\nheads:\n  - {name: animl, dropout: 0.5}\n")
    with pytest.raises(SpecError) as caught:
        validate_file(path)
    assert str(caught.value) == ("spec.yaml:3:12: heads[0].name: 'animl' names no item of the list it extends (did "
                                 "you mean 'animal'?); items: 'animal' (to add a new item, give it a 'plugin')")


def test_an_extending_spec_still_adds_phases_and_new_heads(write_spec):
    write_spec("tlspec: 1\nname: base\nbackbone: {plugin: mlp, input_shape: [3], units: [4]}\n"
               "heads:\n  - {name: a, plugin: regression}\ntrain:\n  phases:\n    - {name: one, epochs: 1}\n",
               "base.yaml")
    path = write_spec("extends: base.yaml\nheads:\n  - {name: b, plugin: regression}\n"
                      "train:\n  phases:\n    - {name: two, epochs: 2}\n")
    validated = validate_file(path)
    assert [head.config.name for head in validated.heads] == ["a", "b"]
    assert [phase.name for phase in validated.spec.train.phases] == ["one", "two"]
