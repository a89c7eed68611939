"""``python balancing_mirrored.py``: one step of each balancing on two mirrored CPU replicas, as JSON,
beside the single-device expectation (run in its own process: devices are split before TensorFlow starts)."""

import json
import sys
from pathlib import Path

import tensorflow as tf

tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, str(Path(__file__).parent))

import keras  # noqa: E402
from balancing_cases import expected_parameters, losses_and_norms, one_sgd_step, two_heads  # noqa: E402

found = {}
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])  # one: a second one's collectives would clash
for method in ("uncertainty", "gradnorm"):
    losses, norms = losses_and_norms(keras, two_heads(keras))
    with strategy.scope():
        wrapper = one_sgd_step(keras, two_heads(keras), method)
    found[method] = {"parameters": [float(v) for v in wrapper.balance_parameters.numpy()],
                     "initial_losses": [float(v) for v in wrapper.initial_losses.numpy()],
                     "expected": expected_parameters(method, losses, norms), "losses": losses}
print(json.dumps(found))
