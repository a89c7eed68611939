"""``tlspec plan SPEC``: what every phase will train, per component (and with ``--layers`` per layer)."""

from __future__ import annotations

import json

from tlspec.cli.arguments import add_json_argument, add_spec_arguments
from tlspec.cli.output import console


def register(commands) -> None:
    parser = commands.add_parser("plan", help="show what each training phase trains, before training")
    add_spec_arguments(parser)
    parser.add_argument("--layers", action="store_true", help="also list every layer and whether it trains per phase")
    add_json_argument(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    import tlspec

    plans = tlspec.plan(args.spec, args.overrides)
    if args.json:
        print(json.dumps([plan.to_json() for plan in plans], indent=2))
        return 0
    out = console()
    for plan in plans:
        out.print(_phase_table(plan))
        feature = "yes" if plan.cached else "no"
        out.print(f"features cached: {feature} ({plan.why})" + ("" if plan.loss_balancing else "\n"), highlight=False)
        if plan.loss_balancing:
            out.print(f"{plan.loss_balancing}\n", highlight=False)
    if args.layers:
        out.print(_layer_table(plans))
    return 0


def _phase_table(plan):
    from rich.table import Table

    title = (f"phase {plan.name}: epochs {plan.first_epoch}-{plan.last_epoch}, "
             f"learning rate {plan.learning_rate:g}")
    table = Table(title=title, title_justify="left")
    for column in ("component", "role", "trainable", "frozen", "BatchNorm training", "BatchNorm inference",
                   "learning rate ×"):
        table.add_column(column, justify="left" if column in ("component", "role") else "right")
    for part in plan.components:
        rates = f"{part.rate_min:.3g}" if part.rate_min == part.rate_max else f"{part.rate_min:.3g}–{part.rate_max:.3g}"
        table.add_row(part.name, part.role, f"{part.trainable:,}", f"{part.frozen:,}", str(part.batchnorm_training),
                      str(part.batchnorm_inference), rates if part.trainable else "–")
    return table


def _layer_table(plans):
    from rich.table import Table

    table = Table(title="layers", title_justify="left")
    for column in ("index", "layer", "component", "params", *(plan.name for plan in plans)):
        table.add_column(column, justify="right" if column in ("index", "params") else "left")
    for row, layer in enumerate(plans[0].layers):
        states = [_state(plan.layers[row]) for plan in plans]
        table.add_row(str(layer.index), layer.name, layer.component, f"{layer.params:,}", *states)
    return table


def _state(layer) -> str:
    if layer.trainable:
        return "train" if layer.multiplier == 1.0 else f"train ×{layer.multiplier:.3g}"
    return "frozen" if layer.params else "–"
