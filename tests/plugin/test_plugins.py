"""Plugins are found through the 'tlspec' entry-point group; one broken plugin breaks nothing else."""

import json
import textwrap
import types

import pytest

from helpers import SPECS, build, run_cli
from tlspec.api import Backbone, ComponentConfig
from tlspec.plugin.manager import Origin, discover


def run_tlspec(*args, env_path=None, cwd=None):
    env = None
    if env_path is not None:
        import os

        env = dict(os.environ, PYTHONPATH=str(env_path))
    return run_cli(*args, env=env, cwd=cwd, timeout=120)


def test_builtins_come_from_the_tlspec_distribution_through_entry_points():
    registry = discover()
    assert registry.failures == []
    assert set(registry.names("backbone")) == {"keras_app", "keras_file", "keras_hub", "mlp", "word_embedding", "rnn",
                                               "char_cnn", "text_cnn", "small_cnn"}
    assert registry.names("head") == ["classifier", "coral", "regression", "sequence_decoder", "token_classifier"]
    assert registry.names("data") == ["arrays", "feature_table", "image_folder", "inline", "masked_text",
                                      "nltk_tagged", "parallel_text", "synthetic_shapes", "text_classes"]
    assert registry.names("freeze") == ["all", "blocks", "bottom_share", "fraction", "lora", "none", "pattern",
                                        "train_last", "until"]
    assert registry.names("transform") == ["devanagari_to_urdu", "lowercase", "strip_accents", "unicode_normalise",
                                           "urdu_normalise"]
    assert registry.get("transform", "lowercase").origin.entry_point == "transforms"
    record = registry.get("backbone", "keras_app")
    assert (record.origin.distribution, record.origin.entry_point) == ("tlspec", "keras_app")


def test_example_plugin_is_listed_with_its_distribution():
    result = run_tlspec("plugins", "--json")
    assert result.returncode == 0, result.stderr
    listed = {(p["kind"], p["name"]): p for p in json.loads(result.stdout)["plugins"]}
    small_cnn = listed[("backbone", "small_cnn")]
    assert (small_cnn["distribution"], small_cnn["version"]) == ("tlspec-example", "0.1.0")
    assert listed[("head", "classifier")]["distribution"] == "tlspec"


def test_example_plugin_works_in_a_spec(keras):
    assembly = build(SPECS / "small_cnn_plugin.yaml")
    model = assembly.model
    assert sorted(model.output_names) == ["coarse", "fine"]
    assert tuple(model.get_layer("coarse_flatten").output.shape) == (None, 8 * 8 * 16)
    # freeze until backbone_bn_1: conv_1 and bn_1 frozen, the rest trainable
    frozen = sorted(layer.name for layer in model.layers if layer.weights and not layer.trainable)
    assert frozen == ["backbone_bn_1", "backbone_bn_2", "backbone_bn_3", "backbone_conv_1"]


def _fake_distribution(root, name, entry_points, modules):
    """A distribution on sys.path with entry points in the 'tlspec' group."""
    info = root / f"{name.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    lines = "\n".join(f"{ep} = {target}" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[tlspec]\n{lines}\n")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


