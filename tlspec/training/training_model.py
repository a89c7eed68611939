"""The model ``fit`` trains when the loss is more than Keras' weighted sum of head losses.

A thin wrapper around the functional model (or the heads on cached features) adds the soft-sharing
penalties (``sharing``) and balances the heads' losses (``loss_balancing``); it logs
``<group>_distance``/``<group>_penalty`` and ``<head>_loss``/``<head>_loss_weight``. The saved model is
the plain functional model, untouched. With balancing, ``val_loss`` stays the loss_weight-weighted sum,
so that checkpoints and early stopping compare epochs on one scale while the learned weights move.
"""

from __future__ import annotations

from tlspec.training import loss_balancing as balancing


class _Held:
    """Keeps objects out of Keras' attribute tracking (they belong to the wrapped model)."""

    def __init__(self, value):
        self.value = value


def training_model(model, tied: list, plan: balancing.BalancingPlan | None = None, saved: dict | None = None):
    """``model`` wrapped to add sharing penalties and balance losses (``model`` itself if neither applies)."""
    if not tied and plan is None:
        return model
    return _wrapper_class()(model, tied, plan, saved)


def _wrapper_class():
    import keras
    import tensorflow as tf
    from keras import ops
    from keras.src.losses import LossFunctionWrapper  # Keras wraps loss functions in it for compile, too
    from keras.src.losses.loss import scale_loss_for_distribution, unscale_loss_for_distribution

    class TrainingModel(keras.Model):
        def __init__(self, inner, tied, plan, saved):
            super().__init__(name=f"{inner.name}_training")
            self.inner = inner
            self._tied = _Held(tied)
            self._plan = _Held(plan)
            self._head_losses = _Held({})
            self._tie_trackers = _Held([(keras.metrics.Mean(name=f"{t.name}_distance"),
                                         keras.metrics.Mean(name=f"{t.name}_penalty")) for t in tied])
            for index, (distance_tracker, penalty_tracker) in enumerate(self._tie_trackers.value):
                setattr(self, f"distance_tracker_{index}", distance_tracker)  # tracked: logged and reset by Keras
                setattr(self, f"penalty_tracker_{index}", penalty_tracker)
            self._head_trackers = _Held([])
            if plan is not None:
                parameters, initial = balancing.restored(plan, saved)
                self.balance_parameters = keras.Variable(parameters, name="loss_balancing", trainable=True)
                # each replica keeps its own copy (the same numbers: they are computed from summed losses), so
                # setting it inside a step needs no synchronisation
                self.initial_losses = keras.Variable(initial, name="initial_losses", trainable=False,
                                                     synchronization="on_read", aggregation="only_first_replica")
                self._head_trackers.value = [(keras.metrics.Mean(name=f"{head}_loss"),
                                              keras.metrics.Mean(name=f"{head}_loss_weight"))
                                             for head in plan.heads]
                for index, (loss_tracker, weight_tracker) in enumerate(self._head_trackers.value):
                    setattr(self, f"head_loss_tracker_{index}", loss_tracker)
                    setattr(self, f"head_weight_tracker_{index}", weight_tracker)

        @property
        def balances_losses(self) -> bool:
            """Whether this model weighs the heads' losses itself (``compile`` then gets none)."""
            return self._plan.value is not None

        def use_head_losses(self, losses: dict) -> None:
            """The heads' losses (names or objects, as for compile): this model computes them itself."""
            found = {}
            for head, loss in losses.items():
                value = keras.losses.get(loss) if isinstance(loss, str) else loss
                found[head] = value if isinstance(value, keras.losses.Loss) else LossFunctionWrapper(
                    value, name=getattr(value, "__name__", head))
            self._head_losses.value = found

        def balancing_state(self) -> dict | None:
            plan = self._plan.value
            if plan is None:
                return None
            return balancing.state_of(plan, self.balance_parameters, self.initial_losses)

        def call(self, inputs, training=None):
            return self.inner(inputs, training=training)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            if self._plan.value is None:
                loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
            else:
                loss, _ = self._balanced(y, y_pred, sample_weight, training)
            return loss + self._penalties(loss.dtype)

        def _balanced(self, y, y_pred, sample_weight, training):
            """The balanced loss (during training; the static sum otherwise) and each head's loss."""
            plan = self._plan.value
            head_losses = []
            for head, (loss_tracker, _) in zip(plan.heads, self._head_trackers.value):
                weights = sample_weight.get(head) if isinstance(sample_weight, dict) else sample_weight
                value = ops.cast(self._head_losses.value[head](y[head], y_pred[head], weights), "float32")
                loss_tracker.update_state(unscale_loss_for_distribution(value))
                head_losses.append(value)
            weights = balancing.effective_weights(plan, self.balance_parameters)
            for index, (_, weight_tracker) in enumerate(self._head_trackers.value):
                weight_tracker.update_state(weights[index])
            if training:
                loss = balancing.objective(plan, self.balance_parameters, head_losses, scale_loss_for_distribution)
            else:
                loss = ops.sum(ops.stack(head_losses) * ops.convert_to_tensor(plan.static, "float32"))
            for extra in self.losses:  # regularizers and add_loss, as Keras' own compute_loss adds them
                loss = loss + ops.cast(ops.sum(extra), "float32")
            return loss, head_losses

        def _penalties(self, dtype):
            total = ops.zeros((), dtype)
            for tie, (distance_tracker, penalty_tracker) in zip(self._tied.value, self._tie_trackers.value):
                squared = ops.sum(ops.stack([ops.sum(ops.square(a - b)) for a, b in tie.pairs]))
                penalty = tie.weight * squared
                distance_tracker.update_state(squared)
                penalty_tracker.update_state(penalty)
                # Keras divides each replica's loss by the replica count before summing gradients; so must we.
                total = total + ops.cast(scale_loss_for_distribution(penalty), dtype)
            return total

        def train_step(self, data):
            plan = self._plan.value
            if plan is None or plan.method != "gradnorm":
                return super().train_step(data)
            return self._gradnorm_step(data, plan)

        def _gradnorm_step(self, data, plan):
            """Keras' train step, plus GradNorm's update of the weights from the heads' gradient norms."""
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            with tf.GradientTape(persistent=True) as tape:
                y_pred = self(x, training=True)
                loss, head_losses = self._balanced(y, y_pred, sample_weight, True)
                loss = loss + self._penalties(loss.dtype)
                self._loss_tracker.update_state(unscale_loss_for_distribution(loss),
                                                sample_weight=tf.shape(tf.nest.flatten(x)[0])[0])
                scaled = self.optimizer.scale_loss(loss)
            variables = self.trainable_weights
            gradients = tape.gradient(scaled, variables)
            # GradNorm compares whole-batch gradient norms: sum the replicas' parts (each already divided by the
            # replica count) so that every replica balances the same numbers a single device would
            context = tf.distribute.get_replica_context()
            replicas = context.num_replicas_in_sync if context is not None else 1
            summed = (lambda value: context.all_reduce("sum", value)) if replicas > 1 else (lambda value: value)
            losses = summed(tf.stack(head_losses))
            first = tf.equal(self.initial_losses, 0.0)
            self.initial_losses.assign(tf.where(first, tf.stop_gradient(losses), self.initial_losses))
            if plan.shared:
                norms = tf.stack([tf.linalg.global_norm(summed(tape.gradient(value, plan.shared)))
                                  for value in head_losses])
                with tf.GradientTape() as balance_tape:
                    balance_loss = balancing.gradnorm_loss(plan, self.balance_parameters, norms, losses,
                                                           self.initial_losses)
                    # identical on every replica, and the optimizer sums the replicas' gradients
                    balance_loss = self.optimizer.scale_loss(balance_loss / replicas)
                balance_gradient = balance_tape.gradient(balance_loss, self.balance_parameters)
            else:
                balance_gradient = tf.zeros_like(self.balance_parameters)
            del tape
            key = id(self.balance_parameters)
            gradients = [balance_gradient if id(variable) == key else gradient
                         for variable, gradient in zip(variables, gradients)]
            self.optimizer.apply_gradients(zip(gradients, variables))
            return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    return TrainingModel
