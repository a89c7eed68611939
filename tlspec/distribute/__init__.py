"""Data-parallel training on tf.distribute: which cluster, which strategy, and the fixes it needs.

``cluster`` reads the cluster from ``--workers``, ``TF_CONFIG`` or the spec,
``strategy`` creates the tf.distribute strategy before TensorFlow starts
computing, ``keras_patch`` makes Keras' ``fit`` work under
MultiWorkerMirroredStrategy, and ``watchdog`` ends a worker whose peers never come.
"""
