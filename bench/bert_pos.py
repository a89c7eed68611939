"""Treebank POS with a small BERT pretrained here on raw Brown text, next to the word-level taggers.

Trains, one after another in this process's machine (so the wall times compare):
  pretrain   specs/bert_brown_pretrain.yaml   masked-LM on Brown, writes a KerasHub preset
  bert       specs/pos_treebank_bert.yaml     that preset fine-tuned on treebank POS
  bert_init  the same, the preset's architecture randomly initialised (no pretraining)
  lecture    specs/pos_treebank_rnn.yaml      the lecture's recipe (word2vec → SimpleRNN)
  best       specs/pos_treebank_best.yaml     word2vec + character CNN → BiLSTM
All read the same treebank split (seed 4, 15 % validation, 15 % test); the token accuracy counts
words (a BERT tagger reads each word's first piece).

Run:  .venv/bin/python bench/bert_pos.py OUT_DIR [--only bert bert_init ...]  (~55 min on 2 cores)
      .venv/bin/python bench/bert_pos.py OUT_DIR --summarize
Needs ../shared/data (NLTK corpora).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRESET = "backbone.preset={preset}"
RUNS = {
    "pretrain": ("bert_brown_pretrain.yaml", []),
    "bert": ("pos_treebank_bert.yaml", [PRESET, "data.tokenizer.preset={preset}"]),
    "bert_init": ("pos_treebank_bert.yaml", [PRESET, "data.tokenizer.preset={preset}", "backbone.weights=false"]),
    "lecture": ("pos_treebank_rnn.yaml", []),
    "best": ("pos_treebank_best.yaml", []),
}
LABELS = {"bert": "small BERT pretrained on Brown (masked LM), fine-tuned",
          "bert_init": "the same BERT, randomly initialised",
          "lecture": "the lecture's recipe: word2vec → SimpleRNN(64)",
          "best": "word2vec + character CNN → BiLSTM"}


def train(out: Path, name: str) -> float:
    spec, overrides = RUNS[name]
    command = [sys.executable, "-m", "tlspec.cli", "train", str(REPO / "specs" / spec), "--out", str(out / name),
               "--quiet"]
    for override in overrides:
        command += ["--set", override.format(preset=out / "pretrain" / "preset")]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    (out / name / "wall_seconds.txt").write_text(f"{seconds:.1f}\n")
    return seconds


def summary(out: Path) -> list[str]:
    lines = ["| model | test token accuracy (words) | words scored | training | wall time of the command |",
             "|---|---|---|---|---|"]
    for name in ("bert", "bert_init", "lecture", "best"):
        if not (out / name / "metrics.json").exists():
            continue
        test = json.loads((out / name / "metrics.json").read_text())["test"]["pos"]
        info = json.loads((out / name / "run.json").read_text())
        wall = float((out / name / "wall_seconds.txt").read_text())
        lines.append(f"| {LABELS[name]} | {test['token_accuracy']:.4f} | {test['tokens']:,} | "
                     f"{info['seconds']:.0f} s | {wall:.0f} s |")
    if (out / "pretrain" / "metrics.json").exists():
        test = json.loads((out / "pretrain" / "metrics.json").read_text())["test"]["mlm"]
        info = json.loads((out / "pretrain" / "run.json").read_text())
        wall = float((out / "pretrain" / "wall_seconds.txt").read_text())
        lines.append(f"\nPretraining (masked LM on Brown): {test['token_accuracy']:.4f} of {test['tokens']:,} hidden "
                     f"test pieces predicted; training {info['seconds']:.0f} s, command {wall:.0f} s.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="+", choices=list(RUNS), help="train only these (the rest must exist)")
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args()
    if not args.summarize:
        for name in args.only or RUNS:
            print(f"{name}: {train(args.out, name):.0f} s", flush=True)
    print("\n".join(summary(args.out)))


if __name__ == "__main__":
    main()
