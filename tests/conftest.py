"""Fixtures every test folder shares; plain helpers live in ``helpers.py``."""

import textwrap
from pathlib import Path

import pytest

from helpers import make_image_folder


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
    from tlspec.model.runtime import keras

    return keras()


@pytest.fixture
def image_data(tmp_path):
    """train/validation/test folders of two colour-coded classes."""
    root = tmp_path / "images"
    for split, count, seed in (("train", 24, 0), ("validation", 8, 1), ("test", 8, 2)):
        make_image_folder(root / split, {"cat": count, "dog": count}, seed=seed)
    return root
