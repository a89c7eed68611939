"""Composition: a spec may ``extends`` other files, and ``--set KEY=VALUE`` overrides.

Merging works on located nodes, so after composition every value still knows
which file (or which ``--set``) it came from.

Merge rules (child over parent): mappings merge key by key; a list whose items
are all mappings with a ``name`` merges item by item on that name (new names are
appended); any other value replaces the parent's.
"""

from __future__ import annotations

import os
from pathlib import Path

from tlspec.errors import Location, Problem, SpecError, did_you_mean, format_path, one_of
from tlspec.plugin.paths import bad_byte_position
from tlspec.spec.limits import MAX_EXTENDS, MAX_SPEC_BYTES
from tlspec.spec.located_yaml import Entry, Node, parse


def display_name(path: Path) -> str:
    """The path as a user should read it: relative to the working directory if inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def load_file(path: Path, *, referenced_at: Location | None = None) -> Node:
    path = Path(path)
    name = display_name(path)
    where = referenced_at or Location(name, 1, 1)
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError([Problem(f"{name} is {size:,} bytes; a spec file holds at most {MAX_SPEC_BYTES:,} "
                                     "(the spec limit for size): put data in a file a data plugin reads", where)])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError([Problem(f"file not found: {name}", referenced_at)]) from None
    except IsADirectoryError:
        raise SpecError([Problem(f"expected a YAML file, got a directory: {name}", referenced_at)]) from None
    except (OSError, ValueError) as exc:  # unreadable, a name too long, a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError([Problem(f"cannot read {name!r}: {reason}", where)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([_not_utf8(raw, exc, name)]) from None
    return parse(text, name)


def _not_utf8(raw: bytes, exc: UnicodeDecodeError, name: str) -> Problem:
    line, column = bad_byte_position(raw, exc)
    return Problem(f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x} ({exc.reason}); save it as UTF-8",
                   Location(name, line, column))


def load_composed(path: Path, _chain: tuple[Path, ...] = (), _referenced_at: Location | None = None) -> Node:
    """Load ``path`` and everything it extends, merged."""
    path = _resolved(path, _referenced_at)
    root = load_file(path, referenced_at=_referenced_at)
    if not root.is_mapping:
        raise SpecError([Problem("a spec must be a mapping of sections (tlspec, name, backbone, heads, …)",
                                 root.location)])
    extends = root.value.pop("extends", None)
    if extends is None:
        return root
    parents = extends.node.value if extends.node.is_sequence else [extends.node]
    if not parents:
        raise SpecError([Problem("expected a file path or a list of file paths, got an empty list "
                                 "(remove 'extends' to extend nothing)", extends.node.location, "extends")])
    if len(_chain) + 1 >= MAX_EXTENDS:
        raise SpecError([Problem(f"more than {MAX_EXTENDS} files extend one another (the spec limit "
                                 "for extends chains)", extends.node.location, "extends")])
    merged: Node | None = None
    for parent in parents:
        loaded = load_composed(_parent_path(path, parent, _chain), _chain + (path,), parent.location)
        merged = loaded if merged is None else merge(merged, loaded)
    return merge(merged, root)


def _resolved(path: Path, referenced_at: Location | None) -> Path:
    shown = str(path) if len(str(path)) <= 200 else str(path)[:197] + "..."
    try:
        return Path(path).resolve()
    except (OSError, ValueError) as exc:  # a NUL byte, a symlink loop
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError([Problem(f"cannot read {shown!r}: {reason}", referenced_at or Location(shown, 1, 1))]) from None


def _parent_path(path: Path, parent: Node, chain: tuple[Path, ...]) -> Path:
    """The file an ``extends`` item names, checked: a path, no cycle, present."""
    if not isinstance(parent.value, str) or not parent.value:
        raise SpecError([Problem("expected a file path or a list of file paths", parent.location, "extends")])
    shown = parent.value if len(parent.value) <= 200 else parent.value[:197] + "..."
    parent_path = _resolved(path.parent / parent.value, parent.location)
    if parent_path in chain + (path,):
        cycle = " -> ".join(display_name(p) for p in chain + (path, parent_path))
        raise SpecError([Problem(f"cycle: {cycle}", parent.location, "extends")])
    try:
        present = parent_path.exists()
    except OSError as exc:  # a name too long for the file system
        raise SpecError([Problem(f"cannot read {shown!r}: {exc.strerror}", parent.location, "extends")]) from None
    if not present:
        raise SpecError([Problem(f"extended file not found: {shown} (looked for {display_name(parent_path)})",
                                 parent.location, "extends")])
    return parent_path


def merge(base: Node, override: Node, path: tuple = ()) -> Node:
    if base.is_mapping and override.is_mapping:
        entries = dict(base.value)
        for key, entry in override.value.items():
            if key in entries:
                entries[key] = Entry(entry.key_location, merge(entries[key].node, entry.node, path + (key,)))
            else:
                entries[key] = entry
        return Node(entries, override.location)
    if _named_items(base) is not None and _named_items(override) is not None:
        items = list(base.value)
        positions = {name: index for index, name in enumerate(_named_items(base))}
        for index, (name, item) in enumerate(zip(_named_items(override), override.value)):
            if name in positions:
                items[positions[name]] = merge(items[positions[name]], item, path + (index,))
            else:
                _check_new_item(base, item, name, list(positions), path + (index, "name"))
                items.append(item)
        return Node(items, override.location)
    return override


def _check_new_item(base: Node, item: Node, name: str, names: list[str], path: tuple) -> None:
    """An item of a list of plugin sections (heads, blocks) that names no inherited item is a new one, so it
    needs its 'plugin'; without one it was most likely meant to change an inherited item."""
    if "plugin" in item.value or not all("plugin" in inherited.value for inherited in base.value):
        return
    where = item.value["name"].node.location
    raise SpecError([Problem(f"'{name}' names no item of the list it extends{did_you_mean(name, names)}; items: "
                             f"{one_of(names)} (to add a new item, give it a 'plugin')", where, format_path(path))])


def _named_items(node: Node) -> list[str] | None:
    """Names of a list of mappings that all have a string ``name``, else None."""
    if not node.is_sequence or not node.value:
        return None
    names = []
    for item in node.value:
        if not item.is_mapping or "name" not in item.value:
            return None
        name = item.value["name"].node.value
        if not isinstance(name, str):
            return None
        names.append(name)
    return names


def apply_override(root: Node, assignment: str, index: int) -> None:
    """Apply one ``--set dotted.key=value``; the value is parsed as YAML."""
    source = f"<--set {index}>"
    start = Location(source, 1, 1)
    key, sep, value_text = assignment.partition("=")
    if not sep or not key.strip():
        raise SpecError([Problem(f"--set expects KEY=VALUE (for example train.epochs=3), got {assignment!r}",
                                 start)])
    parts = key.strip().split(".")
    if any(not part for part in parts):
        raise SpecError([Problem(f"--set: malformed key {key!r} (empty part between dots)", start)])
    if parts[0] == "extends":
        raise SpecError([Problem("--set cannot change extends: the files a spec extends are merged before "
                                 "--set applies; write extends in the spec file", start, "extends")])
    value_column = len(key) + 2
    if value_text.strip():
        value = parse(" " * (value_column - 1) + value_text, source)
    else:
        value = Node(None, Location(source, 1, value_column))

    current, walked = root, []
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        where = ".".join(walked) or "the spec"
        if current.is_mapping:
            if last:
                current.value[part] = Entry(start, value)
                return
            if part not in current.value:
                current.value[part] = Entry(start, Node({}, start))
            current = current.value[part].node
        elif current.is_sequence:
            item_index = _sequence_index(current, part, where, start)
            if last:
                current.value[item_index] = value
                return
            current = current.value[item_index]
        else:
            raise SpecError([Problem(f"--set: {where} is a single value, it has no field '{part}'", start,
                                     ".".join(walked))])
        walked.append(part)


def _sequence_index(node: Node, part: str, where: str, location: Location) -> int:
    if part.lstrip("-").isdigit():
        index = int(part)
        if not -len(node.value) <= index < len(node.value):
            raise SpecError([Problem(f"--set: {where} has {len(node.value)} items, no index {index}",
                                     location, where)])
        return index
    names = _named_items(node) or []
    if part in names:
        return names.index(part)
    hint = f"; names: {one_of(names)}" if names else "; use a numeric index"
    raise SpecError([Problem(f"--set: no item named '{part}' in {where}{did_you_mean(part, names)}{hint}",
                             location, where)])


def load_spec_tree(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Node:
    """The spec at ``path`` with everything it extends and every override applied."""
    root = load_composed(Path(path))
    for number, assignment in enumerate(overrides, start=1):
        apply_override(root, assignment, number)
    return root
