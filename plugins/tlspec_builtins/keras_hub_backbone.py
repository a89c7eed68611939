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
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

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
    PresetInfo,
    hub_installed,
    image_endpoints,
    image_input,
    preset_info,
    require_hub,
    text_endpoints,
)

NORMALISATIONS = ("LayerNormalization", "BatchNormalization")


class KerasHubConfig(ComponentConfig):
    preset: str = Field(description="A KerasHub preset name (bert_base_en, hf://…) or a local preset directory "
                                    "(relative to the spec).")
    weights: bool = Field(True, description="Load the preset's pretrained weights (false: random initialisation).")
    output: str | None = Field(None, description="The endpoint that is the backbone's output; default: the "
                                                 "sequence output (text) or the patch tokens (images).")
    input_name: str = Field("image", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                            description="Image backbones: the name of the model input they create.")


class KerasHubBackbone(Backbone):
    name = "keras_hub"
    summary = "A KerasHub preset (BERT, RoBERTa, DeBERTa, XLM-R, ViT, DINOv2, …), by name or local directory."
    Config = KerasHubConfig

    def plan(self, config: KerasHubConfig, inputs: Sequence[TensorInfo], context: PlanContext) -> ComponentPlan:
        require_hub()
        info = preset_info(config.preset, context.resolve_path)
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
        info = preset_info(config.preset, context.resolve_path)
        backbone = load_backbone(info, config)
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
