"""``keras_hub``: a KerasHub preset (BERT, RoBERTa, DeBERTa, XLM-R, ViT, DINOv2, …) as a backbone.

``preset`` is a KerasHub name, downloaded by KerasHub when the model is built, or a local preset
directory (``save_to_preset`` writes one), which ``validate`` reads without TensorFlow. A text
backbone creates its own inputs (``token_ids``, ``padding_mask``, and ``segment_ids`` for BERT), which
the text data sources fill with the same preset's tokenizer (their ``tokenizer`` option); its
output is the sequence output, and every transformer block, ``sequence_output`` and (BERT)
``pooled_output`` are endpoints. An image backbone creates an ``image`` input (the name the image
data sources give theirs); its patch tokens are the output and, where the family has one, its
feature pyramid levels are endpoints. The model is saved with KerasHub's own layers, which reload
in safe mode.

``architecture`` builds a new, randomly initialised backbone instead (``class: BertBackbone`` and its
sizes), to pretrain: its vocabulary size is the data source's vocabulary (``masked_text`` learns one).
``save_preset: true`` writes the trained backbone and its tokenizer as a KerasHub preset into
``<run>/preset`` after training, which a later spec's ``preset`` (and its data's ``tokenizer``) names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tlspec.api import (
    Backbone,
    Built,
    ComponentConfig,
    ComponentPlan,
    KerasObject,
    LayerInfo,
    PlanContext,
    PlanError,
    TensorInfo,
    UnknownEndpoint,
    did_you_mean,
    hookimpl,
    one_of,
)
from tlspec_builtins.common import component_layers
from tlspec_builtins.hub_presets import (
    IMAGE_FAMILIES,
    TEXT_FAMILIES,
    PresetInfo,
    check_sizes,
    hub_installed,
    image_endpoints,
    image_input,
    preset_info,
    require_hub,
    text_endpoints,
)

NORMALISATIONS = ("LayerNormalization", "BatchNormalization")


PRESET_FOLDER = "preset"
# The tokenizer a preset of a new backbone gets: WordPiece families, whose vocabulary masked_text learns.
WORDPIECE_TOKENIZERS = {"BertBackbone": "BertTokenizer", "DistilBertBackbone": "DistilBertTokenizer"}


class ArchitectureOptions(BaseModel):
    """A KerasHub backbone class and its constructor's arguments."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    class_name: str = Field(alias="class", description="The KerasHub backbone class, e.g. BertBackbone.")

    def arguments(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class KerasHubConfig(ComponentConfig):
    preset: str | None = Field(None, description="A KerasHub preset name (bert_base_en, hf://…) or a local preset "
                                                 "directory (relative to the spec).")
    architecture: ArchitectureOptions | None = Field(
        None, description="Instead of a preset: a new backbone, randomly initialised, to pretrain: {class: "
                          "BertBackbone, num_layers: 2, num_heads: 2, hidden_dim: 128, intermediate_dim: 512, "
                          "max_sequence_length: 64}; vocabulary_size defaults to the data's vocabulary.")
    save_preset: bool = Field(False, description="After training, write the trained backbone and its tokenizer as a "
                                                 "KerasHub preset in <run>/preset.")
    weights: bool = Field(True, description="Load the preset's pretrained weights (false: random initialisation).")
    output: str | None = Field(None, description="The endpoint that is the backbone's output; default: the "
                                                 "sequence output (text) or the patch tokens (images).")
    input_name: str = Field("image", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                            description="Image backbones: the name of the model input they create.")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.preset is None) == (self.architecture is None):
            raise ValueError("give either preset (a pretrained backbone) or architecture (a new one), not "
                             f"{'both' if self.preset else 'neither'}")
        if self.architecture is not None and not self.weights:
            raise ValueError("weights: false is for presets; an architecture is always randomly initialised")
        return self


