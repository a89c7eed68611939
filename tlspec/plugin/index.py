"""The entry-point index: which plugin names each ``tlspec`` entry point provides, kept on disk.

``tlspec validate`` needs three or four plugin modules, not every installed
one. Importing all of them (and building their pydantic models) was most of
its start-up, so what each entry point provided is written once to
``$TLSPEC_CACHE/plugin-index-<key>.json`` (by default ~/.cache/tlspec), with each
distribution's name and version. The index holds while ``sys.path`` and the
modification times of its folders are the same (installing, upgrading or
removing a distribution adds or removes a ``.dist-info`` folder there) and
while each entry point's module file is unchanged; reading the installed
distributions' metadata costs more than the rest of a warm start, so it is
only read to rebuild the index. A name the index does not know, or one its
module no longer provides, loads everything and rebuilds it, so a stale
index can cost time, never a wrong answer.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tlspec.plugin.paths import cache_home, write_text_atomically

FORMAT = 2


def index_path(key: str) -> Path:
    """One file per key: `tlspec` and `python -m tlspec.cli` see different import paths, and each keeps its
    own index rather than rebuilding the other's."""
    return cache_home() / f"plugin-index-{key}.json"


def environment_key() -> str:
    """What the installed distributions are, as cheaply as it can be told: the import path and when each
    of its folders last changed."""
    stamps = [[sys.path[0], None]] if sys.path else []  # the script's folder or the working directory:
    for entry in sys.path[1:]:                           # its time changes with every file written there
        try:
            stamps.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            stamps.append([entry, None])
    payload = json.dumps({"format": FORMAT, "python": sys.version, "path": stamps})
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class IndexEntry:
    """One entry point and what it provided when last loaded."""

    entry_point: str
    target: str                                       # "module" or "module:attribute"
    distribution: str
    version: str
    module_file: str | None = None
    module_mtime: int | None = None
    plugins: tuple[tuple[str, str], ...] = ()        # (kind, name)
    keras_objects: tuple[tuple[str, str], ...] = ()  # (name, kind: loss, metric, layer, object)

    def to_json(self) -> dict:
        return {"entry_point": self.entry_point, "target": self.target, "distribution": self.distribution,
                "version": self.version, "module_file": self.module_file, "module_mtime": self.module_mtime,
                "plugins": [list(p) for p in self.plugins], "keras_objects": [list(k) for k in self.keras_objects]}

    @classmethod
    def from_json(cls, data: dict) -> IndexEntry:
        return cls(data["entry_point"], data["target"], data["distribution"], data["version"],
                   data["module_file"], data["module_mtime"],
                   tuple((kind, name) for kind, name in data["plugins"]),
                   tuple((name, kind) for name, kind in data["keras_objects"]))

    def unchanged(self) -> bool:
        if self.module_file is None:
            return True  # installed some other way (a zip): the folders' times key it
        try:
            return os.stat(self.module_file).st_mtime_ns == self.module_mtime
        except OSError:
            return False

    def load(self) -> object:
        """The entry point's object, imported without importlib.metadata (as EntryPoint.load would)."""
        module_name, _, attributes = self.target.partition(":")
        found = importlib.import_module(module_name.strip())
        for attribute in filter(None, attributes.strip().split(".")):
            found = getattr(found, attribute)
        return found


@dataclass
class PluginIndex:
    key: str
    entries: list[IndexEntry] = field(default_factory=list)

    def providers(self, kind: str, name: str) -> list[IndexEntry]:
        return [entry for entry in self.entries if (kind, name) in entry.plugins]

    def names(self, kind: str) -> list[str]:
        return sorted({name for entry in self.entries for k, name in entry.plugins if k == kind})

    def keras_object_names(self, kinds: tuple[str, ...]) -> list[str]:
        return sorted({name for entry in self.entries for name, kind in entry.keras_objects if kind in kinds})


def module_file(target: str) -> tuple[str | None, int | None]:
    """An entry point's module file and its modification time, found without running the module: its
    top-level package is only looked up (editable installs find it through their own finder)."""
    parts = target.split(":", 1)[0].strip().split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return None, None
    if spec is None:
        return None, None
    if len(parts) == 1:
        files = [spec.origin]
    else:
        files = []
        for location in spec.submodule_search_locations or ():
            base = Path(location, *parts[1:])
            files += [base / "__init__.py", *(base.with_name(base.name + suffix)
                                              for suffix in importlib.machinery.SOURCE_SUFFIXES)]
    for candidate in files:
        try:
            return str(candidate), os.stat(candidate).st_mtime_ns
        except (OSError, TypeError):
            continue
    return None, None


def read_index(key: str) -> PluginIndex | None:
    try:
        data = json.loads(index_path(key).read_text(encoding="utf-8"))
        if data.get("key") != key or data.get("format") != FORMAT:
            return None
        index = PluginIndex(key, [IndexEntry.from_json(entry) for entry in data["entries"]])
        return index if all(entry.unchanged() for entry in index.entries) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, unreadable or from another version: rebuilt


def write_index(index: PluginIndex) -> None:
    """Failing to write (a read-only home) only means the next start loads everything again."""
    write_text_atomically(index_path(index.key), json.dumps(
        {"format": FORMAT, "key": index.key, "entries": [e.to_json() for e in index.entries]}))
