"""``tlspec predict RUN_DIR ITEMS...``: labels, tags or generated text for new inputs, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from tlspec.cli.output import console
from tlspec.errors import TlspecError

FORMATS = ("table", "json", "jsonl", "csv")


def register(commands) -> None:
    parser = commands.add_parser("predict", help="predict with a trained run")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument("items", nargs="+", metavar="ITEM",
                        help="inputs the run's data plugin reads: files, folders and globs of files, sentences "
                             "(put -- before items that start with -)")
    parser.add_argument("--top-k", type=int, default=None, metavar="K", help="show the K most probable classes")
    parser.add_argument("--format", choices=FORMATS, default=None, help="output format (default: table)")
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                        help="write the predictions to FILE instead of the terminal")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N", help="items per batch (default 64)")
    parser.add_argument("--beam", type=int, default=1, metavar="WIDTH",
                        help="beam width for heads that generate sequences (default 1: greedy)")
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec

    form = _format(args)
    for name, value in (("--beam", args.beam), ("--batch-size", args.batch_size), ("--top-k", args.top_k or 1)):
        if value < 1:
            raise TlspecError(f"{name} must be at least 1, got {value}")
    if args.output is not None and args.output.is_dir():
        raise TlspecError(f"-o {args.output}: is a folder; give a file name")
    with _progress() as on_batch:
        predictions = tlspec.predict(args.run_dir, args.items, args.beam, batch_size=args.batch_size,
                                     top_k=args.top_k, on_batch=on_batch)
    failed = [item for item in predictions if "error" in item]
    for item in failed:
        print(f"error: {item['error']}", file=sys.stderr)
    if args.output is None and form == "table":
        console().print(_table(predictions))
    elif args.output is None:
        sys.stdout.write(render(predictions, form))
    else:
        _write(args.output, render(predictions, form))
        print(f"wrote {len(predictions) - len(failed):,} prediction(s) to {args.output}", file=sys.stderr)
    return 1 if failed else 0


def render(predictions: list[dict], form: str) -> str:
    if form == "json":
        return json.dumps(predictions, indent=2, ensure_ascii=False) + "\n"
    if form == "jsonl":
        return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in predictions)
    if form == "csv":
        return _csv(predictions)
    from rich.console import Console

    text = Console(file=io.StringIO(), width=160, color_system=None)
    text.print(_table(predictions))
    return text.file.getvalue()


def describe(result: dict) -> str:
    """One head's prediction in a few words."""
    if "text" in result:
        return repr(result["text"])
    if "tags" in result:
        return " ".join(f"{token}/{tag}" for token, tag in zip(result["tokens"], result["tags"]))
    if "top" in result and len(result["top"]) > 1:
        return ", ".join(f"{entry['label']} ({entry['probability']:.3f})" for entry in result["top"])
    if "label" in result:
        probability = result.get("probability")
        shown = f" ({probability:.3f})" if isinstance(probability, (int, float)) else ""
        return f"{result['label']}{shown}"
    if "values" in result:
        return str(result["values"])
    return json.dumps(result, default=str)  # a plugin head's own description


def _format(args) -> str:
    if args.json and args.format not in (None, "json"):
        raise TlspecError(f"--json and --format {args.format} disagree; give one")
    return "json" if args.json else args.format or "table"


def _table(predictions: list[dict]):
    """One row per predicted item, one column per head (items that failed are reported on stderr)."""
    from rich.table import Table

    shown = [item for item in predictions if "error" not in item]
    heads = list(dict.fromkeys(head for item in shown for head in item["heads"]))
    noted = any("notes" in item for item in shown)
    table = Table(highlight=False)
    for column in ["input", *heads, *(["notes"] if noted else [])]:
        table.add_column(column, overflow="fold")
    for item in shown:
        cells = [describe(item["heads"][head]) if head in item["heads"] else "" for head in heads]
        table.add_row(*map(_plain, [item["input"], *cells, *(["; ".join(item.get("notes", []))] if noted else [])]))
    return table


def _plain(text: str):
    """Cell text shown as written: a '[' in a file name or sentence is not rich markup."""
    from rich.text import Text

    return Text(text)


def _csv(predictions: list[dict]) -> str:
    heads = list(dict.fromkeys(head for item in predictions for head in item.get("heads", {})))
    columns = ["input"] + [f"{head}{part}" for head in heads for part in ("", "_probability")] + ["notes", "error"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for item in predictions:
        row = {"input": item["input"], "notes": "; ".join(item.get("notes", [])), "error": item.get("error", "")}
        for head, result in item.get("heads", {}).items():
            row[head] = _csv_value(result)
            probability = result.get("probability")
            row[f"{head}_probability"] = f"{probability:.6f}" if isinstance(probability, (int, float)) else ""
        writer.writerow(row)
    return buffer.getvalue()


def _csv_value(result: dict) -> str:
    if "text" in result:
        return result["text"]
    if "tags" in result:
        return " ".join(result["tags"])
    if "top" in result:
        return ";".join(f"{entry['label']}:{entry['probability']:.6f}" for entry in result["top"])
    if "label" in result:
        return result["label"] if isinstance(result["label"], str) else ";".join(result["label"])
    if "values" in result:
        return ";".join(f"{value:g}" for value in result["values"])
    return json.dumps(result, default=str)


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a partial file never replaces an earlier one."""
    partial = path.with_name(f".partial-{path.name}")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise TlspecError(f"-o {path}: cannot write ({error.strerror})") from None


@contextmanager
def _progress():
    """A progress bar on a terminal's stderr once there is more than one batch; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("predicting", total=None)

        def on_batch(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield on_batch
