"""Text transforms a data section lists under ``transforms``, resolved and chained.

Validation checks each item like any plugin section (located errors, did you
mean); a text data source calls ``chain`` to get one function applying them in
order. TensorFlow-free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from tlspec.errors import PlanError
from tlspec.plugin.kinds import KINDS
from tlspec.plugin.manager import Registry, UnknownPlugin, default_registry

TRANSFORMS_FIELD = "transforms"


def chain(items: Sequence[Any], registry: Registry | None = None) -> Callable[[str], str]:
    """One function applying every listed transform in order (identity for an empty list)."""
    registry = registry or default_registry()
    steps = []
    for index, item in enumerate(items):
        section = KINDS["transform"].expand(item)
        where = (TRANSFORMS_FIELD, index)
        if not isinstance(section, dict):
            raise PlanError("expected a transform name or a section with 'plugin'", where)
        try:
            record = registry.get("transform", section.get("plugin"))
        except UnknownPlugin as error:
            raise PlanError(str(error), where + ("plugin",)) from None
        try:
            config = record.config_model.model_validate(section)
        except ValidationError as error:
            first = error.errors()[0]
            raise PlanError(first["msg"], where + tuple(first["loc"])) from None
        steps.append((record.plugin, config))

    def apply(text: str) -> str:
        for plugin, config in steps:
            text = plugin.apply(config, text)
        return text

    return apply
