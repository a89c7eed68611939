import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def write_spec(tmp_path, monkeypatch):
    """Write YAML files into a temporary folder (the working directory) and return their paths."""
    monkeypatch.chdir(tmp_path)

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return Path(name)

    return write


@pytest.fixture(scope="session")
def keras():
    from tlspec.tf_runtime import keras

    return keras()


def build(path, overrides=()):
    """Validate, assemble and compile a spec; return the Assembly."""
    from tlspec.assemble import assemble
    from tlspec.compiling import compile_model
    from tlspec.validation import validate_file

    assembly = assemble(validate_file(path, list(overrides)))
    compile_model(assembly)
    return assembly


def trainable_count(model) -> int:
    return sum(int(w.numpy().size) for w in model.trainable_weights)
