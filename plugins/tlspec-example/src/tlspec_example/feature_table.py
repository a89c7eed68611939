"""``feature_table``: an example data source, numeric features and one class label from a CSV file.

It shows the whole data source contract:

1. ``describe`` (TensorFlow-free, cheap): what it yields, checked against the model by
   ``tlspec validate``; foreseeable mistakes (a missing column, a label outside the classes) are
   ``PlanError`` naming the option at fault;
2. ``datasets``: batched tf.data pipelines, features standardised with the training split's
   statistics;
3. ``prediction_state``: those statistics, saved in the run directory, so that
4. ``prediction_inputs`` reads ``tlspec predict`` items ("0.3,-1.2,…") without the training file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from pydantic import Field

from tlspec.api import (
    DataConfig,
    DataContext,
    DataDescription,
    DataField,
    DataSource,
    LabelCounts,
    PlanError,
    did_you_mean,
    one_of,
    read_utf8,
    split_indices,
)


class FeatureTableConfig(DataConfig):
    path: str = Field(description="A CSV file with a header row, relative to the spec.")
    features: list[str] = Field(min_length=1, description="The columns holding the numeric features, in order.")
    target: str = Field(description="The column holding each row's class label: 0..K-1, or a name from classes.")
    classes: list[str] | None = Field(None, description="Class names in label order (the target may use them).")
    input: str = Field("features", description="The model input the features go to.")
    head: str | None = Field(None, description="The head the labels train (default: the only head).")
    validation: float = Field(0.2, ge=0, lt=1, description="Fraction of rows held out for validation.")
    test: float = Field(0.0, ge=0, lt=1, description="Fraction of rows held out for testing.")


class FeatureTable(DataSource):
    name = "feature_table"
    summary = "Example plugin: numeric feature columns and a class label from a CSV; standardised features."
    Config = FeatureTableConfig

    def _head(self, config: FeatureTableConfig, context: DataContext) -> str:
        if config.head is not None:
            if config.head not in context.heads:
                raise PlanError(f"no head named '{config.head}'{did_you_mean(config.head, context.heads)}", ("head",))
            return config.head
        if len(context.heads) != 1:
            raise PlanError(f"several heads ({one_of(context.heads)}): say which one with 'head'", ("head",))
        return context.heads[0]

    def _table(self, config: FeatureTableConfig, context: DataContext):
        """(features as rows of floats, labels as ints, class names), every value checked."""
        path = context.resolve_path(config.path)
        if not path.is_file():
            raise PlanError(f"file not found: {config.path} (looked for {path})", ("path",))
        rows = list(csv.DictReader(io.StringIO(read_utf8(path, ("path",), bom=True), newline="")))
        header = list(rows[0]) if rows else []
        for field, names in (("features", config.features), ("target", [config.target])):
            for index, name in enumerate(names):
                if name not in header:
                    where = (field, index) if field == "features" else (field,)
                    raise PlanError(f"{config.path} has no column '{name}'{did_you_mean(name, header)}; columns: "
                                    f"{one_of(header)}", where)
        features, labels = [], []
        for line, row in enumerate(rows, start=2):
            try:
                features.append([float(row[name]) for name in config.features])
            except (TypeError, ValueError):
                raise PlanError(f"{config.path} line {line}: a feature is not a number", ("features",)) from None
            labels.append(self._label(config, row[config.target], line))
        if not rows:
            raise PlanError(f"{config.path} has no rows", ("path",))
        names = config.classes or [str(k) for k in range(max(labels) + 1)]
        return features, labels, names

    def _label(self, config: FeatureTableConfig, value: str, line: int) -> int:
        if config.classes and value in config.classes:
            return config.classes.index(value)
        try:
            return int(value)
        except ValueError:
            expected = f"a label 0..{len(config.classes) - 1} or one of {one_of(config.classes)}" if config.classes \
                else "a whole-number label"
            raise PlanError(f"{config.path} line {line}: {value!r} is not {expected}", ("target",)) from None

    def _splits(self, count: int, config: FeatureTableConfig, context: DataContext) -> dict[str, list[int]]:
        fractions = {"validation": config.validation, "test": config.test}
        return {name: rows.tolist() for name, rows in split_indices(count, fractions, context.seed).items()}

    def describe(self, config: FeatureTableConfig, context: DataContext) -> DataDescription:
        features, labels, names = self._table(config, context)
        splits = self._splits(len(labels), config, context)
        return DataDescription(
            inputs={config.input: DataField((len(config.features),), "float32")},
            targets={self._head(config, context): DataField((), "int32", tuple(names), LabelCounts.of(labels))},
            splits={name: len(rows) for name, rows in splits.items()})

    @staticmethod
    def _standardisation(config: FeatureTableConfig, features: list, train_rows: list[int]) -> dict:
        """Each feature's mean and spread over the training rows."""
        train = [features[row] for row in train_rows]
        means = [sum(column) / len(column) for column in zip(*train)]
        spreads = [(sum((v - m) ** 2 for v in column) / len(column)) ** 0.5 or 1.0
                   for column, m in zip(zip(*train), means)]
        return {"features": config.features, "mean": means, "std": spreads}

    def prediction_state(self, config: FeatureTableConfig, context: DataContext) -> dict:
        features, labels, _ = self._table(config, context)
        return self._standardisation(config, features, self._splits(len(labels), config, context)["train"])

    def datasets(self, config: FeatureTableConfig, context: DataContext) -> dict:
        import numpy as np
        import tensorflow as tf

        features, labels, _ = self._table(config, context)
        splits = self._splits(len(labels), config, context)
        state = self._standardisation(config, features, splits["train"])
        x = (np.array(features, dtype="float32") - state["mean"]) / np.array(state["std"], dtype="float32")
        y, head = np.array(labels, dtype="int32"), self._head(config, context)
        result = {}
        for split, rows in splits.items():
            dataset = tf.data.Dataset.from_tensor_slices(({config.input: x[rows]}, {head: y[rows]}))
            if split == "train":
                dataset = dataset.shuffle(len(rows), seed=context.seed)
            result[split] = dataset.batch(context.batch_size).prefetch(tf.data.AUTOTUNE)
        return result

    def prediction_inputs(self, config: FeatureTableConfig, context: DataContext, items: Sequence[str]) -> dict:
        import numpy as np

        state = context.state or self.prediction_state(config, context)  # a run saved without it: re-read
        rows = []
        for item in items:
            try:
                values = [float(value) for value in item.split(",")]
            except ValueError:
                raise PlanError(f"{item!r}: expected {len(config.features)} comma-separated numbers "
                                f"({', '.join(config.features)})") from None
            if len(values) != len(config.features):
                raise PlanError(f"{item!r} has {len(values)} values; this model reads {len(config.features)} "
                                f"({', '.join(config.features)})")
            rows.append(values)
        x = (np.array(rows, dtype="float32") - state["mean"]) / np.array(state["std"], dtype="float32")
        return {config.input: x}
