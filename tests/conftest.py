import json
import os
import subprocess
import sys
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


def train_cli(spec, out, *overrides, timeout=3600):
    """`tlspec train specs/SPEC --out OUT --quiet --set ...` in a fresh process: (stdout, metrics.json)."""
    command = [sys.executable, "-m", "tlspec.cli", "train", str(SPECS / spec), "--out", str(out), "--quiet"]
    for override in overrides:
        command += ["--set", override]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, json.loads((Path(out) / "metrics.json").read_text())


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


COLOURS = {"cat": (200, 60, 40), "dog": (40, 70, 200), "bird": (40, 180, 60)}


def make_image_folder(root: Path, counts: dict[str, int], size: int = 16, seed: int = 0) -> Path:
    """Class folders of small JPEGs whose colour tells the class (plus noise): easy to learn."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name, count in counts.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            pixels = np.clip(np.array(COLOURS[name]) + rng.normal(0, 40, (size, size, 3)), 0, 255)
            Image.fromarray(pixels.astype("uint8")).save(folder / f"{name}.{index}.jpg", quality=90)
    return root


@pytest.fixture
def image_data(tmp_path):
    """train/validation/test folders of two colour-coded classes."""
    root = tmp_path / "images"
    for split, count, seed in (("train", 24, 0), ("validation", 8, 1), ("test", 8, 2)):
        make_image_folder(root / split, {"cat": count, "dog": count}, seed=seed)
    return root
