"""Reading arrays a user supplies, with every foreseeable fault turned into a message they can act on.

CSV files are read as UTF-8 (a byte-order mark is dropped), short or long rows are named, a numeric
column with a blank or a word in it is named at its row instead of turning into class labels, and
arrays holding NaN or infinity are refused with a count and the first row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from tlspec.api import PlanError, read_utf8


def read_csv_rows(path: Path, field: str) -> tuple[list[str], list[dict]]:
    """(columns, rows) of a CSV file with a header row."""
    try:
        with io.StringIO(read_utf8(path, (field,), bom=True), newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = list(reader.fieldnames or [])
    except csv.Error as error:
        raise PlanError(f"{path.name} is not a readable CSV file: {error}", (field,)) from None
    for number, row in enumerate(rows, start=2):
        if None in row or None in row.values():
            found = len(columns) + len(row.get(None) or ()) - sum(value is None for value in row.values())
            raise PlanError(f"{path.name} row {number} has {found} fields; the header has {len(columns)}",
                            (field,))
    return columns, rows


def numbers(values: list[str]) -> tuple[list[float | None], int | None]:
    """Each value as a number (None where it is not one), and the index of the first that is not."""
    parsed = []
    for value in values:
        try:
            parsed.append(float(value))
        except ValueError:
            parsed.append(None)
    bad = next((index for index, number in enumerate(parsed) if number is None), None)
    return parsed, bad


def check_finite(array: np.ndarray, what: str, where: tuple) -> None:
    """Refuse NaN and infinity in a numeric array: they train to a NaN loss."""
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return
    bad = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1) if array.ndim else ~np.isfinite(array)
    count = int(bad.sum())
    if count:
        first = int(np.flatnonzero(bad)[0])
        raise PlanError(f"{what} has NaN or infinite values in {count} example{'s' if count != 1 else ''} "
                        f"(the first is example {first + 1}); fix or drop them", where)


def check_rows(array: np.ndarray, what: str, where: tuple) -> None:
    """One row per example: a single value (a 0-d array) is no data set."""
    if array.ndim == 0:
        raise PlanError(f"{what} is a single value, not one row per example", where)



def check_labels(array: np.ndarray, classes: list[str], what: str, where: tuple) -> None:
    """Class labels are whole numbers 0..len(classes)-1: others would fail training half way."""
    values = np.asarray(array).reshape(-1)
    outside = (values < 0) | (values >= len(classes)) | (values != np.round(values))
    count = int(outside.sum())
    if count:
        first = int(np.flatnonzero(outside)[0])
        raise PlanError(f"{what} has {count} label{'s' if count != 1 else ''} outside the {len(classes)} classes "
                        f"(labels 0..{len(classes) - 1}); the first is {values[first]:g}, example {first + 1}", where)
