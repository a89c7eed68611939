"""The after-training workflow on cats-vs-dogs: evaluation, the four exports, the report and its screenshot.

    .venv/bin/python bench/after_training.py [--run RUN_DIR] [--screenshot docs/report-cats-dogs.png]

Without ``--run`` it trains ``specs/cats_dogs_mobilenet.yaml`` first. It prints the test split's
confusion matrix and expected calibration error (from ``evaluation/test.json``), each export format's
largest difference from ``model.keras`` on the test images and its time, and writes the report with
a screenshot taken by headless chromium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trained cats-vs-dogs run (default: train one)")
    parser.add_argument("--screenshot", type=Path, help="where to save the report's screenshot (PNG)")
    args = parser.parse_args()
    import tlspec

    run = args.run or train()
    started = time.perf_counter()
    evaluation = tlspec.evaluate(run, "test")["test"]["animal"]
    report = evaluation["report"]
    print(f"evaluate: {time.perf_counter() - started:.1f} s; test accuracy {evaluation['accuracy']:.4f}, "
          f"ECE {report['calibration']['ece']:.4f}")
    matrix = report["confusion_matrix"]
    print("confusion (rows true, columns predicted):", matrix["classes"], matrix["matrix"])
    print(f"{'format':<12} {'max abs diff':>13} {'tolerance':>10} {'export s':>9} {'checked on'}")
    for form in ("keras", "saved_model", "tflite", "onnx"):
        metadata = tlspec.export(run, form)
        check = metadata["check"]
        print(f"{form:<12} {max(check['max_abs_diff'].values()):>13.3g} {check['tolerance']:>10g} "
              f"{metadata['export_seconds']:>9.1f} {check['examples']}")
    started = time.perf_counter()
    path = tlspec.report(run)
    print(f"report: {path} ({path.stat().st_size / 1024:,.0f} KB) in {time.perf_counter() - started:.1f} s")
    if args.screenshot:
        screenshot(path, args.screenshot)


def train() -> Path:
    out = Path(tempfile.mkdtemp(prefix="tlspec-after-training-")) / "run"
    print(f"training specs/cats_dogs_mobilenet.yaml into {out} ...", flush=True)
    subprocess.run([sys.executable, "-m", "tlspec.cli", "train", str(REPO / "specs" / "cats_dogs_mobilenet.yaml"),
                    "--out", str(out), "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return out


def screenshot(report: Path, target: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("no chromium for the screenshot (make browser)")
    subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1280,2600", f"--screenshot={target.resolve()}", report.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    print(f"screenshot: {target}")


if __name__ == "__main__":
    main()