class KerasHubBackbone(Backbone):
    name = "keras_hub"
    summary = ("A KerasHub preset (BERT, RoBERTa, DeBERTa, XLM-R, ViT, DINOv2, …), by name or local directory, "
               "or a new one from an architecture; save_preset writes the trained one as a preset.")
    Config = KerasHubConfig

    def plan(self, config: KerasHubConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        require_hub()
        info = backbone_info(config, context)
        if config.save_preset and config.architecture is not None:
            _preset_tokenizer(info, context)  # a new backbone needs a vocabulary its preset can carry
        if inputs and info.text:
            raise PlanError(f"{info.class_name} creates its own inputs ({', '.join(info.text.inputs)}), which the "
                            "data source's tokenizer fills; remove 'from'", ("from",))
        if info.text and info.config is None:  # a named preset: its inputs are known, its sizes when built
            own = {name: TensorInfo((None, None), exact=True) for name in info.text.inputs}
            plan = ComponentPlan(output=TensorInfo.of_rank(3), endpoints=None, layers=None, own_inputs=own)
        elif info.text:
            names, endpoints = text_endpoints(info)
            own = {name: TensorInfo((None, None), exact=True) for name in info.text.inputs}
            plan = ComponentPlan(output=endpoints["sequence_output"], endpoints=endpoints,
                                 layers=[LayerInfo(name, _has_weights(name)) for name in names], own_inputs=own)
        elif info.image and info.config is not None:
            names, endpoints, output = image_endpoints(info)
            own = {} if inputs else {config.input_name: image_input(info)}
            plan = ComponentPlan(output=output, endpoints=endpoints,
                                 layers=[LayerInfo(name, True) for name in names], own_inputs=own)
        else:  # a named preset, or a family validate does not know: checked when built
            plan = ComponentPlan(output=TensorInfo(), endpoints=None, layers=None)
        if config.output is not None:
            plan.output = _endpoint(plan.endpoints, config.output)
        return plan

    def build(self, config: KerasHubConfig, inputs: Sequence, context: PlanContext) -> Built:
        require_hub()
        info = backbone_info(config, context)
        backbone = new_backbone(info) if config.architecture is not None else load_backbone(info, config)
        layers = component_layers(backbone)
        tensors = _endpoint_tensors(backbone, layers)
        default = "sequence_output" if "sequence_output" in tensors else "output"
        output_name = config.output or default
        for name in [output_name, *sorted(context.wanted_endpoints)]:
            if name not in tensors:
                raise UnknownEndpoint(name, [n for n in tensors if n != "output"])
        wanted = sorted(context.wanted_endpoints)
        if _token_inputs(backbone):
            if inputs:
                raise PlanError(f"{type(backbone).__name__} creates its own inputs; remove 'from'", ("from",))
            created = {tensor.name: tensor for tensor in _inputs(backbone)}
            return Built(output=tensors[output_name], endpoints={name: tensors[name] for name in wanted},
                         layers=layers, inputs=created)
        return self._build_image(config, backbone, layers, tensors, output_name, wanted, inputs, context)

    def _build_image(self, config, backbone, layers, tensors, output_name, wanted, inputs, context) -> Built:
        import keras

        model_inputs = _inputs(backbone)
        if len(model_inputs) != 1:
            raise PlanError(f"{type(backbone).__name__} takes {len(model_inputs)} inputs; tlspec feeds image "
                            "backbones one", ("preset",))
        if len(inputs) > 1:
            raise PlanError(f"{type(backbone).__name__} reads one image tensor; 'from' lists {len(inputs)}",
                            ("from",))
        image = inputs[0] if inputs else keras.Input(shape=tuple(model_inputs[0].shape[1:]), name=config.input_name)
        if not wanted and output_name == "output":
            # The backbone itself in the graph: it is saved by its own config, which KerasHub's families all
            # reload from (some of their inner layers, ViT's patch embedding among them, do not).
            return Built(output=backbone(image), layers=layers, inputs={} if inputs else {config.input_name: image})
        wrapped = keras.Model(model_inputs, [tensors[output_name]] + [tensors[name] for name in wanted],
                              name=context.name)
        results = wrapped(image)
        results = results if isinstance(results, list) else [results]
        return Built(output=results[0], endpoints=dict(zip(wanted, results[1:])), layers=layers,
                     inputs={} if inputs else {config.input_name: image})


    def save_artifacts(self, config: KerasHubConfig, model_file: Path, run_dir: Path, context: PlanContext):
        if not config.save_preset:
            return []
        import keras
        import keras_hub

        info = backbone_info(config, context)
        trained = keras.saving.load_model(model_file, safe_mode=True, compile=False)
        fresh = new_backbone(info) if config.architecture is not None else load_backbone(info, config)
        trained_layers = {layer.name: layer for layer in trained.layers}
        copied, untouched = 0, []
        for layer in fresh.layers:
            if not layer.weights:
                continue
            if layer.name not in trained_layers:  # nothing read it (BERT's pooled_dense under a token head)
                untouched.append(layer.name)
                continue
            try:
                layer.set_weights(trained_layers[layer.name].get_weights())
            except ValueError as error:
                raise PlanError(f"layer '{layer.name}' of the trained model does not fit the preset's: {error}",
                                ("save_preset",)) from None
            copied += 1
        if copied == 0:
            raise PlanError("the trained model holds none of the backbone's layers", ("save_preset",))
        folder = run_dir / PRESET_FOLDER
        if config.architecture is not None:
            tokenizer_class, vocabulary, lowercase = _preset_tokenizer(info, context)
            tokenizer = getattr(keras_hub.models, tokenizer_class)(vocabulary=list(vocabulary), lowercase=lowercase)
        else:
            tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(info.preset)
        fresh.save_to_preset(str(folder))
        tokenizer.save_to_preset(str(folder))
        kept = (f"; {', '.join(untouched)} did not train (nothing read it) and keeps its "
                f"{'initial' if config.architecture is not None else 'preset'} weights") if untouched else ""
        context.note(f"wrote the trained {type(fresh).__name__} ({copied} layers, {fresh.count_params():,} "
                     f"parameters) and its tokenizer as a KerasHub preset: {folder}{kept}")
        return sorted(path for path in folder.rglob("*") if path.is_file())


def backbone_info(config: KerasHubConfig, context: PlanContext) -> PresetInfo:
    """What is known of the backbone before it is built: a preset's config, or the architecture's."""
    if config.architecture is None:
        return preset_info(config.preset, context.resolve_path)
    name = config.architecture.class_name
    known = {**TEXT_FAMILIES, **IMAGE_FAMILIES}
    if name not in known:
        raise PlanError(f"unknown architecture class '{name}'{did_you_mean(name, known)}; classes tlspec builds: "
                        f"{one_of(sorted(known))}", ("architecture", "class"))
    arguments = config.architecture.arguments()
    check_sizes(arguments, lambda key: ("architecture", key))
    if name in TEXT_FAMILIES:
        vocabulary = (context.data.vocabularies.get("token_ids") if context.data is not None else None)
        given = arguments.get("vocabulary_size")
        if given is None and vocabulary is None:
            raise PlanError("a new text backbone needs vocabulary_size: give it, or read data whose source learns "
                            "a vocabulary (masked_text)", ("architecture",))
        if given is not None and vocabulary is not None and given != len(vocabulary):
            raise PlanError(f"vocabulary_size is {given} but the data's vocabulary has {len(vocabulary)} tokens; "
                            "leave it out to use the data's", ("architecture", "vocabulary_size"))
        arguments.setdefault("vocabulary_size", len(vocabulary) if vocabulary is not None else given)
    return PresetInfo(f"architecture {name}", True, name, arguments)


def new_backbone(info: PresetInfo):
    import keras_hub

    try:
        return getattr(keras_hub.models, info.class_name)(**info.config)
    except (TypeError, ValueError) as error:
        raise PlanError(f"KerasHub cannot build {info.class_name} from these arguments: {error}",
                        ("architecture",)) from None


def _preset_tokenizer(info: PresetInfo, context: PlanContext) -> tuple[str, tuple[str, ...], bool]:
    """The tokenizer class, vocabulary and casing a new backbone's preset gets."""
    if info.class_name not in WORDPIECE_TOKENIZERS:
        raise PlanError(f"save_preset writes a WordPiece tokenizer, which {info.class_name} does not read; "
                        f"classes that read one: {one_of(WORDPIECE_TOKENIZERS)}", ("save_preset",))
    vocabulary = context.data.vocabularies.get("token_ids") if context.data is not None else None
    if not vocabulary:
        raise PlanError("save_preset needs the vocabulary the data source learned (masked_text has one), to write "
                        "the preset's tokenizer", ("save_preset",))
    # A vocabulary learned from lowercased text has no capitals outside its special tokens.
    lowercase = not any(ch.isupper() for token in vocabulary if not token.startswith("[") for ch in token)
    return WORDPIECE_TOKENIZERS[info.class_name], tuple(vocabulary), lowercase


def load_backbone(info: PresetInfo, config: KerasHubConfig):
    import keras_hub

    try:
        return keras_hub.models.Backbone.from_preset(info.preset, load_weights=config.weights)
    except Exception as error:
        where = "" if info.local else (" (KerasHub downloads named presets: without internet, point preset at a "
                                       "local preset directory)")
        raise PlanError(f"KerasHub cannot load preset {config.preset!r}: {type(error).__name__}: "
                        f"{str(error).strip().splitlines()[0] if str(error).strip() else ''}{where}",
                        ("preset",)) from None


def _inputs(backbone) -> list:
    found = backbone.input
    return list(found.values()) if isinstance(found, dict) else list(found) if isinstance(found, list) else [found]


def _token_inputs(backbone) -> bool:
    return isinstance(backbone.input, dict) and "token_ids" in backbone.input


def _endpoint_tensors(backbone, layers) -> dict:
    """Every tensor a head may read: each layer's output, the named outputs, the pyramid levels."""
    tensors = {}
    for layer in layers:
        try:
            tensors[layer.name] = layer.output
        except (AttributeError, ValueError):  # a layer called more than once has no single output
            continue
    outputs = backbone.output
    if isinstance(outputs, dict):
        tensors.update(outputs)
        tensors["output"] = outputs.get("sequence_output", next(iter(outputs.values())))
    else:
        tensors["output"] = outputs
        if _token_inputs(backbone):
            tensors["sequence_output"] = outputs
    tensors.update(getattr(backbone, "pyramid_outputs", None) or {})
    return tensors


def _endpoint(endpoints: dict[str, TensorInfo] | None, name: str) -> TensorInfo:
    if endpoints is None:
        return TensorInfo()
    if name not in endpoints:
        raise PlanError(f"the preset has no endpoint '{name}'{did_you_mean(name, endpoints)}; endpoints: "
                        f"{one_of(endpoints, limit=8)}", ("output",))
    return endpoints[name]


def _has_weights(name: str) -> bool:
    return not name.endswith(("_add", "_dropout"))


@hookimpl
def tlspec_backbones():
    return [KerasHubBackbone()]


@hookimpl
def tlspec_keras_objects():
    # Importing KerasHub registers its layers, so runs holding them reload in safe mode; declared only
    # where it is installed, so every other model builds and loads without it.
    return [KerasObject("object", "keras_hub_backbone", "keras_hub.models:Backbone")] if hub_installed() else []
