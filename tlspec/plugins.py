"""Finding plugins: entry points -> pluggy -> a registry of named plugins by kind.

Built-ins are found exactly like third-party plugins, through the ``tlspec``
entry-point group. One broken plugin is reported with its name and
distribution and does not stop the others from loading.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
from dataclasses import dataclass, field
from types import ModuleType
from typing import Iterable

import pluggy

from tlspec import hookspecs
from tlspec.api import CONFIG_BASES, PLUGIN_KINDS, PluginConfig
from tlspec.errors import did_you_mean, one_of


@dataclass(frozen=True)
class Origin:
    """Where a plugin came from."""

    entry_point: str
    distribution: str
    version: str


@dataclass(frozen=True)
class PluginRecord:
    kind: str
    name: str
    plugin: object
    origin: Origin

    @property
    def config_model(self) -> type[PluginConfig]:
        return self.plugin.Config


@dataclass(frozen=True)
class PluginFailure:
    origin: Origin
    error: str

    def __str__(self) -> str:
        return (f"plugin '{self.origin.entry_point}' from {self.origin.distribution} "
                f"{self.origin.version} failed to load: {self.error}")


class UnknownPlugin(LookupError):
    def __init__(self, kind: str, name: object, known: Iterable[str]):
        known = list(known)
        hint = did_you_mean(str(name), known)
        super().__init__(f"unknown {kind} plugin '{name}'{hint}; installed {kind} plugins: {one_of(known)}")


@dataclass
class Registry:
    records: dict[str, dict[str, PluginRecord]] = field(
        default_factory=lambda: {kind: {} for kind in PLUGIN_KINDS})
    failures: list[PluginFailure] = field(default_factory=list)

    def get(self, kind: str, name: str) -> PluginRecord:
        try:
            return self.records[kind][name]
        except (KeyError, TypeError):
            raise UnknownPlugin(kind, name, self.records[kind]) from None

    def names(self, kind: str) -> list[str]:
        return sorted(self.records[kind])

    def all_records(self) -> list[PluginRecord]:
        return [record for kind in PLUGIN_KINDS for _, record in sorted(self.records[kind].items())]

    def add_module(self, module: object, origin: Origin) -> None:
        """Register one plugin module: call each of its hooks and keep what it returns."""
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        try:
            manager.register(module, name=origin.entry_point)
        except Exception as exc:  # pluggy rejects malformed hook implementations
            self.failures.append(PluginFailure(origin, f"{type(exc).__name__}: {exc}"))
            return
        for kind, hook_name in hookspecs.HOOK_BY_KIND.items():
            for implementation in getattr(manager.hook, hook_name).get_hookimpls():
                try:
                    provided = list(implementation.function() or ())
                except Exception as exc:
                    self.failures.append(PluginFailure(origin, f"{hook_name}() raised {type(exc).__name__}: {exc}"))
                    continue
                for plugin in provided:
                    self._add(kind, plugin, origin)

    def _add(self, kind: str, plugin: object, origin: Origin) -> None:
        problem = _shape_problem(kind, plugin)
        if problem:
            self.failures.append(PluginFailure(origin, problem))
            return
        existing = self.records[kind].get(plugin.name)
        if existing is not None:
            self.failures.append(PluginFailure(
                origin, f"{kind} plugin name '{plugin.name}' is already provided by "
                        f"{existing.origin.distribution} ({existing.origin.entry_point}); ignored"))
            return
        self.records[kind][plugin.name] = PluginRecord(kind, plugin.name, plugin, origin)


def _shape_problem(kind: str, plugin: object) -> str | None:
    expected = PLUGIN_KINDS[kind]
    if not isinstance(plugin, expected):
        return f"{hookspecs.HOOK_BY_KIND[kind]}() returned {plugin!r}, not a tlspec.api.{expected.__name__}"
    name = getattr(plugin, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        return f"{type(plugin).__name__}.name must be an identifier, got {name!r}"
    config = getattr(plugin, "Config", None)
    base = CONFIG_BASES[kind]
    if not (isinstance(config, type) and issubclass(config, base)):
        return f"{type(plugin).__name__}.Config must subclass tlspec.api.{base.__name__}"
    return None


def _origin(entry_point: metadata.EntryPoint) -> Origin:
    dist = entry_point.dist
    return Origin(
        entry_point=entry_point.name,
        distribution=dist.metadata["Name"] if dist is not None else "unknown",
        version=dist.version if dist is not None else "?",
    )


def discover(extra_modules: Iterable[tuple[ModuleType, Origin]] = ()) -> Registry:
    """Load every plugin registered under the ``tlspec`` entry-point group."""
    registry = Registry()
    seen: set[tuple[str, str]] = set()
    for entry_point in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
        origin = _origin(entry_point)
        if (origin.distribution, entry_point.name) in seen:  # same dist visible twice on sys.path
            continue
        seen.add((origin.distribution, entry_point.name))
        try:
            module = entry_point.load()
        except Exception as exc:
            registry.failures.append(PluginFailure(origin, f"{type(exc).__name__}: {exc}"))
            continue
        registry.add_module(module, origin)
    for module, origin in extra_modules:
        registry.add_module(module, origin)
    return registry


@functools.cache
def default_registry() -> Registry:
    return discover()
