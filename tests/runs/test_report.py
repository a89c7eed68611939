"""`tlspec report`: one offline HTML file, opened in a real headless browser (Debian's chromium)."""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import cnn_spec, make_image_folder
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
SECTIONS = ("title", "metrics", "environment", "timeline", "learning-rate", "curves", "evaluation-test",
            "per-class-animal", "confusion-animal", "reliability-animal", "evaluation-data-flipped",
            "mistakes-animal", "graph", "spec")


def browser() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip("no headless browser (chromium) installed; `make browser` installs it")
    return found


def headless(*args: str) -> subprocess.CompletedProcess:
    command = [browser(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_report_renders_offline_in_a_browser(write_spec, image_data, keras):
    import tlspec

    train(validate_file(cnn_spec(write_spec)), out="run", verbose=0)
    tlspec.evaluate("run", "test")
    make_image_folder(Path("flipped"), {"cat": 3}, seed=9)
    Path("flipped/cat").rename("flipped/dog")  # cat pictures labelled dog: three confident mistakes
    tlspec.evaluate("run", data=["flipped"])
    path = tlspec.report("run")
    page = path.read_text(encoding="utf-8")
    assert path == Path("run/report.html") and len(page) < 1_000_000
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)  # nothing fetched from elsewhere
    for section in SECTIONS:
        assert f"id='{section}'" in page, section
    assert page.count("<img") == 10  # learning rate, curves, 2 x (confusion, reliability), 3 thumbnails, graph

    dom = headless("--dump-dom", path.resolve().as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-images-rendered="10"' in dom.stdout  # every picture decoded
    shot = headless("--window-size=1280,2400", f"--screenshot={Path('shot.png').resolve()}", path.resolve().as_uri())
    assert shot.returncode == 0 and Path("shot.png").is_file(), shot.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread("shot.png")[..., :3]
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 0.05 and (pixels < 0.5).mean() > 0.005  # not blank: text and figures drawn
