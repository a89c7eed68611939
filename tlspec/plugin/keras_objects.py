"""Keras objects a plugin contributes: losses, metrics, layers and any other serializable object.

A plugin declares each one by name and import path (``tlspec_keras_objects`` hook), so
``tlspec validate`` knows the names without importing TensorFlow; the engine imports and
registers them with Keras before every build and every load (``tlspec.model.custom_objects``).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from tlspec.plugin.keras_names import COMPILE_METRIC_ALIASES, LOSSES, METRICS

ObjectKind = Literal["loss", "metric", "layer", "object"]
OBJECT_KINDS: tuple[str, ...] = ("loss", "metric", "layer", "object")
TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class KerasObject:
    """One Keras object a plugin contributes.

    ``name`` is what a spec writes (``loss: coral_loss``) and what Keras resolves when it compiles
    or reloads a model. ``target`` is ``"package.module:attribute"``, imported only when a model is
    built or loaded. A layer class should be ``@keras.saving.register_keras_serializable``; its
    config must be plain data, so saved models reload in safe mode.
    """

    kind: ObjectKind
    name: str
    target: str

    def load(self) -> Any:
        module_name, _, attribute = self.target.partition(":")
        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
        return value


def declaration_problem(declaration: object) -> str | None:
    """Why ``declaration`` cannot be registered, or None."""
    if not isinstance(declaration, KerasObject):
        return f"tlspec_keras_objects() returned {declaration!r}, not a tlspec.api.KerasObject"
    if declaration.kind not in OBJECT_KINDS:
        return f"Keras object '{declaration.name}': kind must be one of {', '.join(OBJECT_KINDS)}"
    if not isinstance(declaration.name, str) or not declaration.name.isidentifier():
        return f"Keras object name must be an identifier, got {declaration.name!r}"
    if not isinstance(declaration.target, str) or not TARGET.match(declaration.target):
        return (f"Keras object '{declaration.name}': target must be 'package.module:attribute', got "
                f"{declaration.target!r}")
    if declaration.name in LOSSES or declaration.name in METRICS or declaration.name in COMPILE_METRIC_ALIASES:
        return f"Keras object '{declaration.name}' would hide Keras' own '{declaration.name}'; choose another name"
    return None
