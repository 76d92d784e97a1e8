"""``predict``'s rows as CSV or NDJSON, and ``evaluate``'s table (their JSON is the report's
``to_dict()``). No math here."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any, TextIO

from backprop_cli.errors import plural
from backprop_cli.present import Options
from backprop_cli.present.console import make_console
from backprop_cli.present.fit import Col, Grid
from backprop_cli.present.json import dumps
from backprop_cli.present.notation import number
from backprop_cli.present.table import _Fmt, show
from backprop_cli.present.train import _pct
from backprop_cli.reports.metrics import ClassMetrics, RegressionMetrics

if TYPE_CHECKING:
    from rich.console import Console

    from backprop_cli.reports.train import EvaluationReport, Predictions


def render_csv(report: Predictions, out: TextIO, options: Options) -> None:
    """The --id column first (when given), the outputs by their names (p_<class>, the target
    column, else a0 … a(n_L−1)), and the predicted label when there are classes."""
    labels, ids = report.labels, report.ids
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(([report.id or "id"] if ids is not None else []) + report.columns
                    + (["label"] if labels is not None else []))
    for i, row in enumerate(report.outputs.tolist()):
        writer.writerow(([ids[i]] if ids is not None else []) + [repr(v) for v in row]
                        + ([labels[i]] if labels is not None else []))


def render_ndjson(report: Predictions, out: TextIO, options: Options) -> None:
    """One object a row: ``row`` (0-based), ``id`` with --id, ``output`` (a list in
    ``columns`` order) and ``label`` for a classifier."""
    labels, ids = report.labels, report.ids
    for i, row in enumerate(report.outputs.tolist()):
        item: dict[str, Any] = {"row": i}
        if ids is not None:
            item["id"] = ids[i]
        item["output"] = row
        if labels is not None:
            item["label"] = labels[i]
        out.write(dumps(item, indent=None) + "\n")


def render_evaluation(report: EvaluationReport, out: TextIO, options: Options) -> None:
    ev, classes = report.evaluation, report.classes
    console = make_console(out, options)
    f = _Fmt(options)
    console.print(f"{report.network} on {report.data}: {plural(ev.rows, 'row')}")
    units = ("" if report.target_scaling == "none"
             else f"; targets scaled {report.target_scaling}")
    console.print(f"cost C = mean of C0 ({report.cost_function}{units}): "
                  f"{number(ev.cost, ascii=options.ascii)}")
    metrics = ev.metrics
    if isinstance(metrics, RegressionMetrics):
        _regression(console, f, metrics)
    if ev.accuracy is None or ev.confusion is None or ev.recall is None or classes is None:
        return
    console.print(f"accuracy: {_pct(ev.accuracy)} ({ev.correct} of {ev.rows})")
    names = [str(c) for c in classes]
    grid = Grid("Confusion matrix: rows are the true class, columns the predicted one",
                [Col("true \\ predicted", "true\\pred", ""), *names, "recall"], tight=True)
    for name, counts, recall in zip(names, ev.confusion.tolist(), ev.recall, strict=True):
        grid.add_row(name, *(str(v) for v in counts), _pct(recall))
    show(console, f, grid)
    if isinstance(metrics, ClassMetrics):
        _per_class(console, f, metrics, names)


def _regression(console: Console, f: _Fmt, m: RegressionMetrics) -> None:
    grid = Grid("Metrics in the target's units (R²: 1 − Σ(ŷ − y)² / Σ(y − ȳ)²)",
                ["output", "RMSE", "MAE", "R²"])
    for name, rmse, mae, r2 in zip(m.names, m.rmse, m.mae, m.r2, strict=True):
        grid.add_row(name, rmse, mae, r2)
    if len(m.names) > 1:
        grid.add_row("overall (mean)", m.overall_rmse, m.overall_mae, m.overall_r2)
    show(console, f, grid)


def _per_class(console: Console, f: _Fmt, m: ClassMetrics, names: list[str]) -> None:
    grid = Grid("Per class (0 where nothing is predicted as, or labelled, the class)",
                ["class", Col("rows", "rows"), "precision", "recall", "F1"],
                caption=None if m.roc_auc is None else
                f"ROC-AUC (class {names[-1]} against {names[0]}): "
                f"{number(m.roc_auc, ascii=f.ascii)}")
    for name, rows, p, r, f1 in zip(names, m.support, m.precision, m.recall, m.f1,
                                    strict=True):
        grid.add_row(name, str(rows), p, r, f1)
    for what, avg in (("macro avg", m.macro), ("weighted avg", m.weighted)):
        grid.add_row(what, str(m.rows), avg.precision, avg.recall, avg.f1)
    show(console, f, grid)
