"""``image_folder``: images in one subfolder per class, on tf.data.

Pipeline: file list -> parallel decode and resize -> in-memory cache ->
shuffle (train) -> batch -> random augmentation (train, optional) -> prefetch.
Images stay raw 0-255 RGB floats: the model holds its own preprocessing.

Before anything is decoded every file is checked to be a complete image of a
known format, with a JPEG header libjpeg accepts (``image_checks``); broken ones
are skipped and reported (or, with ``skip_corrupt: false``, rejected).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from tlspec.api import (
    DataConfig,
    DataContext,
    DataDescription,
    DataField,
    DataSource,
    PlanError,
    did_you_mean,
    hookimpl,
    split_indices,
    target_head,
)
from tlspec_builtins.image_checks import image_problem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
DECODING_VERSION = 1  # part of the fingerprint: change it whenever _decode or _resized change the pixels


class Augmentation(BaseModel):
    """Random transforms of training images (a Keras layer each), applied after the cache."""

    model_config = ConfigDict(extra="forbid")

    flip: Literal["horizontal", "vertical", "both"] | None = None
    rotation: float = Field(0.0, ge=0, le=0.5, description="Fraction of a full turn, e.g. 0.1 = ±36°.")
    zoom: float = Field(0.0, ge=0, lt=1)
    translation: float = Field(0.0, ge=0, lt=1)
    contrast: float = Field(0.0, ge=0, lt=1)

    @property
    def active(self) -> bool:
        return bool(self.flip or self.rotation or self.zoom or self.translation or self.contrast)


class ImageFolderConfig(DataConfig):
    train: str = Field(description="Folder with one subfolder of images per class.")
    validation: str | float | None = Field(None, description="A folder like train, or a fraction of train.")
    test: str | float | None = Field(None, description="A folder like train, or a fraction of train.")
    image_size: list[PositiveInt] = Field(min_length=2, max_length=2, description="Height and width.")
    input: str = Field("image", description="Model input the images feed.")
    target: str | None = Field(None, description="Head the labels train; default: the only head.")
    augmentation: Augmentation = Field(default_factory=Augmentation)
    skip_corrupt: bool = Field(True, description="Skip (and report) unreadable images instead of failing.")
    cache: bool = Field(True, description="Keep decoded images in memory after the first epoch (not when every "
                                          "phase trains on features computed in one pass).")


def _class_folders(root: Path, field: str | None, spec_value: str) -> dict[str, list[Path]]:
    """Class name -> its image files; ``field``: the spec field naming the folder (None: not from the spec)."""
    field = (field,) if field else ()
    if not root.is_dir():
        raise PlanError(f"folder not found: {spec_value}" + (f" (looked for {root})" if field else ""), field)
    classes = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        # by name: the same order as comparing whole paths (one parent), without Path's slow comparison
        files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: p.name)
        if not files:
            raise PlanError(f"class folder {folder.name!r} in {spec_value} has no images "
                            f"({', '.join(IMAGE_SUFFIXES)})", field)
        classes[folder.name] = files
    if not classes:
        raise PlanError(f"{spec_value} has no class subfolders (expected e.g. {spec_value}/cat/*.jpg)", field)
    return classes


class ImageFolder(DataSource):
    name = "image_folder"
    summary = "Images in one subfolder per class; tf.data decode, cache, augmentation, prefetch."
    Config = ImageFolderConfig

    def _files(self, config: ImageFolderConfig, context: DataContext):
        """Per split: (paths, labels), and the class names."""
        train = _class_folders(context.resolve_path(config.train), "train", config.train)
        names = list(train)
        splits = {"train": [(path, names.index(c)) for c, paths in train.items() for path in paths]}
        for split in ("validation", "test"):
            value = getattr(config, split)
            if not isinstance(value, str):
                continue
            folders = _class_folders(context.resolve_path(value), split, value)
            missing, extra = sorted(set(names) - set(folders)), sorted(set(folders) - set(names))
            if missing:
                raise PlanError(f"class {missing[0]!r} is in {config.train} but missing from {value}", (split,))
            if extra:
                raise PlanError(f"{value} has class {extra[0]!r} that {config.train} does not have", (split,))
            splits[split] = [(path, names.index(c)) for c, paths in folders.items() for path in paths]
        fractions = {s: getattr(config, s) for s in ("validation", "test")
                     if isinstance(getattr(config, s), float)}
        if fractions:
            pool = splits["train"]
            for split, indices in split_indices(len(pool), fractions, context.seed).items():
                splits[split] = [pool[i] for i in indices]
        return splits, names

    def describe(self, config: ImageFolderConfig, context: DataContext) -> DataDescription:
        for split in ("validation", "test"):
            value = getattr(config, split)
            if isinstance(value, float) and not 0 < value < 1:
                raise PlanError(f"a {split} fraction must be between 0 and 1", (split,))
        splits, names = self._files(config, context)
        height, width = config.image_size
        return DataDescription(
            inputs={config.input: DataField((height, width, 3), "float32")},
            targets={target_head(config.target, context): DataField((), "int32", tuple(names))},
            splits={split: len(items) for split, items in splits.items()},
            augmented=config.augmentation.active,
        )

    def datasets(self, config: ImageFolderConfig, context: DataContext) -> dict[str, Any]:
        splits, _ = self._files(config, context)
        target = target_head(config.target, context)
        return {split: self._pipeline(items, config, context, split, target) for split, items in splits.items()}

    def fingerprint(self, config: ImageFolderConfig, context: DataContext) -> dict[str, str]:
        """Each split's image bytes and labels, in order, with the options that change the decoded pixels."""
        import hashlib

        splits, names = self._files(config, context)
        options = json.dumps([DECODING_VERSION, names, config.image_size, config.input, config.target,
                              config.skip_corrupt])
        found = {}
        for split, items in splits.items():
            digest = hashlib.blake2b(options.encode(), digest_size=20)
            for path, label in items:
                digest.update(label.to_bytes(4, "little"))
                digest.update(path.read_bytes())
            found[split] = digest.hexdigest()
        return found

    def evaluation_dataset(self, config: ImageFolderConfig, context: DataContext, paths: Sequence[str], targets):
        """Folders laid out like train (one subfolder per class); a folder may lack classes, never add one."""
        target = target_head(config.target, context)
        items = self._new_items(paths, list(targets[target].classes or ()))
        return self._pipeline(items, config, context, "evaluation", target)

    def example_items(self, config: ImageFolderConfig, context: DataContext, split: str, paths=()):
        if paths:
            items = self._new_items(paths, None)
        else:
            splits, _ = self._files(config, context)
            items = splits.get(split, [])
        return [str(path) for path, _ in self._readable(items, config, context, split)]

    def _new_items(self, paths: Sequence[str], names: list[str] | None) -> list[tuple[Path, int]]:
        """(file, label) of the class folders under ``paths``, labelled in ``names``' order (None: any)."""
        items = []
        for path in paths:
            for name, files in _class_folders(Path(path), None, path).items():
                if names is not None and name not in names:
                    raise PlanError(f"{Path(path) / name}: class {name!r} is not one of the run's classes"
                                    f"{did_you_mean(name, names)}; its classes: {', '.join(names)}")
                items.extend((file, names.index(name) if names else 0) for file in files)
        return items

    def _pipeline(self, items, config: ImageFolderConfig, context: DataContext, split: str, target: str):
        import tensorflow as tf

        items = self._readable(items, config, context, split)
        paths = tf.constant([str(path) for path, _ in items])
        labels = tf.constant([label for _, label in items], dtype=tf.int32)
        dataset = tf.data.Dataset.from_tensor_slices((paths, labels))
        dataset = dataset.map(lambda p, y: (self._decode(p, config.image_size), y),
                              num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if config.cache and context.keep_decoded:  # not when tlspec reads each split once
            dataset = dataset.cache()
        if split == "train":
            dataset = dataset.shuffle(len(items), seed=context.seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(context.batch_size)
        if split == "train" and config.augmentation.active:
            augment = _augmenter(config.augmentation, context.seed)
            dataset = dataset.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
        dataset = dataset.map(lambda x, y: ({config.input: x}, {target: y}))
        return dataset.prefetch(tf.data.AUTOTUNE)

    def _readable(self, items, config: ImageFolderConfig, context: DataContext, split: str):
        broken = [(path, reason) for path, _ in items if (reason := image_problem(path))]
        if not broken:
            return items
        listing = "; ".join(f"{path} ({reason})" for path, reason in broken[:5])
        more = f"; and {len(broken) - 5} more" if len(broken) > 5 else ""
        if not config.skip_corrupt:
            raise PlanError(f"{len(broken)} unreadable image(s) in the {split} split: {listing}{more}",
                            ("skip_corrupt",))
        context.note(f"skipped {len(broken)} unreadable image(s) in the {split} split: {listing}{more}")
        bad = {path for path, _ in broken}
        kept = [item for item in items if item[0] not in bad]
        if not kept:
            raise PlanError(f"every image in the {split} split is unreadable", (split,))
        return kept

    @staticmethod
    def _decode(path, size):
        import tensorflow as tf

        return _resized(tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False), size)

    def input_preprocessing(self, config: ImageFolderConfig) -> dict[str, str]:
        height, width = config.image_size
        return {config.input: f"an RGB image decoded from JPEG, PNG, GIF or BMP, resized to {height}×{width} "
                              "(height×width; bilinear, antialiased, aspect ratio not kept), as float32 values "
                              "0-255: the model does its own scaling"}

    def prediction_inputs(self, config: ImageFolderConfig, context: DataContext, items: Sequence[str]):
        import numpy as np
        import tensorflow as tf

        images = []
        height, width = config.image_size
        for item in items:
            if not context.local_files:
                raise PlanError(f"{item}: an image is sent as a file (multipart) or as base64, not as text")
            path = Path(item)
            problem = "file not found" if not path.is_file() else image_problem(path)
            if problem:
                raise PlanError(f"{item}: {problem}")
            try:
                image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
            except tf.errors.InvalidArgumentError as error:  # a damage the header check cannot see
                detail = str(error).split("}}")[-1].strip().splitlines()[0]
                raise PlanError(f"{item}: TensorFlow cannot decode this image ({detail})") from None
            found_height, found_width = int(image.shape[0]), int(image.shape[1])
            if (found_height, found_width) != (height, width):
                kept = abs(found_width / found_height - width / height) < 0.01
                context.note_item(item, f"resized from {found_width}×{found_height} to the model's {width}×{height} "
                                        f"(width×height){'' if kept else ', stretched: the aspect ratio differs'}")
            images.append(_resized(image, config.image_size).numpy())
        return {config.input: np.stack(images)}


def _resized(image, size):
    import tensorflow as tf

    return tf.cast(tf.image.resize(image, size, method="bilinear", antialias=True), tf.float32)


def _augmenter(augmentation: Augmentation, seed: int | None):
    import keras

    layers = []
    if augmentation.flip:
        mode = "horizontal_and_vertical" if augmentation.flip == "both" else augmentation.flip
        layers.append(keras.layers.RandomFlip(mode, seed=seed))
    if augmentation.rotation:
        layers.append(keras.layers.RandomRotation(augmentation.rotation, seed=seed))
    if augmentation.zoom:
        layers.append(keras.layers.RandomZoom(augmentation.zoom, seed=seed))
    if augmentation.translation:
        layers.append(keras.layers.RandomTranslation(augmentation.translation, augmentation.translation, seed=seed))
    if augmentation.contrast:
        layers.append(keras.layers.RandomContrast(augmentation.contrast, seed=seed))
    return keras.Sequential(layers, name="augmentation")


@hookimpl
def tlspec_data_sources():
    return [ImageFolder()]
