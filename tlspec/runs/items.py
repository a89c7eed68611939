"""What ``tlspec predict ITEMS…`` predicts: items as given, folders and globs expanded to their files.

An item is whatever the run's data plugin reads (an image path, a sentence), so only what is clearly
meant as files is expanded: an existing folder becomes the files under it (sorted, hidden ones left
out), and a pattern with ``*``, ``?`` or ``[`` that matches files becomes those files. A pattern that
matches nothing stays as it is: for a text plugin it is a sentence; for a file plugin, "file not found".
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from pathlib import Path

PATTERN_CHARACTERS = frozenset("*?[")


def expand(items: Sequence[str]) -> list[str]:
    expanded: list[str] = []
    for item in items:
        path = Path(item)
        if item and path.is_dir():
            expanded.extend(_files_under(path))
        elif PATTERN_CHARACTERS & set(item) and (matches := sorted(glob.glob(item, recursive=True))):
            for match in matches:
                expanded.extend(_files_under(Path(match)) if Path(match).is_dir() else [match])
        else:
            expanded.append(item)
    return expanded


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _files_under(folder: Path) -> list[str]:
    return [str(path) for path in sorted(folder.rglob("*"))
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)]
