"""The config bases every plugin section's pydantic model extends.

A plugin declares ``Config`` as a subclass of the base of its kind; unknown
fields are errors, so a misspelt option is reported at its line.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


class PluginConfig(BaseModel):
    """Base of every plugin section: ``plugin: <name>`` plus the plugin's options."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    plugin: str = Field(description="Which installed plugin handles this section.")


class ComponentConfig(PluginConfig):
    """Base of backbone and block sections."""

    name: str | None = Field(None, pattern=IDENTIFIER,
                             description="Name other sections use to refer to this component.")
    from_: str | list[str] | None = Field(
        None, alias="from",
        description="Where the input comes from: 'inputs.<name>', '<component>' or "
                    "'<component>.<endpoint>'. Omit to let the backbone create its own input.",
    )


class HeadConfig(PluginConfig):
    """Base of head sections: a head is a model output with its own loss."""

    name: str = Field(pattern=IDENTIFIER, description="Unique head name; also the Keras output name.")
    from_: str | list[str] | None = Field(
        None, alias="from",
        description="Reference(s) to the tensor(s) this head reads, e.g. 'backbone', "
                    "'backbone.block4_pool', 'encoder.states', 'inputs.x'. Default: the backbone's output.",
    )
    loss: str | None = Field(None, description="Keras loss name; the plugin chooses when omitted.")
    metrics: list[str] | None = Field(None, description="Keras metric names; plugin default when omitted.")
    loss_weight: float = Field(1.0, ge=0, description="Weight of this head's loss in the total loss.")


class FreezeConfig(PluginConfig):
    """Base of freeze policy sections."""

    batchnorm: Literal["inference", "train"] = Field(
        "inference",
        description="'inference': BatchNormalization layers stay frozen (inference mode) even where "
                    "the policy unfreezes their neighbours; 'train': they follow the policy.",
    )


class DataConfig(PluginConfig):
    """Base of data source sections."""


class TransformConfig(PluginConfig):
    """Base of text transform sections (items of a text data section's ``transforms`` list)."""


class TrackerConfig(PluginConfig):
    """Base of tracker sections (items of the spec's ``track`` list)."""
