"""Write urdu_alphabet.txt: the characters Hindi and Urdu texts share once both are in one script.

The Hindi pretraining spec and the Urdu fine-tuning specs read characters with
this fixed vocabulary, so a character has the same id in both models. It lists
every character that occurs at least MIN_COUNT times in the Hindi sentences
(transliterated to Urdu spelling) plus the Urdu tweets, both normalised and
folded, most frequent first. Run from the repository root:

    .venv/bin/python specs/data/make_urdu_alphabet.py
"""

from collections import Counter
from pathlib import Path

from tlspec.api import DataContext
from tlspec_builtins.data_text_classes import TextClassesConfig, read_documents

HERE = Path(__file__).resolve().parent
SENTIMENT = HERE.parents[2] / "shared" / "data" / "sentiment"
MIN_COUNT = 3
URDU_SPELLING = {"plugin": "urdu_normalise", "fold": True}


def corpora() -> list[TextClassesConfig]:
    hindi = TextClassesConfig(plugin="text_classes", separator="$",
                              files={"pos": str(SENTIMENT / "pos_hindi.txt"), "neg": str(SENTIMENT / "neg_hindi.txt")},
                              transforms=["devanagari_to_urdu", URDU_SPELLING])
    urdu = TextClassesConfig(plugin="text_classes", path=str(SENTIMENT / "urdu-sentiment-corpus-v1.tsv"),
                             text_column="Tweet", label_column="Class", transforms=[URDU_SPELLING])
    return [hindi, urdu]


def alphabet() -> list[str]:
    counts = Counter()
    for config in corpora():
        texts, _ = read_documents(config, DataContext(HERE, ("sentiment",)))
        counts.update(char for text in texts for char in text)
    return sorted((c for c, n in counts.items() if n >= MIN_COUNT and c != "\n"), key=lambda c: (-counts[c], c))


if __name__ == "__main__":
    characters = alphabet()
    (HERE / "urdu_alphabet.txt").write_text("".join(f"{c}\n" for c in characters), encoding="utf-8")
    print(f"{len(characters)} characters -> {HERE / 'urdu_alphabet.txt'}")
