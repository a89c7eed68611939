"""Which phases train on cached features, known before the first one starts, so one pass serves them all.

Head training (everything frozen) and fine-tuning (a frozen bottom, its top
trainable) both read features of frozen layers. When no earlier phase trains the
layers a later phase's features come from, those features are computed in the
same pass over the data as the first phase's: every split is decoded and run
through the network once. If, besides, every phase trains on cached features,
the data source is told it need not keep decoded inputs in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tlspec.model.assemble import apply_freeze
from tlspec.training.feature_cache import CachedSplit, FeatureModels, extract_many
from tlspec.training.phase_plan import cache_decision


@dataclass
class FeaturePlan:
    models: dict[int, FeatureModels] = field(default_factory=dict)  # phase index -> its features' models
    ahead: list[int] = field(default_factory=list)  # phases whose features the first pass computes
    every_phase_cached: bool = False
    extracted: dict[int, dict[str, CachedSplit]] = field(default_factory=dict)
    digests: dict[int, str] = field(default_factory=dict)  # extractor weights when extracted
    stores: dict[int, Any] | None = None  # phase index -> feature_store.FeatureStore (or None), once opened

    def take(self, index: int, models: FeatureModels) -> dict[str, CachedSplit] | None:
        """Phase ``index``'s features, if the first pass computed them under the weights it has now."""
        found = self.extracted.pop(index, None)
        if found is None or self.digests.pop(index) != models.weights_digest():
            return None
        return found

    def extract_ahead(self, datasets: dict, stores: dict[int, Any]) -> None:
        """One pass over each split for every phase in ``ahead`` (those found in their stores are read)."""
        for split, dataset in datasets.items():
            wanted = []
            for index in self.ahead:
                store = stores.get(index)
                found = store.load(split) if store is not None else None
                if found is None:
                    wanted.append(index)
                else:
                    self.extracted.setdefault(index, {})[split] = found
            if not wanted:
                continue
            for index, found in zip(wanted, extract_many([self.models[i] for i in wanted], dataset)):
                self.extracted.setdefault(index, {})[split] = found
                if stores.get(index) is not None:
                    stores[index].save(split, found)
        for index in self.ahead:
            self.digests[index] = self.models[index].weights_digest()


def plan_features(session, first_phase: int) -> FeaturePlan:
    """Apply each remaining phase's freeze policy in turn to see what it will cache; the first phase's
    policy is applied again when it starts."""
    from tlspec.training.feature_cache import feature_models

    validated, assembly = session.validated, session.assembly
    phases = validated.spec.train.phase_list()
    plan, trained_so_far = FeaturePlan(), set()
    cached_count = 0
    for index in range(first_phase, len(phases)):
        freeze = validated.phase_freezes[index] if index < len(validated.phase_freezes) else None
        apply_freeze(assembly, freeze or validated.freeze)
        cached, _ = cache_decision(assembly, validated.spec.train.cache_features, validated.description)
        if cached:
            cached_count += 1
            models = feature_models(assembly)
            plan.models[index] = models
            below = {id(weight) for layer in models.frozen for weight in getattr(layer, "weights", ())}
            if not below & trained_so_far:
                plan.ahead.append(index)
        trained_so_far |= {id(weight) for weight in assembly.model.trainable_weights}
    plan.every_phase_cached = cached_count == len(phases) - first_phase and len(plan.ahead) == cached_count
    return plan