def test_broken_plugin_is_reported_and_the_others_still_load(tmp_path):
    _fake_distribution(tmp_path, "tlspec-broken", {"broken": "broken_plugin"},
                       {"broken_plugin": "import a_module_that_is_not_installed\n"})
    result = run_tlspec("plugins", "--json", env_path=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["failures"] == [{
        "entry_point": "broken", "distribution": "tlspec-broken", "version": "1.2.3",
        "error": "ModuleNotFoundError: No module named 'a_module_that_is_not_installed'"}]
    assert {p["name"] for p in report["plugins"]} >= {"keras_app", "classifier", "until"}

    # validation still works, and names the broken plugin only if the spec asks for it
    spec = tmp_path / "spec.yaml"
    spec.write_text("tlspec: 1\nname: t\nbackbone: {plugin: mlp, input_shape: [3], units: [2]}\n"
                    "heads: [{name: o, plugin: regression}]\n")
    assert run_tlspec("validate", str(spec), env_path=tmp_path).returncode == 0

    table = run_tlspec("plugins", env_path=tmp_path)
    assert "plugin 'broken' from tlspec-broken 1.2.3 failed to load: ModuleNotFoundError" in table.stdout


def test_plugin_returning_wrong_objects_and_duplicate_names_are_reported():
    from tlspec.api import hookimpl

    class PluginOptions(ComponentConfig):
        pass

    class Duplicate(Backbone):
        name = "mlp"
        Config = PluginOptions

        def plan(self, config, inputs, context):
            raise AssertionError

        def build(self, config, inputs, context):
            raise AssertionError

    module = types.ModuleType("bad_plugin")
    module.tlspec_backbones = hookimpl(lambda: [Duplicate(), "not a plugin"])
    registry = discover([(module, Origin("bad", "tlspec-bad", "0.0.1"))])
    errors = [str(failure) for failure in registry.failures]
    assert any("backbone plugin name 'mlp' is already provided by tlspec (mlp); ignored" in e for e in errors)
    assert any("returned 'not a plugin', not a tlspec.api.Backbone" in e for e in errors)
    assert registry.get("backbone", "mlp").origin.distribution == "tlspec"


def test_plugin_that_crashes_in_plan_is_reported_at_its_section(write_spec):
    from tlspec.api import hookimpl
    from tlspec.errors import SpecError
    from tlspec.spec.validate import validate_file

    class PluginOptions(ComponentConfig):
        pass

    class Crashing(Backbone):
        name = "crashing"
        Config = PluginOptions

        def plan(self, config, inputs, context):
            return {}["missing"]

        def build(self, config, inputs, context):
            raise AssertionError

    module = types.ModuleType("crashing_plugin")
    module.tlspec_backbones = hookimpl(lambda: [Crashing()])
    registry = discover([(module, Origin("crashing", "tlspec-crashing", "9.9"))])
    path = write_spec("tlspec: 1\nname: t\nbackbone:\n  plugin: crashing\nheads: [{name: o, plugin: regression}]\n")
    with pytest.raises(SpecError) as caught:
        validate_file(path, registry=registry)
    assert str(caught.value) == ("spec.yaml:3:1: backbone: backbone plugin 'crashing' (tlspec-crashing 9.9) "
                                 "failed in plan(): KeyError: 'missing'")


def test_misspelt_hook_fails_its_plugin_by_name_and_the_others_still_load(tmp_path):
    _fake_distribution(tmp_path, "tlspec-typo", {"typo": "typo_plugin"}, {"typo_plugin": """
        from tlspec.api import hookimpl

        @hookimpl
        def tlspec_freeze_policy():
            return []
        """})
    result = run_tlspec("plugins", "--json", env_path=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["failures"] == [{
        "entry_point": "typo", "distribution": "tlspec-typo", "version": "1.2.3",
        "error": "unknown hook 'tlspec_freeze_policy' (did you mean 'tlspec_freeze_policies'?); tlspec's hooks are "
                 "'tlspec_backbones', 'tlspec_data_sources', 'tlspec_freeze_policies', 'tlspec_heads', "
                 "'tlspec_keras_objects', 'tlspec_text_transforms', 'tlspec_trackers'"}]
    assert {p["name"] for p in report["plugins"]} >= {"keras_app", "classifier", "until"}


def test_the_plugin_in_tlspec_api_docstring_works(write_spec, keras):
    import tlspec.api

    source = tlspec.api.__doc__.split("::\n", 1)[1].split("\n    # pyproject.toml")[0]
    module = types.ModuleType("wide_dense_plugin")
    exec(textwrap.dedent(source), module.__dict__)
    registry = discover([(module, Origin("wide_dense", "my-package", "1.0"))])
    assert registry.failures == []
    from tlspec.model.assemble import assemble
    from tlspec.spec.validate import validate_file

    path = write_spec("tlspec: 1\nname: t\ninputs: {x: {shape: [3]}}\n"
                      "backbone: {plugin: wide_dense, from: inputs.x, units: 7}\n"
                      "heads: [{name: o, plugin: regression}]\n")
    assembly = assemble(validate_file(path, registry=registry))
    assert assembly.model.count_params() == (3 * 7 + 7) + (7 + 1)


def test_every_kind_declares_methods_its_base_class_has():
    from tlspec.plugin.kinds import KINDS

    assert list(KINDS) == ["backbone", "head", "freeze", "data", "transform", "tracker"]
    for kind in KINDS.values():
        assert kind.base.kind == kind.name
        assert kind.hook_name.startswith("tlspec_") and callable(kind.hook)
        assert [method for method in kind.tf_free if not callable(getattr(kind.base, method, None))] == []


def test_a_data_plugin_crashing_in_datasets_is_reported_at_its_section(write_spec):
    from tlspec.api import DataConfig, DataDescription, DataField, DataSource, hookimpl
    from tlspec.errors import SpecError
    from tlspec.spec.validate import load_datasets, validate_file

    class Broken(DataSource):
        name = "broken_data"
        Config = type("BrokenConfig", (DataConfig,), {})

        def describe(self, config, context):
            return DataDescription({"x": DataField((3,), "float32")}, {"o": DataField((1,), "float32")},
                                   {"train": 4})

        def datasets(self, config, context):
            return [][0]

    module = types.ModuleType("broken_data_plugin")
    module.tlspec_data_sources = hookimpl(lambda: [Broken()])
    registry = discover([(module, Origin("broken_data", "tlspec-broken-data", "0.1"))])
    path = write_spec("tlspec: 1\nname: t\ninputs: {x: {shape: [3]}}\nbackbone: {plugin: mlp, from: inputs.x, "
                      "units: [2]}\nheads: [{name: o, plugin: regression}]\ndata:\n  plugin: broken_data\n")
    with pytest.raises(SpecError) as caught:
        load_datasets(validate_file(path, registry=registry))
    assert str(caught.value) == ("spec.yaml:6:1: data: data plugin 'broken_data' (tlspec-broken-data 0.1) failed in "
                                 "datasets(): IndexError: list index out of range")


CROSS_FIELD_PLUGIN = """
    from pydantic import model_validator

    from tlspec.api import Backbone, ComponentConfig, PlanError, hookimpl


    class Options(ComponentConfig):
        low: int = 0
        high: int = 1
        crash_in_validator: bool = False

        @model_validator(mode="after")
        def _ordered(self):
            if self.crash_in_validator:
                return {}["oops"]
            if self.low >= self.high:
                raise PlanError(f"high must be above low ({self.low})", "high")
            return self


    class Checked(Backbone):
        name = "checked"
        Config = Options

        def plan(self, config, inputs, context):
            return helper_that_crashes()

        def build(self, config, inputs, context):
            raise AssertionError


    def helper_that_crashes():
        return {}["missing"]


    @hookimpl
    def tlspec_backbones():
        return [Checked()]
    """


def test_a_cross_field_error_names_its_field_and_a_plugin_crash_is_a_plugin_bug(tmp_path):
    _fake_distribution(tmp_path, "tlspec-checked", {"checked": "checked_plugin"},
                       {"checked_plugin": CROSS_FIELD_PLUGIN})
    spec = tmp_path / "spec.yaml"
    spec.write_text("tlspec: 1\nname: t\nbackbone:\n  plugin: checked\n  low: 3\n  high: 2\n"
                    "heads: [{name: o, plugin: regression}]\n")
    ordered = run_tlspec("validate", "spec.yaml", env_path=tmp_path, cwd=tmp_path)
    assert (ordered.returncode, ordered.stderr.splitlines()) == (
        2, ["spec.yaml:6:9: backbone.high: high must be above low (3)", "spec.yaml: 1 problem"])

    spec.write_text(spec.read_text().replace("high: 2", "high: 5"))
    crashed = run_tlspec("validate", "spec.yaml", env_path=tmp_path, cwd=tmp_path)
    assert (crashed.returncode, crashed.stderr.splitlines()) == (1, [
        "spec.yaml:3:1: backbone: backbone plugin 'checked' (tlspec-checked 1.2.3) failed in plan(): KeyError: "
        "'missing'",
        "spec.yaml: 1 problem; a plugin failed, which is a bug in that plugin (rerun with TLSPEC_DEBUG=1 for its "
        "traceback)"])
    import os

    debug = run_cli("validate", "spec.yaml", cwd=tmp_path, timeout=120,
                    env=dict(os.environ, PYTHONPATH=str(tmp_path), TLSPEC_DEBUG="1"))
    assert debug.returncode == 1
    assert "Traceback (most recent call last):" in debug.stderr
    assert "checked_plugin.py\", line 26, in plan" in debug.stderr and "in helper_that_crashes" in debug.stderr

    spec.write_text(spec.read_text().replace("high: 5", "high: 5\n  crash_in_validator: true"))
    in_validator = run_tlspec("validate", "spec.yaml", env_path=tmp_path, cwd=tmp_path)
    assert in_validator.returncode == 1
    assert in_validator.stderr.splitlines()[0] == (
        "spec.yaml:3:1: backbone: backbone plugin 'checked' (tlspec-checked 1.2.3) failed in its Config validators: "
        "KeyError: 'oops'")
