"""The entry-point index: validate imports only the plugin modules a spec names, and a stale index only costs
time, never a wrong answer."""

import importlib
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from helpers import SPECS
from tlspec.plugin.index import environment_key, index_path
from tlspec.plugin.manager import LazyRegistry, discover

ENTRY_MODULES = {f"tlspec_builtins.{name}" for name in (
    "keras_app", "keras_file", "keras_hub_backbone", "mlp", "heads", "freeze", "data_arrays", "data_images",
    "data_shapes", "data_text", "data_text_classes", "data_masked_text", "text_models", "decoders", "data_parallel",
    "transforms", "trackers")}

PROBE = """
import sys
from tlspec.spec.validate import validate_file
validate_file(sys.argv[1])
print(sorted(m for m in sys.modules if m.startswith("tlspec_builtins.")))
print("numpy" in sys.modules, "tensorflow" in sys.modules, "importlib.metadata" in sys.modules)
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TLSPEC_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def probe(spec, cache):
    result = subprocess.run([sys.executable, "-c", PROBE, str(spec)], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, TLSPEC_CACHE=str(cache)))
    assert result.returncode == 0, result.stderr[-2000:]
    modules, flags = result.stdout.splitlines()
    return set(eval(modules)) & ENTRY_MODULES, flags


def test_validate_imports_only_the_plugin_modules_the_spec_names(cache):
    spec = SPECS / "cats_dogs_mobilenet.yaml"
    first, _ = probe(spec, cache)
    assert first == ENTRY_MODULES  # no index yet: everything is loaded once and the index written
    assert len(list(cache.glob("plugin-index-*.json"))) == 1
    second, flags = probe(spec, cache)
    assert second == {"tlspec_builtins.keras_app", "tlspec_builtins.heads", "tlspec_builtins.freeze",
                      "tlspec_builtins.data_images"}
    assert flags == "False False True"  # no numpy, no TensorFlow; pydantic imports importlib.metadata itself


def test_names_and_keras_objects_come_from_the_index_without_importing(cache):
    LazyRegistry()  # writes the index
    registry = LazyRegistry()
    assert registry._index.key == environment_key()
    eager = discover()
    for kind in ("backbone", "head", "data", "freeze", "transform", "tracker"):
        assert registry.names(kind) == eager.names(kind)
    assert registry.keras_object_names("loss") == eager.keras_object_names("loss")
    assert registry._loaded == set()


def test_a_stale_index_still_finds_every_plugin(cache):
    LazyRegistry()
    data = json.loads(index_path(environment_key()).read_text())
    for entry in data["entries"]:
        if entry["entry_point"] == "heads":
            entry["plugins"] = [["backbone", "mlp"]]  # wrong: heads provides the heads, mlp comes from 'mlp'
        if entry["entry_point"] == "mlp":
            entry["plugins"] = []
    index_path(environment_key()).write_text(json.dumps(data))
    registry = LazyRegistry()
    assert registry.get("backbone", "mlp").origin.entry_point == "mlp"
    assert registry.get("head", "classifier").origin.entry_point == "heads"
    entries = json.loads(index_path(environment_key()).read_text())["entries"]
    rebuilt = {entry["entry_point"]: entry["plugins"] for entry in entries}
    assert rebuilt["mlp"] == [["backbone", "mlp"]]
    assert ["head", "classifier"] in rebuilt["heads"]


def test_an_unreadable_index_is_rebuilt(cache):
    index_path(environment_key()).parent.mkdir(parents=True)
    index_path(environment_key()).write_text("{not json")
    assert LazyRegistry().get("freeze", "until").origin.entry_point == "freeze"
    assert json.loads(index_path(environment_key()).read_text())["key"] == environment_key()


def test_a_misspelt_name_is_still_unknown_with_a_suggestion(cache):
    LazyRegistry()
    with pytest.raises(LookupError) as caught:
        LazyRegistry().get("backbone", "keras_ap")
    assert str(caught.value).startswith("unknown backbone plugin 'keras_ap' (did you mean 'keras_app'?)")


def test_installing_or_editing_a_plugin_is_seen(tmp_path, cache, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    # after sys.path[0] (the script's folder or the working directory, whose time the key leaves out)
    monkeypatch.setattr(sys, "path", [sys.path[0], str(site), *sys.path[1:]])
    before = LazyRegistry()
    assert "grown" not in before.names("head")
    time.sleep(0.05)  # a folder's modification time has a resolution of a few milliseconds
    info = site / "tlspec_grown-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tlspec-grown\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[tlspec]\ngrown = grown_plugin\n")
    module = site / "grown_plugin.py"
    module.write_text(textwrap.dedent(PLUGIN.format(names=["grown"])))
    importlib.invalidate_caches()
    installed = LazyRegistry()
    assert "grown" in installed.names("head")
    assert installed.get("head", "grown").origin.distribution == "tlspec-grown"

    time.sleep(0.05)
    module.write_text(textwrap.dedent(PLUGIN.format(names=["grown", "grown_more"])))
    sys.modules.pop("grown_plugin", None)
    edited = LazyRegistry()
    assert {"grown", "grown_more"} <= set(edited.names("head"))
    assert edited._complete  # the module's new modification time made the index stale: rebuilt
    sys.modules.pop("grown_plugin", None)


PLUGIN = """
from tlspec.api import Head, HeadConfig, hookimpl


def make(head_name):
    class Options(HeadConfig):
        pass

    class Grown(Head):
        name = head_name
        Config = Options

        def plan(self, config, inputs, context):
            raise NotImplementedError

        def build(self, config, inputs, context):
            raise NotImplementedError

    return Grown()


@hookimpl
def tlspec_heads():
    return [make(name) for name in {names!r}]
"""
