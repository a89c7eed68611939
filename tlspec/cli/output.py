"""What commands print: rich tables of metrics and of a built model."""

from __future__ import annotations

from tlspec.plugin.shapes import format_shape


def print_metrics(metrics: dict) -> None:
    from rich.table import Table

    table = Table()
    for column in ("split", "head", "metric", "value"):
        table.add_column(column, no_wrap=True)
    reports = []
    for split, heads in metrics.items():
        for head, values in heads.items():
            if head == "total_loss":
                continue
            for metric, value in values.items():
                if metric == "report":
                    continue  # print_reports
                if metric == "per_tag":
                    reports.append((split, head, value))
                elif metric == "tokens":
                    table.add_row(split, head, metric, f"{value:,}")
                else:
                    table.add_row(split, head, metric, f"{value:.4f}")
    out = console()
    out.print(table)
    for split, head, report in reports:
        per_tag = Table(title=f"{head} on {split}: per tag", title_justify="left")
        for column in ("tag", "precision", "recall", "f1", "support"):
            per_tag.add_column(column, justify="right" if column != "tag" else "left")
        for tag, row in sorted(report.items(), key=lambda item: -item[1]["support"]):
            per_tag.add_row(tag, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
                            f"{row['support']:,}")
        out.print(per_tag)


CONFUSION_SHOWN = 20  # more classes than this: the confusion matrix is only in the JSON


def print_reports(metrics: dict) -> None:
    """Each head's report from ``tlspec evaluate``: per-class table, calibration, confusion matrix, errors."""
    out = console()
    for split, heads in metrics.items():
        for head, values in heads.items():
            report = values.get("report") if isinstance(values, dict) else None
            if not report:
                continue
            if report["kind"] == "regression":
                out.print(f"{head} on {split}: {_regression_line(report)}", highlight=False)
                continue
            out.print(_per_class_table(f"{head} on {split}: per class", report))
            out.print(_summary_line(report), highlight=False)
            matrix = report.get("confusion_matrix")
            if matrix and len(matrix["classes"]) <= CONFUSION_SHOWN:
                out.print(_confusion_table(f"{head} on {split}: confusion matrix", matrix))


def _per_class_table(title: str, report: dict):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("class", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, row in report["per_class"].items():
        table.add_row(name, *_scores(row))
    table.add_section()
    for average in ("macro_avg", "weighted_avg"):
        table.add_row(average.replace("_avg", " average"), *_scores(report[average]))
    return table


def _scores(row: dict) -> list[str]:
    return [_number(row[key]) for key in ("precision", "recall", "f1")] + [f"{row['support']:,}"]


def _summary_line(report: dict) -> str:
    parts = []
    if "top_k_accuracy" in report:
        parts.append(", ".join(f"top-{k} accuracy {_number(v)}" for k, v in report["top_k_accuracy"].items()))
    if "exact_match" in report:
        parts.append(f"exact match {_number(report['exact_match'])}")
    calibration = report["calibration"]
    parts.append(f"expected calibration error {_number(calibration['ece'])} ({len(calibration['bins'])} bins)")
    return f"{report['examples']:,} examples: " + "; ".join(parts)


def _confusion_table(title: str, matrix: dict):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("true \\ predicted")
    for name in matrix["classes"]:
        table.add_column(name, justify="right")
    for name, row in zip(matrix["classes"], matrix["matrix"]):
        table.add_row(name, *(f"{count:,}" for count in row))
    return table


def _regression_line(report: dict) -> str:
    quantiles = ", ".join(f"{q}: {_number(v)}" for q, v in report["residual_quantiles"].items())
    return (f"{report['examples']:,} examples: MAE {_number(report['mae'])}, RMSE {_number(report['rmse'])}, "
            f"R² {_number(report['r2'])}; residual (predicted − true) quantiles {quantiles}")


def _number(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def print_build_table(result: dict) -> None:
    from rich.table import Table

    table = Table(title=f"{result['name']}", title_justify="left")
    for column in ("component", "role", "plugin", "layers", "output shape"):
        table.add_column(column, no_wrap=True)
    table.add_column("trainable", justify="right", no_wrap=True)
    table.add_column("frozen", justify="right", no_wrap=True)
    for row in result["components"]:
        table.add_row(row["name"], row["role"], row["plugin"], str(row["layers"]), _shape(row["output_shape"]),
                      f"{row['trainable']:,}", f"{row['frozen']:,}")
    params = result["params"]
    table.add_section()
    table.add_row("total", "", "", str(len(result["layers"])), "", f"{params['trainable']:,}",
                  f"{params['non_trainable']:,}")
    out = console()
    out.print(table)
    inputs = ", ".join(f"{i['name']} {tuple(i['shape'])}" for i in result["inputs"])
    outputs = ", ".join(f"{o['name']} {tuple(o['shape'])}" for o in result["outputs"])
    out.print(f"inputs: {inputs}\noutputs: {outputs}\n"
                  f"parameters: {params['total']:,} total, {params['trainable']:,} trainable, "
                  f"{params['non_trainable']:,} non-trainable")


def console():
    """A rich console that does not squeeze tables when output is piped."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def _shape(shape: list) -> str:
    """An output shape from the build report; a layer with several outputs has a list of shapes."""
    if shape and isinstance(shape[0], list):
        return "[" + ", ".join(format_shape(part) for part in shape) + "]"
    return format_shape(shape)
