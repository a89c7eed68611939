"""``tlspec schema``: one JSON Schema of the spec language with every installed plugin.

Each plugin section is typed as the installed plugins' config models told apart
by their ``plugin`` value, with the shorthands the validator expands (``freeze:
all``, ``optimizer: adam``, ``distribute: mirrored``), so an editor using
``# yaml-language-server: $schema=...`` completes and checks plugin options too.
How the sections look in JSON is decided in ``tlspec.spec.editor_schema``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, WithJsonSchema, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonRef, models_json_schema

from tlspec import __version__
from tlspec.plugin.kinds import KINDS
from tlspec.plugin.manager import Registry
from tlspec.spec.editor_schema import DEFS, keys_listed, noun, plugin_dispatch, with_extending
from tlspec.spec.language import OPTIMIZERS, AdaptSpec, DistributeSpec, OptimizerSpec, PhaseSpec, Spec, TrainSpec
from tlspec.spec.transforms import TRANSFORMS_FIELD

ROOT = "TlspecSpec"


class _EditorJsonSchema(GenerateJsonSchema):
    def field_title_should_be_set(self, schema) -> bool:
        return False  # a field title only repeats the key ('Learning Rate'); editors show key and description

    def handle_ref_overrides(self, json_schema: dict) -> dict:
        if JsonRef(json_schema.get("$ref", "")) not in self.json_to_defs_refs:
            return json_schema  # a plugin section's dispatch, added after generation
        return super().handle_ref_overrides(json_schema)


def _tagged(record, transform_section: Any = None) -> type:
    """The plugin's config model with ``plugin`` narrowed to its own name (and, for a data source that
    reads text, its ``transforms`` items typed as the installed transform plugins)."""
    fields = {"plugin": (Literal[record.name], Field(description=record.plugin.summary))}
    if transform_section is not None and TRANSFORMS_FIELD in record.config_model.model_fields:
        original = record.config_model.model_fields[TRANSFORMS_FIELD]
        fields[TRANSFORMS_FIELD] = (list[transform_section], Field(default_factory=list,
                                                                   description=original.description))
    return create_model(
        f"{record.kind}_{record.name}",
        __base__=record.config_model,
        __doc__=record.plugin.summary or record.config_model.__doc__,
        **fields,
    )


def _needs_no_options(model: type) -> bool:
    return not any(field.is_required() for name, field in model.model_fields.items() if name != "plugin")


def _section(kind: str, members: dict[str, type]) -> Any:
    """A plugin section's type: the members told apart by ``plugin`` (in JSON, the dispatch definition named
    after the kind); where the kind has a shorthand, also the name of a plugin that needs no options."""
    if not members:
        return dict[str, Any]
    models = tuple(members.values())
    tagged = models[0] if len(models) == 1 else Annotated[Union[models], Field(discriminator="plugin")]  # noqa: UP007
    section = Annotated[tagged, WithJsonSchema({"$ref": DEFS + kind})]
    bare_names = tuple(name for name, model in members.items() if _needs_no_options(model))
    if not KINDS[kind].shorthand or not bare_names:
        return section
    return Union[Literal[bare_names], section]  # noqa: UP007 - built from a runtime list


def _plugin_models(registry: Registry) -> dict[str, dict[str, type]]:
    """Each kind's tagged config models by plugin name; transforms first, since text data sources list them."""
    models = {"transform": {name: _tagged(registry.get("transform", name)) for name in registry.names("transform")}}
    transform = _section("transform", models["transform"]) if models["transform"] else Any
    for kind in KINDS:
        if kind != "transform":
            models[kind] = {name: _tagged(registry.get(kind, name), transform) for name in registry.names(kind)}
    return models


def _spec_model(models: dict[str, dict[str, type]]) -> type:
    """The core model with typed plugin sections and the string shorthands its validators expand."""
    backbone, freeze, data = (_section(kind, models[kind]) for kind in ("backbone", "freeze", "data"))
    optimizer = create_model("OptimizerSpec", __base__=OptimizerSpec,
                             name=(Literal[OPTIMIZERS], OptimizerSpec.model_fields["name"]))
    phase = create_model("PhaseSpec", __base__=PhaseSpec, freeze=(freeze | None, PhaseSpec.model_fields["freeze"]))
    train = create_model("TrainSpec", __base__=TrainSpec,
                         optimizer=(Literal[OPTIMIZERS] | optimizer, Field(default_factory=optimizer)),
                         phases=(list[phase], TrainSpec.model_fields["phases"]))
    adapt = create_model("AdaptSpec", __base__=AdaptSpec, target=(data, AdaptSpec.model_fields["target"]))
    strategy = DistributeSpec.model_fields["strategy"].annotation
    return create_model(
        ROOT,
        __base__=Spec,
        backbone=(backbone, ...),
        blocks=(list[backbone], Spec.model_fields["blocks"]),
        heads=(list[_section("head", models["head"])], Spec.model_fields["heads"]),
        freeze=(freeze, Field(default="none", description=Spec.model_fields["freeze"].description)),
        data=(data | None, None),
        train=(train, Field(default_factory=train)),
        distribute=(strategy | DistributeSpec, Spec.model_fields["distribute"]),
        adapt=(adapt | None, Spec.model_fields["adapt"]),
        track=(list[_section("tracker", models["tracker"])], Spec.model_fields["track"]),
    )


def spec_model(registry: Registry) -> type:
    """The pydantic model the JSON Schema is generated from (it accepts every composed spec)."""
    return _spec_model(_plugin_models(registry))


def json_schema(registry: Registry) -> dict:
    models = _plugin_models(registry)
    listed = [_spec_model(models)] + [model for kind in KINDS for model in models[kind].values()]
    _, generated = models_json_schema([(model, "validation") for model in listed], by_alias=True,
                                      schema_generator=_EditorJsonSchema)
    defs = keys_listed(generated["$defs"])
    for kind, members in models.items():
        if members:
            kind_noun = noun(KINDS[kind].base)
            for name, model in members.items():
                defs[model.__name__]["title"] = f"{name} {kind_noun}"  # what completion shows, not backbone_mlp
            assert kind not in defs, f"a definition is named like the {kind} plugin section"
            defs[kind] = plugin_dispatch(kind_noun, {name: model.__name__ for name, model in members.items()}, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "tlspec spec",
        "description": f"tlspec {__version__} spec language, with the plugins installed when generated.",
        **with_extending(ROOT, defs),
    }
