"""The data a run trains on, loaded once for every phase: datasets, notes, weights, class weights."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tlspec.errors import TlspecError
from tlspec.model.targets import HeadTarget, class_weight_tables, head_targets
from tlspec.spec.problems import Problems
from tlspec.spec.validate import load_datasets
from tlspec.training.rundir import DATA, DATA_STATE
from tlspec.training.session import Session
from tlspec.training.sharing import Tie, ties


@dataclass
class TrainingData:
    datasets: dict[str, Any]          # as the data plugin yields them: evaluation reads these
    to_fit: dict[str, Any]            # the same, with importance weights attached when 'adapt' weights
    target: dict[str, Any] | None     # the adapt target's datasets, to evaluate on
    targets: list[HeadTarget]
    class_weights: dict[str, Any]     # per head, a weight per class label
    tied: list[Tie]                   # soft-sharing groups
    steps_per_epoch: int
    fingerprints: dict[str, str] | None = None  # per split, for train.persistent_cache (None: not kept)


def load_training_data(session: Session, keep_decoded: bool = True) -> TrainingData:
    """``keep_decoded`` False: every phase trains on features computed in one pass, so the data source need
    not keep decoded inputs in memory."""
    validated, assembly = session.validated, session.assembly
    context = validated.data_context()
    context.keep_decoded = keep_decoded
    datasets = load_datasets(validated, context)
    record_data(session, context)
    notes = list(dict.fromkeys(validated.graph.notes + context.notes))
    for note in notes:
        print(f"note: {note}")
    session.info.notes = notes
    weighting, target = importance_weighting(session, datasets)
    to_fit = datasets if weighting is None else {
        split: weighting.attach(dataset) if split in ("train", "validation") else dataset
        for split, dataset in datasets.items()}
    targets = head_targets(assembly)
    train = validated.spec.train
    return TrainingData(
        datasets=datasets, to_fit=to_fit, target=target, targets=targets,
        class_weights=class_weight_tables(train.class_weights, targets, datasets["train"]),
        tied=ties(assembly),
        steps_per_epoch=max(1, math.ceil(validated.description.splits["train"] / train.batch_size)),
        fingerprints=data_fingerprints(session, context, weighted=weighting is not None),
    )


def data_fingerprints(session: Session, context, weighted: bool) -> dict[str, str] | None:
    """The data source's digest of each split, when ``train.persistent_cache`` asks for one."""
    validated = session.validated
    if not validated.spec.train.persistent_cache:
        return None
    source = validated.data_source
    if weighted:
        print("note: train.persistent_cache: features are cached in memory only (importance weights from "
              "'adapt' are computed anew each run)")
        return None
    problems = Problems(validated.locations)
    with session.stopwatch.stage("fingerprint data"):
        found = problems.call(source, "fingerprint", context)
    problems.raise_if_any()
    if found is None:
        print(f"note: train.persistent_cache: data plugin '{source.record.name}' cannot fingerprint its data; "
              "features are cached in memory only")
        return None
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        raise TlspecError(f"data plugin '{source.record.name}' ({source.record.origin.distribution}): "
                          f"fingerprint() must return {{split: digest string}} or None, not {found!r:.80}")
    return found


def record_data(session: Session, context) -> None:
    """What the data looked like and what its source keeps for prediction, so predict needs neither the
    training files nor a second pass over them."""
    validated, run = session.validated, session.run
    run.write_json(DATA, validated.description.to_json())
    problems = Problems(validated.locations)
    state = problems.call(validated.data_source, "prediction_state", context)
    problems.raise_if_any()
    if state is not None:
        try:
            run.write_json(DATA_STATE, state)
        except (TypeError, ValueError) as error:
            source = validated.data_source
            raise TlspecError(f"data plugin '{source.record.name}' ({source.record.origin.distribution}): "
                              f"prediction_state() returned what JSON cannot hold ({error})") from None


def importance_weighting(session: Session, datasets: dict):
    """(weighting or None, target datasets to evaluate or None) for a spec with 'adapt'."""
    validated = session.validated
    adapt = validated.spec.adapt
    if adapt is None:
        return None, None
    from tlspec.training.adapt import describe, fit_weighting

    target_data = load_datasets(validated, section=validated.adapt_target)
    evaluated = target_data if adapt.evaluate else None
    if adapt.method == "none":
        session.info.adapt = {"method": "none"}
        return None, evaluated
    splits = list(target_data) if adapt.split == "all" else [adapt.split]
    target_inputs = target_data[splits[0]]
    for split in splits[1:]:
        target_inputs = target_inputs.concatenate(target_data[split])
    weighting = fit_weighting(session.assembly, adapt, datasets["train"], target_inputs, validated.spec.seed)
    print(describe(weighting.stats))
    for warning in weighting.warnings:
        print(f"warning: {warning}")
    session.info.adapt = {"method": adapt.method, **weighting.stats, "warnings": weighting.warnings}
    return weighting, evaluated
