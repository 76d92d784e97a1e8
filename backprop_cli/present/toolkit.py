"""Tables of the sensitivity toolkit's reports: check, nudge, diagnose. No math here.

Each report has ``to_dict()``, its JSON document (:func:`present.json.render_document`); the
``render_*`` functions below draw the tables from the same report.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from rich.text import Text

from backprop_cli.errors import plural
from backprop_cli.present import Options
from backprop_cli.present.console import make_console
from backprop_cli.present.table import _add_rows, _Fmt, _table, show

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
    table = _table(
        f"Per layer: the largest errors {over}",
        ["layer", "checked", "failed", "max abs error", "max rel error", "worst", "at",
         "analytic", "numeric"],
        caption=caption,
        ascii=f.ascii,
    )
    for lc in report.layers:
        c = lc.worst
        cells = [str(lc.layer), f"{lc.checked}/{lc.total}", str(lc.failed)]
        if c is None:
            table.add_row(*cells, "", "", "", "", "", "")
            continue
        table.add_row(*cells, f"{lc.max_abs:.2e}", f"{lc.max_rel:.2e}", f.param(c.param),
                      _where(f, c, m), f.num(float(c.analytic[c.worst])),
                      f.num(float(c.numeric[c.worst])))
    show(console, table)
    if not report.show_all:
        return
    every = _table(
        f"Every checked parameter: {f.d('C', 'θ')} of the full cost"
        + (", and the worst error over the examples and C" if report.data is None else ""),
        ["param", "value", f"analytic {f.d('C', 'θ')}", f"numeric {f.d('C', 'θ')}",
         "max abs error", "max rel error", "at", "status"],
        ascii=f.ascii,
    )
    rows = (
        [f.param(c.param), f.num(c.value), f.num(float(c.analytic[m])),
         f.num(float(c.numeric[m])), f"{c.max_abs:.2e}", f"{c.max_rel:.2e}", _where(f, c, m),
         "ok" if c.max_rel <= report.tolerance else "FAIL"]
        for c in report.params
    )
    _add_rows(every, rows, len(report.params), options.limit)
    show(console, every)


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
        table = _table(
            f"Example {ex.example}: Δ{name} → Δz → Δa → … → Δ{f.c0}",
            ["quantity", "before", "after", "actual Δ", "predicted Δ"],
            caption=(f"predicted: Δz({p.layer}) = {f.d('z', name)} · Δ, Δa ≈ σ'(z) · Δz, "
                     f"Δz(l+1) ≈ W(l+1) · Δa(l), Δ{f.c0} ≈ {f.d(f.c0, name)} · Δ"),
            ascii=f.ascii,
        )
        rows = [[name, f.num(report.value), f.num(report.value + report.delta),
                 f.num(report.delta), f.num(report.delta)]]
        rows += [[f.sym(c.name, c.layer, c.j), f.num(c.before), f.num(c.after), f.num(c.actual),
                  f.num(c.predicted)] for c in ex.chain]
        _add_rows(table, rows, len(rows), options.limit)
        table.add_row(f.c0, f.num(ex.cost.before), f.num(ex.cost.after), f.num(ex.cost.actual),
                      f.num(ex.cost.predicted))
        show(console, table)
    c = report.cost
    scope = (f"mean of {f.c0} over {plural(len(report.examples), 'example')}"
             if report.example is None
             else f"example {report.example}")
    summary = _table(
        f"Cost {cost} ({scope}): actual Δ{cost} against {f.d(cost, name)} · Δ",
        ["before", "after", f"actual Δ{cost}", f.d(cost, name), f"predicted Δ{cost}",
         "actual / predicted"],
        caption="The ratio tends to 1 as Δ → 0; its distance from 1 shrinks in proportion to Δ.",
        ascii=f.ascii,
    )
    summary.add_row(f.num(c.before), f.num(c.after), f.num(c.actual), f.num(c.gradient),
                    f.num(c.predicted), f.num(c.ratio))
    show(console, summary)


def render_diagnose(report: Diagnosis, out: TextIO, options: Options) -> None:
    console = make_console(out, options)
    f = _Fmt(replace(options, precision=options.precision or DIAGNOSE_PRECISION))
    net, m = report.network, report.example_count
    scope = (plural(m, 'example') if report.data is None
             else f"{plural(m, 'row')} of {report.data['file']}")
    console.print(Text(
        f"Diagnosis of {net.name or 'network'} ({'-'.join(map(str, net.sizes))}) on {scope}: "
        f"C = {f.num(report.cost)}",
        style="bold",
    ))
    table = _table(
        "Per layer",
        ["l", "σ", "n", "‖∂C/∂W‖", "÷ out", "sat.", "dead", "w mean", "w std", "max|w|",
         "a mean"],
        caption="÷ out: ratio to the output layer's norm; sat.: share of (example, neuron) with "
        "σ'(z) < 1% of max σ'; dead: ReLU neurons with z ≤ 0 on every example",
        ascii=f.ascii,
    )
    for d in report.layers:
        table.add_row(
            str(d.layer), d.activation, str(d.size), f.num(d.grad_norm), f.num(d.grad_ratio),
            f"{d.saturated:.0%}", f.num(None) if d.dead is None else str(len(d.dead)),
            f.num(d.weights.mean), f.num(d.weights.std),
            f.num(d.weights.absmax),
            f.num(d.activations.mean),
        )
    show(console, table)
    console.print(Text("Findings", style="bold"))
    for finding in report.findings:
        where = f" (layer {finding.layer})" if finding.layer is not None else ""
        console.print(Text(f"{finding.severity}{where}: {finding.message}"))
        console.print(Text(f"  suggestion: {finding.suggestion}"))

