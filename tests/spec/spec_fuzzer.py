"""A seeded mutator of the shipped specs, and the check every mutant must pass.

Each case takes a shipped spec, applies one to three random edits (keys, values, types, unicode,
control characters, truncation, tags, aliases, indentation) and sometimes a random ``--set``, and
validates it as ``tlspec validate`` does. It must end in a valid spec or in ``SpecError``s whose
every problem is located, never another exception, and quickly.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

from helpers import REPO, SPECS
from tlspec.errors import SpecError

# Specs whose valid mutants read a whole corpus (seconds each): fuzzed on their own (corpus_specs), on
# copies that read its first sentences only.
SLOW_TO_VALIDATE = {"pos_treebank_rnn.yaml", "pos_treebank_best.yaml", "chunk_pos_multitask.yaml",
                    "bert_brown_pretrain.yaml", "pos_treebank_bert.yaml"}
CORPUS_CAP = "  max_sentences: 300\n"
TIME_LIMIT = 5.0  # seconds a case may take to validate
CORPUS_TIME_LIMIT = 15.0  # a corpus spec's valid mutant reads its corpus: 3.5 s alone, 5.2 s seen under CI's load
FRAGMENTS = ["\x00", "\x1b", "\x07", "\t", "\r", "\ufeff", "\u202e", "é", "ß", "数据", "😀", "[", "]", "{", "}",
             ":", ": ", ",", "- ", "? ", "'", '"', "#", "|", ">", "\n", "  ", "&a ", "*a", "*b", "<<: *a",
             "!!int ", "!!float ", "!!timestamp ", "!!binary ", "!!set ", "!!python/object:os.system ",
             "!custom ", "%YAML 1.1\n", "---\n", "...\n", "null", "~", "-1", "0", "1e999", "-.inf", ".nan",
             "9" * 80, "2020-13-45", "2021-02-30", "yes", "0x1F", "0o17", "1_000", "[]", "{}", "[[[[", "a" * 300]
VALUES = ["null", "[]", "{}", "-1", "0", "3.5", "1e30", "true", "''", "'x'", "[1, [2]]", "{a: 1}", "*a",
          "!!int x", ".nan", "[null]", "9" * 40, "'../../../../etc/passwd'", "\"\\x00\"", "2020-13-45"]
SET_KEYS = ["train.epochs", "train.batch_size", "heads.0.classes", "heads.0.plugin", "backbone.plugin",
            "backbone.input_shape", "data.plugin", "freeze", "seed", "name", "train.optimizer",
            "train.phases.0.freeze", "inputs.x.shape", "distribute", "adapt", "heads.nothing.units", "extends",
            "train..epochs", "=", "blocks.0.from", "data.validation"]


@dataclass
class Outcome:
    case: int
    spec: str
    verdict: str        # valid | located | internal error | unlocated | slow
    detail: str = ""
    seconds: float = 0.0


def shipped_specs() -> list[Path]:
    return sorted(p for p in SPECS.glob("*.yaml") if p.name not in SLOW_TO_VALIDATE)


def corpus_specs(specs: Path) -> list[Path]:
    """The workspace's capped copies of the specs that read a corpus."""
    return sorted(specs / name for name in SLOW_TO_VALIDATE)


def workspace(root: Path) -> Path:
    """A copy of the repository's specs/ (as links) at the same depth, so relative data paths still resolve."""
    specs = root / "repo" / "specs"
    specs.mkdir(parents=True)
    for entry in SPECS.iterdir():
        if entry.name in SLOW_TO_VALIDATE:
            text = entry.read_text(encoding="utf-8")
            for source in ("nltk_tagged", "masked_text"):
                text = text.replace(f"  plugin: {source}\n", f"  plugin: {source}\n" + CORPUS_CAP)
            assert CORPUS_CAP in text, entry.name
            (specs / entry.name).write_text(text, encoding="utf-8")
        else:
            (specs / entry.name).symlink_to(entry)
    (root / "shared").symlink_to(REPO.parent / "shared")
    (root / "repo" / "runs").symlink_to(REPO / "runs")
    return specs


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        text = rng.choice(EDITS)(text, rng)
    return text


def _insert(text, rng):
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(FRAGMENTS) + text[at:]


def _delete(text, rng):
    at = rng.randrange(len(text) + 1)
    return text[:at] + text[at + rng.randint(1, 20):]


def _truncate(text, rng):
    return text[: rng.randrange(len(text) + 1)]


def _lines(text, rng, change):
    lines = text.split("\n")
    index = rng.randrange(len(lines))
    change(lines, index)
    return "\n".join(lines)


def _duplicate_line(text, rng):
    return _lines(text, rng, lambda lines, i: lines.insert(i, lines[i]))


def _drop_line(text, rng):
    return _lines(text, rng, lambda lines, i: lines.pop(i))


def _reindent(text, rng):
    return _lines(text, rng, lambda lines, i: lines.__setitem__(i, " " * rng.choice([0, 1, 3, 8]) + lines[i].lstrip()))


def _replace_value(text, rng):
    def change(lines, i):
        key, sep, _ = lines[i].partition(": ")
        if sep:
            lines[i] = f"{key}: {rng.choice(VALUES)}"
    return _lines(text, rng, change)


def _rename_key(text, rng):
    def change(lines, i):
        key, sep, rest = lines[i].partition(":")
        if sep and key.strip():
            chars = list(key)
            spot = rng.randrange(len(chars))
            chars[spot] = rng.choice("abcdefghijklmnopqrstuvwxyz_ ")
            lines[i] = "".join(chars) + sep + rest
    return _lines(text, rng, change)


def _anchor_and_alias(text, rng):
    def change(lines, i):
        key, sep, rest = lines[i].partition(": ")
        if sep:
            lines[i] = f"{key}: &a {rest}"
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(["extra: *a", "description: *a", "x: [*a, *a]"]))
    return _lines(text, rng, change)


EDITS = [_insert, _insert, _delete, _truncate, _duplicate_line, _drop_line, _reindent, _replace_value,
         _replace_value, _rename_key, _anchor_and_alias]


def run_case(case: int, specs: Path, seed: int, time_limit: float = TIME_LIMIT,
             sources: list[Path] | None = None) -> Outcome:
    from tlspec.spec.validate import validate_file

    rng = random.Random(f"{seed}:{case}")
    source = rng.choice(sources or shipped_specs())
    target = specs / f"fuzz-{source.name}"
    target.write_bytes(mutate(source.read_text(encoding="utf-8"), rng).encode("utf-8", errors="surrogatepass"))
    overrides = [f"{rng.choice(SET_KEYS)}={rng.choice(VALUES)}"] if rng.random() < 0.2 else []
    started = time.perf_counter()
    try:
        validate_file(target, overrides)
        verdict, detail = "valid", ""
    except SpecError as error:
        unlocated = [str(p) for p in error.problems if p.location is None]
        verdict, detail = ("unlocated", unlocated[0]) if unlocated else ("located", str(error.problems[0]))
    except Exception as error:  # what `tlspec validate` would print as "internal error"
        verdict, detail = "internal error", f"{type(error).__name__}: {error}"[:300]
    finally:
        target.unlink()
    seconds = time.perf_counter() - started
    if seconds > time_limit and verdict in ("valid", "located"):
        verdict = "slow"
    return Outcome(case, source.name, verdict, detail, seconds)


def run_cases(count: int, specs: Path, seed: int, sources: list[Path] | None = None) -> list[Outcome]:
    limit = CORPUS_TIME_LIMIT if sources else TIME_LIMIT
    return [run_case(case, specs, seed, limit, sources) for case in range(count)]
