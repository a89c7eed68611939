"""Multitask loss balancing: how the heads' losses become the one loss training minimises.

``static`` is Keras' own ``loss_weights`` (each head's ``loss_weight``). The other two learn the
weights while the model trains, as variables of the training wrapper (``training_model``):

- ``uncertainty`` (Kendall et al. 2018) learns a log-variance ``s`` per head and minimises
  ``sum(loss_weight * exp(-s) * loss + s)``: a head whose loss stays high is trusted less.
- ``gradnorm`` (Chen et al. 2018) keeps weights that sum to the number of heads and moves them so that
  each head's gradient norm on the last shared layer approaches the mean norm times
  ``(relative inverse training rate) ** alpha``; heads that learn more slowly are pulled up. The
  weights are a softmax of logits, so they stay positive and normalised without reassignment, and
  they start in proportion to the loss_weights.

The learned values travel from phase to phase and into ``state.json``, so resuming continues them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class BalancingPlan:
    """What one phase balances: the method, its heads, and (gradnorm) the shared variables it measures."""

    method: str
    heads: list[str]
    static: list[float]
    alpha: float
    shared_layer: str | None = None
    shared: list = field(default_factory=list)

    def describe(self) -> str:
        if self.method == "uncertainty":
            return "loss balancing: uncertainty (a learned log-variance per head)"
        if not self.shared:
            return ("loss balancing: gradnorm, weights held this phase (no shared layer trains, so the heads' "
                    "gradients meet nowhere to be balanced)")
        count = sum(int(np.prod(variable.shape)) for variable in self.shared)
        return (f"loss balancing: gradnorm (alpha {self.alpha:g}) on shared layer {self.shared_layer} "
                f"({count:,} parameters)")


def plan_for(assembly, spec, fit_model) -> BalancingPlan | None:
    """The phase's balancing, for the model ``fit`` trains; None for static weights (Keras does those)."""
    if spec.method == "static":
        return None
    heads = assembly.graph.heads()
    plan = BalancingPlan(spec.method, [head.name for head in heads],
                         [float(head.section.config.loss_weight) for head in heads], spec.alpha)
    if plan.method == "gradnorm":
        plan.shared_layer, plan.shared = shared_trainable(fit_model, plan.heads)
    return plan


def initial_parameters(plan: BalancingPlan) -> np.ndarray:
    """Uncertainty: log-variances 0 (weights = loss_weight). GradNorm: logits giving weights ∝ loss_weight."""
    if plan.method == "uncertainty":
        return np.zeros(len(plan.heads), np.float32)
    return np.log(np.asarray(plan.static, np.float32))


def restored(plan: BalancingPlan, saved: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """The parameters and first losses to start from: what an earlier phase or epoch left, if it matches."""
    size = len(plan.heads)
    if saved and saved.get("method") == plan.method and saved.get("heads") == plan.heads:
        return (np.asarray(saved["parameters"], np.float32).reshape(size),
                np.asarray(saved["initial_losses"], np.float32).reshape(size))
    return initial_parameters(plan), np.zeros(size, np.float32)


def effective_weights(plan: BalancingPlan, parameters):
    """The weight each head's loss gets, as a tensor (one per head)."""
    from keras import ops

    static = ops.convert_to_tensor(np.asarray(plan.static, np.float32))
    if plan.method == "uncertainty":
        return static * ops.exp(-parameters)
    return len(plan.heads) * ops.softmax(parameters)


def objective(plan: BalancingPlan, parameters, head_losses: list, scale):
    """The loss to minimise: uncertainty's weighted losses plus log-variances, or gradnorm's weighted sum
    with the weights held constant (they follow their own gradient, ``gradnorm_loss``). ``scale`` divides
    terms by the replica count the way Keras' losses already are."""
    from keras import ops

    losses = ops.stack(head_losses)
    weights = effective_weights(plan, parameters)
    if plan.method == "uncertainty":
        return ops.sum(weights * losses) + scale(ops.sum(parameters))
    return ops.sum(ops.stop_gradient(weights) * losses)


def gradnorm_loss(plan: BalancingPlan, parameters, gradient_norms, losses, initial_losses):
    """Chen et al.'s L_grad: sum over heads of |w_i * ||grad_i|| - mean norm * r_i ** alpha|, the target constant."""
    from keras import ops

    weights = effective_weights(plan, parameters)
    norms = weights * ops.stop_gradient(gradient_norms)
    ratios = ops.stop_gradient(losses / ops.maximum(initial_losses, 1e-12))
    relative = ratios / ops.mean(ratios)
    target = ops.stop_gradient(ops.mean(norms) * relative ** plan.alpha)
    return ops.sum(ops.abs(norms - target))


def shared_trainable(model, heads: list[str]) -> tuple[str | None, list]:
    """The last layer (inside nested models too) with trainable weights that every head's output depends
    on, and those weights; (None, []) when the heads share nothing that trains. Dependence is read from
    the gradients of one forward pass on zeros, which is exact even through a multi-output backbone."""
    import tensorflow as tf
    from keras import ops, tree

    variables = list(model.trainable_weights)
    if not variables:
        return None, []
    dummy = tree.map_structure(
        lambda tensor: ops.zeros([1] + [size or 2 for size in tensor.shape[1:]], tensor.dtype), model.input)
    shared = {id(variable) for variable in variables}

    def probe():  # in a replica's context: distributed variables are read only there
        with tf.GradientTape(persistent=True) as tape:
            outputs = model(dummy, training=False)
            sums = {head: ops.sum(ops.cast(outputs[head], "float32")) for head in heads}
        for head in heads:
            gradients = tape.gradient(sums[head], variables, unconnected_gradients=tf.UnconnectedGradients.NONE)
            shared.intersection_update(id(variable) for variable, gradient in zip(variables, gradients)
                                       if gradient is not None)

    if tf.distribute.in_cross_replica_context():
        tf.distribute.get_strategy().run(probe)
    else:
        probe()
    for path, layer in reversed(_leaf_layers(model)):
        found = [variable for variable in layer.trainable_weights if id(variable) in shared]
        if found:
            return path, found
    return None, []


def _leaf_layers(model, prefix: str = "") -> list[tuple[str, object]]:
    """Every layer that is not itself a model, in graph order, with its path through the nested models."""
    found = []
    for layer in model.layers:
        path = f"{prefix}{layer.name}"
        if hasattr(layer, "layers") and hasattr(layer, "input"):  # a nested functional or sequential model
            found += _leaf_layers(layer, path + "/")
        else:
            found.append((path, layer))
    return found


def state_of(plan: BalancingPlan, parameters, initial_losses) -> dict:
    """What ``state.json`` keeps of the balancing, to continue it in the next phase or after --resume."""
    return {"method": plan.method, "heads": plan.heads,
            "parameters": [float(value) for value in np.asarray(parameters)],
            "initial_losses": [float(value) for value in np.asarray(initial_losses)]}
