"""The hooks a tlspec plugin implements.

A plugin is a module (or object) registered under the ``tlspec`` entry-point
group, exactly like tlspec's own built-ins::

    [project.entry-points.tlspec]
    my_plugin = "my_package.tlspec_plugin"

and implements any of these hooks with ``@tlspec.api.hookimpl``. Each hook is
called once, with no arguments, when plugins are discovered, and returns the
plugin objects of one kind (instances of the base classes in ``tlspec.api``),
or, for ``tlspec_keras_objects``, declarations of Keras objects.
A function marked ``@hookimpl`` whose name is none of these (a misspelt hook)
makes its plugin fail to load, reported by ``tlspec plugins``, instead of being
ignored. Keep module import cheap: import Keras inside ``build``.
"""

from __future__ import annotations

import pluggy

PROJECT = "tlspec"
ENTRY_POINT_GROUP = "tlspec"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def tlspec_backbones():
    """Return an iterable of ``tlspec.api.Backbone`` instances.

    A backbone turns inputs into features: a pretrained network, a saved model,
    an embedding, an encoder. Backbones also serve as named ``blocks``.
    """


@hookspec
def tlspec_heads():
    """Return an iterable of ``tlspec.api.Head`` instances.

    A head is one model output with its own loss, metrics and loss weight.
    """


@hookspec
def tlspec_freeze_policies():
    """Return an iterable of ``tlspec.api.FreezePolicy`` instances.

    A freeze policy chooses which backbone layers are not trained.
    """


@hookspec
def tlspec_data_sources():
    """Return an iterable of ``tlspec.api.DataSource`` instances.

    A data source declares what it yields and builds tf.data pipelines.
    """


@hookspec
def tlspec_text_transforms():
    """Return an iterable of ``tlspec.api.TextTransform`` instances.

    A text transform rewrites texts before tokenizing (e.g. transliteration into
    another script); text data sources list them under ``transforms:``.
    """


@hookspec
def tlspec_trackers():
    """Return an iterable of ``tlspec.api.Tracker`` instances.

    A tracker follows runs as they train (parameters, per-epoch metrics, files); a spec lists the
    trackers it wants under ``track:``.
    """


@hookspec
def tlspec_keras_objects():
    """Return an iterable of ``tlspec.api.KerasObject`` declarations.

    Losses, metrics, layers and other serializable Keras objects the plugin's heads and
    backbones use, by name and import path. Their names are known to ``tlspec validate``
    without TensorFlow; the objects are imported and registered with Keras before every
    build and every reload of a model.
    """
