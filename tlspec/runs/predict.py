"""`tlspec predict`: new inputs, read by the run's data plugin, through the trained model.

The data plugin prepares inputs the way it did for training (images decoded
and resized, sentences tokenized); the model holds its own preprocessing. Each
head's output is described by what it is: tags per token, a label with its
probabilities, several labels, plain values, or generated text.
"""

from __future__ import annotations

import numpy as np

from tlspec.errors import PlanError, TlspecError
from tlspec.model.decoding import generates
from tlspec.runs.load import load_model, open_run, trained_assembly
from tlspec.plugin.outputs import HeadOutput
from tlspec.spec.problems import plugin_crash
from tlspec.spec.validate import ValidatedSpec
from tlspec.training.records import RunInfo
from tlspec.training.rundir import DATA_STATE, RunDir


def predict_run(run_dir, items: list[str], beam_width: int = 1) -> list[dict]:
    run, info, validated = open_run(run_dir, recorded_data=True)  # the training data need not be there
    source = validated.data_source
    context = validated.data_context()
    context.state = run.read_json(DATA_STATE) if run.file(DATA_STATE).exists() else None
    try:
        inputs = source.plugin.prediction_inputs(source.config, context, items)
    except PlanError as error:
        raise TlspecError(error.message) from None
    except TlspecError:
        raise
    except Exception as error:  # a plugin bug: named, never a traceback
        raise TlspecError(plugin_crash(source, "prediction_inputs", error)) from None
    if generates(validated.heads):
        return _predict_by_decoding(run, info, validated, items, inputs, beam_width)
    outputs = load_model(run, validated.registry).predict(inputs, verbose=0)
    return _describe_outputs(info, validated, items, inputs, outputs)


def _describe_outputs(info: RunInfo, validated: ValidatedSpec, items: list[str], inputs: dict, outputs: dict):
    """Per item and head: what the head's output says about it (tagged tokens, or the head's own words)."""
    source = validated.data_source
    tokens = source.plugin.item_tokens(source.config, items)
    word_ids = inputs.get(source.plugin.token_input(source.config))
    sections = {section.config.name: section for section in validated.heads}
    results = []
    for index, item in enumerate(items):
        heads = {}
        for head in outputs:
            values, record = np.asarray(outputs[head][index]), info.heads[head]
            if values.ndim == 2 and record.classes and tokens is not None and word_ids is not None:
                heads[head] = _tags(values, record.classes, tokens[index], word_ids[index])
            else:
                heads[head] = _described(sections[head], record.output(), values)
        results.append({"input": item, "heads": heads})
    return results


def _tags(values: np.ndarray, classes: list[str], tokens: list[str], word_ids) -> dict:
    positions = np.flatnonzero(np.asarray(word_ids) != 0)  # real tokens, in order
    labels = values[positions].argmax(axis=-1)
    return {"tokens": tokens, "tags": [classes[label] for label in labels],
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


def _predict_by_decoding(run: RunDir, info: RunInfo, validated: ValidatedSpec, items: list[str], inputs: dict,
                         beam_width: int) -> list[dict]:
    """Decoders generate from the encoder inputs alone; the graph is rebuilt and given the trained weights.

    Other heads (e.g. a classifier on the encoder) are computed from the same inputs.
    """
    from tlspec.model.decoding import generate, generators

    assembly = trained_assembly(run, validated)
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
