"""Paths a spec names, resolved against the spec's folder and checked before the file system sees them.

A path the operating system cannot even look up (a NUL character, a name longer than file systems
allow) would make ``exists()`` raise; it is a ``PlanError`` here, reported at the plugin's section.
"""

from __future__ import annotations

import os
from pathlib import Path

from tlspec.errors import PlanError

MAX_NAME_BYTES = 255    # one file or folder name (ext4, APFS, NTFS)
MAX_PATH_BYTES = 4096   # a whole path (Linux PATH_MAX)


def resolve_spec_path(spec_dir: Path, value: str | Path) -> Path:
    """``value`` relative to the spec's folder (``~`` expanded), or PlanError if no file system could hold it."""
    text = str(value)
    shown = text if len(text) <= 80 else text[:77] + "..."
    if "\0" in text:
        raise PlanError(f"the path {shown!r} contains a NUL character")
    path = Path(text).expanduser()
    path = path if path.is_absolute() else spec_dir / path
    encoded = [os.fsencode(part) for part in path.parts]
    if any(len(part) > MAX_NAME_BYTES for part in encoded) or len(os.fsencode(str(path))) > MAX_PATH_BYTES:
        raise PlanError(f"the path {shown!r} is longer than a file system allows ({MAX_NAME_BYTES} bytes a name, "
                        f"{MAX_PATH_BYTES} a path)")
    return path
