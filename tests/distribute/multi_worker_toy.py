"""One worker of a two-worker Keras run without tlspec's engine; used by tests/distribute/test_distribute.py.

    python tests/distribute/multi_worker_toy.py INDEX HOST:PORT,HOST:PORT fixed|unpatched|single|shards EXAMPLES

Prints one JSON line: the history and a digest of the final weights. 'single'
trains the same model in one process without a strategy (the reference);
'shards' prints which examples this worker gets in each of two shuffled epochs.
"""

import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(index: int, workers: list[str], mode: str, examples: int) -> None:
    if mode != "single":
        os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers},
                                              "task": {"type": "worker", "index": index}})
    import keras
    import numpy as np
    import tensorflow as tf

    if mode == "fixed":
        from tlspec.distribute import keras_patch

        keras_patch.install()
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if mode != "single" else tf.distribute.get_strategy()
    if mode == "shards":
        from tlspec.distribute.strategy import Distribution

        ids = tf.data.Dataset.range(examples).shuffle(examples, seed=3, reshuffle_each_iteration=True).batch(4)
        distributed = strategy.experimental_distribute_dataset(Distribution("multi_worker").shard(ids))
        epochs = [[int(i) for batch in distributed for part in strategy.experimental_local_results(batch)
                   for i in part.numpy()] for _ in range(2)]
        print(json.dumps({"epochs": epochs}))
        return
    rng = np.random.RandomState(0)
    x = rng.rand(examples, 8).astype("float32")
    y = (x.sum(axis=1) > 4).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    if mode != "single":
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        data = data.with_options(options)
    with strategy.scope():
        keras.utils.set_random_seed(1)
        inputs = keras.Input((8,))
        outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(16, activation="relu")(inputs))
        model = keras.Model(inputs, outputs)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(data, epochs=3, verbose=0, validation_data=data).history
    evaluation = model.evaluate(data, return_dict=True, verbose=0)
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(w).tobytes() for w in model.get_weights())).hexdigest()
    weights = [w.tolist() for w in model.get_weights()]
    print(json.dumps({"history": history, "evaluation": evaluation, "digest": digest, "weights": weights}))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3], int(sys.argv[4]))
