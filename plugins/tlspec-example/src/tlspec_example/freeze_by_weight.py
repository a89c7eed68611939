"""``heaviest``: an example freeze policy, which freezes the layers holding the most weights.

A freeze policy is TensorFlow-free: it sees ``LayerInfo`` facts (name, whether it has weights,
whether it is BatchNorm) of the component it freezes, through a ``FreezeTarget``, and returns the
names to freeze. Here the sizes it needs are not in ``LayerInfo``, so it ranks layers by position
among the weighted ones: the bottom ``share`` of them, which in most backbones hold the generic
features worth keeping.
"""

from __future__ import annotations

from pydantic import Field

from tlspec.api import FreezeConfig, FreezePolicy, FreezeTarget, PlanError


class BottomShareConfig(FreezeConfig):
    share: float = Field(0.5, gt=0, le=1, description="Fraction of the weighted layers to freeze, from the bottom.")


class BottomShare(FreezePolicy):
    name = "bottom_share"
    summary = "Example plugin: freeze the bottom share of the layers that have weights."
    Config = BottomShareConfig

    def select(self, config: BottomShareConfig, target: FreezeTarget) -> set[str]:
        weighted = [layer.name for layer in target.layers if layer.has_weights]
        if not weighted:
            raise PlanError(f"'{target.component}' ({target.plugin}) has no layers with weights to freeze", ("share",))
        count = max(1, round(config.share * len(weighted)))
        last = weighted[count - 1]
        names = [layer.name for layer in target.layers]
        return set(names[: names.index(last) + 1])
