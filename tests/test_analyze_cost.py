"""analyze's cost follows what is shown (issue 16.3): the parameters a table shows are made
without one object per parameter of the network, and a format that would lay out too many
rows refuses up front, naming the formats and options that would do."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import islice

import pytest
from conftest import CONFIGS
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.io.config import load_network
from backprop_cli.network import Param
from backprop_cli.reports import analyze as analyze_module
from backprop_cli.reports.analyze import AnalyzeReport, all_params, analyze

MNIST = CONFIGS / "mnist-784-16-16-10.yaml"  # 12,730 parameters


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["analyze", *args], env={"COLUMNS": "120"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def report() -> AnalyzeReport:
    return analyze(load_network(CONFIGS / "digits.yaml"))


def expected(report: AnalyzeReport, l: int | None, kind: str | None) -> list[Param]:  # noqa: E741
    """What params() gave before: the whole list (all, top or chosen), then filtered."""
    if report.top is not None and report.chosen is None:
        whole = [p for p, _ in report.top_params()]
    elif report.chosen is not None:
        whole = [p for p, _ in report.top_params()] if report.top else list(report.chosen)
    else:
        whole = all_params(report.network, report.layers)
    return [p for p in whole if (l is None or p.layer == l) and (kind is None or p.kind == kind)]


@pytest.mark.parametrize("selection", ["all", "top", "chosen", "top of chosen", "layer"])
def test_params_count_and_layers_are_those_of_the_whole_list(report: AnalyzeReport,
                                                             selection: str) -> None:
    chosen = (Param(2, "b", 1, None), Param(1, "w", 3, 5), Param(2, "w", 0, 2))
    report = {
        "all": report,
        "top": replace(report, top=40),
        "chosen": replace(report, chosen=chosen),
        "top of chosen": replace(report, chosen=chosen, top=2),
        "layer": replace(report, layers=(2,)),
    }[selection]
    for l in (None, *report.layers):  # noqa: E741
        for kind in (None, "w", "b"):
            whole = expected(report, l, kind)
            assert report.params(l, kind) == whole
            assert report.params(l, kind, limit=7) == whole[:7]
            assert report.param_count(l, kind) == len(whole)
        assert report.param_layers(kind) == sorted({p.layer for p in expected(report, None,
                                                                               kind)})


def test_the_table_makes_only_the_rows_it_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default table of 12,730 parameters makes ≈ 25 Param objects per table, not one per
    parameter (all_params is not called, every_param is read only as far as the rows go)."""
    made = 0
    every = analyze_module.every_param

    def counted(*args: object, **kwargs: object) -> object:
        def gen() -> object:
            nonlocal made
            for p in every(*args, **kwargs):  # type: ignore[arg-type]
                made += 1
                yield p
        return gen()

    monkeypatch.setattr(analyze_module, "every_param", counted)
    monkeypatch.setattr(analyze_module, "all_params", None)  # would raise if called
    code, out, _ = invoke(str(MNIST))
    net = load_network(MNIST)
    weights = sum(layer.weights.size for layer in net.layers)
    assert code == 0 and f"… {weights - 25} more rows" in out
    assert made <= 2 * 26  # the weights' table and the biases'; one example
    assert list(islice(every(load_network(MNIST), (3,), "b"), 2)) == [
        Param(3, "b", 0, None), Param(3, "b", 1, None)]


@pytest.mark.parametrize("fmt", ["table", "text", "markdown", "latex"])
def test_a_layout_over_the_bound_refuses_up_front(fmt: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("backprop_cli.present.budget.MAX_ROWS", 3000)
    code, out, err = invoke(str(MNIST), "-f", fmt, "--limit", "0")
    assert code == 2 and out == ""
    message = " ".join(err.split())
    assert f"--format {fmt} --limit 0 would lay out" in message and "(at most 3,000)" in message
    assert "use --format ndjson or csv" in message and "--top K" in message
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 3
    # the same with rows that fit: --limit 20 (or --top 20) passes
    assert invoke(str(MNIST), "-f", fmt, "--limit", "20")[0] == 0
    assert invoke(str(MNIST), "-f", fmt, "--limit", "0", "--top", "20")[0] == 0


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv"])
def test_the_streamed_formats_never_refuse(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("backprop_cli.present.budget.MAX_ROWS", 10)
    code, out, _ = invoke(str(CONFIGS / "digits.yaml"), "-f", fmt, "--limit", "0")
    assert code == 0 and out
    if fmt == "json":
        assert json.loads(out)["version"] >= 1


def test_a_table_of_paths_counts_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """--paths of layer 1: n_1 + 1 = 17 rows (16 paths and their sum) per input k, 784 · 17 =
    13,328 rows, the largest table."""
    monkeypatch.setattr("backprop_cli.present.budget.MAX_ROWS", 13_327)
    code, _, err = invoke(str(MNIST), "--paths", "--limit", "0", "--layer", "1")
    assert code == 2 and "13,328 rows in one table" in " ".join(err.split())
    monkeypatch.setattr("backprop_cli.present.budget.MAX_ROWS", 13_328)
    code, out, _ = invoke(str(MNIST), "--paths", "--limit", "0", "--layer", "1", "--ascii")
    assert code == 0 and out.count(" sum |") == 784
