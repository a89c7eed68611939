"""Safe YAML loading that remembers where every key and value came from.

The result is a tree of ``Node`` objects; ``flatten`` turns it into plain
Python data plus a map from each path to its locations, which is what error
reporting needs after pydantic has validated the plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from tlspec.errors import Location, Problem, SpecError, format_path
from tlspec.spec.limits import MAX_DEPTH, MAX_INTEGER_DIGITS, MAX_VALUES

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


class _LimitReached(Exception):
    def __init__(self, message: str, mark):
        super().__init__(message)
        self.message, self.mark = message, mark


class _Loader(yaml.SafeLoader):
    """SafeLoader: only plain YAML types, never arbitrary Python objects; nesting bounded while composing,
    and the path of the value being read when an error stops it kept for the message."""

    def __init__(self, text: str):
        super().__init__(text)
        self.path: list = []
        self.error_path: tuple | None = None

    def compose_node(self, parent, index):
        # The composer passes a mapping value's key node, a list item's position, or None (a key, the root).
        self.path.append(index.value if isinstance(index, yaml.ScalarNode) else index)
        try:
            if len(self.path) > MAX_DEPTH:
                raise _LimitReached(_too_deep(), self.peek_event().start_mark)
            return super().compose_node(parent, index)
        except (yaml.YAMLError, _LimitReached):
            if self.error_path is None:
                self.error_path = tuple(part for part in self.path if isinstance(part, (str, int)))
            raise
        finally:
            self.path.pop()


def _too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep (the spec limit for nesting)"


def _location(mark, source: str) -> Location:
    return Location(source, mark.line + 1, mark.column + 1)


def parse(text: str, source: str) -> Node:
    """Parse one YAML document; raise SpecError with a location on any problem."""
    try:
        loader = _Loader(text)  # the reader refuses control characters here, before parsing
    except yaml.reader.ReaderError as exc:
        raise SpecError([_unreadable_character(exc, text, source)]) from None
    try:
        root = _compose(loader, source)
        if root is None:
            raise SpecError([Problem("the document is empty", Location(source, 1, 1))])
        return _Converter(loader, text, source).convert(root, 0)
    finally:
        loader.dispose()


def _compose(loader: _Loader, source: str) -> yaml.Node | None:
    try:
        return loader.get_single_node()
    except _LimitReached as exc:
        raise SpecError([Problem(f"invalid YAML: {exc.message}", _location(exc.mark, source))]) from None
    except yaml.MarkedYAMLError as exc:
        problem = _yaml_problem(exc, source)
        raise SpecError([Problem(problem.message, problem.location, format_path(loader.error_path or ()))]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(f"invalid YAML: {exc}", Location(source, 1, 1))]) from None


def _yaml_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    """PyYAML's error, in words that say what to change, at the place to change it."""
    context, problem = exc.context or "", exc.problem or "invalid YAML"
    at = exc.problem_mark or exc.context_mark
    for opening, closing, kind in (("[", "]", "flow sequence"), ("{", "}", "flow mapping")):
        if context == f"while parsing a {kind}" and exc.context_mark is not None:
            found = problem.rpartition("but got ")[2].replace("'<stream end>'", "the end") or "something else"
            return Problem(f"invalid YAML: the '{opening}' here is not closed: expected ',' or '{closing}' but got "
                           f"{found} at line {at.line + 1}, column {at.column + 1}",
                           _location(exc.context_mark, source))
    if context == "while scanning a quoted scalar" and exc.context_mark is not None:
        return Problem(f"invalid YAML: the quote here is not closed ({problem})", _location(exc.context_mark, source))
    for words, hint in _HINTS:
        if words in problem:
            return Problem(f"invalid YAML: {hint}", _location(at, source))
    message = f"{context}, {problem}" if context else problem
    return Problem(f"invalid YAML: {message}", _location(at, source))


_HINTS = (
    ("found character '\\t' that cannot start any token",
     "a TAB cannot indent YAML; indent with spaces"),
    ("mapping values are not allowed here",
     "a ':' cannot start a value here: the line is indented deeper than its mapping, or a value holding ': ' "
     "needs quotes"),
    ("expected <block end>, but found '<block mapping start>'",
     "this line is indented like no key above it; align it with the keys of its mapping"),
    ("expected <block end>, but found '?'",
     "a key is indented like the list items above it; indent list items under their key, or start a new key "
     "at the left"),
)


