"""Tables of the sensitivity toolkit's reports: check, nudge, diagnose. No math here.

Each report has ``to_dict()``, its JSON document (:func:`present.json.render_document`); the
``render_*`` functions below draw the tables from the same report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rich.padding import Padding
from rich.text import Text

from backprop_cli.errors import plural
from backprop_cli.present import Options
from backprop_cli.present.console import make_console
from backprop_cli.present.fit import Cell, Col, Grid
from backprop_cli.present.table import _Fmt, show

if TYPE_CHECKING:  # each command imports only its own report's module
    from backprop_cli.reports.check import CheckReport, ParamCheck
    from backprop_cli.reports.diagnose import Diagnosis
    from backprop_cli.reports.nudge import NudgeReport

DIAGNOSE_PRECISION = 3


def _where(f: _Fmt, c: ParamCheck, m: int) -> str:
    return "C" if c.worst == m else f"{f.c0} ex {c.worst}"


def render_check(report: CheckReport, out: TextIO, options: Options) -> None:
    console = make_console(out, options)
    f = _Fmt(options)
    net, m = report.network, report.example_count
    total = net.parameter_count
    what = (f"{len(report.params)} of {plural(total, 'parameter')} (sampled, seed {report.seed})"
            if len(report.params) < total else f"all {plural(total, 'parameter')}")
    verdict = "PASSED" if report.passed else f"FAILED: {plural(len(report.failed), 'parameter')}"
    console.print(Text(
        f"Gradient check of {net.name or 'network'} ({'-'.join(map(str, net.sizes))}): {what}, "
        f"{report.scope}; ε = {report.eps:g}, tolerance {report.tolerance:g} — {verdict}",
        style="bold",
    ))
    caption = (
        "numeric = (C(θ+ε) − C(θ−ε)) / 2ε (central differences, float64); rel error = "
        f"|analytic − numeric| / max(|analytic|, |numeric|, 1e-3 · max(1, |{report.floor_cost}|))"
    )
    over = "over every example and C" if report.data is None else "of C"  # data: C only
    grid = Grid(
        f"Per layer: the largest errors {over}",
        ["layer", "checked", "failed", Col("max abs error", "abs error"),
         Col("max rel error", "rel error"), "worst", "at", "analytic", "numeric"],
        caption=caption,
    )
    for lc in report.layers:
        c = lc.worst
        cells: list[Cell] = [str(lc.layer), f"{lc.checked}/{lc.total}", str(lc.failed)]
        if c is None:
            grid.add_row(*cells, "", "", "", "", "", "")
            continue
        grid.add_row(*cells, f"{lc.max_abs:.2e}", f"{lc.max_rel:.2e}", f.param(c.param),
                     _where(f, c, m), float(c.analytic[c.worst]), float(c.numeric[c.worst]))
    show(console, f, grid)
    if not report.show_all:
        return
    every = Grid(
        f"Every checked parameter: {f.d('C', 'θ')} of the full cost"
        + (", and the worst error over the examples and C" if report.data is None else ""),
        ["param", "value", Col(f"analytic {f.d('C', 'θ')}", "analytic"),
         Col(f"numeric {f.d('C', 'θ')}", "numeric"), Col("max abs error", "abs error"),
         Col("max rel error", "rel error"), "at", "status"],
    )
    rows = (
        [f.param(c.param), c.value, float(c.analytic[m]), float(c.numeric[m]),
         f"{c.max_abs:.2e}", f"{c.max_rel:.2e}", _where(f, c, m),
         "ok" if c.max_rel <= report.tolerance else "FAIL"]
        for c in report.params
    )
    every.add_rows(rows, len(report.params), options.limit)
    show(console, f, every)


def render_nudge(report: NudgeReport, out: TextIO, options: Options) -> None:
    console = make_console(out, options)
    f = _Fmt(options)
    p = report.param
    name = f.param(p)
    cost = "C" if report.example is None else f.c0
    console.print(Text(
        f"Nudge {name} by Δ = {report.delta:g}: {f.num(report.value)} → "
        f"{f.num(report.value + report.delta)}; first-order prediction = the chain rule, "
        f"actual = a second forward pass",
        style="bold",
    ))
    for ex in report.examples:
        table = Grid(
            f"Example {ex.example}: Δ{name} → Δz → Δa → … → Δ{f.c0}",
            ["quantity", "before", "after", "actual Δ", Col("predicted Δ", "predicted")],
            caption=(f"predicted: Δz({p.layer}) = {f.d('z', name)} · Δ, Δa ≈ σ'(z) · Δz, "
                     f"Δz(l+1) ≈ W(l+1) · Δa(l), Δ{f.c0} ≈ {f.d(f.c0, name)} · Δ"),
            keep_digits=True,
        )
        rows: list[list[Cell]] = [[name, report.value, report.value + report.delta,
                                   report.delta, report.delta]]
        rows += [[f.sym(c.name, c.layer, c.j), c.before, c.after, c.actual, c.predicted]
                 for c in ex.chain]
        table.add_rows(rows, len(rows), options.limit)
        table.add_row(f.c0, ex.cost.before, ex.cost.after, ex.cost.actual, ex.cost.predicted)
        show(console, f, table)
    c = report.cost
    scope = (f"mean of {f.c0} over {plural(len(report.examples), 'example')}"
             if report.example is None
             else f"example {report.example}")
    summary = Grid(
        f"Cost {cost} ({scope}): actual Δ{cost} against {f.d(cost, name)} · Δ",
        ["before", "after", Col(f"actual Δ{cost}", "actual"), f.d(cost, name),
         Col(f"predicted Δ{cost}", "predicted"), Col("actual / predicted", "ratio")],
        caption="The ratio tends to 1 as Δ → 0; its distance from 1 shrinks in proportion to Δ.",
        keep_digits=True,
    )
    summary.add_row(c.before, c.after, c.actual, c.gradient, c.predicted, c.ratio)
    show(console, f, summary)


def render_diagnose(report: Diagnosis, out: TextIO, options: Options) -> None:
    console = make_console(out, options)
    f = _Fmt(options, DIAGNOSE_PRECISION)
    net, m = report.network, report.example_count
    scope = (plural(m, 'example') if report.data is None
             else f"{plural(m, 'row')} of {report.data['file']}")
    console.print(Text(
        f"Diagnosis of {net.name or 'network'} ({'-'.join(map(str, net.sizes))}) on {scope}: "
        f"C = {f.num(report.cost)}",
        style="bold",
    ))
    table = Grid(
        "Per layer",
        ["l", "σ", "n", "‖∂C/∂W‖", "÷ out", "sat.", "dead", "w mean", "w std", "max|w|",
         "a mean"],
        caption="÷ out: ratio to the output layer's norm; sat.: share of (example, neuron) with "
        "σ'(z) < 1% of max σ'; dead: ReLU neurons with z ≤ 0 on every example",
    )
    for d in report.layers:
        table.add_row(
            str(d.layer), d.activation, str(d.size), d.grad_norm, d.grad_ratio,
            f"{d.saturated:.0%}", None if d.dead is None else str(len(d.dead)),
            d.weights.mean, d.weights.std, d.weights.absmax, d.activations.mean,
        )
    show(console, f, table)
    console.print(Text("Findings", style="bold"))
    for finding in report.findings:
        where = f" (layer {finding.layer})" if finding.layer is not None else ""
        console.print(Text(f"{finding.severity}{where}: {finding.message}"))
        console.print(Padding(Text(f"suggestion: {finding.suggestion}"), (0, 0, 0, 2)))

