"""Safe YAML loading that remembers where every key and value came from.

The result is a tree of ``Node`` objects; ``flatten`` turns it into plain
Python data plus a map from each path to its locations, which is what error
reporting needs after pydantic has validated the plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from tlspec.errors import Location, Problem, SpecError

Path = tuple  # of str | int


@dataclass
class Node:
    """A YAML value: ``dict[str, Entry]`` for mappings, ``list[Node]`` for sequences."""

    value: Any
    location: Location

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.value, list)


@dataclass
class Entry:
    key_location: Location
    node: Node


@dataclass
class Locations:
    """Path -> (where its key is, where its value starts)."""

    keys: dict[Path, Location] = field(default_factory=dict)
    values: dict[Path, Location] = field(default_factory=dict)

    def of_key(self, path: Path) -> Location | None:
        """The key of ``path``, or the nearest located ancestor."""
        for depth in range(len(path), -1, -1):
            prefix = tuple(path[:depth])
            if prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return None

    def of_value(self, path: Path) -> Location | None:
        """The value of ``path``, or the nearest located ancestor."""
        for depth in range(len(path), -1, -1):
            prefix = tuple(path[:depth])
            if prefix in self.values:
                return self.values[prefix]
        return None


class _Loader(yaml.SafeLoader):
    """SafeLoader: only plain YAML types, never arbitrary Python objects."""


def _location(mark, source: str) -> Location:
    return Location(source, mark.line + 1, mark.column + 1)


def parse(text: str, source: str) -> Node:
    """Parse one YAML document; raise SpecError with a location on any problem."""
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            message = exc.problem or "invalid YAML"
            if exc.context:
                message = f"{exc.context}, {message}"
            raise SpecError([Problem(f"invalid YAML: {message}", _location(mark, source))]) from None
        except yaml.YAMLError as exc:
            raise SpecError([Problem(f"invalid YAML: {exc}", Location(source, 1, 1))]) from None
        if root is None:
            raise SpecError([Problem("the document is empty", Location(source, 1, 1))])
        try:
            return _convert(loader, root, source)
        except yaml.MarkedYAMLError as exc:  # e.g. a !!python/... tag: safe loading refuses it
            mark = exc.problem_mark or exc.context_mark
            raise SpecError([Problem(f"invalid YAML: {exc.problem or exc.context}", _location(mark, source))]) from None
    finally:
        loader.dispose()


_PLAIN_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _convert(loader: _Loader, node: yaml.Node, source: str) -> Node:
    location = _location(node.start_mark, source)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_COLLECTION_TAGS:
        raise SpecError([Problem(f"invalid YAML: unsupported tag {node.tag!r} (only plain YAML is accepted)",
                                 location)])
    if isinstance(node, yaml.MappingNode):
        written = {id(key) for key, _ in node.value}  # keys written here, not merged in by '<<'
        loader.flatten_mapping(node)
        entries: dict[str, Entry] = {}
        explicit: set[str] = set()
        problems = []
        for key_node, value_node in node.value:
            key_location = _location(key_node.start_mark, source)
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem("a mapping key must be a plain scalar", key_location))
                continue
            key = loader.construct_object(key_node)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                problems.append(Problem(f"unsupported key {key!r}", key_location))
                continue
            key = str(key)
            if key in entries and key not in explicit:  # a written key overrides a merged one
                del entries[key]
            if key in entries:
                first = entries[key].key_location
                problems.append(Problem(
                    f"duplicate key '{key}' (first defined at line {first.line}, column {first.column})",
                    key_location,
                ))
                continue
            entries[key] = Entry(key_location, _convert(loader, value_node, source))
            if id(key_node) in written:
                explicit.add(key)
        if problems:
            raise SpecError(problems)
        return Node(entries, location)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(loader, item, source) for item in node.value], location)
    return Node(loader.construct_object(node, deep=True), location)


def flatten(node: Node) -> tuple[Any, Locations]:
    """Plain data for validation, plus where each path is in the sources."""
    locations = Locations()

    def walk(current: Node, path: Path) -> Any:
        locations.values[path] = current.location
        if current.is_mapping:
            result = {}
            for key, entry in current.value.items():
                locations.keys[path + (key,)] = entry.key_location
                result[key] = walk(entry.node, path + (key,))
            return result
        if current.is_sequence:
            return [walk(item, path + (index,)) for index, item in enumerate(current.value)]
        return current.value

    return walk(node, ()), locations


def plain(node: Node) -> Any:
    return flatten(node)[0]
