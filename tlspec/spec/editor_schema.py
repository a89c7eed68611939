"""JSON Schema shapes an editor's language server checks the way ``tlspec validate`` does.

Servers such as yaml-language-server ignore OpenAPI's ``discriminator``; with a
plain ``oneOf`` they keep only the alternatives that match best, so a wrong
plugin name lists part of the choices and a wrong option is reported once per
plugin. A plugin section is therefore a *dispatch*: ``plugin`` must be one of
the installed names, and ``if``/``then`` hands the section to that plugin's
schema alone. A spec that ``extends`` others is checked by a copy of the schema
in which nothing is required, since its parents give what it leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

DEFS = "#/$defs/"
EXTENDING = "extending"  # $defs/extending/$defs: the schema of a spec that extends others
# Keywords whose value is a mapping of names to schemas, and those whose value is data, not a schema.
NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
DATA = frozenset({"default", "const", "enum", "examples"})


def noun(kind_base: type) -> str:
    """What users call a plugin of a kind: FreezePolicy -> 'freeze policy'."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind_base.__name__).lower()


def keys_listed(defs: dict[str, dict]) -> dict[str, dict]:
    """The definitions with each closed object's keys given as ``propertyNames``, so a misspelt key is
    reported with the keys allowed there (``additionalProperties: false`` only says it is not allowed)."""
    def list_keys(node: dict) -> dict:
        if node.get("additionalProperties") is not False or "properties" not in node:
            return node
        closed = {key: value for key, value in node.items() if key != "additionalProperties"}
        return {**closed, "propertyNames": _key_names("allowed fields", node["properties"])}
    return {name: _rewritten(schema, list_keys) for name, schema in defs.items()}


def plugin_dispatch(kind_noun: str, plugins: dict[str, str], defs: dict[str, dict]) -> dict:
    """One plugin section of a kind: ``plugin`` is an installed name (the message lists all of them), and the
    section is then checked by that plugin's schema only. ``plugins`` maps each name to its definition.

    Without ``plugin`` (a required one, except in a spec that extends others) only keys some plugin of
    the kind knows are allowed. Each ``if`` asks for a mapping: anything else is only told it is not one."""
    known_keys = sorted({key for definition in plugins.values() for key in defs[definition]["properties"]})
    by_name = [{"if": {"type": "object", "properties": {"plugin": {"const": name}}, "required": ["plugin"]},
                "then": {"$ref": DEFS + definition}} for name, definition in plugins.items()]
    unnamed = {"if": {"type": "object", "not": {"required": ["plugin"]}},
               "then": {"propertyNames": _key_names(f"fields of {kind_noun} plugins", known_keys)}}
    plugin = {**_names(f"{kind_noun} plugin", f"installed {kind_noun} plugins", plugins),
              "description": f"Which installed {kind_noun} plugin handles this section."}
    return {
        "title": kind_noun,
        "type": "object",
        "properties": {"plugin": plugin},
        "required": ["plugin"],
        "allOf": [*by_name, unnamed],
    }


def _names(what: str, allowed: str, names) -> dict:
    """A schema for one of ``names``; ``errorMessage`` (an extension editors show) lists them all, like
    ``tlspec validate`` does."""
    names = sorted(names)
    return {"enum": names, "errorMessage": f"unknown {what}; {allowed}: {', '.join(repr(n) for n in names)}"}


def _key_names(allowed: str, names) -> dict:
    # doNotSuggest: editors propose keys from 'properties' already, with their types and defaults
    return {**_names("field", allowed, names), "doNotSuggest": True}


def with_extending(root: str, defs: dict[str, dict]) -> dict:
    """The document schema: the spec ``root`` definition, or, for a spec with ``extends``, its copy where
    nothing is required (keys merge into the parents' key by key, list items by name)."""
    extending = {name: _rewritten(schema, _optional) for name, schema in defs.items()}
    return {
        "$defs": {**defs, EXTENDING: {"$defs": extending}},
        "if": {"required": ["extends"]},
        "then": {"$ref": f"{DEFS}{EXTENDING}/$defs/{root}"},
        "else": {"$ref": DEFS + root},
    }


def _optional(schema: dict) -> dict:
    """No ``required``, and references to the extending copies."""
    copy = {key: value for key, value in schema.items() if key != "required"}
    if copy.get("$ref", "").startswith(DEFS):
        copy["$ref"] = f"{DEFS}{EXTENDING}/$defs/{copy['$ref'].removeprefix(DEFS)}"
    return copy


def _rewritten(schema: Any, rewrite: Callable[[dict], dict]) -> Any:
    """``schema`` with each of its schemas passed through ``rewrite``, innermost first. Values that are data
    (defaults, enums) are kept, and so is an ``if``: it tests which plugin a section names."""
    if isinstance(schema, list):
        return [_rewritten(item, rewrite) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {}
    for key, value in schema.items():
        if key in NAMED_SCHEMAS:
            copy[key] = {name: _rewritten(item, rewrite) for name, item in value.items()}
        elif key in DATA or key == "if":
            copy[key] = value
        else:
            copy[key] = _rewritten(value, rewrite)
    return rewrite(copy)
