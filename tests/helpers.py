"""What many tests do: run the CLI as a user does, collect a spec's problems, build, make images.

Importable from every test folder (``pythonpath = tests`` in pyproject.toml).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tlspec.errors import SpecError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
SHARED_DATA = REPO.parent / "shared" / "data"
TLSPEC = [sys.executable, "-m", "tlspec.cli"]

# A small CNN on the colour-coded images of the image_data fixture: a cached frozen phase, then fine-tuning.
CNN_SPEC = """
tlspec: 1
name: colours
seed: 5
backbone: {{plugin: small_cnn, input_shape: [16, 16, 3], filters: [16, 32]}}
freeze: all
heads:
  - {{name: animal, plugin: classifier, classes: from_data}}
data:
  plugin: image_folder
  train: images/train
  validation: images/validation
  test: images/test
  image_size: [16, 16]
  {augmentation}
train:
  batch_size: 8
  optimizer: {{name: adam, learning_rate: 0.01}}
  checkpoint: {{monitor: val_accuracy}}
  {cache}
  phases:
    - {{name: head, epochs: 6}}
    - {{name: finetune, epochs: 2, freeze: {{plugin: until, layer: backbone_bn_1}}, learning_rate: 0.001}}
"""


def cnn_spec(write_spec, augmentation="", cache=""):
    return write_spec(CNN_SPEC.format(augmentation=augmentation, cache=cache))


def run_cli(*args, cwd=None, env=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``tlspec ARGS...`` in a fresh process, as a user runs it; its output captured as text."""
    return subprocess.run([*TLSPEC, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def cli_output(*args, cwd=None, env=None, timeout: float = 300) -> str:
    """The standard output of a ``tlspec`` command that must succeed."""
    result = run_cli(*args, cwd=cwd, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def train_cli(spec, out, *overrides, timeout: float = 3600) -> tuple[str, dict]:
    """`tlspec train specs/SPEC --out OUT --quiet --set ...` in a fresh process: (stdout, metrics.json)."""
    sets = [part for override in overrides for part in ("--set", override)]
    stdout = cli_output("train", SPECS / spec, "--out", out, "--quiet", *sets, timeout=timeout)
    return stdout, json.loads((Path(out) / "metrics.json").read_text())


def spec_problems(path, overrides=()) -> list[str]:
    """Every located problem ``tlspec validate`` reports for the spec (it must have some)."""
    from tlspec.spec.validate import validate_file

    with pytest.raises(SpecError) as caught:
        validate_file(path, list(overrides))
    return [str(problem) for problem in caught.value.problems]


def only_problem(path, overrides=()) -> str:
    found = spec_problems(path, overrides)
    assert len(found) == 1, found
    return found[0]


def build(path, overrides=()):
    """Validate, assemble and compile a spec; return the Assembly."""
    import tlspec

    return tlspec.build(path, list(overrides))


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(run_dir, *options: str, startup: float = 120) -> Iterator[str]:
    """``tlspec serve RUN`` on a free port of 127.0.0.1, up (GET /health answers 200); yields its base URL
    and stops it with Ctrl-C, failing the test if it does not stop."""
    import httpx

    port = free_port()
    process = subprocess.Popen([*TLSPEC, "serve", str(run_dir), "--port", str(port), *options],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            if process.poll() is not None:
                pytest.fail(f"the server exited: {process.communicate()[1][-3000:]}")
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail(f"the server did not come up in {startup:.0f} s")
    try:
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the server did not stop on Ctrl-C")
