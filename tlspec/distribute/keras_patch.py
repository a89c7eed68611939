"""Two fixes that let Keras 3's ``model.fit`` / ``evaluate`` run under MultiWorkerMirroredStrategy.

With Keras 3.15 and TensorFlow 2.21 (keras-team/keras#20585 is the same family):

1. ``TensorFlowTrainer._maybe_symbolic_build`` averages the first distributed
   batch over the replicas (``strategy.reduce("MEAN", batch)``) only to learn its
   structure and shapes; across workers that reduction cannot convert the
   PerReplica inputs and ``fit`` fails before the first step. Building needs
   one replica's batch, so this worker's own part is used.
2. ``reduce_per_replica`` then reduces every logged value with
   ``strategy.reduce("MEAN", value, axis=0)``; the logs are scalars, so axis 0
   does not exist. Scalars are averaged over the replicas (axis None), which is
   what single-device training logs.

Installed only when a multi-worker strategy is created. ``tests/test_distribute.py``
checks that two workers then train exactly like one process with the same global
batch, and that unpatched Keras still fails (so the fixes can go when it stops).
"""

from __future__ import annotations

import functools

from tlspec.errors import TlspecError

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    try:
        from keras.src import tree
        from keras.src.backend.tensorflow import trainer as tf_trainer

        trainer_class = tf_trainer.TensorFlowTrainer
        original_build = trainer_class._maybe_symbolic_build
        original_reduce = tf_trainer.reduce_per_replica
        is_multi_worker = tf_trainer._collective_all_reduce_multi_worker
    except (ImportError, AttributeError) as error:
        import keras

        raise TlspecError(f"multi-worker training: Keras {keras.__version__} no longer has the internals "
                          f"tlspec's fix for model.fit under MultiWorkerMirroredStrategy replaces ({error}); "
                          "see tlspec/keras_multi_worker.py") from None
    import tensorflow as tf

    @functools.wraps(original_build)
    def build_from_local_batch(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or not is_multi_worker(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(
                    lambda value: (strategy.experimental_local_results(value)[0]
                                   if isinstance(value, tf.distribute.DistributedValues) else value),
                    next(batches))
                break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    @functools.wraps(original_reduce)
    def reduce_scalars_over_replicas(values, strategy, reduction="auto"):
        if reduction in ("auto", "mean") and is_multi_worker(strategy):
            def mean(value):
                rank = getattr(value, "shape", None)
                axis = 0 if rank is not None and len(rank) > 0 else None
                return strategy.reduce("MEAN", value, axis=axis)
            return tree.map_structure(mean, values)
        return original_reduce(values, strategy, reduction)

    trainer_class._maybe_symbolic_build = build_from_local_batch
    tf_trainer.reduce_per_replica = reduce_scalars_over_replicas
    _installed = True
