"""``python mirrored_steps.py``: one SGD step on two mirrored CPU replicas, as JSON, beside what one device
computes: each loss balancing, and learning rates per layer. Its own process: the CPU is split into two
devices before TensorFlow starts."""

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, str(Path(__file__).parent))

import keras  # noqa: E402
from balancing_cases import RATE, batch, expected_parameters, losses_and_norms, one_sgd_step, two_heads  # noqa: E402

from tlspec.model.layer_rates import scale  # noqa: E402

found = {}
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # one: a second one's collectives would clash
for method in ("uncertainty", "gradnorm"):
    losses, norms = losses_and_norms(keras, two_heads(keras))
    with strategy.scope():
        wrapper = one_sgd_step(keras, two_heads(keras), method)
    found[method] = {"parameters": [float(v) for v in wrapper.balance_parameters.numpy()],
                     "initial_losses": [float(v) for v in wrapper.initial_losses.numpy()],
                     "expected": expected_parameters(method, losses, norms), "losses": losses}

# Learning rates per layer: the shared layer at half the rate, head a at a quarter, on the summed loss.
single = two_heads(keras)
x, y = batch()
with tf.GradientTape() as tape:
    out = single(x)
    loss = sum(keras.ops.mean(keras.ops.square(out[h] - y[h])) for h in ("a", "b"))
gradients = tape.gradient(loss, single.trainable_weights)
multiplier = {"shared": 0.5, "a": 0.25}
expected = [np.asarray(v) - RATE * multiplier.get(v.path.split("/")[0], 1.0) * np.asarray(g)
            for v, g in zip(single.trainable_weights, gradients)]
with strategy.scope():
    model = two_heads(keras)
    optimizer = keras.optimizers.SGD(RATE)
    scale(optimizer, model, multiplier)
    model.compile(optimizer=optimizer, loss={"a": "mse", "b": "mse"})
model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
found["layer_rates"] = {"largest_difference": max(float(np.abs(np.asarray(v) - e).max())
                                                  for v, e in zip(model.trainable_weights, expected))}
print(json.dumps(found))
