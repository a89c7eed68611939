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
