"""`tlspec predict`: new inputs, read by the run's data plugin, through the trained model.

The data plugin prepares inputs the way it did for training (images decoded
and resized, sentences tokenized); the model holds its own preprocessing. Each
head's output is described by what it is: tags per token, a label with its
probabilities, several labels, plain values, or generated text.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from tlspec.errors import PlanError, TlspecError
from tlspec.model.decoding import generates
from tlspec.plugin.outputs import HeadOutput
from tlspec.runs.items import chunks, expand
from tlspec.runs.load import load_model, open_run, trained_assembly
from tlspec.spec.problems import plugin_crash
from tlspec.spec.validate import ValidatedSpec
from tlspec.training.records import RunInfo
from tlspec.training.rundir import DATA_STATE, RunDir

DEFAULT_BATCH = 64


def predict_run(run_dir, items: list[str], beam_width: int = 1, batch_size: int = DEFAULT_BATCH,
                top_k: int | None = None, on_batch: Callable[[int, int], None] | None = None) -> list[dict]:
    """One result per item (folders and globs expanded): ``{"input", "heads"}``, plus ``"notes"`` where the
    data plugin had something to say, or ``{"input", "error"}`` for an item it cannot read; the others are
    still predicted. ``on_batch(done, total)`` follows progress; ``top_k`` keeps the best classes."""
    run, info, validated = open_run(run_dir, recorded_data=True)  # the training data need not be there
    expanded = expand(items)
    if not expanded:
        raise TlspecError("no items to predict: the folders given hold no files")
    predictor = Predictor(run, info, validated, beam_width)
    results: list[dict] = []
    for chunk in chunks(expanded, batch_size):
        results.extend(predictor.predict(chunk))
        if on_batch is not None:
            on_batch(len(results), len(expanded))
    if top_k:
        for result in results:
            for described in result.get("heads", {}).values():
                keep_top(described, top_k)
    return results


class Predictor:
    """A run's model and data plugin, ready to predict one batch of items after another."""

    def __init__(self, run: RunDir, info: RunInfo, validated: ValidatedSpec, beam_width: int):
        self.run, self.info, self.validated, self.beam_width = run, info, validated, beam_width
        self.source = validated.data_source
        self.context = validated.data_context()
        self.context.state = run.read_json(DATA_STATE) if run.file(DATA_STATE).exists() else None
        self.decoding = generates(validated.heads)
        self.assembly = trained_assembly(run, validated) if self.decoding else None
        self.model = None if self.decoding else load_model(run, validated.registry)

    def predict(self, items: list[str], local_files: bool = True) -> list[dict]:
        """``local_files``: whether items may name files here (False for texts a server's client sent)."""
        self.context.local_files = local_files
        inputs, readable, failures = self._read(items)
        results = [{"input": item, "error": failures[index]} if index in failures else None
                   for index, item in enumerate(items)]
        if readable:
            good = [items[index] for index in readable]
            if self.decoding:
                predicted = _predict_by_decoding(self.assembly, self.info, self.validated, good, inputs,
                                                 self.beam_width)
            else:
                outputs = self.model.predict(inputs, batch_size=len(good), verbose=0)
                predicted = _describe_outputs(self.info, self.validated, good, inputs, outputs, self.context)
            for index, result in zip(readable, predicted):
                if notes := self.context.item_notes.get(result["input"]):
                    result["notes"] = list(dict.fromkeys(notes))
                results[index] = result
        self._print_notes()
        return results

    def output_shapes(self) -> dict[str, list]:
        """Each head's output shape, without the batch axis."""
        model = self.model if self.model is not None else self.assembly.model
        outputs = model.output if isinstance(model.output, dict) else dict(zip(model.output_names, model.outputs))
        return {name: list(tensor.shape[1:]) for name, tensor in outputs.items()}

    def predict_arrays(self, inputs: dict) -> list[dict]:
        """Model inputs given as arrays (one row per example): each row's heads described."""
        if self.decoding:
            raise TlspecError("this run's decoders generate text step by step from items; send items, not arrays")
        outputs = self.model.predict(inputs, batch_size=len(next(iter(inputs.values()))), verbose=0)
        token_input = self.source.plugin.token_input(self.source.config)
        word_ids = inputs.get(token_input) if token_input else None
        sections = {section.config.name: section for section in self.validated.heads}
        results = []
        for row in range(len(next(iter(inputs.values())))):
            heads = {}
            for head in outputs:
                values, record = np.asarray(outputs[head][row]), self.info.heads[head]
                if values.ndim == 2 and record.classes:
                    ids = word_ids[row] if word_ids is not None else np.ones(len(values))
                    heads[head] = _tags(values, record.classes, None, ids)
                else:
                    heads[head] = _described(sections[head], record.output(), values)
            results.append({"input": f"row {row}", "heads": heads})
        return results

    def _read(self, items: list[str]) -> tuple[dict | None, list[int], dict[int, str]]:
        """The model inputs of the items the data plugin reads, which those are, and why it cannot read
        the others (when a batch fails, each item is tried alone)."""
        self.context.item_notes = {}
        try:
            return self._inputs(items), list(range(len(items))), {}
        except PlanError as error:
            if len(items) == 1:
                return None, [], {0: _about(items[0], error.message)}
        readable, failures = [], {}
        for index, item in enumerate(items):
            try:
                self._inputs([item])
                readable.append(index)
            except PlanError as error:
                failures[index] = _about(item, error.message)
        self.context.item_notes = {}
        inputs = self._inputs([items[index] for index in readable]) if readable else None
        return inputs, readable, failures

    def _inputs(self, items: list[str]) -> dict:
        try:
            return self.source.plugin.prediction_inputs(self.source.config, self.context, items)
        except (PlanError, TlspecError):
            raise
        except Exception as error:  # a plugin bug: named, never a traceback
            raise TlspecError(plugin_crash(self.source, "prediction_inputs", error)) from None

    def _print_notes(self) -> None:
        for note in dict.fromkeys(self.context.notes):
            print(f"note: {note}", file=sys.stderr)
        self.context.notes.clear()


