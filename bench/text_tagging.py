"""POS tagging and chunking table: the lecture's recipe vs the best spec, with and without
pretrained vectors, and the CoNLL-2000 multitask model vs its two single-task models.

Run:  .venv/bin/python bench/text_tagging.py OUT_DIR            (trains all seven, ~30 min on 2 cores)
      .venv/bin/python bench/text_tagging.py OUT_DIR --summarize  (only prints the table of finished runs)
Needs ../shared/data (NLTK corpora).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NO_VECTORS = ["backbone.vectors=null", "backbone.dim=100"]
ONLY = "heads=[{{name: {0}, plugin: token_classifier, from: encoder, classes: from_data}}]"
RUNS = {
    "lecture": ("pos_treebank_rnn.yaml", []),
    "lecture_novec": ("pos_treebank_rnn.yaml", NO_VECTORS),
    "best": ("pos_treebank_best.yaml", []),
    "best_novec": ("pos_treebank_best.yaml", NO_VECTORS),
    "multitask": ("chunk_pos_multitask.yaml", []),
    "chunk_only": ("chunk_pos_multitask.yaml", [ONLY.format("chunk"), "data.targets={chunk: chunk}"]),
    "pos_only": ("chunk_pos_multitask.yaml", [ONLY.format("pos"), "data.targets={pos: pos}"]),
}


def train(out: Path, name: str) -> None:
    spec, overrides = RUNS[name]
    command = [sys.executable, "-m", "tlspec.cli", "train", str(REPO / "specs" / spec), "--out", str(out / name),
               "--quiet"]
    for override in overrides:
        command += ["--set", override]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def row(out: Path, name: str, head: str) -> str:
    metrics = json.loads((out / name / "metrics.json").read_text())["test"][head]
    seconds = json.loads((out / name / "run.json").read_text())["seconds"]
    return (f"| {name} | {head} | {metrics['accuracy_with_padding']:.4f} | {metrics['token_accuracy']:.4f} | "
            f"{seconds:.0f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args()
    if not args.summarize:
        for name in RUNS:
            train(args.out, name)
    print("| run | head | accuracy counting padding | token accuracy (real tokens) | time |")
    print("|---|---|---|---|---|")
    for name, heads in (("lecture", ["pos"]), ("lecture_novec", ["pos"]), ("best", ["pos"]),
                        ("best_novec", ["pos"]), ("multitask", ["pos", "chunk"]), ("pos_only", ["pos"]),
                        ("chunk_only", ["chunk"])):
        for head in heads:
            if (args.out / name / "metrics.json").exists():
                print(row(args.out, name, head))


if __name__ == "__main__":
    main()