def _unreadable_character(exc: yaml.reader.ReaderError, text: str, source: str) -> Problem:
    before = text[: exc.position]
    line, column = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
    character = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return Problem(f"invalid YAML: the control character U+{ord(character):04X} is not allowed in YAML; "
                   "remove it (or write it as an escape inside double quotes, e.g. \"\\x1b\")",
                   Location(source, line, column))


_PLAIN_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_INT_TAG = "tag:yaml.org,2002:int"


class _Converter:
    """PyYAML nodes -> located ``Node``s, counting values and depth as aliases expand them."""

    def __init__(self, loader: _Loader, text: str, source: str):
        self.loader, self.text, self.source = loader, text, source
        self.values = 0
        self.active: set[int] = set()  # nodes being converted: an alias to one of them is a cycle

    def convert(self, node: yaml.Node, depth: int) -> Node:
        location = _location(node.start_mark, self.source)
        self.values += 1
        if self.values > MAX_VALUES:
            raise SpecError([Problem(f"invalid YAML: the document holds more than {MAX_VALUES:,} values once its "
                                     "aliases are expanded (the spec limit for values); put data in a file a "
                                     "data plugin reads", location)])
        if depth > MAX_DEPTH:
            raise SpecError([Problem(f"invalid YAML: {_too_deep()}", location)])
        if isinstance(node, yaml.ScalarNode):
            return Node(self.scalar(node), location)
        if node.tag not in _PLAIN_COLLECTION_TAGS:
            raise SpecError([Problem(f"invalid YAML: unsupported tag {node.tag!r} (only plain YAML is accepted)",
                                     location)])
        if id(node) in self.active:
            raise SpecError([Problem("invalid YAML: an alias refers to a value that contains it, so it would "
                                     "never end; refer to another value", location)])
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return Node(self.mapping(node, depth), location)
            return Node([self.convert(item, depth + 1) for item in node.value], location)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Entry]:
        written = {id(key) for key, _ in node.value}  # keys written here, not merged in by '<<'
        try:
            self.loader.flatten_mapping(node)
        except RecursionError:
            raise SpecError([Problem("invalid YAML: a merge key ('<<') refers to the mapping that contains it",
                                     _location(node.start_mark, self.source))]) from None
        entries: dict[str, Entry] = {}
        explicit: set[str] = set()
        problems = []
        for key_node, value_node in node.value:
            key_location = _location(key_node.start_mark, self.source)
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem("a mapping key must be a plain scalar", key_location))
                continue
            key = self.scalar(key_node)
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
            entries[key] = Entry(key_location, self.convert(value_node, depth + 1))
            if id(key_node) in written:
                explicit.add(key)
        if problems:
            raise SpecError(problems)
        return entries

    def scalar(self, node: yaml.ScalarNode) -> Any:
        location = _location(node.start_mark, self.source)
        digits = node.value.lstrip("+-").replace("_", "")
        if node.tag == _INT_TAG and len(digits) > MAX_INTEGER_DIGITS:
            raise SpecError([Problem(f"invalid YAML: an integer of {len(digits):,} digits; a spec's integers have "
                                     f"at most {MAX_INTEGER_DIGITS} (the spec limit for integer length)", location)])
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:  # e.g. a !!python/... tag: safe loading refuses it
            raise SpecError([Problem(f"invalid YAML: {exc.problem or exc.context}",
                                     _location(exc.problem_mark or exc.context_mark, self.source))]) from None
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            raise SpecError([Problem(self.unconstructible(node, exc), location)]) from None

    def unconstructible(self, node: yaml.ScalarNode, exc: Exception) -> str:
        kind = node.tag.rsplit(":", 1)[-1]
        shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        tagged = self.text[node.start_mark.index: node.start_mark.index + 1] in ("!", "&")
        reason = f" ({exc})" if isinstance(exc, ValueError) and str(exc) else ""
        if tagged:
            return f"invalid YAML: {shown!r} cannot be read as !!{kind}{reason}"
        return (f"invalid YAML: {shown!r} reads as a {kind} but is not a valid one{reason}; "
                "quote it to write it as text")


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
