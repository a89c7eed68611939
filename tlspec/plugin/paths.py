"""Paths and text files a spec names: resolved, checked, read as UTF-8.

A path the operating system cannot even look up (a NUL character, a name longer than file systems
allow) would make ``exists()`` raise; it is a ``PlanError`` here, reported at the plugin's section.
A file that is not UTF-8 is named at the line and column of its first bad byte.
"""

from __future__ import annotations

import contextlib
import os
import sys
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
    sys.audit("tlspec.path", str(path))  # validate's result cache counts it among what the check read
    return path


def bad_byte_position(raw: bytes, error: UnicodeDecodeError) -> tuple[int, int]:
    """(line, column) of the first byte that is not UTF-8; the column counts characters, as editors do."""
    line_start = raw.rfind(b"\n", 0, error.start) + 1
    column = len(raw[line_start: error.start].decode("utf-8", errors="replace")) + 1
    return raw.count(b"\n", 0, error.start) + 1, column


def read_utf8(path: Path, where: tuple = (), bom: bool = False) -> str:
    """The file's text; PlanError (at ``where``) naming the line and column of the first byte that is not UTF-8.

    ``bom``: drop a leading byte-order mark (spreadsheet programs write one before a CSV header).
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PlanError(f"cannot read {path.name}: {error.strerror or error}", where) from None
    try:
        return raw.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as error:
        line, column = bad_byte_position(raw, error)
        raise PlanError(f"{path.name} is not UTF-8 text: byte 0x{raw[error.start]:02x} at line {line}, column "
                        f"{column} ({error.reason}); save it as UTF-8", where) from None


def cache_home() -> Path:
    """Where tlspec keeps what it can recompute (plugin index, data descriptions, features): $TLSPEC_CACHE,
    by default ~/.cache/tlspec."""
    return Path(os.environ.get("TLSPEC_CACHE") or Path.home() / ".cache" / "tlspec")


def write_text_atomically(path: Path, text: str) -> bool:
    """Write under a temporary name and rename, so a reader never sees half a file; False (nothing left
    behind) when it cannot be written, e.g. a read-only cache folder."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):  # e.g. the cache "folder" is a file: there is nothing to remove
            temporary.unlink(missing_ok=True)
        return False
