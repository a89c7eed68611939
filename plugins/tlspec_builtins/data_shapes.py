"""``synthetic_shapes``: images of simple shapes, generated on the spot (no download).

Each class is a shape kind drawn at a random place and size, in random
foreground and background colours, with noise. Different shape sets make
different tasks over the same kind of images, which is what the quickstart
needs to show transfer: pretrain on one set, transfer to another with few labels.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, PositiveInt, field_validator

from tlspec.api import (
    DataConfig,
    DataContext,
    DataDescription,
    DataField,
    DataSource,
    array_datasets,
    hookimpl,
    target_head,
)

ShapeName = Literal["circle", "ring", "square", "frame", "diamond", "triangle", "plus", "hbar", "vbar", "cross"]


def _mask(kind: str, x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    ax, ay = np.abs(x), np.abs(y)
    thin = max(1.5, radius / 3)
    if kind == "circle":
        return x * x + y * y <= radius * radius
    if kind == "ring":
        d = np.sqrt(x * x + y * y)
        return (d <= radius) & (d >= radius - thin)
    if kind == "square":
        return (ax <= radius) & (ay <= radius)
    if kind == "frame":
        return (ax <= radius) & (ay <= radius) & ((ax >= radius - thin) | (ay >= radius - thin))
    if kind == "diamond":
        return ax + ay <= radius
    if kind == "triangle":
        return (y <= radius) & (y >= -radius) & (ax <= (y + radius) / 2)
    if kind == "plus":
        return ((ax <= thin / 2) & (ay <= radius)) | ((ay <= thin / 2) & (ax <= radius))
    if kind == "hbar":
        return (ay <= thin / 2) & (ax <= radius)
    if kind == "vbar":
        return (ax <= thin / 2) & (ay <= radius)
    return ((np.abs(x - y) <= thin / 2) | (np.abs(x + y) <= thin / 2)) & (ax <= radius) & (ay <= radius)  # cross


def draw(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    radius = rng.uniform(size * 0.2, size * 0.38)
    cx, cy = rng.uniform(radius, size - radius, 2)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    mask = _mask(kind, x - cx, y - cy, radius)
    background, foreground = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    while np.abs(foreground - background).sum() < 150:
        foreground = rng.uniform(0, 255, 3)
    image = np.where(mask[..., None], foreground, background) + rng.normal(0, 12, (size, size, 3))
    return np.clip(image, 0, 255).astype(np.float32)


class ShapesConfig(DataConfig):
    shapes: list[ShapeName] = Field(min_length=2, description="The classes: one shape kind each.")
    train: PositiveInt = Field(description="Training images per class.")
    validation: int = Field(0, ge=0, description="Validation images per class.")
    test: int = Field(0, ge=0, description="Test images per class.")
    image_size: PositiveInt = Field(32, ge=8)
    input: str = Field("image", description="Model input the images feed.")
    target: str | None = Field(None, description="Head the labels train; default: the only head.")
    seed: int = Field(0, ge=0, description="Seed of the generator (each split draws its own images).")

    @field_validator("shapes")
    @classmethod
    def _distinct(cls, shapes):
        if len(set(shapes)) != len(shapes):
            raise ValueError("shapes must be distinct")
        return shapes


class SyntheticShapes(DataSource):
    name = "synthetic_shapes"
    summary = "Generated images of simple shapes (circles, squares, bars, …); no download."
    Config = ShapesConfig

    def _counts(self, config: ShapesConfig) -> dict[str, int]:
        return {split: getattr(config, split) for split in ("train", "validation", "test") if getattr(config, split)}

    def describe(self, config: ShapesConfig, context: DataContext) -> DataDescription:
        size = config.image_size
        return DataDescription(
            inputs={config.input: DataField((size, size, 3), "float32")},
            targets={target_head(config.target, context): DataField((), "int32", tuple(config.shapes))},
            splits={split: count * len(config.shapes) for split, count in self._counts(config).items()},
        )

    def generate(self, config: ShapesConfig, split: str, count: int) -> tuple[np.ndarray, np.ndarray]:
        offset = {"train": 0, "validation": 1, "test": 2}[split]
        rng = np.random.default_rng([config.seed, offset])
        labels = np.repeat(np.arange(len(config.shapes), dtype=np.int32), count)
        rng.shuffle(labels)
        images = np.stack([draw(config.shapes[label], config.image_size, rng) for label in labels])
        return images, labels

    def datasets(self, config: ShapesConfig, context: DataContext) -> dict[str, Any]:
        target = target_head(config.target, context)
        splits = {}
        for split, count in self._counts(config).items():
            images, labels = self.generate(config, split, count)
            splits[split] = ({config.input: images}, {target: labels})
        return array_datasets(splits, context)


@hookimpl
def tlspec_data_sources():
    return [SyntheticShapes()]
