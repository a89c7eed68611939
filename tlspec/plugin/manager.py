"""Finding plugins: entry points -> one pluggy PluginManager -> a registry of named plugins by kind.

Built-ins are found exactly like third-party plugins, through the ``tlspec``
entry-point group. One broken plugin (it fails to import, a hook raises, it
implements a hook that does not exist, it returns something that is not a
plugin) is reported with its name and distribution and does not stop the
others from loading.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

import pluggy

from tlspec.errors import did_you_mean, one_of
from tlspec.plugin import hookspecs
from tlspec.plugin.configs import PluginConfig
from tlspec.plugin.index import IndexEntry, PluginIndex, environment_key, module_file, read_index, write_index
from tlspec.plugin.keras_objects import KerasObject, declaration_problem
from tlspec.plugin.kinds import KINDS, PluginKind

if TYPE_CHECKING:
    from importlib import metadata

HOOK_NAMES = (*(kind.hook_name for kind in KINDS.values()), hookspecs.tlspec_keras_objects.__name__)


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


@dataclass(frozen=True)
class KerasObjectRecord:
    declaration: KerasObject
    origin: Origin


@dataclass
class Registry:
    records: dict[str, dict[str, PluginRecord]] = field(default_factory=lambda: {kind: {} for kind in KINDS})
    failures: list[PluginFailure] = field(default_factory=list)
    keras_objects: dict[str, KerasObjectRecord] = field(default_factory=dict)

    def keras_object_names(self, *kinds: str) -> list[str]:
        """The names of the plugins' Keras objects of these kinds (loss, metric, layer, object)."""
        return sorted(name for name, record in self.keras_objects.items() if record.declaration.kind in kinds)

    def get(self, kind: str, name: str) -> PluginRecord:
        try:
            return self.records[kind][name]
        except (KeyError, TypeError):
            raise UnknownPlugin(kind, name, self.records[kind]) from None

    def names(self, kind: str) -> list[str]:
        return sorted(self.records[kind])

    def all_records(self) -> list[PluginRecord]:
        return [record for kind in KINDS for _, record in sorted(self.records[kind].items())]

    def fail(self, origin: Origin, error: str) -> None:
        self.failures.append(PluginFailure(origin, error))

    def add(self, kind: PluginKind, plugin: object, origin: Origin) -> None:
        problem = _shape_problem(kind, plugin)
        if problem:
            self.fail(origin, problem)
            return
        existing = self.records[kind.name].get(plugin.name)
        if existing is not None:
            self.fail(origin, f"{kind.name} plugin name '{plugin.name}' is already provided by "
                              f"{existing.origin.distribution} ({existing.origin.entry_point}); ignored")
            return
        self.records[kind.name][plugin.name] = PluginRecord(kind.name, plugin.name, plugin, origin)


    def add_keras_object(self, declaration: object, origin: Origin) -> None:
        problem = declaration_problem(declaration)
        if problem:
            self.fail(origin, problem)
            return
        existing = self.keras_objects.get(declaration.name)
        if existing is not None:
            self.fail(origin, f"Keras object name '{declaration.name}' is already provided by "
                              f"{existing.origin.distribution} ({existing.origin.entry_point}); ignored")
            return
        self.keras_objects[declaration.name] = KerasObjectRecord(declaration, origin)


