"""Fixtures every test folder shares; plain helpers live in ``helpers.py``."""

import os
import textwrap
from pathlib import Path

import pytest

from helpers import make_image_folder


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """tlspec's caches (plugin index, data descriptions, features) in a folder of the test run's own, for
    the CLI processes the tests start too: no test reads what a user's runs (or an earlier test run) left."""
    folder = tmp_path_factory.mktemp("tlspec-cache")
    previous = os.environ.get("TLSPEC_CACHE")
    os.environ["TLSPEC_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("TLSPEC_CACHE", None)
    else:
        os.environ["TLSPEC_CACHE"] = previous


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
