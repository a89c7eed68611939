"""`tlspec serve` throughput and latency against a hand-written `model.predict` loop, on the same images.

    .venv/bin/python bench/serve_throughput.py [--run RUN_DIR] [--requests 96] [--concurrency 1 8 32]

Without ``--run`` it trains ``specs/cats_dogs_mobilenet.yaml`` first (about a minute on 2 cores).
Single-image requests (multipart, one JPEG each) go to a real server process on 127.0.0.1 at each
concurrency, with micro-batching (``--max-batch 32 --max-wait-ms 5``) and without (``--max-batch 1``).
The baseline, measured in this process between the two servers, decodes and resizes each image as
tlspec does and calls ``model.predict`` on it, one image at a time. Ratios are requests/s over the
baseline's images/s. The client runs on the same machine as the server and takes CPU from it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO.parent / "shared" / "data" / "cats_vs_dogs" / "test"
TLSPEC = [sys.executable, "-m", "tlspec.cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trained cats-vs-dogs run (default: train one)")
    parser.add_argument("--requests", type=int, default=96, help="requests per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    files = sorted(IMAGES.glob("*/*.jpg"))[: args.requests]
    if not files:
        sys.exit(f"no images under {IMAGES}")
    run = args.run or train()
    rows = []
    rows.append(("server, micro-batching", serve_levels(run, files, args.concurrency, ["--max-batch", "32"])))
    loop = handwritten_loop(run, files)
    rows.append(("server, no batching", serve_levels(run, files, args.concurrency, ["--max-batch", "1"])))
    print(f"\nhand-written loop (decode, resize, model.predict one image at a time): {loop['rate']:.1f} images/s, "
          f"p50 {loop['p50']:.1f} ms, p99 {loop['p99']:.1f} ms ({len(files)} images)\n")
    print(f"{'server':<24} {'concurrency':>11} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'vs loop':>8}")
    for name, levels in rows:
        for level in levels:
            print(f"{name:<24} {level['concurrency']:>11} {level['rate']:>11.1f} {level['p50']:>8.1f} "
                  f"{level['p99']:>8.1f} {level['rate'] / loop['rate']:>7.2f}x")


def train() -> Path:
    out = Path(tempfile.mkdtemp(prefix="tlspec-serve-bench-")) / "run"
    print(f"training specs/cats_dogs_mobilenet.yaml into {out} ...", flush=True)
    subprocess.run([*TLSPEC, "train", str(REPO / "specs" / "cats_dogs_mobilenet.yaml"), "--out", str(out),
                    "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return out


def handwritten_loop(run: Path, files: list[Path]) -> dict:
    import keras
    import tensorflow as tf

    import tlspec.model.layers  # noqa: F401 - tlspec's registered layers, as any user of model.keras needs

    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    size = tuple(model.inputs[0].shape[1:3])

    def one(path: Path):
        image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
        image = tf.cast(tf.image.resize(image, size, method="bilinear", antialias=True), tf.float32)
        return model.predict({"image": image[None]}, verbose=0)

    for path in files[:8]:  # warm up, as the server is warmed up
        one(path)
    latencies, started = [], time.perf_counter()
    for path in files:
        begun = time.perf_counter()
        one(path)
        latencies.append((time.perf_counter() - begun) * 1000)
    return summary(latencies, time.perf_counter() - started, len(files))


def serve_levels(run: Path, files: list[Path], levels: list[int], options: list[str]) -> list[dict]:
    import httpx

    port = free_port()
    server = subprocess.Popen([*TLSPEC, "serve", str(run), "--port", str(port), "--max-wait-ms", "5", *options],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base, server)
        payloads = [path.read_bytes() for path in files]
        local = threading.local()  # one HTTP client (and connection) per client thread

        def ask(index: int) -> float:
            if not hasattr(local, "client"):
                local.client = httpx.Client(timeout=120)
            begun = time.perf_counter()
            answer = local.client.post(f"{base}/predict", files=[("file", (files[index].name, payloads[index]))])
            answer.raise_for_status()
            return (time.perf_counter() - begun) * 1000

        with ThreadPoolExecutor(8) as pool:  # warm up
            list(pool.map(ask, range(min(16, len(files)))))
        results = []
        for concurrency in levels:
            with ThreadPoolExecutor(concurrency) as pool:
                started = time.perf_counter()
                latencies = list(pool.map(ask, range(len(files))))
                results.append({"concurrency": concurrency,
                                **summary(latencies, time.perf_counter() - started, len(files))})
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def summary(latencies: list[float], seconds: float, count: int) -> dict:
    ordered = sorted(latencies)
    return {"rate": count / seconds, "p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]}


def wait_for(base: str, server: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            if server.poll() is not None:
                sys.exit(f"the server stopped: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.3)
    sys.exit("the server did not start in 180 s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
