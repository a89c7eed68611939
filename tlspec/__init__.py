"""tlspec: transfer learning, declared.

Importing this package is cheap: TensorFlow is imported only where a model is
really built (``tlspec.assemble``), so ``validate``, ``schema`` and ``plugins``
stay fast.
"""

__version__ = "0.1.0"
