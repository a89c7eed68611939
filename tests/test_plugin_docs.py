"""The examples in docs/plugins/ run: each page's plugins keep tlspec's contract and its spec validates.

A fenced block's info string says what it is:

- ``toml entry-points`` (README.md): the pyproject.toml of the example package, ``my_plugins``;
- ``python plugin MODULE``: one module of that package, e.g. ``my_plugins.residual_mlp``;
- ``yaml spec``: a spec using the page's plugins;
- ``LANGUAGE file NAME``: a data file the spec reads, next to it;
- ``python test`` (testing.md): an example test module; its ``test_*`` functions are run.

The package is installed the way pip installs it: its modules and a ``.dist-info`` folder holding
the README's entry points go into a folder on ``sys.path`` (and on ``PYTHONPATH`` for subprocesses),
so ``discover()`` finds the examples like any installed plugin. A module registered only through
``discover(extra_modules=...)`` would not do: ``chain`` (transforms), ``run_cli`` and the checks'
registry of Keras objects see installed plugins only.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tlspec.plugin.kinds import KINDS
from tlspec.plugin.manager import default_registry, discover
from tlspec.spec.validate import validate_file
from tlspec.testing import (
    check_backbone,
    check_data_source,
    check_freeze_policy,
    check_head,
    check_tracker,
    check_transform,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins"
PACKAGE = "my_plugins"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)

# The kind each page's plugins are, and how each plugin is checked (tlspec.testing, tiny shapes).
PAGE_KINDS = {"backbones.md": "backbone", "heads.md": "head", "freeze-policies.md": "freeze",
              "data-sources.md": "data", "transforms.md": "transform", "keras-objects.md": "head",
              "trackers.md": "tracker"}
CHECKS = {
    "residual_mlp": lambda plugin, folder: check_backbone(plugin, {"width": 4, "blocks": 3}, folder, input_shape=[3]),
    "yes_no": lambda plugin, folder: check_head(plugin, {"threshold": 0.7}, folder, input_shape=[2]),
    "train_only": lambda plugin, folder: check_freeze_policy(plugin, {"layers": ["backbone_dense_2"]}, folder),
    "labelled_lines": lambda plugin, folder: check_data_source(plugin, {"path": "questions.txt", "max_length": 8},
                                                                folder, heads=["topic"]),
    "collapse_repeats": lambda plugin, folder: check_transform(plugin, {"keep": 2}),
    "bounded": lambda plugin, folder: check_head(plugin, {"low": 1, "high": 5}, folder, input_shape=[3]),
    "jsonl_log": lambda plugin, folder: check_tracker(plugin, {"path": "log.jsonl"}, folder),
}


@dataclass
class Page:
    name: str
    modules: dict[str, str] = field(default_factory=dict)  # module name -> source
    spec: str | None = None
    files: dict[str, str] = field(default_factory=dict)    # data file name -> text
    tests: list[str] = field(default_factory=list)
    entry_points: str | None = None


def read_page(name: str) -> Page:
    page = Page(name)
    for info, body in FENCE.findall((DOCS / name).read_text(encoding="utf-8")):
        words = info.split()
        marker = words[1:2]
        if marker == ["plugin"]:
            page.modules[words[2]] = body
        elif marker == ["spec"]:
            assert page.spec is None, f"{name}: more than one ```yaml spec block"
            page.spec = body
        elif marker == ["file"]:
            page.files[words[2]] = body
        elif marker == ["test"]:
            page.tests.append(body)
        elif marker == ["entry-points"]:
            page.entry_points = body
    return page


PAGES = {name: read_page(name) for name in sorted(p.name for p in DOCS.glob("*.md"))}


def write_example(page: Page, folder: Path) -> Path:
    """The page's spec and data files in ``folder``; the spec's path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in page.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    path = folder / "spec.yaml"
    path.write_text(page.spec, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The example package installed into a folder on sys.path: (that folder, its distribution name)."""
    project = tomllib.loads(PAGES["README.md"].entry_points)["project"]
    site = tmp_path_factory.mktemp("site")
    modules = {name: source for page in PAGES.values() for name, source in page.modules.items()}
    for name, source in modules.items():
        path = site.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    (site / PACKAGE / "__init__.py").touch()
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = "".join(f"{key} = {value}\n" for key, value in project["entry-points"]["tlspec"].items())
    (info / "entry_points.txt").write_text(f"[tlspec]\n{lines}")
    sys.path.insert(0, str(site))
    default_registry.cache_clear()
    yield site, project["name"]
    sys.path.remove(str(site))
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    default_registry.cache_clear()


def pythonpath(site: Path) -> str:
    return os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))


def page_plugins(page: Page) -> list:
    """The plugin objects the hooks of the page's modules return (imported from the installed package)."""
    import importlib

    hooks = [kind.hook_name for kind in KINDS.values()]
    plugins = []
    for name in page.modules:
        module = importlib.import_module(name)
        for hook in hooks:
            if hasattr(module, hook):
                plugins += list(getattr(module, hook)())
    return plugins


def test_every_page_is_read():
    assert set(PAGE_KINDS) | {"README.md", "testing.md"} == set(PAGES)
    for name in PAGE_KINDS:
        page = PAGES[name]
        assert page.modules and page.spec, f"{name} lacks a ```python plugin or a ```yaml spec block"


def test_every_link_of_the_pages_resolves():
    for path in [*DOCS.glob("*.md"), DOCS.parent / "writing-plugins.md"]:
        for target in re.findall(r"\]\(([^)#]+)\)", path.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{path.name} links to {target}, which does not exist"


def test_the_example_package_loads_without_failures(installed):
    site, distribution = installed
    registry = discover()
    assert [str(failure) for failure in registry.failures if failure.origin.distribution == distribution] == []
    for page in PAGE_KINDS:
        for plugin in page_plugins(PAGES[page]):
            assert registry.get(plugin.kind, plugin.name).origin.distribution == distribution


@pytest.mark.parametrize("name", list(PAGE_KINDS))
def test_the_page_example_keeps_the_contract_and_its_spec_validates(name, installed, tmp_path):
    page = PAGES[name]
    plugins = page_plugins(page)
    assert plugins and {plugin.kind for plugin in plugins} == {PAGE_KINDS[name]}
    spec = write_example(page, tmp_path / "example")
    for plugin in plugins:
        check_folder = tmp_path / "check" / plugin.name
        write_example(page, check_folder)
        print(CHECKS[plugin.name](plugin, check_folder))
    validated = validate_file(spec, registry=discover())
    used = {section.record.name for section in (validated.backbone, validated.freeze, validated.data_source,
                                                *validated.heads, *validated.blocks, *validated.trackers)
            if section is not None}
    assert {plugin.name for plugin in plugins} <= used | set(_transforms(validated))


def _transforms(validated) -> list[str]:
    section = validated.data_source
    items = getattr(section.config, "transforms", []) if section is not None else []
    return [item if isinstance(item, str) else item["plugin"] for item in items]


def test_the_yes_no_head_takes_its_answers_from_the_data_as_heads_md_says(installed, tmp_path):
    import numpy as np

    (head,) = validate_file(write_example(PAGES["heads.md"], tmp_path), registry=discover()).heads
    assert head.config.answers == ["ham", "spam"]
    output = head.plugin.output(head.config)
    assert head.plugin.describe_prediction(head.config, output, np.array([0.83])) == {"label": "spam",
                                                                                      "probability": 0.83}


def test_the_example_test_of_the_testing_page_passes(installed, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", pythonpath(installed[0]))  # run_cli starts tlspec in another process
    (test_source,) = PAGES["testing.md"].tests
    module = types.ModuleType("test_my_plugins")
    exec(compile(test_source, "testing.md", "exec"), module.__dict__)
    tests = [value for key, value in vars(module).items() if key.startswith("test_") and callable(value)]
    assert tests
    for test in tests:
        arguments = {}
        if "tmp_path" in inspect.signature(test).parameters:
            arguments["tmp_path"] = tmp_path / test.__name__
            arguments["tmp_path"].mkdir()
        test(**arguments)


def test_validating_the_examples_never_imports_tensorflow(installed, tmp_path):
    specs = [str(write_example(PAGES[name], tmp_path / Path(name).stem)) for name in PAGE_KINDS]
    script = ("import sys\nfrom tlspec.spec.validate import validate_file\n"
              "for path in sys.argv[1:]:\n    validate_file(path)\n"
              "print(sorted(name for name in sys.modules if name.split('.')[0] in ('tensorflow', 'keras')))\n")
    result = subprocess.run([sys.executable, "-c", script, *specs], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=pythonpath(installed[0])))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
