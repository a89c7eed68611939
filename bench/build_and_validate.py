"""Validate latency and build time of the lecture's VGG16 spec, against the same model hand-written in Keras.

Run: make bench   (or .venv/bin/python bench/build_and_validate.py [--repeats N])

* validate, end to end: `tlspec validate` as a user runs it (a fresh Python
  process each time, startup included) and in-process `tlspec.validate`.
* build: tlspec (validate + assemble + compile) vs hand-written Keras (the
  lecture's code: VGG16 without top, Flatten, Dense(2), compile), interleaved in
  one process after TensorFlow is imported, `clear_session` between runs.
  Reported as medians and the ratio tlspec / hand-written.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "specs" / "vgg16_cats_dogs.yaml"


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def validate_cli() -> None:
    subprocess.run([sys.executable, "-m", "tlspec.cli", "validate", str(SPEC)], check=True,
                   capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    import tlspec

    tlspec.validate(SPEC)  # warm the plugin registry and catalog caches once, as a long-lived process would
    in_process = [timed(lambda: tlspec.validate(SPEC)) for _ in range(args.repeats * 3)]
    cli = [timed(validate_cli) for _ in range(args.repeats)]

    from tlspec.model.runtime import keras as load_keras

    keras = load_keras()

    def by_hand():
        vggmodel = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
        for layer in vggmodel.layers:
            layer.trainable = True
        x = keras.layers.Flatten()(vggmodel.output)
        prediction = keras.layers.Dense(2, activation="softmax")(x)
        model = keras.Model(inputs=vggmodel.input, outputs=prediction)
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        assert model.count_params() == 14_764_866

    def with_tlspec():
        assembly = tlspec.build(SPEC)
        assert assembly.model.count_params() == 14_764_866

    by_hand(), with_tlspec()  # warm-up: first Keras graph construction pays one-off costs
    hand, ours = [], []
    for _ in range(args.repeats):
        keras.backend.clear_session()
        hand.append(timed(by_hand))
        keras.backend.clear_session()
        ours.append(timed(with_tlspec))

    result = {
        "validate_in_process_ms": round(statistics.median(in_process) * 1000, 1),
        "validate_cli_ms": round(statistics.median(cli) * 1000, 1),
        "build_hand_written_s": round(statistics.median(hand), 3),
        "build_tlspec_s": round(statistics.median(ours), 3),
        "build_ratio_tlspec_over_hand": round(statistics.median(ours) / statistics.median(hand), 3),
        "repeats": args.repeats,
    }
    print(f"validate (in process, median of {len(in_process)}): {result['validate_in_process_ms']} ms")
    print(f"validate (`tlspec validate`, new process, median of {len(cli)}): {result['validate_cli_ms']} ms")
    print(f"build VGG16 two-class, hand-written Keras: {result['build_hand_written_s']} s")
    print(f"build VGG16 two-class, tlspec spec:        {result['build_tlspec_s']} s")
    print(f"ratio tlspec / hand-written: {result['build_ratio_tlspec_over_hand']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
