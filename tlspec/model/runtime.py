"""Import TensorFlow/Keras once, without the C++ start-up chatter on stderr.

TensorFlow's native logging prints oneDNN and CUDA notices before Python can
configure it; they would bury tlspec's own messages. They are captured while
TensorFlow starts and shown only if the import fails.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile


@functools.cache
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # device discovery logs here, too
            import keras as keras_module
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return keras_module
