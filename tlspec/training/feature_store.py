"""The persistent feature cache (``train.persistent_cache``): extracted features kept on disk.

A split's features are found again under a key made of everything they depend
on: the data source's fingerprint of the split (its files' content and the
options that change what it yields), the seed (it orders the training split),
the extractor's architecture and weights, the dtype policy and the TensorFlow
and Keras versions. Anything else is a new key, so a stale entry is never
read; entries are whole files written under a temporary name and renamed, and
one that cannot be read is extracted again and replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

from tlspec.plugin.paths import cache_home
from tlspec.training.feature_cache import CachedSplit, FeatureModels

FORMAT = 1


def cache_root() -> Path:
    """$TLSPEC_CACHE/features, by default ~/.cache/tlspec/features."""
    return cache_home() / "features"


class FeatureStore:
    def __init__(self, root: Path, fingerprints: dict[str, str], models: FeatureModels, seed: int | None):
        import keras
        import tensorflow as tf

        self.root = root
        self.fingerprints = fingerprints
        self.hits: list[str] = []
        self.saved: list[str] = []
        model = {"extractor": models.extractor.get_config(), "weights": models.weights_digest(),
                 "keys": models.keys, "policy": keras.config.dtype_policy().name,
                 "tensorflow": tf.__version__, "keras": keras.__version__, "format": FORMAT}
        self._model = json.dumps(model, sort_keys=True, default=str)
        self._seed = seed

    def key(self, split: str) -> str | None:
        if split not in self.fingerprints:
            return None
        digest = hashlib.blake2b(self._model.encode(), digest_size=20)
        digest.update(json.dumps([split, self.fingerprints[split], self._seed if split == "train" else None])
                      .encode())
        return digest.hexdigest()

    def path(self, split: str) -> Path | None:
        key = self.key(split)
        return None if key is None else self.root / f"{key}.npz"

    def load(self, split: str) -> CachedSplit | None:
        import numpy as np

        path = self.path(split)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                features = {name[2:]: stored[name] for name in stored.files if name.startswith("f:")}
                targets = {name[2:]: stored[name] for name in stored.files if name.startswith("t:")}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # truncated, not ours: extract again
            return None
        if not features or len({len(v) for v in [*features.values(), *targets.values()]}) != 1:
            return None
        self.hits.append(split)
        return CachedSplit(features, targets)

    def save(self, split: str, cached: CachedSplit) -> None:
        import numpy as np

        path = self.path(split)
        if path is None:
            return
        arrays = {f"f:{k}": v for k, v in cached.features.items()} | {f"t:{k}": v for k, v in cached.targets.items()}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(partial, "wb") as file:
                np.savez(file, **arrays)
            os.replace(partial, path)
        except OSError as error:  # a full or read-only disk costs the next run time, not this one
            print(f"note: features not kept in {self.root}: {error.strerror or error}")
            return
        self.saved.append(split)

    def describe(self) -> str | None:
        """What was read and kept since the last call ('features read from DIR: train, validation'), or None."""
        parts = []
        if self.hits:
            parts.append(f"features read from {self.root}: {', '.join(self.hits)}")
        if self.saved:
            parts.append(f"features kept in {self.root}: {', '.join(self.saved)}")
        self.hits, self.saved = [], []
        return "; ".join(parts) or None
