"""KerasHub presets without TensorFlow: where a preset is, and what its ``config.json`` says.

A preset is a KerasHub name (``bert_base_en``, ``hf://…``, ``kaggle://…``), downloaded by KerasHub at
build time, or a local directory written by ``save_to_preset``. For a local one, ``validate`` reads the
backbone's class and sizes from ``config.json`` and knows, for the families below, its inputs, layer
names and output shapes, so references such as ``backbone.transformer_layer_3`` are checked before
anything is built. Other classes are checked at build.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from tlspec.api import PlanError, TensorInfo

INSTALL_HINT = "install it with: pip install 'tlspec[hub]'"
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # a backbone's config.json is a few kilobytes
MAX_BLOCKS = 1024  # the deepest KerasHub presets have under 100; more is a typo, and validate lists every block
MAX_PARAMETERS = 20_000_000_000  # 80 GB of float32 weights: beyond any machine tlspec trains on
SIZES = ("num_layers", "num_heads", "hidden_dim", "intermediate_dim", "max_sequence_length", "vocabulary_size")


@dataclass(frozen=True)
class TextFamily:
    """A transformer text encoder: its inputs, the layers before its blocks, its block names, its outputs."""

    inputs: tuple[str, ...]
    embeddings: tuple[str, ...]
    block: str  # block layer name, with {} for the index
    after: tuple[str, ...] = ()  # layers above the blocks
    pooled: bool = False  # a pooled ([CLS]) output besides the sequence


@dataclass(frozen=True)
class ImageFamily:
    """An image backbone: its layers, and the feature-pyramid levels it exposes."""

    layers: tuple[str, ...]
    levels: str | None = None  # pyramid level names, with {} for 1..num_layers, besides 'stem'


TEXT_FAMILIES = {
    "BertBackbone": TextFamily(("token_ids", "segment_ids", "padding_mask"),
                               ("token_embedding", "position_embedding", "segment_embedding", "embeddings_add",
                                "embeddings_layer_norm", "embeddings_dropout"),
                               "transformer_layer_{}", ("pooled_dense",), pooled=True),
    "DistilBertBackbone": TextFamily(("token_ids", "padding_mask"),
                                     ("token_and_position_embedding", "embeddings_layer_norm", "embeddings_dropout"),
                                     "transformer_layer_{}"),
    "RobertaBackbone": TextFamily(("token_ids", "padding_mask"),
                                  ("embeddings", "embeddings_layer_norm", "embeddings_dropout"),
                                  "transformer_layer_{}"),
    "XLMRobertaBackbone": TextFamily(("token_ids", "padding_mask"),
                                     ("embeddings", "embeddings_layer_norm", "embeddings_dropout"),
                                     "transformer_layer_{}"),
    "DebertaV3Backbone": TextFamily(("token_ids", "padding_mask"),
                                    ("token_embedding", "embeddings_layer_norm", "embeddings_dropout", "rel_embedding"),
                                    "disentangled_attention_encoder_layer_{}"),
}
IMAGE_FAMILIES = {
    "ViTBackbone": ImageFamily(("vit_patching_and_embedding", "vit_encoder")),
    "DINOV2Backbone": ImageFamily(("embeddings", "encoder", "layernorm"), levels="stage{}"),
}

# KerasHub's preset names start with their family: what validate knows of a named preset.
NAME_PREFIXES = {"bert_": "BertBackbone", "distil_bert_": "DistilBertBackbone", "roberta_": "RobertaBackbone",
                 "xlm_roberta_": "XLMRobertaBackbone", "deberta_v3_": "DebertaV3Backbone", "vit_": "ViTBackbone",
                 "dinov2_": "DINOV2Backbone"}


@dataclass(frozen=True)
class PresetInfo:
    """What ``validate`` knows of a preset: its backbone class and config (empty for a named preset)."""

    preset: str  # what KerasHub's from_preset is given: a name, or a local directory's path
    local: bool
    class_name: str | None = None
    config: dict | None = None

    @property
    def text(self) -> TextFamily | None:
        return TEXT_FAMILIES.get(self.class_name or "")

    @property
    def image(self) -> ImageFamily | None:
        return IMAGE_FAMILIES.get(self.class_name or "")


def hub_installed() -> bool:
    return importlib.util.find_spec("keras_hub") is not None


def require_hub(field: tuple = ("plugin",), who: str = "the keras_hub backbone") -> None:
    """PlanError at ``field`` when KerasHub is not installed."""
    if not hub_installed():
        raise PlanError(f"{who} needs KerasHub, which is not installed; {INSTALL_HINT}", field)


def looks_local(value: str) -> bool:
    """A path rather than a KerasHub name: names have no slashes, except handles such as hf://…"""
    return "://" not in value and ("/" in value or "\\" in value or value.startswith("."))


