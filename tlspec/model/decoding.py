"""Sequence generation for heads that decode (``Head.step_decoder``): greedy and beam search.

The inference models come from the trained graph: an encoder model from the
model's non-decoder inputs to the tensors each decoder starts from (its
``from``), and the head's one-step model sharing the trained layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tlspec.plugin.kinds import Head
from tlspec.plugin.shapes import StepDecoder
from tlspec.spec.problems import Problems


@dataclass
class Generator:
    head: str
    start_states: Any        # model: encoder-side inputs -> the states the decoder starts from
    decoder: StepDecoder


def generates(heads) -> bool:
    """Whether some head section's plugin generates sequences (implements ``step_decoder``)."""
    return any(type(head.record.plugin).step_decoder is not Head.step_decoder for head in heads)


def generators(assembly) -> dict[str, Generator]:
    """One generator per head whose plugin decodes, keyed by head name."""
    import keras

    graph = assembly.graph
    problems = Problems(assembly.validated.locations)
    found: dict[str, StepDecoder] = {}
    for head in graph.heads():
        decoder = problems.call(head.section, "step_decoder", assembly.built[head.name], graph.context(head))
        if decoder is not None:
            found[head.name] = decoder
    problems.raise_if_any()
    decoder_inputs = {name for head in found for name in assembly.built[head].inputs}
    encoder_inputs = {name: tensor for name, tensor in assembly.inputs.items() if name not in decoder_inputs}
    result = {}
    for name, decoder in found.items():
        (ref,) = graph.components[name].refs
        states = assembly.tensor(ref)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        model = keras.Model(encoder_inputs, states, name=f"{name}_start_states")
        result[name] = Generator(name, model, decoder)
    return result


def _as_list(values) -> list[np.ndarray]:
    return [np.asarray(v) for v in (values if isinstance(values, (list, tuple)) else [values])]


def greedy(generator: Generator, inputs: dict) -> list[tuple[list[int], float]]:
    """Most likely token at every step, for a batch of encoder inputs: (ids, mean log-probability) each."""
    decoder = generator.decoder
    states = _as_list(generator.start_states(inputs, training=False))
    count = len(states[0])
    previous = np.full((count, 1), decoder.start, dtype=np.int32)
    ids = [[] for _ in range(count)]
    scores = np.zeros(count)
    done = np.zeros(count, dtype=bool)
    for _ in range(decoder.max_length):
        probabilities, *states = _as_list(decoder.step([previous, *states], training=False))
        probabilities = probabilities[:, -1]
        chosen = probabilities.argmax(axis=-1)
        for row in np.flatnonzero(~done):
            if chosen[row] == decoder.end:
                done[row] = True
            else:
                ids[row].append(int(chosen[row]))
            scores[row] += float(np.log(probabilities[row, chosen[row]] + 1e-12))
        if done.all():
            break
        previous = chosen.reshape(-1, 1).astype(np.int32)
    return [(ids[row], scores[row] / (len(ids[row]) + 1)) for row in range(count)]


def beam(generator: Generator, inputs: dict, width: int) -> list[tuple[list[int], float]]:
    """Beam search per example; hypotheses are ranked by mean log-probability per token (end included)."""
    decoder = generator.decoder
    start_states = _as_list(generator.start_states(inputs, training=False))
    results = []
    for row in range(len(start_states[0])):
        # (ids, total log-probability, states); finished hypotheses move to `ended`.
        alive = [([], 0.0, [s[row:row + 1] for s in start_states])]
        ended = []
        for _ in range(decoder.max_length):
            previous = np.array([[h[0][-1] if h[0] else decoder.start] for h in alive], dtype=np.int32)
            states = [np.concatenate([h[2][i] for h in alive]) for i in range(len(start_states))]
            probabilities, *new_states = _as_list(decoder.step([previous, *states], training=False))
            logs = np.log(probabilities[:, -1] + 1e-12)
            candidates = []
            for index, (ids, total, _) in enumerate(alive):
                for token in np.argsort(logs[index])[-width:]:
                    candidates.append((ids + [int(token)], total + float(logs[index, token]), index))
            candidates.sort(key=lambda c: c[1] / len(c[0]), reverse=True)
            alive = []
            for ids, total, index in candidates[:width]:
                if ids[-1] == decoder.end:
                    ended.append((ids[:-1], total / len(ids)))
                else:
                    alive.append((ids, total, [s[index:index + 1] for s in new_states]))
            if not alive or len(ended) >= width:
                break
        ended += [(ids, total / (len(ids) + 1)) for ids, total, _ in alive]
        results.append(max(ended, key=lambda item: item[1]))
    return results


def generate(generator: Generator, inputs: dict, beam_width: int = 1) -> list[dict]:
    """Tokens and score of the sequence generated for every example in ``inputs``."""
    found = greedy(generator, inputs) if beam_width <= 1 else beam(generator, inputs, beam_width)
    tokens = generator.decoder.tokens
    return [{"tokens": [tokens[i] for i in ids], "score": round(float(score), 4)} for ids, score in found]


def edit_distance(a: list[int], b: list[int]) -> int:
    """Levenshtein distance between two token sequences."""
    previous = np.arange(len(b) + 1)
    for i, token in enumerate(a, start=1):
        current = np.empty_like(previous)
        current[0] = i
        for j in range(1, len(b) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (token != b[j - 1]))
        previous = current
    return int(previous[-1])


def reference(ids, end: int) -> list[int]:
    """A target row without padding (0) and without the end token and what follows it."""
    tokens = []
    for token in np.asarray(ids).tolist():
        if token == end or token == 0:
            break
        tokens.append(token)
    return tokens


def generation_metrics(found: dict[str, Generator], dataset) -> dict[str, dict]:
    """Free-running (greedy) decoding against the targets: exact matches and token error rate.

    Unlike teacher-forced accuracy, every step reads the model's own previous output, as in use.
    """
    errors = {name: 0 for name in found}
    lengths = {name: 0 for name in found}
    exact = {name: 0 for name in found}
    count = 0
    for inputs, labels in dataset:
        for name, generator in found.items():
            names = [t.name for t in generator.start_states.inputs]
            batch = {key: np.asarray(inputs[key]) for key in names}
            for (ids, _), truth in zip(greedy(generator, batch), np.asarray(labels[name])):
                expected = reference(truth, generator.decoder.end)
                errors[name] += edit_distance(ids, expected)
                lengths[name] += len(expected)
                exact[name] += ids == expected
        count += len(next(iter(labels.values())))
    return {name: {"exact_match": exact[name] / max(count, 1),
                   "token_error_rate": errors[name] / max(lengths[name], 1),
                   "generated": count} for name in found}
