"""Reading the text files a spec names: UTF-8 or a message that says where it is not."""

from __future__ import annotations

from pathlib import Path

from tlspec.api import PlanError


def read_utf8(path: Path, where: tuple, bom: bool = False) -> str:
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
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise PlanError(f"{path.name} is not UTF-8 text: byte 0x{raw[error.start]:02x} at line {line}, column "
                        f"{column} ({error.reason}); save it as UTF-8", where) from None
