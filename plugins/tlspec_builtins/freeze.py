"""Built-in freeze policies: which backbone layers are not trained.

Every policy sees the backbone's layers in graph order (input layers excluded).
"Layers with weights" are the ones that can be trained at all; policies that
count layers count those, so pooling and activation layers do not shift N.
BatchNormalization layers stay frozen (inference mode) unless the section says
``batchnorm: train`` — the default of the ``none`` policy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt, field_validator

from tlspec.api import (
    FreezeConfig,
    FreezePolicy,
    FreezeTarget,
    LayerInfo,
    PlanError,
    did_you_mean,
    hookimpl,
    one_of,
)


class AllConfig(FreezeConfig):
    pass


class NoneConfig(FreezeConfig):
    batchnorm: Literal["inference", "train"] = "train"


class UntilConfig(FreezeConfig):
    layer: str = Field(description="Freeze the backbone's layers up to this one.")
    inclusive: bool = Field(True, description="Freeze the named layer too (false: it stays trainable).")


class TrainLastConfig(FreezeConfig):
    n: PositiveInt = Field(description="How many of the last layers with weights stay trainable.")


class PatternConfig(FreezeConfig):
    include: list[str] = Field(default_factory=lambda: [".*"],
                               description="Regexes (full match) of layer names to freeze.")
    exclude: list[str] = Field(default_factory=list,
                               description="Regexes of layer names to keep trainable even if included.")

    @field_validator("include", "exclude")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"invalid regular expression {pattern!r}: {error}") from None
        return patterns


class FractionConfig(FreezeConfig):
    fraction: float = Field(gt=0.0, le=1.0,
                            description="Freeze this fraction of the layers with weights, from the bottom.")


class BlocksConfig(FreezeConfig):
    n: NonNegativeInt = Field(description="Freeze the layers below the first block (the embeddings) and the bottom "
                                          "N blocks; 0 freezes the embeddings only.")


# KerasHub's defaults: the query and value projections of every attention layer.
LORA_LAYERS = ["query_dense", "value_dense", "query", "value"]


class LoraConfig(FreezeConfig):
    rank: PositiveInt = Field(description="Rank of the low-rank update LoRA learns for each adapted weight.")
    layers: list[str] = Field(default_factory=lambda: list(LORA_LAYERS), min_length=1,
                              description="Names of the Dense/EinsumDense sublayers that get adapters (default: "
                                          "attention query and value); every other weight is frozen.")


BLOCK = re.compile(r".*_(\d+)")  # a repeated block: transformer_layer_3, disentangled_attention_encoder_layer_3


def _weighted(layers: Sequence[LayerInfo]) -> list[LayerInfo]:
    return [layer for layer in layers if layer.has_weights]


def _up_to(layers: Sequence[LayerInfo], name: str, inclusive: bool) -> set[str]:
    """Names of the layers before ``name`` in graph order (and ``name`` itself if inclusive)."""
    names = [layer.name for layer in layers]
    return set(names[:names.index(name) + (1 if inclusive else 0)])


class All(FreezePolicy):
    name = "all"
    summary = "Freeze every backbone layer."
    Config = AllConfig

    def select(self, config, target: FreezeTarget):
        return {layer.name for layer in target.layers}


class Nothing(FreezePolicy):
    name = "none"
    summary = "Train every backbone layer (BatchNorm too, unless batchnorm: inference)."
    Config = NoneConfig

    def select(self, config, target: FreezeTarget):
        return set()


class Until(FreezePolicy):
    name = "until"
    summary = "Freeze layers up to (and including) a named layer; train the rest."
    Config = UntilConfig

    def select(self, config: UntilConfig, target: FreezeTarget):
        layers = target.layers
        names = [layer.name for layer in layers]
        if config.layer not in names:
            raise PlanError(f"the backbone has no layer '{config.layer}'{did_you_mean(config.layer, names)}",
                            ("layer",))
        return _up_to(layers, config.layer, config.inclusive)


class TrainLast(FreezePolicy):
    name = "train_last"
    summary = "Freeze everything except the last N layers that have weights."
    Config = TrainLastConfig

    def select(self, config: TrainLastConfig, target: FreezeTarget):
        layers = target.layers
        weighted = _weighted(layers)
        if config.n > len(weighted):
            raise PlanError(f"the backbone has only {len(weighted)} layers with weights; n is {config.n}",
                            ("n",))
        return _up_to(layers, weighted[-config.n].name, inclusive=False)


class Pattern(FreezePolicy):
    name = "pattern"
    summary = "Freeze layers whose names match include regexes and no exclude regex."
    Config = PatternConfig

    def select(self, config: PatternConfig, target: FreezeTarget):
        layers = target.layers
        names = [layer.name for layer in layers]
        for field, patterns in (("include", config.include), ("exclude", config.exclude)):
            for index, pattern in enumerate(patterns):
                if not any(re.fullmatch(pattern, name) for name in names):
                    raise PlanError(f"pattern {pattern!r} matches no backbone layer "
                                    f"(layers: {one_of(names, limit=6)})", (field, index))
        return {name for name in names
                if any(re.fullmatch(p, name) for p in config.include)
                and not any(re.fullmatch(p, name) for p in config.exclude)}


class Fraction(FreezePolicy):
    name = "fraction"
    summary = "Freeze the bottom fraction of the layers that have weights."
    Config = FractionConfig

    def select(self, config: FractionConfig, target: FreezeTarget):
        layers = target.layers
        weighted = _weighted(layers)
        count = round(config.fraction * len(weighted))
        if count == 0:
            return set()
        return _up_to(layers, weighted[count - 1].name, inclusive=True)


class Blocks(FreezePolicy):
    name = "blocks"
    summary = "Freeze a transformer's embeddings and its bottom N blocks (layers named …_<index>)."
    Config = BlocksConfig

    def select(self, config: BlocksConfig, target: FreezeTarget):
        names = [layer.name for layer in target.layers]
        block_of = [found.group(1) if (found := BLOCK.fullmatch(name)) else None for name in names]
        blocks = list(dict.fromkeys(block for block in block_of if block is not None))
        if not blocks:
            raise PlanError(f"the backbone has no numbered blocks (layers named like transformer_layer_0; its "
                            f"layers: {one_of(names, limit=6)}); use until or pattern", ("n",))
        if config.n > len(blocks):
            raise PlanError(f"the backbone has {len(blocks)} blocks; n is {config.n}", ("n",))
        if config.n == len(blocks):  # everything up to the last block's last layer
            last = max(index for index, block in enumerate(block_of) if block == blocks[-1])
            return set(names[:last + 1])
        return set(names[:block_of.index(blocks[config.n])])  # everything below block n's first layer


class Lora(FreezePolicy):
    name = "lora"
    summary = "LoRA: freeze every backbone weight and learn low-rank adapters of the attention projections."
    Config = LoraConfig

    def select(self, config: LoraConfig, target: FreezeTarget):
        return set()  # the layers stay trainable; adapt() freezes their weights, leaving the adapters

    def adapt(self, config: LoraConfig, layers) -> None:
        adapted = [sub for layer in layers for sub in _sublayers(layer) if sub.name in config.layers]
        if not adapted:
            raise PlanError(f"the backbone has no layer named {one_of(config.layers)} to adapt", ("layers",))
        for sub in adapted:
            if not hasattr(sub, "enable_lora"):
                raise PlanError(f"layer '{sub.path}' ({type(sub).__name__}) cannot take LoRA adapters; only "
                                "Dense and EinsumDense layers can", ("layers",))
            if not sub.lora_enabled:
                sub.enable_lora(config.rank)
            elif sub.lora_rank != config.rank:
                raise PlanError(f"layer '{sub.path}' already has rank-{sub.lora_rank} adapters from an earlier "
                                f"phase; rank {config.rank} cannot replace them", ("rank",))
        for layer in layers:
            for variable in layer.weights:
                variable.trainable = variable.name.startswith("lora_kernel")


def _sublayers(layer) -> list:
    found, waiting = [], [layer]
    while waiting:
        current = waiting.pop()
        found.append(current)
        waiting += getattr(current, "_layers", [])
    return found


@hookimpl
def tlspec_freeze_policies():
    return [All(), Nothing(), Until(), TrainLast(), Pattern(), Fraction(), Blocks(), Lora()]
