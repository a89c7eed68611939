"""The plugins' Keras objects, imported and registered with Keras before a model is built or loaded.

Keras resolves a loss or metric named in ``compile`` and every class in a saved model's config
through its registry of custom objects; registering each plugin's declared objects there is
what lets a plugin head use its own loss, and a run holding a plugin layer reload in safe mode.
"""

from __future__ import annotations

from tlspec.errors import TlspecError
from tlspec.plugin.manager import Registry, default_registry


def register_plugin_objects(registry: Registry | None = None) -> None:
    """Import every installed plugin's Keras objects and make Keras resolve them by name."""
    import keras

    custom = keras.saving.get_custom_objects()
    for name, record in (registry or default_registry()).keras_objects.items():
        declaration, origin = record.declaration, record.origin
        try:
            value = declaration.load()
        except Exception as error:
            raise TlspecError(f"plugin '{origin.entry_point}' from {origin.distribution} {origin.version}: its "
                              f"{declaration.kind} '{name}' cannot be imported from {declaration.target} "
                              f"({type(error).__name__}: {error})") from None
        custom[name] = value
        if isinstance(value, type):  # a saved model names a class by its registered name
            custom.setdefault(keras.saving.get_registered_name(value), value)
