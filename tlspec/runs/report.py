"""`tlspec report`: one self-contained HTML file about a run (inline CSS, pictures as data URIs, no script
from elsewhere), readable offline.

It holds the run's summary; the environment and plugin versions that trained it; a timeline of its
phases with their learning rates; the curves with phase boundaries and the kept epoch; per evaluation
(``evaluation/*.json``; the test split is evaluated first if none is saved): each classifier's
confusion matrix, per-class table, reliability diagram and most confident mistakes (thumbnails for
images, text for texts); the component graph; and the resolved spec.
"""

from __future__ import annotations

import base64
import html
import sys
from pathlib import Path

from tlspec.errors import SpecError, TlspecError
from tlspec.runs import report_figures as figures
from tlspec.runs.evaluate import EVALUATION, evaluate_run
from tlspec.runs.load import open_run
from tlspec.training.records import RunInfo
from tlspec.training.rundir import HISTORY, METRICS, SPEC, RunDir, atomic_write

REPORT = "report.html"
MISTAKES_SHOWN = 12
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1180px;padding:24px;
color:#222;line-height:1.45}
h1{margin:0 0 4px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:14px}
th,td{border:1px solid #ddd;padding:4px 10px;text-align:left}th{background:#f4f6f8}td.num{text-align:right}
.muted{color:#666}.grid{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.mistake{width:150px;font-size:12px;border:1px solid #ddd;padding:6px;border-radius:4px}
.mistake img{display:block;max-width:138px;margin-bottom:4px}
pre{background:#f7f7f7;padding:12px;overflow:auto;font-size:12px;border-radius:4px}
img.figure{max-width:100%}
"""
# Counts the pictures the browser decoded, so a test (or a person) can see that the report rendered.
RENDER_CHECK = ("<script>window.addEventListener('load',function(){var n=0;for(var i of document.images)"
                "{if(i.complete&&i.naturalWidth>0)n++}document.body.setAttribute('data-images-rendered',n)})"
                "</script>")


def report_run(run_dir, out: str | Path | None = None) -> Path:
    """Write the report (default ``RUN/report.html``) and return its path."""
    run, info, validated = open_run(run_dir, recorded_data=True)
    evaluations = saved_evaluations(run) or _evaluate_test(run_dir)
    history = run.read_csv(HISTORY)
    monitor = validated.spec.train.checkpoint.monitor if validated.spec.train.checkpoint else None
    sections = [
        _summary(run, info),
        _environment(info),
        _timeline(info, history),
        _section("Curves", _figure(figures.curves(history, (info.best or {}).get("best_epoch"), monitor),
                                   "training curves", "curves")),
        *(_evaluation(name, evaluation) for name, evaluation in evaluations.items()),
        _graph(validated),
        _section("Resolved spec", f"<pre id='spec'>{html.escape(run.file(SPEC).read_text(encoding='utf-8'))}</pre>"),
    ]
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>tlspec report: "
            f"{html.escape(info.spec_name)}</title><style>{STYLE}</style></head><body>"
            f"{''.join(sections)}{RENDER_CHECK}</body></html>")
    target = Path(out) if out is not None else run.file(REPORT)
    if target.is_dir():
        raise TlspecError(f"-o {target}: is a folder; give a file name")
    try:
        atomic_write(target, lambda partial: partial.write_text(page, encoding="utf-8"))
    except OSError as error:
        raise TlspecError(f"-o {target}: cannot write ({error.strerror})") from None
    return target


def saved_evaluations(run: RunDir) -> dict[str, dict]:
    found = {}
    for path in sorted(run.file(EVALUATION).glob("*.json")) if run.file(EVALUATION).is_dir() else []:
        found[path.stem] = run.read_json(f"{EVALUATION}/{path.name}")
    return found


def _evaluate_test(run_dir) -> dict[str, dict]:
    """No saved evaluation: evaluate the test split now, if the run's data is here."""
    try:
        evaluate_run(run_dir, "test")
    except (SpecError, TlspecError) as error:
        print(f"note: the report has no evaluation ({str(error).splitlines()[0]}); run tlspec evaluate first",
              file=sys.stderr)
        return {}
    return saved_evaluations(RunDir.existing(run_dir))


def _summary(run: RunDir, info: RunInfo) -> str:
    metrics = run.read_json(METRICS) if run.file(METRICS).exists() else {}
    rows = [(split, head, metric, value) for split, heads in metrics.items() for head, values in heads.items()
            if isinstance(values, dict) for metric, value in values.items() if isinstance(value, (int, float))]
    table = _table(["split", "head", "metric", "value"], [(s, h, m, f"{v:.4f}") for s, h, m, v in rows])
    facts = (f"{html.escape(info.status)} · {info.epochs or 0} epochs in {info.seconds:,.1f} s · started "
             f"{html.escape(info.started)}" + (f" · finished {html.escape(info.finished)}" if info.finished else ""))
    return (f"<h1 id='title'>{html.escape(info.spec_name)}</h1><p class='muted'>{facts} · {html.escape(str(run.path))}"
            f"</p>{_section('Metrics at the end of training', table, 'metrics')}")


def _environment(info: RunInfo) -> str:
    rows = [("tlspec", info.tlspec_version)] + [(name, version) for name, version in info.environment.items()]
    rows += [(f"plugin distribution {name}", version) for name, version in info.plugins.items()]
    note = "" if info.environment else "<p class='muted'>This run was trained before tlspec recorded it.</p>"
    return _section("Environment", note + _table(["what", "version"], rows), "environment")


def _timeline(info: RunInfo, history: list[dict]) -> str:
    rows, first = [], 1
    for phase in info.phases:
        epochs = [row for row in history if row.get("phase") == phase.name]
        rates = sorted({row["learning_rate"] for row in epochs if isinstance(row.get("learning_rate"), float)})
        rate = (f"{rates[0]:.3g}" if len(rates) == 1 else f"{rates[0]:.3g} – {rates[-1]:.3g}") if rates else "–"
        last = first + phase.epochs - 1
        cached = {True: "yes", False: "no", None: "–"}[phase.cached_features]
        rows.append((phase.name, f"{first}–{last}" if phase.epochs else "none", rate, cached, phase.why,
                     f"{phase.seconds:,.1f} s"))
        first = last + 1
    table = _table(["phase", "epochs", "learning rate", "cached features", "why", "time"], rows)
    return _section("Phases", table + _figure(figures.learning_rate(history), "learning rate", "learning-rate"),
                    "timeline")


def _evaluation(name: str, evaluation: dict) -> str:
    parts = [f"<p class='muted'>{html.escape(_source(evaluation))}</p>"]
    for head, values in evaluation.get("heads", {}).items():
        report = values.get("report") or {}
        parts.append(f"<h3>{html.escape(head)}</h3>")
        if report.get("kind") in ("classifier", "multi_label"):
            parts.append(_classifier(head, report))
        elif report.get("kind") == "regression":
            parts.append(_table(["MAE", "RMSE", "R²"], [tuple(_fmt(report[k]) for k in ("mae", "rmse", "r2"))]))
        if "per_tag" in values:
            parts.append(_table(["tag", "precision", "recall", "f1", "support"],
                                [(tag, *(_fmt(row[k]) for k in ("precision", "recall", "f1")), f"{row['support']:,}")
                                 for tag, row in values["per_tag"].items()]))
        scalars = [(metric, _fmt(value)) for metric, value in values.items() if isinstance(value, (int, float))]
        parts.append(_table(["metric", "value"], scalars))
    return _section(f"Evaluation: {name}", "".join(parts), f"evaluation-{name}")


def _classifier(head: str, report: dict) -> str:
    rows = [(name, *(_fmt(row[k]) for k in ("precision", "recall", "f1")), f"{row['support']:,}")
            for name, row in report["per_class"].items()]
    rows += [(average.replace("_avg", " average"), *(_fmt(report[average][k]) for k in ("precision", "recall", "f1")),
              f"{report[average]['support']:,}") for average in ("macro_avg", "weighted_avg")]
    table = _table(["class", "precision", "recall", "f1", "support"], rows, f"per-class-{head}")
    pictures = []
    if "confusion_matrix" in report:
        matrix = report["confusion_matrix"]
        pictures.append(_figure(figures.confusion(matrix["matrix"], matrix["classes"]), "confusion matrix",
                                f"confusion-{head}"))
    pictures.append(_figure(figures.reliability(report["calibration"]), "reliability diagram",
                            f"reliability-{head}"))
    summary = ", ".join(f"top-{k} accuracy {_fmt(v)}" for k, v in report.get("top_k_accuracy", {}).items())
    return (f"<p>{report['examples']:,} examples; {summary}</p>{table}<div class='grid'>{''.join(pictures)}</div>"
            + _mistakes(head, report.get("most_confident_mistakes", [])))


def _mistakes(head: str, mistakes: list[dict]) -> str:
    if not mistakes:
        return ""
    cards = []
    for mistake in mistakes[:MISTAKES_SHOWN]:
        item = mistake.get("input")
        picture = figures.thumbnail(item) if item and item.lower().endswith(IMAGE_SUFFIXES) else None
        shown = f"<img src='{picture}' alt='example {mistake['example']}'>" if picture else ""
        label = Path(item).name if picture else (item[:300] if item else f"example {mistake['example']}")
        cards.append(f"<div class='mistake'>{shown}<b>{html.escape(mistake['predicted'])}</b> "
                     f"{mistake['confidence']:.3f}<br>true: {html.escape(mistake['true'])}<br>"
                     f"<span class='muted'>{html.escape(label)}</span></div>")
    return (f"<h4>Most confident mistakes</h4><div class='grid' id='mistakes-{html.escape(head)}'>"
            f"{''.join(cards)}</div>")


def _graph(validated) -> str:
    import tempfile

    from tlspec.model.assemble import assemble
    from tlspec.model.plot import plot

    with tempfile.TemporaryDirectory() as folder:
        path = plot(assemble(validated), Path(folder) / "graph.png")
        uri = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
    return _section("Model graph", _figure(uri, "component graph", "graph"))


def _source(evaluation: dict) -> str:
    data = evaluation.get("data", {})
    if "paths" in data:
        return "new data: " + ", ".join(data["paths"])
    return f"the {data.get('split', evaluation.get('name', '?'))} split of the run's data"


def _section(title: str, body: str, anchor: str | None = None) -> str:
    identity = f" id='{html.escape(anchor)}'" if anchor else ""
    return f"<section{identity}><h2>{html.escape(title)}</h2>{body}</section>"


def _figure(uri: str | None, alt: str, anchor: str) -> str:
    if uri is None:
        return ""
    return f"<img class='figure' id='{html.escape(anchor)}' src='{uri}' alt='{html.escape(alt)}'>"


def _table(columns: list[str], rows, anchor: str | None = None) -> str:
    identity = f" id='{html.escape(anchor)}'" if anchor else ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in rows)
    return f"<table{identity}><tr>{head}</tr>{body}</table>"


def _cell(value) -> str:
    """Numbers right-aligned (their digits line up), words left."""
    text = str(value)
    numeric = text.replace(",", "").replace(" s", "").replace("–", "").replace(".", "", 1).strip().isdigit()
    return f"<td class='num'>{html.escape(text)}</td>" if numeric else f"<td>{html.escape(text)}</td>"


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)

