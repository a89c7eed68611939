"""Everything a plugin author imports, from one module.

A plugin is a module registered under the ``tlspec`` entry-point group that
implements hooks returning plugin objects. A whole backbone plugin::

    # my_package/tlspec_plugin.py
    from pydantic import Field, PositiveInt

    from tlspec.api import Backbone, Built, ComponentConfig, ComponentPlan, PlanError, TensorInfo, hookimpl


    class WideDenseConfig(ComponentConfig):
        units: PositiveInt = Field(64, description="Width of the layer.")


    class WideDense(Backbone):
        name = "wide_dense"                    # what users write after `plugin:`
        summary = "One wide Dense layer."
        Config = WideDenseConfig

        def plan(self, config, inputs, context):   # TensorFlow-free: validate runs it
            if len(inputs) != 1 or inputs[0].rank not in (None, 2):
                raise PlanError("wide_dense reads one (batch, features) tensor", ("from",))
            return ComponentPlan(output=TensorInfo((None, config.units)))

        def build(self, config, inputs, context):  # import Keras here, never at module level
            import keras

            layer = keras.layers.Dense(config.units, name=f"{context.name}_dense")
            return Built(output=layer(inputs[0]), layers=[layer])


    @hookimpl
    def tlspec_backbones():
        return [WideDense()]

    # pyproject.toml
    # [project.entry-points.tlspec]
    # wide_dense = "my_package.tlspec_plugin"

The five kinds (``Backbone``, ``Head``, ``FreezePolicy``, ``DataSource``,
``TextTransform``) and their hooks are documented in ``tlspec.plugin.kinds`` and
``tlspec.plugin.hookspecs``; ``docs/writing-plugins.md`` walks through each.
Importing this module never imports TensorFlow (``ReverseChannels``, a Keras
layer, is loaded on first use).
"""

from __future__ import annotations

from typing import Any

from tlspec.errors import PlanError, did_you_mean, one_of
from tlspec.plugin.configs import (
    IDENTIFIER,
    ComponentConfig,
    DataConfig,
    FreezeConfig,
    HeadConfig,
    PluginConfig,
    TrackerConfig,
    TransformConfig,
)
from tlspec.plugin.data import DataContext, DataDescription, DataField, LabelCounts
from tlspec.plugin.helpers import Pooling, apply, array_datasets, pool, split_indices, target_head
from tlspec.plugin.hookspecs import hookimpl
from tlspec.plugin.keras_objects import KerasObject
from tlspec.plugin.kinds import Backbone, DataSource, FreezePolicy, Head, Plugin, TextTransform, Tracker
from tlspec.plugin.outputs import ONE_HOT_LOSSES, HeadOutput, describe_output
from tlspec.plugin.paths import read_utf8
from tlspec.plugin.shapes import (
    UNKNOWN,
    Built,
    ComponentPlan,
    FreezeTarget,
    LayerInfo,
    PlanContext,
    StepDecoder,
    TensorInfo,
    UnknownEndpoint,
    format_shape,
)
from tlspec.plugin.tracking import TrackedRun, TrackerSession, flatten_spec
from tlspec.spec.transforms import chain

__all__ = [
    # registering
    "hookimpl",
    # the plugin kinds
    "Plugin", "Backbone", "Head", "FreezePolicy", "DataSource", "TextTransform", "Tracker",
    # their config bases
    "PluginConfig", "ComponentConfig", "HeadConfig", "FreezeConfig", "DataConfig", "TransformConfig", "TrackerConfig",
    "IDENTIFIER",
    # plans and builds
    "TensorInfo", "UNKNOWN", "LayerInfo", "FreezeTarget", "ComponentPlan", "PlanContext", "Built", "StepDecoder",
    # what a head's output means
    "HeadOutput", "describe_output", "ONE_HOT_LOSSES",
    # Keras objects (losses, metrics, layers) a plugin contributes
    "KerasObject",
    # trackers
    "TrackedRun", "TrackerSession", "flatten_spec",
    # data
    "DataField", "LabelCounts", "DataDescription", "DataContext",
    # errors and messages
    "PlanError", "UnknownEndpoint", "did_you_mean", "one_of", "format_shape",
    # helpers
    "chain", "read_utf8", "Pooling", "pool", "apply", "array_datasets", "split_indices", "target_head",
    "ReverseChannels",  # noqa: F822 - loaded by __getattr__
]


def __getattr__(name: str) -> Any:
    if name == "ReverseChannels":  # a Keras layer: importing it starts TensorFlow
        from tlspec.model.layers import ReverseChannels

        return ReverseChannels
    raise AttributeError(f"module 'tlspec.api' has no attribute '{name}'")