def preset_info(value: str, resolve, field: tuple = ("preset",)) -> PresetInfo:
    """The preset ``value`` names; ``resolve`` makes a spec-relative path absolute."""
    path = resolve(value) if "://" not in value else None
    if path is not None and path.is_dir():
        class_name, config = read_backbone_config(path, field)
        check_sizes(config, lambda key: field, f"{path / 'config.json'}: ")
        return PresetInfo(str(path), True, class_name, config)
    if looks_local(value):
        raise PlanError(f"preset directory not found: {value} (looked for {path}); a local preset is a folder "
                        "written by KerasHub's save_to_preset, holding config.json", field)
    family = next((name for prefix, name in NAME_PREFIXES.items() if value.startswith(prefix)), None)
    return PresetInfo(value, False, family)


def read_backbone_config(folder: Path, field: tuple) -> tuple[str, dict]:
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise PlanError(f"{folder} is not a KerasHub preset: it has no config.json (save_to_preset writes one)",
                        field)
    if config_file.stat().st_size > MAX_CONFIG_BYTES:
        raise PlanError(f"{config_file} is {config_file.stat().st_size:,} bytes; a backbone's config is a few "
                        "kilobytes, so this is not a preset", field)
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PlanError(f"{config_file} is not JSON ({error})", field) from None
    if not isinstance(data, dict) or not isinstance(data.get("class_name"), str) \
            or not isinstance(data.get("config"), dict):
        raise PlanError(f"{config_file} does not describe a KerasHub backbone (no class_name and config)", field)
    return data["class_name"], data["config"]


def check_sizes(config: dict, field_of, prefix: str = "") -> None:
    """Sizes are positive whole numbers, the blocks few enough to list, the weights few enough to hold."""
    for key in SIZES:
        value = config.get(key)
        if key in config and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise PlanError(f"{prefix}{key} must be a positive whole number, got {value!r}", field_of(key))
    blocks = config.get("num_layers", 0)
    if blocks > MAX_BLOCKS:
        raise PlanError(f"{prefix}num_layers is {blocks:,}; tlspec builds at most {MAX_BLOCKS:,} blocks (the deepest "
                        "KerasHub presets have under 100)", field_of("num_layers"))
    weights = estimated_parameters(config)
    if weights > MAX_PARAMETERS:
        raise PlanError(f"{prefix}these sizes make about {weights:.3g} weights ({weights * 4 / 1e9:,.0f} GB as "
                        f"float32); tlspec builds at most {MAX_PARAMETERS:,}", field_of("hidden_dim"))


def estimated_parameters(config: dict) -> int:
    """A transformer's weights, roughly: embeddings plus, per block, attention (4h²) and feed-forward (2hi)."""
    hidden = config.get("hidden_dim", 0)
    inner = config.get("intermediate_dim", 4 * hidden)
    rows = config.get("vocabulary_size", 0) + config.get("max_sequence_length", 0)
    return rows * hidden + config.get("num_layers", 0) * (4 * hidden * hidden + 2 * hidden * inner)


def _size(config: dict, key: str) -> int | None:
    value = config.get(key)
    return value if isinstance(value, int) and value > 0 else None


def text_endpoints(info: PresetInfo) -> tuple[list[str], dict[str, TensorInfo]]:
    """A text family's layer names in graph order, and every endpoint's shape."""
    family, config = info.text, info.config or {}
    hidden, blocks = _size(config, "hidden_dim"), _size(config, "num_layers") or 0
    sequence = TensorInfo((None, None, hidden), exact=hidden is not None)
    names = [*family.embeddings, *(family.block.format(index) for index in range(blocks)), *family.after]
    endpoints = {name: sequence for name in names}
    endpoints["sequence_output"] = sequence
    if family.pooled:
        endpoints["pooled_output"] = endpoints["pooled_dense"] = TensorInfo((None, hidden), exact=hidden is not None)
    return names, endpoints


def image_endpoints(info: PresetInfo) -> tuple[list[str], dict[str, TensorInfo], TensorInfo]:
    """An image family's layer names, endpoints and output: tokens of patches (plus the class token)."""
    family, config = info.image, info.config or {}
    hidden = _size(config, "hidden_dim")
    image, patch = config.get("image_shape"), config.get("patch_size")
    patch = [patch, patch] if isinstance(patch, int) else patch
    tokens = None
    if (isinstance(image, list) and len(image) == 3 and all(isinstance(v, int) for v in image[:2])
            and isinstance(patch, list) and len(patch) == 2 and all(isinstance(v, int) and v > 0 for v in patch)):
        tokens = (image[0] // patch[0]) * (image[1] // patch[1]) + (1 if config.get("use_class_token", True) else 0)
    output = TensorInfo((None, tokens, hidden), exact=tokens is not None and hidden is not None)
    endpoints = {name: output for name in family.layers}
    if family.levels:
        for name in ["stem", *(family.levels.format(i) for i in range(1, (_size(config, "num_layers") or 0) + 1))]:
            endpoints[name] = output
    return list(family.layers), endpoints, output


def image_input(info: PresetInfo) -> TensorInfo:
    shape = (info.config or {}).get("image_shape")
    if isinstance(shape, list) and len(shape) == 3:
        return TensorInfo((None, *[v if isinstance(v, int) else None for v in shape]), exact=True)
    return TensorInfo((None, None, None, 3), exact=False)
