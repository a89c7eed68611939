"""Pieces the built-in data sources share (splitting and batching are tlspec.api helpers, open to every plugin)."""

from __future__ import annotations

import numpy as np


def dtype_name(array: np.ndarray) -> str:
    if np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        return "int32"
    return "float32"


def normalise(array: np.ndarray) -> np.ndarray:
    return array.astype(np.int32) if dtype_name(array) == "int32" else array.astype(np.float32)

