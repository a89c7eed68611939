"""One SGD step of each loss balancing on a tiny two-head model, and what it must give, worked by hand.

Shared by test_loss_balancing.py and mirrored_steps.py (the same step on two replicas).
"""

from __future__ import annotations

import numpy as np

from tlspec.training.loss_balancing import BalancingPlan, shared_trainable
from tlspec.training.training_model import training_model

RATE = 0.1
STATIC = {"uncertainty": [1.0, 2.0], "gradnorm": [1.0, 1.0]}


def two_heads(keras):
    """x -> shared Dense(3) -> heads a (from shared) and b (from shared, then its own Dense)."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,), name="x")
    shared = keras.layers.Dense(3, activation="tanh", name="shared")(inputs)
    a = keras.layers.Dense(1, name="a")(shared)
    b = keras.layers.Dense(1, name="b")(keras.layers.Dense(2, name="b_hidden")(shared))
    return keras.Model(inputs, {"a": a, "b": b})


def batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype("float32")
    return x, {"a": rng.normal(size=(8, 1)).astype("float32"), "b": 5 * rng.normal(size=(8, 1)).astype("float32")}


def plan(model, method: str) -> BalancingPlan:
    found = BalancingPlan(method, ["a", "b"], STATIC[method], 1.5)
    if method == "gradnorm":
        found.shared_layer, found.shared = shared_trainable(model, ["a", "b"])
    return found


def one_sgd_step(keras, model, method: str):
    """The wrapper after one SGD step on the whole batch (split between replicas under a strategy)."""
    wrapper = training_model(model, [], plan(model, method))
    wrapper.use_head_losses({"a": "mse", "b": "mse"})
    wrapper.compile(optimizer=keras.optimizers.SGD(RATE), loss=None)
    x, y = batch()
    wrapper.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    return wrapper


def losses_and_norms(keras, model) -> tuple[list[float], list[float]]:
    """Each head's MSE on the batch and the norm of its gradient on the shared layer, before training."""
    import tensorflow as tf

    x, y = batch()
    shared = model.get_layer("shared").trainable_weights
    with tf.GradientTape(persistent=True) as tape:
        out = model(x)
        losses = [keras.ops.mean(keras.ops.square(out[h] - y[h])) for h in ("a", "b")]
    norms = [float(tf.linalg.global_norm(tape.gradient(loss, shared))) for loss in losses]
    return [float(loss) for loss in losses], norms


def expected_parameters(method: str, losses: list[float], norms: list[float]) -> list[float]:
    if method == "uncertainty":
        # loss = sum(w_i exp(-s_i) L_i + s_i): d/ds_i at s = 0 is 1 - w_i L_i, and SGD steps against it
        return [-RATE * (1 - weight * loss) for weight, loss in zip(STATIC[method], losses)]
    # At the first step every loss ratio is 1, so each target is the mean of w_i * norm_i; with w = 2 softmax(z)
    # at z = 0, dL_grad/dz_1 = 0.5 * sign(n_1 - n_2) * (n_1 + n_2) = -dL_grad/dz_2.
    gradient = 0.5 * np.sign(norms[0] - norms[1]) * (norms[0] + norms[1])
    return [-RATE * gradient, RATE * gradient]
