"""The engine's packages are the pipeline: imports flow one way, and the spec stage never loads TensorFlow."""

import ast
import subprocess
import sys

from helpers import REPO

ENGINE = REPO / "tlspec"
# Each stage may import itself and the stages before it, never one after it.
STAGES = ["errors", "plugin", "spec", "model", "distribute", "training", "runs", "cli"]
FACADES = {"__init__", "api", "testing"}  # the Python API, the plugin author API, the contract checks


def stage_of(module: str) -> str:
    """'tlspec.spec.graph' -> 'spec'; 'tlspec' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def engine_imports():
    """(importing module, imported module, names) for every tlspec import, lazy ones included."""
    for path in ENGINE.rglob("*.py"):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tlspec":
                yield module, node.module, [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "tlspec":
                        yield module, alias.name, []


def test_every_engine_module_belongs_to_a_stage():
    stages = {stage_of(".".join(path.relative_to(REPO).with_suffix("").parts)) for path in ENGINE.rglob("*.py")}
    assert stages == set(STAGES) | FACADES


def test_imports_flow_one_way():
    backwards = []
    for importer, imported, names in engine_imports():
        source, target = stage_of(importer), stage_of(imported)
        if source in FACADES:
            continue
        if target == "__init__" and names == ["__version__"]:
            continue  # the version string is the one thing every stage may read from the top
        if target in FACADES and source != "cli":  # the CLI is a client of the Python API
            backwards.append(f"{importer} imports the facade {imported}")
        elif target not in FACADES and STAGES.index(target) > STAGES.index(source):
            backwards.append(f"{importer} ({source}) imports {imported} ({target})")
    assert backwards == []


def test_the_layering_test_sees_lazy_imports():
    found = {(importer, imported) for importer, imported, _ in engine_imports()}
    assert ("tlspec.model.assemble", "tlspec.model.runtime") in found  # imported inside assemble()


def test_spec_plugin_and_api_load_no_tensorflow():
    probe = ("import sys, tlspec, tlspec.api, tlspec.spec.validate, tlspec.spec.json_schema, tlspec.plugin.manager\n"
             "from tlspec.plugin.manager import default_registry\n"
             "default_registry()\n"
             "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
