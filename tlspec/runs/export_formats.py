"""The formats ``tlspec export`` writes, each with the runtime that runs it and its tolerance.

Every format writes the trained Keras model (its preprocessing layers included) and runs it back in
its own runtime, without tlspec: Keras for ``keras``, TensorFlow's ``saved_model.load`` for
``saved_model``, the LiteRT interpreter (``ai-edge-litert``) for ``tflite``, ``onnxruntime`` for
``onnx``. A converter that cannot represent a layer fails naming that layer (``op_layers``).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tlspec.errors import TlspecError
from tlspec.runs.op_layers import layers_named_in

EXTRA_HINT = "pip install 'tlspec[export]'"


@dataclass(frozen=True)
class ExportFormat:
    """``tolerance``: the largest absolute difference from ``model.keras`` an export may show on the run's
    examples (float32 kernels of another runtime reorder sums; 1e-4 leaves room for deep networks)."""

    name: str
    artifact: str  # file or folder name inside the export directory
    tolerance: float
    runtime: str  # how to run it without tlspec, for metadata.json and the docs
    modules: tuple[str, ...] = ()  # what the format needs installed (the export extra)

    def check_installed(self) -> None:
        import importlib.util

        missing = [module for module in self.modules if importlib.util.find_spec(module) is None]
        if missing:
            raise TlspecError(f"the {self.name} format needs {', '.join(missing)}, not installed here: {EXTRA_HINT}")

    def write(self, model, target: Path, signature: dict) -> None:
        raise NotImplementedError

    def runner(self, target: Path):
        """A function from a dict of input arrays to a dict of output arrays, in the format's runtime."""
        raise NotImplementedError


class KerasFormat(ExportFormat):
    def write(self, model, target, signature):
        model.save(target)

    def runner(self, target):
        import keras

        model = keras.saving.load_model(target, safe_mode=True)
        return lambda inputs: {name: np.asarray(value) for name, value in model.predict(inputs, verbose=0).items()}


class SavedModelFormat(ExportFormat):
    def write(self, model, target, signature):
        model.export(str(target), format="tf_saved_model", verbose=False, input_signature=[_specs(signature)])

    def runner(self, target):
        import tensorflow as tf

        loaded = tf.saved_model.load(str(target))
        return lambda inputs: {name: np.asarray(value) for name, value in loaded.serve(inputs).items()}


class LiteRTFormat(ExportFormat):
    def write(self, model, target, signature):
        import tensorflow as tf

        # Builtin ops only: the LiteRT runtime has no TensorFlow ("Flex") ops, so a model that would need
        # them fails here, naming its layer, instead of in a user's interpreter.
        with _quiet() as log:
            try:
                model.export(str(target), format="litert", verbose=False, input_signature=[_specs(signature)],
                             target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]})
            except Exception as error:  # ConverterError and friends: their text names the ops at fault
                failure = f"{error}\n{log.getvalue()}"
            else:
                return
        raise TlspecError(_cannot_represent(self.name, model, failure))

    def runner(self, target):
        from ai_edge_litert.interpreter import Interpreter

        run = Interpreter(model_path=str(target)).get_signature_runner()

        def outputs(inputs):
            with _quiet():  # the interpreter prints "Created TensorFlow Lite XNNPACK delegate for CPU."
                return {name: np.asarray(value) for name, value in run(**inputs).items()}
        return outputs


class OnnxFormat(ExportFormat):
    def write(self, model, target, signature):
        import onnx

        with _quiet() as log, warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # tf2onnx's use of np.object
            try:
                model.export(str(target), format="onnx", verbose=False, input_signature=[_specs(signature)])
                # tf2onnx writes a file even for ops ONNX lacks, and only logs them: the checker finds them.
                onnx.checker.check_model(onnx.load(str(target)))
            except Exception as error:
                failure = f"{error}\n{log.getvalue()}"
            else:
                return
        raise TlspecError(_cannot_represent(self.name, model, failure))

    def runner(self, target):
        import onnxruntime

        session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]
        wanted = {given.name for given in session.get_inputs()}
        return lambda inputs: dict(zip(names, session.run(None, {k: v for k, v in inputs.items() if k in wanted})))


FORMATS: dict[str, ExportFormat] = {
    "keras": KerasFormat("keras", "model.keras", 1e-6, "keras.saving.load_model(PATH, safe_mode=True)"),
    "saved_model": SavedModelFormat("saved_model", "saved_model", 1e-5,
                                    "tf.saved_model.load(PATH).serve({input: array})"),
    "tflite": LiteRTFormat("tflite", "model.tflite", 1e-4,
                           "ai_edge_litert.interpreter.Interpreter(model_path=PATH).get_signature_runner()(**inputs)",
                           ("ai_edge_litert",)),
    "onnx": OnnxFormat("onnx", "model.onnx", 1e-4,
                       "onnxruntime.InferenceSession(PATH).run(None, {input: array})",
                       ("onnx", "onnxruntime", "tf2onnx")),
}


def _specs(signature: dict) -> dict:
    """``{input: (shape with None for the batch, dtype)}`` -> TensorSpecs named after the inputs."""
    import tensorflow as tf

    return {name: tf.TensorSpec(shape, tf.as_dtype(dtype), name=name) for name, (shape, dtype) in signature.items()}


def _cannot_represent(form: str, model, text: str) -> str:
    layers = layers_named_in(model, text)
    reason = _reason(text)
    where = f"layer {layers[0]}" if layers else "this model"
    more = f" (also {', '.join(layers[1:4])})" if len(layers) > 1 else ""
    return f"the {form} format cannot represent {where}{more}: {reason}"


def _reason(text: str) -> str:
    """The converter's own words, one line: its first 'error:' message, else its first line."""
    for pattern in (r"\): error: ([^\n]+)", r"\berror: ([^\n]+)", r"(No Op registered for [^\n=]+)", r"(Tensorflow op \[[^\n]+ is not supported)"):
        if match := re.search(pattern, text):
            return match.group(1).strip()[:300]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:300] if lines else "the converter failed"


class _quiet:
    """Converters print every op they look at, from C++ and from Python, to the process's stderr: it goes
    to a file for the duration, kept (``getvalue``) for the error message that needs it."""

    def __enter__(self):
        import sys
        import tempfile

        sys.stderr.flush()
        self.file = tempfile.TemporaryFile(mode="w+b")
        self.saved = os.dup(2)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        import sys

        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        return False

    def getvalue(self) -> str:
        self.file.seek(0)
        return self.file.read().decode("utf-8", "replace")
