"""How well image_checks' JPEG header check predicts TensorFlow's decoder, on random header damage.

Run: .venv/bin/python bench/jpeg_header_check.py [--cases 10000] [--seed 20261201]

Each case takes a real JPEG (the first 50 of ../shared/data, else 50 generated ones), overwrites
1-3 random bytes between its start and its scan header, and asks both tf.io.decode_image and
jpeg_header_problem. A missed case would stop a tf.data pipeline mid-training (tlspec then says
so, without naming the file); a false alarm would skip a readable image.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))

from tlspec_builtins.image_checks import jpeg_header_problem  # noqa: E402


def sample_jpegs(count: int = 50) -> list[bytes]:
    real = sorted((REPO.parent / "shared" / "data").glob("**/*.jpg"))[:count]
    if real:
        return [path.read_bytes() for path in real]
    import numpy as np
    from PIL import Image

    rng, samples = np.random.default_rng(0), []
    for index in range(count):
        buffer = io.BytesIO()
        pixels = rng.integers(0, 255, (32 + index, 48, 3), dtype="uint8")
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=80, subsampling=index % 3)
        samples.append(buffer.getvalue())
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    import tensorflow as tf

    rng, samples = random.Random(args.seed), sample_jpegs()
    counts = {"both reject": 0, "decoder rejects, check passes (missed)": 0,
              "decoder reads, check rejects (false alarm)": 0, "both accept": 0}
    for _ in range(args.cases):
        data = bytearray(rng.choice(samples))
        scan = data.index(b"\xff\xda")
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(2, scan + 10)] = rng.randrange(256)
        data = bytes(data)
        try:
            tf.io.decode_image(data, channels=3, expand_animations=False)
            decoded = True
        except tf.errors.InvalidArgumentError:
            decoded = False
        flagged = not data.startswith(b"\xff\xd8\xff") or jpeg_header_problem(data) is not None
        key = {(False, True): "both reject", (False, False): "decoder rejects, check passes (missed)",
               (True, True): "decoder reads, check rejects (false alarm)", (True, False): "both accept"}
        counts[key[decoded, flagged]] += 1
    print(f"{args.cases} damaged headers, seed {args.seed}, {len(samples)} source JPEGs")
    for name, count in counts.items():
        print(f"  {name:44s} {count:6d}")


if __name__ == "__main__":
    main()