def keep_top(described: dict, k: int) -> None:
    """Add the k most probable classes, best first, to a classifier's described prediction."""
    probabilities = described.get("probabilities")
    if isinstance(probabilities, dict):
        best = sorted(probabilities.items(), key=lambda pair: -pair[1])[:k]
        described["top"] = [{"label": label, "probability": probability} for label, probability in best]


def _about(item: str, message: str) -> str:
    return message if message.startswith(item) else f"{item}: {message}"


def _describe_outputs(info: RunInfo, validated: ValidatedSpec, items: list[str], inputs: dict, outputs: dict,
                      context=None):
    """Per item and head: what the head's output says about it (tagged tokens, or the head's own words)."""
    source = validated.data_source
    tokens = source.plugin.item_tokens(source.config, items)
    word_ids = inputs.get(source.plugin.token_input(source.config))
    positions = source.plugin.token_positions(source.config, context, items) if context is not None else None
    sections = {section.config.name: section for section in validated.heads}
    results = []
    for index, item in enumerate(items):
        heads = {}
        for head in outputs:
            values, record = np.asarray(outputs[head][index]), info.heads[head]
            if values.ndim == 2 and record.classes and tokens is not None and word_ids is not None:
                heads[head] = _tags(values, record.classes, tokens[index], word_ids[index],
                                    positions[index] if positions is not None else None)
            else:
                heads[head] = _described(sections[head], record.output(), values)
        results.append({"input": item, "heads": heads})
    return results


def _tags(values: np.ndarray, classes: list[str], tokens: list[str], word_ids, positions=None) -> dict:
    if positions is None:
        positions = np.flatnonzero(np.asarray(word_ids) != 0)  # real tokens, in order
    labels = values[positions].argmax(axis=-1)
    return {"tokens": tokens if tokens is not None else [f"#{p}" for p in positions],
            "tags": [classes[label] for label in labels],
            "probabilities": [float(values[p].max()) for p in positions]}


def _described(section, output: HeadOutput, values: np.ndarray) -> dict:
    """The head plugin's description of one prediction; a plugin failure names the plugin."""
    try:
        described = section.plugin.describe_prediction(section.config, output, values)
    except Exception as error:  # a plugin bug: named, never a traceback
        raise TlspecError(plugin_crash(section, "describe_prediction", error)) from None
    if not isinstance(described, dict):
        raise TlspecError(f"head plugin '{section.record.name}': describe_prediction() returned "
                          f"{type(described).__name__}, not a dict")
    return described


def _predict_by_decoding(assembly, info: RunInfo, validated: ValidatedSpec, items: list[str], inputs: dict,
                         beam_width: int) -> list[dict]:
    """Decoders generate from the encoder inputs alone, with the graph rebuilt holding the trained weights.

    Other heads (e.g. a classifier on the encoder) are computed from the same inputs.
    """
    from tlspec.model.decoding import generate, generators

    found = generators(assembly)
    results = [{"input": item, "heads": {}} for item in items]
    others = [head.name for head in assembly.graph.heads() if head.name not in found]
    if others:
        outputs = _other_heads(assembly, others, inputs)
        for result, item in zip(results, _describe_outputs(info, validated, items, inputs, outputs)):
            result["heads"].update(item["heads"])
    source = validated.data_source
    for name, generator in found.items():
        for result, generated in zip(results, generate(generator, inputs, beam_width)):
            text = source.plugin.join_tokens(source.config, name, generated["tokens"])
            result["heads"][name] = {"text": text, **generated}
    return results


def _other_heads(assembly, heads: list[str], inputs: dict) -> dict:
    import keras

    given = {name: assembly.inputs[name] for name in inputs}
    try:
        model = keras.Model(given, {name: assembly.built[name].output for name in heads})
    except ValueError:
        raise TlspecError(f"head(s) {', '.join(heads)} read the decoders' inputs, so `tlspec predict` cannot "
                          "compute them from the source alone") from None
    return model.predict(inputs, verbose=0)
