"""The bench's reference: the same MLP and input pipeline as its tlspec spec, written by hand in Keras.

    python bench/handwritten_mlp.py DATA.npz BATCH EPOCHS [WORKERS INDEX]

With WORKERS (host:port,...) it trains under MultiWorkerMirroredStrategy; plain
Keras 3.15 cannot, so it installs the same fix tlspec uses. Prints one JSON line
with the seconds of every epoch.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(data_path: str, batch: int, epochs: int, workers: str | None, index: int | None) -> None:
    if workers:
        os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers.split(",")},
                                              "task": {"type": "worker", "index": index}})
    import keras
    import numpy as np
    import tensorflow as tf

    if workers:
        from tlspec.distribute import keras_patch

        keras_patch.install()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    arrays = np.load(data_path)
    x, y = arrays["x"], arrays["y"]
    data = tf.data.Dataset.from_tensor_slices(({"features": x}, {"label": y}))
    data = data.shuffle(len(x), seed=0, reshuffle_each_iteration=True).batch(batch).prefetch(tf.data.AUTOTUNE)
    if workers:
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        data = data.with_options(options)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((x.shape[1],), name="features")
        hidden = keras.layers.Dense(512, activation="relu")(inputs)
        hidden = keras.layers.Dense(512, activation="relu")(hidden)
        outputs = keras.layers.Dense(int(y.max()) + 1, activation="softmax", name="label")(hidden)
        model = keras.Model(inputs, {"label": outputs})
        model.compile("adam", {"label": "sparse_categorical_crossentropy"}, metrics={"label": ["accuracy"]})

    seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.started)

    model.fit(data, epochs=epochs, verbose=0, callbacks=[Timer()])
    print(json.dumps({"epoch_seconds": seconds}))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(arguments[0], int(arguments[1]), int(arguments[2]),
         arguments[3] if len(arguments) > 3 else None, int(arguments[4]) if len(arguments) > 4 else None)
