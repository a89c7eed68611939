"""``tlspec schema``: one JSON Schema of the spec language with every installed plugin.

Each plugin section becomes a union of the installed plugins' config models,
told apart by their ``plugin`` value, so an editor using
``# yaml-language-server: $schema=...`` completes and checks plugin options too.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import Field, create_model

from tlspec import __version__
from tlspec.plugin.kinds import KINDS
from tlspec.plugin.manager import Registry
from tlspec.spec.language import Spec
from tlspec.spec.transforms import TRANSFORMS_FIELD


def _tagged(record, transforms: Any = None) -> type:
    """The plugin's config model with ``plugin`` narrowed to its own name (and, for a data source that
    reads text, its ``transforms`` items typed as the installed transform plugins)."""
    fields = {"plugin": (Literal[record.name], Field(description=record.plugin.summary))}
    if transforms is not None and TRANSFORMS_FIELD in record.config_model.model_fields:
        original = record.config_model.model_fields[TRANSFORMS_FIELD]
        fields[TRANSFORMS_FIELD] = (list[transforms], Field(default_factory=list, description=original.description))
    return create_model(
        f"{record.kind}_{record.name}",
        __base__=record.config_model,
        __doc__=record.plugin.summary or record.config_model.__doc__,
        **fields,
    )


def _union(registry: Registry, kind: str, transforms: Any = None) -> Any:
    members = [_tagged(registry.records[kind][name], transforms) for name in registry.names(kind)]
    if not members:
        return dict[str, Any]
    if len(members) == 1:
        return members[0]
    return Union[tuple(members)]  # noqa: UP007 - built from a runtime list


def _section(registry: Registry, kind: str, transforms: Any = None) -> Any:
    """A plugin section's type; where the kind has a shorthand, a bare plugin name too."""
    union = _union(registry, kind, transforms)
    names = tuple(registry.names(kind))
    if not KINDS[kind].shorthand or not names:
        return union
    return Union[Literal[names], union]  # noqa: UP007 - built from a runtime list


def spec_model(registry: Registry) -> type:
    backbone = _section(registry, "backbone")
    transform = _section(registry, "transform") if registry.names("transform") else Any
    freeze = _section(registry, "freeze")
    return create_model(
        "TlspecSpec",
        __base__=Spec,
        backbone=(backbone, ...),
        blocks=(list[backbone], Field(default_factory=list)),
        heads=(list[_section(registry, "head")], Field(min_length=1)),
        freeze=(freeze, Field(default="none")),
        data=(_section(registry, "data", transform) | None, None),
    )


def json_schema(registry: Registry) -> dict:
    schema = spec_model(registry).model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tlspec spec"
    schema["description"] = f"tlspec {__version__} spec language, with the plugins installed when generated."
    return schema
