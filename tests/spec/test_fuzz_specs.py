"""Random mutations of the shipped specs end in a valid spec or in located problems only, quickly.

The fast suite runs a few hundred cases; the slow suite 10,000 (about a minute alone on 2 cores), and 1,000 of the five
specs that read an NLTK corpus. A failure names the case, so ``run_case(case, workspace(tmp), seed)``
reproduces it.
"""

from collections import Counter

import pytest
from spec_fuzzer import corpus_specs, run_cases, workspace

SEED = 20261201


def assert_every_case_is_handled(outcomes) -> Counter:
    verdicts = Counter(outcome.verdict for outcome in outcomes)
    failures = [f"case {o.case} ({o.spec}): {o.verdict}: {o.detail} [{o.seconds:.1f} s]"
                for o in outcomes if o.verdict not in ("valid", "located")]
    assert failures == [], f"{verdicts}\n" + "\n".join(failures[:20])
    return verdicts


def test_mutated_specs_fast(tmp_path):
    verdicts = assert_every_case_is_handled(run_cases(300, workspace(tmp_path), SEED))
    assert verdicts["located"] > 100 and verdicts["valid"] > 10  # the mutants exercise both outcomes


@pytest.mark.slow
def test_mutated_specs_ten_thousand(tmp_path):
    outcomes = run_cases(10_000, workspace(tmp_path), SEED + 1)
    verdicts = assert_every_case_is_handled(outcomes)
    print(f"\nfuzz seed {SEED + 1}: {dict(verdicts)}; slowest case {max(o.seconds for o in outcomes):.2f} s; "
          f"plugin crashes reported {sum('failed in' in o.detail for o in outcomes)}")


@pytest.mark.slow
def test_mutated_corpus_specs(tmp_path):
    specs = workspace(tmp_path)
    outcomes = run_cases(1_000, specs, SEED + 2, sources=corpus_specs(specs))
    verdicts = assert_every_case_is_handled(outcomes)
    assert verdicts["located"] > 400 and verdicts["valid"] > 50
    print(f"\nfuzz seed {SEED + 2} (corpus specs): {dict(verdicts)}; slowest case "
          f"{max(o.seconds for o in outcomes):.2f} s")