def _shape_problem(kind: PluginKind, plugin: object) -> str | None:
    if not isinstance(plugin, kind.base):
        return f"{kind.hook_name}() returned {plugin!r}, not a tlspec.api.{kind.base.__name__}"
    name = getattr(plugin, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        return f"{type(plugin).__name__}.name must be an identifier, got {name!r}"
    config = getattr(plugin, "Config", None)
    if not (isinstance(config, type) and issubclass(config, kind.config_base)):
        return f"{type(plugin).__name__}.Config must subclass tlspec.api.{kind.config_base.__name__}"
    return None


class _Loader:
    """One PluginManager for every plugin; each registration and each hook call is isolated."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.origins: dict[str, Origin] = {}

    def register(self, module: object, origin: Origin) -> str | None:
        """The plugin's name in the manager, or None when pluggy refused it (recorded as a failure)."""
        name = f"{origin.distribution}:{origin.entry_point}"
        try:
            self.manager.register(module, name=name)
        except Exception as exc:  # pluggy rejects malformed hook implementations
            self.registry.fail(origin, f"{type(exc).__name__}: {exc}")
            return None
        self.origins[name] = origin
        return name

    def drop_unknown_hooks(self) -> None:
        """``check_pending`` names one plugin implementing a hook that has no spec; fail it and look again."""
        while True:
            try:
                self.manager.check_pending()
                return
            except pluggy.PluginValidationError as error:
                name = self.manager.get_name(error.plugin)
                self.manager.unregister(error.plugin)
                self.registry.fail(self.origins.pop(name), _unknown_hook_message(error.plugin))

    def collect(self, names: Iterable[str] | None = None) -> None:
        """Add what the registered plugins (or only those named) provide to the registry."""
        for name in list(self.origins if names is None else names):
            origin = self.origins.get(name)
            if origin is None:  # dropped by drop_unknown_hooks
                continue
            for kind in KINDS.values():
                for plugin in self._provided(kind.hook_name, name, origin):
                    self.registry.add(kind, plugin, origin)
            for declaration in self._provided(hookspecs.tlspec_keras_objects.__name__, name, origin):
                self.registry.add_keras_object(declaration, origin)

    def _provided(self, hook_name: str, plugin_name: str, origin: Origin) -> list:
        """What the plugin's implementation of the hook returns; a failure is recorded, not raised."""
        provided = []
        for implementation in getattr(self.manager.hook, hook_name).get_hookimpls():
            if implementation.plugin_name != plugin_name:
                continue
            try:
                provided += list(implementation.function() or ())
            except Exception as exc:
                self.registry.fail(origin, f"{hook_name}() raised {type(exc).__name__}: {exc}")
        return provided


def _unknown_hook_message(plugin: object) -> str:
    hooks = list(HOOK_NAMES)
    marker = f"{hookspecs.PROJECT}_impl"
    unknown = sorted(name for name in dir(plugin)
                     if getattr(getattr(plugin, name, None), marker, None) is not None and name not in hooks)
    return "; ".join(f"unknown hook '{name}'{did_you_mean(name, hooks)}; tlspec's hooks are {one_of(hooks)}"
                     for name in unknown)


def _entry_points() -> list[tuple[metadata.EntryPoint, Origin]]:
    """Every ``tlspec`` entry point with where it comes from, each (distribution, name) once."""
    from importlib import metadata  # reads every installed distribution: only when the index is rebuilt

    found, seen, dists = [], set(), {}
    for entry_point in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
        dist = entry_point.dist
        if id(dist) not in dists:  # reading a distribution's metadata is the costly part: once per distribution
            dists[id(dist)] = ((dist.metadata["Name"], dist.version) if dist is not None else ("unknown", "?"))
        distribution, version = dists[id(dist)]
        if (distribution, entry_point.name) in seen:  # same dist visible twice on sys.path
            continue
        seen.add((distribution, entry_point.name))
        found.append((entry_point, Origin(entry_point.name, distribution, version)))
    return found


def _load_into(loader: _Loader, points: Iterable[tuple[Callable[[], object], Origin]]) -> list[str]:
    """Import (``load()``) and register each entry point's module; the names registered."""
    names = []
    for load, origin in points:
        try:
            module = load()
        except Exception as exc:
            loader.registry.fail(origin, f"{type(exc).__name__}: {exc}")
            continue
        name = loader.register(module, origin)
        if name is not None:
            names.append(name)
    return names


def discover(extra_modules: Iterable[tuple[ModuleType, Origin]] = ()) -> Registry:
    """Load every plugin registered under the ``tlspec`` entry-point group (and ``extra_modules``)."""
    registry = Registry()
    loader = _Loader(registry)
    _load_into(loader, [(entry_point.load, origin) for entry_point, origin in _entry_points()])
    for module, origin in extra_modules:
        loader.register(module, origin)
    loader.drop_unknown_hooks()
    loader.collect()
    return registry


class LazyRegistry:
    """The installed plugins, imported as they are asked for (see ``tlspec.plugin.index``).

    ``get`` imports only the modules the index says provide a name; ``names`` and
    ``keras_object_names`` answer from the index. Anything that needs every plugin
    (``records``, ``failures``, ``keras_objects``, ``all_records``) loads them all.
    """

    def __init__(self) -> None:
        self._registry = Registry()
        self._loader = _Loader(self._registry)
        self._loaded: set[tuple[str, str]] = set()  # (distribution, entry point)
        self._complete = False
        self._key = environment_key()
        self._index = read_index(self._key) or self._load_all()

    def _load(self, points: list[tuple[Callable[[], object], Origin]]) -> None:
        points = [(load, origin) for load, origin in points
                  if (origin.distribution, origin.entry_point) not in self._loaded]
        self._loaded |= {(origin.distribution, origin.entry_point) for _, origin in points}
        names = _load_into(self._loader, points)
        self._loader.drop_unknown_hooks()
        self._loader.collect(names)

    def _load_all(self) -> PluginIndex:
        """Every installed entry point (read from the distributions' metadata), and the index rebuilt."""
        if not self._complete:
            installed = _entry_points()
            self._load([(entry_point.load, origin) for entry_point, origin in installed])
            self._complete = True
            self._index = PluginIndex(self._key, [self._entry(entry_point, origin)
                                                  for entry_point, origin in installed])
            write_index(self._index)
        return self._index

    def _entry(self, entry_point: metadata.EntryPoint, origin: Origin) -> IndexEntry:
        registry = self._registry
        path, mtime = module_file(entry_point.value)
        return IndexEntry(origin.entry_point, entry_point.value, origin.distribution, origin.version, path, mtime,
                          tuple((r.kind, r.name) for r in registry.all_records() if r.origin == origin),
                          tuple((name, r.declaration.kind) for name, r in sorted(registry.keras_objects.items())
                                if r.origin == origin))

    def get(self, kind: str, name: str) -> PluginRecord:
        found = self._registry.records.get(kind, {}).get(name) if isinstance(name, str) else None
        if found is None and not self._complete and isinstance(name, str) and kind in KINDS:
            self._load([(entry.load, Origin(entry.entry_point, entry.distribution, entry.version))
                        for entry in self._index.providers(kind, name)])
            found = self._registry.records[kind].get(name)
            if found is None:  # the index is stale, or the name is new or misspelt: look everywhere
                self._load_all()
        return found or self._registry.get(kind, name)

    def names(self, kind: str) -> list[str]:
        return self._registry.names(kind) if self._complete else self._index.names(kind)

    def keras_object_names(self, *kinds: str) -> list[str]:
        if self._complete:
            return self._registry.keras_object_names(*kinds)
        return self._index.keras_object_names(kinds)

    def all_records(self) -> list[PluginRecord]:
        self._load_all()
        return self._registry.all_records()

    @property
    def records(self) -> dict[str, dict[str, PluginRecord]]:
        self._load_all()
        return self._registry.records

    @property
    def failures(self) -> list[PluginFailure]:
        self._load_all()
        return self._registry.failures

    @property
    def keras_objects(self) -> dict[str, KerasObjectRecord]:
        self._load_all()
        return self._registry.keras_objects


@functools.cache
def default_registry() -> LazyRegistry:
    return LazyRegistry()
