"""Array data sources: ``inline`` (arrays written in the spec) and ``arrays`` (.npz or CSV files).

Inputs are keyed by model input name and targets by head name. A split is a
file of its own, a fraction of the training file (deterministic for a seed),
or, for the lecture's four-row example, the training data itself.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from tlspec.api import (
    DataConfig,
    DataContext,
    DataDescription,
    DataField,
    DataSource,
    LabelCounts,
    PlanError,
    array_datasets,
    did_you_mean,
    hookimpl,
    one_of,
    split_indices,
)
from tlspec_builtins.array_checks import check_finite, check_labels, check_rows, numbers, read_csv_rows
from tlspec_builtins.data_common import dtype_name, normalise

SplitChoice = Literal["train"] | float | None


class InlineConfig(DataConfig):
    inputs: dict[str, list] = Field(description="Model input name -> list of examples.")
    targets: dict[str, list] = Field(description="Head name -> list of targets, one per example.")
    classes: dict[str, list[str]] = Field(default_factory=dict, description="Head name -> class names.")
    validation: SplitChoice = Field(
        None, description="'train' (validate on the training data, as the lecture does), a fraction, or null.")
    test: float | None = Field(None, gt=0, lt=1, description="Fraction held out for testing.")


def _as_arrays(mapping: dict[str, list], field: str) -> dict[str, np.ndarray]:
    arrays = {}
    for name, values in mapping.items():
        try:
            array = np.asarray(values)
        except ValueError:
            raise PlanError("rows have different lengths", (field, name)) from None
        if array.dtype == object or array.dtype.kind in "USM":
            raise PlanError("expected numbers (nested lists of equal length)", (field, name))
        check_finite(array, f"{field}.{name}", (field, name))
        arrays[name] = normalise(array)
    return arrays


def _check_counts(inputs, targets) -> None:
    """Every input and target has one row per example, and there is at least one example."""
    counts = {len(a) for a in list(inputs.values()) + list(targets.values())}
    if len(counts) > 1:
        sizes = ", ".join(f"{n}: {len(a)}" for n, a in {**inputs, **targets}.items())
        raise PlanError(f"inputs and targets have different numbers of examples ({sizes})")
    if counts == {0}:
        raise PlanError("the data has no examples")


def _check_class_labels(targets: dict, classes: dict, where: str) -> None:
    for head, array in targets.items():
        if head in classes:
            check_labels(array, classes[head], f"target {head!r}", ("classes", head))


def _describe_arrays(inputs, targets, classes, splits) -> DataDescription:
    _check_counts(inputs, targets)
    _check_class_labels(targets, classes, "targets")
    return DataDescription(
        inputs={n: DataField(tuple(a.shape[1:]), dtype_name(a)) for n, a in inputs.items()},
        targets={n: DataField(tuple(a.shape[1:]), dtype_name(a), tuple(classes[n]) if n in classes else None,
                              LabelCounts.of(a) if a.ndim <= 2 else None) for n, a in targets.items()},
        splits=splits,
    )


def _split(inputs, targets, validation, test, seed):
    count = len(next(iter(inputs.values())))
    fractions = {"validation": validation if isinstance(validation, float) else None, "test": test}
    indices = split_indices(count, fractions, seed)
    splits = {name: ({k: v[i] for k, v in inputs.items()}, {k: v[i] for k, v in targets.items()})
              for name, i in indices.items()}
    if validation == "train":
        splits["validation"] = splits["train"]
    return splits


class Inline(DataSource):
    name = "inline"
    summary = "Small arrays written in the spec (the lecture's four-row example)."
    Config = InlineConfig

    def _arrays(self, config: InlineConfig):
        inputs, targets = _as_arrays(config.inputs, "inputs"), _as_arrays(config.targets, "targets")
        _check_counts(inputs, targets)
        return inputs, targets

    def describe(self, config: InlineConfig, context: DataContext) -> DataDescription:
        inputs, targets = self._arrays(config)
        splits = _split(inputs, targets, config.validation, config.test, context.seed)
        return _describe_arrays(inputs, targets, config.classes,
                                {name: len(next(iter(x.values()))) for name, (x, _) in splits.items()})

    def datasets(self, config: InlineConfig, context: DataContext) -> dict[str, Any]:
        inputs, targets = self._arrays(config)
        return array_datasets(_split(inputs, targets, config.validation, config.test, context.seed), context)


class ArraysConfig(DataConfig):
    train: str = Field(description="A .npz file or a CSV file with a header row, relative to the spec.")
    validation: str | float | None = Field(None, description="A file of the same kind, or a fraction of train.")
    test: str | float | None = Field(None, description="A file of the same kind, or a fraction of train.")
    inputs: dict[str, str | list[str]] = Field(
        description="Model input name -> array name (.npz) or column name(s) (CSV; several are stacked).")
    targets: dict[str, str | list[str]] = Field(description="Head name -> array or column name(s).")
    classes: dict[str, list[str]] = Field(
        default_factory=dict, description="Head name -> class names (CSV text labels are mapped to them).")

    @model_validator(mode="after")
    def _fractions_in_range(self):
        for split in ("validation", "test"):
            value = getattr(self, split)
            if isinstance(value, float) and not 0 < value < 1:
                raise ValueError(f"{split}: a fraction must be between 0 and 1")
        return self


class Arrays(DataSource):
    name = "arrays"
    summary = "Arrays from .npz files or CSV columns, mapped to named inputs and targets."
    Config = ArraysConfig

    def _load(self, config: ArraysConfig, context: DataContext, field: str, path: str, labels: dict):
        resolved = context.resolve_path(path)
        if not resolved.is_file():
            raise PlanError(f"file not found: {path} (looked for {resolved})", (field,))
        if resolved.suffix == ".npz":
            return self._load_npz(config, resolved, field)
        return self._load_csv(config, resolved, field, labels)

    def _load_npz(self, config, path: Path, field: str):
        try:
            archive = np.load(path)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise PlanError(f"{path.name} is not a readable .npz file: {error}", (field,)) from None

        def pick(mapping, kind):
            result = {}
            for name, key in mapping.items():
                if not isinstance(key, str) or key not in archive.files:
                    raise PlanError(f"{path.name} has no array {key!r}{did_you_mean(str(key), archive.files)}; "
                                    f"arrays: {one_of(archive.files)}", (kind, name))
                try:
                    array = archive[key]
                except ValueError:  # object arrays need pickle, which is never allowed
                    raise PlanError(f"array {key!r} of {path.name} holds Python objects; save numbers "
                                    "(np.savez with numeric arrays)", (kind, name)) from None
                what = f"array {key!r} of {path.name}"
                check_rows(array, what, (kind, name))
                if array.dtype.kind not in "biuf":
                    raise PlanError(f"{what} holds {array.dtype} values, not numbers", (kind, name))
                check_finite(array, what, (kind, name))
                result[name] = normalise(array)
            return result
        return pick(config.inputs, "inputs"), pick(config.targets, "targets")

    def _load_csv(self, config, path: Path, field: str, labels: dict):
        columns, rows = read_csv_rows(path, field)
        if not rows:
            raise PlanError(f"{path.name} has no data rows", (field,))

        def column(name, kind, owner):
            if name not in columns:
                raise PlanError(f"{path.name} has no column {name!r}{did_you_mean(name, columns)}; columns: "
                                f"{one_of(columns)}", (kind, owner))
            values = [row[name] for row in rows]
            parsed, bad = numbers(values)
            if bad is None:
                array = np.asarray(parsed, dtype=np.float32)
                check_finite(array, f"column {name!r} of {path.name}", (kind, owner))
                return array
            if kind == "inputs":
                raise PlanError(f"column {name!r} of {path.name} is not numeric: row {bad + 2} holds "
                                f"{values[bad][:40]!r}", (kind, owner))
            if owner not in labels and any(number is not None for number in parsed):
                raise PlanError(f"column {name!r} of {path.name} holds numbers, but row {bad + 2} holds "
                                f"{values[bad][:40]!r}; fill it in or drop the row (or list the head's classes "
                                "if the column holds labels)", (kind, owner))
            names = labels.setdefault(owner, sorted(set(values)))
            unknown = sorted(set(values) - set(names))
            if unknown:
                raise PlanError(f"column {name!r} of {path.name} has labels {unknown[:8]} that are not among "
                                f"the classes {names}", ("classes", owner))
            return np.asarray([names.index(v) for v in values], dtype=np.int32)

        def pick(mapping, kind):
            result = {}
            for owner, spec in mapping.items():
                names = [spec] if isinstance(spec, str) else spec
                stacked = np.stack([column(n, kind, owner) for n in names], axis=-1)
                result[owner] = stacked[..., 0] if isinstance(spec, str) else stacked
                if kind == "targets" and result[owner].dtype == np.float32 and owner in labels:
                    result[owner] = result[owner].astype(np.int32)
            return result
        return pick(config.inputs, "inputs"), pick(config.targets, "targets")

    def _splits(self, config: ArraysConfig, context: DataContext):
        labels = {head: list(names) for head, names in config.classes.items()}
        inputs, targets = self._load(config, context, "train", config.train, labels)
        _check_counts(inputs, targets)  # before splitting: indexing would cut the longer arrays short
        fractions = {s: getattr(config, s) for s in ("validation", "test") if isinstance(getattr(config, s), float)}
        indices = split_indices(len(next(iter(inputs.values()))), fractions, context.seed)
        splits = {name: ({k: v[i] for k, v in inputs.items()}, {k: v[i] for k, v in targets.items()})
                  for name, i in indices.items()}
        for split in ("validation", "test"):
            path = getattr(config, split)
            if isinstance(path, str):
                splits[split] = self._load(config, context, split, path, labels)
        return splits, labels

    def describe(self, config: ArraysConfig, context: DataContext) -> DataDescription:
        splits, labels = self._splits(config, context)
        inputs, targets = splits["train"]
        for split, (x, y) in splits.items():
            _check_class_labels(y, labels, split)
            for name, array in {**x, **y}.items():
                reference = inputs.get(name, targets.get(name))
                if array.shape[1:] != reference.shape[1:]:
                    raise PlanError(f"'{name}' has shape {array.shape[1:]} in the {split} file but "
                                    f"{reference.shape[1:]} in train", (split,))
        return _describe_arrays(inputs, targets, labels,
                                {name: len(next(iter(x.values()))) for name, (x, _) in splits.items()})

    def datasets(self, config: ArraysConfig, context: DataContext) -> dict[str, Any]:
        return array_datasets(self._splits(config, context)[0], context)

    def evaluation_dataset(self, config: ArraysConfig, context: DataContext, paths, targets):
        """Files like train (the same arrays or columns); text labels are read in the run's class order."""
        labels = {head: list(field.classes) for head, field in targets.items() if field.classes}
        missing = [path for path in paths if not Path(path).is_file()]
        if missing:
            raise PlanError(f"file not found: {missing[0]}")
        parts = [self._load(config, context, "evaluation", str(Path(path).resolve()), labels) for path in paths]
        inputs = {name: np.concatenate([x[name] for x, _ in parts]) for name in parts[0][0]}
        outputs = {name: np.concatenate([y[name] for _, y in parts]) for name in parts[0][1]}
        _check_counts(inputs, outputs)
        _check_class_labels(outputs, labels, "evaluation")
        return array_datasets({"evaluation": (inputs, outputs)}, context)["evaluation"]


@hookimpl
def tlspec_data_sources():
    return [Inline(), Arrays()]
