"""``backprop step``'s report as tables, CSV rows and sentences. No math here: every number
comes from :class:`~backprop_cli.reports.step.StepReport` (its JSON is ``to_dict()``)."""

from __future__ import annotations

import csv
import textwrap
from collections.abc import Iterator
from itertools import islice
from typing import TYPE_CHECKING, TextIO

from rich.text import Text

from backprop_cli.errors import plural
from backprop_cli.present import Options
from backprop_cli.present.console import DEFAULT_WIDTH, make_console
from backprop_cli.present.fit import Cell, Col, Grid
from backprop_cli.present.json import round_floats
from backprop_cli.present.notation import to_ascii
from backprop_cli.present.table import _Fmt, show

if TYPE_CHECKING:
    from backprop_cli.reports.step import StepReport

RULE = "θ ← θ − η·∂C/∂θ"
PREDICTION = "ΔC ≈ −η‖∇C‖²"


def _eta(lr: float) -> str:
    """η as the user gave it: its shortest round-trip digits, 0.5 and 20, not 20.0."""
    text = repr(lr)
    return text.removesuffix(".0")


def _title(report: StepReport, f: _Fmt) -> str:
    net = report.network
    what = "One step" if report.steps == 1 else f"{report.steps} steps"
    return (f"{what} of gradient descent on {net.name or 'network'} "
            f"({'-'.join(map(str, net.sizes))}), η = {_eta(report.lr)}: {RULE}, "
            f"C = mean of {f.c0} over {report.scope}")


def _after(report: StepReport) -> str:
    return "new value" if report.steps == 1 else f"after {report.steps} steps"


def render_table(report: StepReport, out: TextIO, options: Options) -> None:
    console = make_console(out, options)
    f = _Fmt(options)
    console.print(Text(_title(report, f), style="bold"))
    theta = "θ"
    params = Grid(
        "Every parameter θ: its desired nudge −η·∂C/∂θ and its new value",
        ["param", "value", f.d("C", theta), Col(f"nudge −η·{f.d('C', theta)}", "nudge"),
         Col(_after(report), "new" if report.steps == 1 else "after")],
        caption=("new value = value + nudge" if report.steps == 1 else
                 f"value, {f.d('C', theta)} and nudge: before step 1 (value + nudge is θ after "
                 f"step 1); after: θ after step {report.steps}"),
        keep_digits=True,
    )
    rows: Iterator[list[Cell]] = ([f.param(r.param), r.value, r.gradient, r.nudge, r.after]
                                  for r in report.params())
    params.add_rows(rows, report.network.parameter_count, options.limit)
    show(console, f, params)
    costs = Grid(
        "The cost C: actual ΔC against the first-order prediction " + PREDICTION,
        ["step", "C before", "C after", Col("actual ΔC", "actual"),
         Col("predicted ΔC", "predicted"), Col("actual / predicted", "ratio"), "‖∇C‖"],
        caption=("‖∇C‖ is before the step. The ratio tends to 1 as η → 0. A step that raises "
                 "C, or misses the prediction by more than half of it, is marked *."),
        keep_digits=True,
    )
    cost_rows: list[list[Cell]] = [
        [f"{c.step}{'' if c.holds else ' *'}", c.before, c.after, c.actual, c.predicted,
         c.ratio, c.gradient_norm] for c in report.costs]
    costs.add_rows(cost_rows, len(cost_rows), options.limit)
    show(console, f, costs)
    if report.note:
        console.print(Text(f"note: {report.note}"))


def render_csv(report: StepReport, out: TextIO, options: Options) -> None:
    """One row per parameter (the columns of :data:`reports.step.PARAM_FIELDS`); the cost per
    step is in the table, text and JSON."""
    from backprop_cli.reports.step import PARAM_FIELDS

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PARAM_FIELDS)
    for r in report.params():
        row = r.as_dict()
        if options.precision is not None:
            row = round_floats(row, options.precision)
        writer.writerow([row[name] for name in PARAM_FIELDS])


def render_text(report: StepReport, out: TextIO, options: Options) -> None:
    """The step in sentences and one worked line per parameter:
    w⁽²⁾₀₁ = 0.7 − 0.5·(0.0414) = 0.679."""
    f = _Fmt(options)
    width = options.width or DEFAULT_WIDTH
    lines: list[str] = []

    def para(text: str) -> None:  # in ASCII before it is wrapped: "∂" becomes "d" …
        lines.extend(textwrap.wrap(to_ascii(text) if options.ascii else text, width,
                                   break_on_hyphens=False) or [""])

    para(_title(report, f) + ".")
    lines.append("")
    para("Each parameter moves against its gradient: new value = value − η·(∂C/∂θ)"
         + ("." if report.steps == 1 else
            f", shown for step 1; then its value after step {report.steps}."))
    lines.append("")
    shown = 0
    for r in islice(report.params(), options.limit):
        first = r.value + r.nudge
        line = (f"{f.param(r.param)} = {f.num(r.value)} − {_eta(report.lr)}·({f.num(r.gradient)}) "
                f"= {f.num(first)}")
        if report.steps > 1:
            line += f"; after {report.steps} steps {f.num(r.after)}"
        para(line)
        shown += 1
    total = report.network.parameter_count
    if shown < total:
        para(f"… {plural(total - shown, 'more parameter')} (--limit 0 shows all)")
    lines.append("")
    if report.steps == 1:
        c = report.costs[0]
        ratio = "" if c.ratio is None else f" (actual / predicted = {f.num(c.ratio)})"
        para(f"The cost C went from {f.num(c.before)} to {f.num(c.after)}: ΔC = "
             f"{f.num(c.actual)}; the first-order prediction ΔC ≈ −η‖∇C‖² = "
             f"−{_eta(report.lr)}·{f.num(c.gradient_norm)}² = {f.num(c.predicted)}{ratio}.")
    else:
        para("The cost C per step, and the first-order prediction ΔC ≈ −η‖∇C‖² of each "
             "(* where it did not hold):")
        for c in islice(report.costs, options.limit):
            mark = "" if c.holds else " *"
            para(f"step {c.step}: C {f.num(c.before)} → {f.num(c.after)}, ΔC = "
                 f"{f.num(c.actual)}, predicted {f.num(c.predicted)}{mark}")
        if options.limit is not None and report.steps > options.limit:
            para(f"… {plural(report.steps - options.limit, 'more step')} (--limit 0 shows all)")
        para(f"Over {plural(report.steps, 'step')}: C went from {f.num(report.before)} to "
             f"{f.num(report.after)}.")
    if report.note:
        lines.append("")
        para(f"Note: {report.note}.")
    out.write("\n".join(lines) + "\n")
