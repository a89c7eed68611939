"""Data descriptions kept on disk, found again by the data's fingerprint.

Describing a text source means reading its whole corpus to learn the
vocabulary and the tag set: seconds, on every ``tlspec validate``. A source
that sets ``cache_description`` has its description (and the notes describing
it made) written to ``$TLSPEC_CACHE/descriptions``, under a key made of the
plugin and its version, the section's options, the heads, the seed and the
source's ``fingerprint`` (a digest of the files' content). Other data, other
options or another plugin version is another key, so a stale description is
never read; one that cannot be read is described again and replaced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from tlspec.plugin.data import DataContext, DataDescription, DataField, LabelCounts
from tlspec.plugin.paths import cache_home, write_text_atomically
from tlspec.spec.problems import Section

FORMAT = 1


def descriptions_root() -> Path:
    return cache_home() / "descriptions"


def describe_cached(section: Section, context: DataContext,
                    describe: Callable[[], DataDescription | None]) -> DataDescription | None:
    """``describe()``, or the description it gave before for the same data, options and plugin."""
    path = _entry_path(section, context)
    if path is None:
        return describe()
    cached = _read(path)
    if cached is not None:
        description, notes = cached
        for note in notes:
            context.note(note)
        return description
    before = len(context.notes)
    description = describe()
    if description is not None:
        _write(path, description, context.notes[before:])
    return description


def _entry_path(section: Section, context: DataContext) -> Path | None:
    plugin = section.record.plugin
    if not getattr(plugin, "cache_description", False):
        return None
    try:
        fingerprint = plugin.fingerprint(section.config, context)
    except Exception:  # describe() reports what is wrong with the data, at its line
        return None
    if not fingerprint:
        return None
    origin = section.record.origin
    key = json.dumps({"format": FORMAT, "plugin": [section.kind, section.record.name, origin.distribution,
                                                   origin.version],
                      "config": section.config.model_dump(mode="json"), "heads": list(context.heads),
                      "seed": context.seed, "batch_size": context.batch_size, "fingerprint": fingerprint},
                     sort_keys=True, default=str)
    return descriptions_root() / f"{hashlib.blake2b(key.encode(), digest_size=20).hexdigest()}.json"


def _field_json(found: DataField) -> dict:
    labels = found.labels
    return {"shape": list(found.shape), "dtype": found.dtype,
            "classes": list(found.classes) if found.classes is not None else None,
            "labels": None if labels is None else [[int(v) for v in part] for part in
                                                   (labels.values, labels.counts, labels.first_examples)]}


def _field(data: dict) -> DataField:
    labels = data["labels"]
    return DataField(tuple(data["shape"]), data["dtype"],
                     tuple(data["classes"]) if data["classes"] is not None else None,
                     None if labels is None else LabelCounts(*(tuple(part) for part in labels)))


def _read(path: Path) -> tuple[DataDescription, list[str]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        description = DataDescription(
            inputs={name: _field(f) for name, f in data["inputs"].items()},
            targets={name: _field(f) for name, f in data["targets"].items()},
            splits=dict(data["splits"]), augmented=bool(data["augmented"]),
            vocabularies={name: tuple(tokens) for name, tokens in data["vocabularies"].items()})
        return description, [str(note) for note in data["notes"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, half-written by a killed process, or from another version


def _write(path: Path, description: DataDescription, notes: list[str]) -> None:
    data = {"inputs": {name: _field_json(f) for name, f in description.inputs.items()},
            "targets": {name: _field_json(f) for name, f in description.targets.items()},
            "splits": description.splits, "augmented": description.augmented,
            "vocabularies": {name: list(tokens) for name, tokens in description.vocabularies.items()},
            "notes": notes}
    try:
        text = json.dumps(data)
    except (TypeError, ValueError):  # a plugin's description that JSON cannot hold: described every time
        return
    write_text_atomically(path, text)
