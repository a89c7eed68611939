"""The one-encoder, two-decoder model on fra.txt at full size, trained and used from the CLI.

Run: .venv/bin/python bench/seq2seq_two_decoders.py OUT_DIR [--epochs N] [--max-pairs N]   (needs ../shared/data)

The spec's 20 epochs take about 21 minutes on 2 cores (the README's figures); CI trains a smaller
copy (tests/acceptance/test_acceptance_seq2seq.py). Prints each decoder's held-out metrics and the
translations and reconstructions of a few sentences, with their character edit distance.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SENTENCES = ["Thank you.", "I love you.", "Go away.", "Help me!"]


def tlspec(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "tlspec.cli", *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(result.stderr[-3000:])
    return result.stdout


def main() -> None:
    from tlspec.model.decoding import edit_distance

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, help="instead of the spec's 20")
    parser.add_argument("--max-pairs", type=int, help="the first N lines of fra.txt only")
    args = parser.parse_args()
    sets = []
    if args.epochs:
        sets += ["--set", f"train.epochs={args.epochs}"]
    if args.max_pairs:
        sets += ["--set", f"data.max_pairs={args.max_pairs}"]
    tlspec("train", str(REPO / "specs" / "seq2seq_two_decoders.yaml"), "--out", str(args.out), "--quiet", *sets)
    test = json.loads((args.out / "metrics.json").read_text())["test"]
    print("| decoder | token accuracy | exact match | token error rate | generated |\n|---|---|---|---|---|")
    for head in ("french", "english"):
        m = test[head]
        print(f"| {head} | {m['token_accuracy']:.4f} | {m['exact_match']:.4f} | {m['token_error_rate']:.4f} | "
              f"{m['generated']:.0f} |")
    print("\n| input | French | English (edit distance) |\n|---|---|---|")
    for item in json.loads(tlspec("predict", str(args.out), *SENTENCES, "--json")):
        english = item["heads"]["english"]["text"]
        distance = edit_distance(list(english), list(item["input"]))
        print(f"| {item['input']} | {item['heads']['french']['text']} | {english} ({distance}) |")
    seconds = json.loads((args.out / "run.json").read_text())["seconds"]
    print(f"\ntrained in {seconds:.0f} s")


if __name__ == "__main__":
    main()
