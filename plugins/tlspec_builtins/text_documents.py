"""Reading labelled documents for ``text_classes``: class folders, CSV/TSV tables, one file per class.

Real corpora are untidy; each repair is reported as a note rather than done
silently (a TSV row whose label follows spaces instead of a TAB, duplicates,
a text that appears under two labels).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from pathlib import Path

from tlspec.api import DataContext, PlanError, did_you_mean, one_of, read_utf8

Documents = tuple[list[str], list[str]]


def read_folder(path: Path, shown: str) -> Documents:
    texts, labels = [], []
    for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(folder.glob("*.txt"))
        if not files:
            raise PlanError(f"class folder {folder.name!r} in {shown} has no .txt files", ("path",))
        for file in files:
            texts.append(read_utf8(file, ("path",)))
            labels.append(folder.name)
    if not texts:
        raise PlanError(f"{shown} has no class subfolders", ("path",))
    return texts, labels


def read_table(path: Path, text_column: str, label_column: str, context: DataContext) -> Documents:
    """CSV (quoted fields) or TSV (quotes are text; a row missing its TAB takes the label after its last space)."""
    tab = path.suffix.lower() in (".tsv", ".tab")
    with io.StringIO(read_utf8(path, ("path",), bom=True), newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if tab else csv.reader(handle)
        columns = next(reader, [])
        for field, column in (("text_column", text_column), ("label_column", label_column)):
            if column not in columns:
                raise PlanError(f"{path.name} has no column {column!r}{did_you_mean(column, columns)}; "
                                f"columns: {one_of(columns)}", (field,))
        text_at, label_at = columns.index(text_column), columns.index(label_column)
        texts, labels, repaired, skipped = [], [], [], []
        for row in reader:
            if tab and len(row) == 1 and label_at == len(columns) - 1 and text_at == label_at - 1:
                parts = row[0].rstrip().rsplit(None, 1)
                if len(parts) == 2:
                    repaired.append(reader.line_num)
                    row = ["" for _ in columns]
                    row[text_at], row[label_at] = parts
            if len(row) > max(text_at, label_at) and row[text_at].strip() and row[label_at].strip():
                texts.append(row[text_at])
                labels.append(row[label_at].strip())
            elif any(cell.strip() for cell in row):
                skipped.append(reader.line_num)
    if repaired:
        context.note(f"{path.name}: line {_lines(repaired)} had no TAB; the label was read after the last space")
    if skipped:
        context.note(f"{path.name}: skipped {len(skipped)} row{'s' if len(skipped) != 1 else ''} without both a "
                     f"text and a label (line{'s' if len(skipped) != 1 else ''} {_lines(skipped)})")
    if not texts:
        raise PlanError(f"{path.name} has no rows with both a text and a label", ("path",))
    return texts, labels


def _lines(numbers: list[int]) -> str:
    return ", ".join(str(line) for line in numbers[:5]) + (" …" if len(numbers) > 5 else "")


def read_class_files(files: dict[str, str], separator: str, context: DataContext) -> Documents:
    """One file per class, documents separated by ``separator`` (blank documents dropped)."""
    texts, labels = [], []
    for label, name in files.items():
        path = context.resolve_path(name)
        if not path.is_file():
            raise PlanError(f"not found: {name} (looked for {path})", ("files", label))
        documents = [d.strip() for d in read_utf8(path, ("files", label)).split(separator)]
        documents = [d for d in documents if d]
        if not documents:
            raise PlanError(f"{name} has no documents (separator {separator!r})", ("files", label))
        texts += documents
        labels += [label] * len(documents)
    return texts, labels


def deduplicate(texts: list[str], labels: list[str], context: DataContext) -> Documents:
    """Keep the first copy of each text; drop a text given two different labels altogether."""
    label_sets: dict[str, set[str]] = defaultdict(set)
    for text, label in zip(texts, labels):
        label_sets[text].add(label)
    seen: set[str] = set()
    kept_texts, kept_labels = [], []
    for text, label in zip(texts, labels):
        if text in seen or len(label_sets[text]) > 1:
            continue
        seen.add(text)
        kept_texts.append(text)
        kept_labels.append(label)
    conflicting = sum(1 for labels_ in label_sets.values() if len(labels_) > 1)
    dropped = len(texts) - len(kept_texts)
    if not kept_texts:
        raise PlanError(f"deduplication drops all {len(texts)} documents: every text carries conflicting labels",
                        ("deduplicate",))
    if dropped:
        context.note(f"dropped {dropped} duplicate documents ({conflicting} texts carried conflicting labels "
                     "and were dropped entirely)")
    return kept_texts, kept_labels


def keep_classes(texts: list[str], labels: list[str], classes: list[str], context: DataContext) -> Documents:
    found = Counter(labels)
    missing = [name for name in classes if name not in found]
    if missing:
        raise PlanError(f"no documents of class {missing[0]!r}{did_you_mean(missing[0], found)}; classes in the "
                        f"data: {one_of(sorted(found))}", ("classes",))
    kept = [(t, label) for t, label in zip(texts, labels) if label in classes]
    dropped = {name: count for name, count in found.items() if name not in classes}
    if dropped:
        counts = sorted(dropped.items())
        context.note("dropped " + ", ".join(f"{count} documents of class {name!r}" for name, count in counts))
    return [t for t, _ in kept], [label for _, label in kept]
