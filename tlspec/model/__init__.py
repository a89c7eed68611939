"""Stage 2, the model: validated spec -> compiled Keras model, and what is computed from one.

``assemble`` builds the functional graph from the plugins, ``compile`` sets the
optimizer and per-head losses, ``targets`` shapes labels for each loss,
``evaluate`` computes per-split metrics, ``decoding`` generates sequences,
``report`` and ``plot`` describe a built model, ``layers`` holds tlspec's own
serializable Keras layers and ``runtime`` imports TensorFlow quietly. The first
stage that imports TensorFlow, and only inside functions.
"""
