"""Every table of every command fits the console and cuts nothing (issue 11, part 1).

At widths 60 … 200, in Unicode and ASCII: no line is wider than the console, no cell ends in
"…" or "..." (the --limit marker row is "⋮"), and every parameter's name and number (from
the same run's JSON) is in the text whole,
at 3 to 6 significant digits (exactly --precision when it is given).
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONFIGS, ROOT, networks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from typer.testing import CliRunner

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.cli import app
from backprop_cli.io.config import load_network
from backprop_cli.network import Network, Param
from backprop_cli.present import Options
from backprop_cli.present.fit import Grid, show
from backprop_cli.present.notation import number, sym
from backprop_cli.present.predict import render_evaluation
from backprop_cli.present.sensitivity import render_table as render_sensitivity
from backprop_cli.present.step import render_table as render_step
from backprop_cli.present.table import render_analyze
from backprop_cli.present.toolkit import render_check, render_diagnose, render_nudge
from backprop_cli.reports.analyze import all_params, analyze
from backprop_cli.reports.check import check_gradients
from backprop_cli.reports.diagnose import diagnose
from backprop_cli.reports.metrics import ClassTally, RegressionTally
from backprop_cli.reports.nudge import nudge
from backprop_cli.reports.sensitivity import sensitivity
from backprop_cli.reports.step import over_examples, step
from backprop_cli.reports.train import Evaluation, EvaluationReport

WIDTHS = (60, 80, 100, 120, 200)
ALPHABETS = (False, True)
AUTOMATIC = range(3, 7)  # the digits the automatic choice may show
BORDERS = "│┃|"


# --- what "fits and cuts nothing" means -----------------------------------------------------

def body_rows(out: str, ascii: bool) -> Iterator[list[str]]:
    """The cells of every table row (not the header) in ``out``."""
    sep = "|" if ascii else "│"
    for line in out.splitlines():
        if line.startswith(sep) and line.endswith(sep):
            yield [c.strip() for c in line[1:-1].split(sep)]


def assert_fits(out: str, width: int, ascii: bool) -> None:
    assert out.strip()
    for line in out.splitlines():
        assert cell_len(line) <= width, f"{cell_len(line)} > {width}: {line!r}"
        if ascii:
            assert line.isascii(), line
        if line[:1] in BORDERS:  # a table's line: nothing in it was cut
            assert "…" not in line and "..." not in line, line
    for row in body_rows(out, ascii):
        if any(c in ("⋮", ":") for c in row):  # the --limit marker row
            assert all(c in ("⋮", ":") for c in row), row


def names_in(out: str, ascii: bool) -> set[str]:
    return {row[0] for row in body_rows(out, ascii)}


def cells_of(out: str, ascii: bool, name: str) -> set[str]:
    """Every cell of every row named ``name``."""
    return {c for row in body_rows(out, ascii) if row[0] == name for c in row[1:]}


def assert_whole(x: float, cells: set[str], ascii: bool, digits: range | None = None) -> None:
    """``x`` is among ``cells`` printed whole at 3 to 6 significant digits (or ``digits``)."""
    shown = {number(x, d, ascii) for d in (digits or AUTOMATIC)}
    assert shown & cells, f"{x} as one of {sorted(shown)} not in {sorted(cells)}"


def param_name(p: Param | dict[str, Any], ascii: bool) -> str:
    if isinstance(p, dict):
        p = Param(p["layer"], p["kind"], p["j"], p["k"])
    idx = (p.j, p.k) if p.kind == "w" else (p.j,)
    return sym(p.kind, p.layer, *idx, ascii=ascii)


# --- the CLI on every shipped config ---------------------------------------------------------

@functools.cache
def json_of(*args: str) -> Any:
    return json.loads(run([*args, "-f", "json"], 80))


def run(args: list[str], width: int, ascii: bool = False) -> str:
    result = CliRunner().invoke(app, [*args, *(["--ascii"] if ascii else [])],
                                env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert result.exit_code in (0, 1), result.stderr  # check and diagnose --strict: 1
    return result.stdout


SMALL = ["chain.yaml", "two-layer.yaml", "softmax.yaml", "xor.yaml"]
SHIPPED = sorted(p.name for p in CONFIGS.glob("*.yaml"))
DATA = {"xor.yaml": "xor.csv", "digits.yaml": "digits.csv"}


def test_every_shipped_config_is_tested() -> None:
    assert set(SMALL) <= set(SHIPPED) and set(DATA) <= set(SHIPPED)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("ascii", ALPHABETS, ids=["unicode", "ascii"])
@pytest.mark.parametrize("config", SHIPPED)
def test_analyze_every_shipped_config(config: str, ascii: bool, width: int) -> None:
    path = str(CONFIGS / config)
    small = config in SMALL
    args = ["analyze", path, *(["--limit", "0", "--paths"] if small else [])]
    out = run(args, width, ascii)
    assert_fits(out, width, ascii)
    if not small:
        return
    doc = json_of("analyze", path)
    names = names_in(out, ascii)
    for layer in doc["gradient"]["layers"]:
        l = layer["layer"]  # noqa: E741
        for j, row in enumerate(layer["dC_dw"]):
            for k, g in enumerate(row):
                name = sym("w", l, j, k, ascii=ascii)
                assert name in names
                assert_whole(g, cells_of(out, ascii, name), ascii)
        for j, g in enumerate(layer["dC_db"]):
            assert_whole(g, cells_of(out, ascii, sym("b", l, j, ascii=ascii)), ascii)
    for ex in doc["examples"]:  # every neuron's activation, whole
        for layer in ex["layers"]:
            for j, a in enumerate(layer["a"]):
                assert_whole(a, cells_of(out, ascii, sym("a", layer["layer"], j, ascii=ascii)),
                             ascii)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("ascii", ALPHABETS, ids=["unicode", "ascii"])
@pytest.mark.parametrize("args", [
    ["--top", "3"], ["--example", "1", "--layer", "2"], ["--precision", "12"],
    ["--precision", "2"], ["--data", str(CONFIGS / "xor.csv")],
], ids=["top", "example-layer", "precision-12", "precision-2", "data"])
def test_analyze_options(args: list[str], ascii: bool, width: int) -> None:
    config = "xor.yaml" if "--data" in args else "two-layer.yaml"
    out = run(["analyze", str(CONFIGS / config), "--limit", "0", *args], width, ascii)
    assert_fits(out, width, ascii)
    if "--precision" in args:  # the user's digits win at every width
        digits = int(args[1])
        net = load_network(CONFIGS / config)
        report = analyze(net, paths=False)
        for p in all_params(net):
            _, mean = report.trace.param_gradient(p.layer, p.kind, p.j, p.k)
            assert_whole(mean, cells_of(out, ascii, param_name(p, ascii)), ascii,
                         range(digits, digits + 1))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("ascii", ALPHABETS, ids=["unicode", "ascii"])
def test_analyze_data_digits(ascii: bool, width: int) -> None:
    out = run(["analyze", str(CONFIGS / "digits.yaml"), "--data", str(CONFIGS / "digits.csv"),
               "--layer", "3"], width, ascii)
    assert_fits(out, width, ascii)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("ascii", ALPHABETS, ids=["unicode", "ascii"])
@pytest.mark.parametrize("config", SMALL)
def test_check_nudge_diagnose(config: str, ascii: bool, width: int) -> None:
    path = str(CONFIGS / config)
    out = run(["check", path, "--all", "--limit", "0"], width, ascii)
    assert_fits(out, width, ascii)
    doc = json_of("check", path, "--all")
    for p in doc["parameters"]:
        assert_whole(p["full_analytic"], cells_of(out, ascii, param_name(p, ascii)), ascii)

    out = run(["nudge", path, "w1.0.0"], width, ascii)
    assert_fits(out, width, ascii)
    doc = json_of("nudge", path, "w1.0.0")
    for ex in doc["examples"]:
        for c in ex["chain"]:
            assert_whole(c["after"], cells_of(out, ascii, sym(c["quantity"], c["layer"], c["j"],
                                                               ascii=ascii)), ascii)
    every = {c for row in body_rows(out, ascii) for c in row}
    assert_whole(doc["cost"]["ratio"], every, ascii, range(6, 7))  # nudge keeps its digits

    out = run(["diagnose", path], width, ascii)
    assert_fits(out, width, ascii)
    doc = json_of("diagnose", path)
    for d in doc["layers"]:
        cells = cells_of(out, ascii, str(d["layer"]))
        assert_whole(d["grad_norm"], cells, ascii, range(3, 4))
        assert d["activation"] in cells


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("ascii", ALPHABETS, ids=["unicode", "ascii"])
@pytest.mark.parametrize("config", SMALL)
def test_step(config: str, ascii: bool, width: int) -> None:
    args = ["step", str(CONFIGS / config), "--lr", "0.5", "--steps", "2", "--limit", "0"]
    out = run(args, width, ascii)
    assert_fits(out, width, ascii)
    doc = json_of(*args)
    for p in doc["parameters"]:  # step keeps its digits: before and after are compared
        cells = cells_of(out, ascii, param_name(p, ascii))
        for key in ("value", "gradient", "nudge", "after"):
            assert_whole(p[key], cells, ascii, range(6, 7))
    for c in doc["per_step"]:
        cells = cells_of(out, ascii, str(c["step"])) | cells_of(out, ascii, f"{c['step']} *")
        assert_whole(c["after"], cells, ascii, range(6, 7))
    text = run([*args, "-f", "text"], width, ascii)
    assert text.strip() and max(cell_len(line) for line in text.splitlines()) <= width


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("ascii", ALPHABETS, ids=["unicode", "ascii"])
@pytest.mark.parametrize("config", [*SMALL, "digits.yaml"])
def test_sensitivity(config: str, ascii: bool, width: int) -> None:
    path = str(CONFIGS / config)
    args = ["sensitivity", path, "--limit", "0"]
    if config == "digits.yaml":
        args += ["--data", str(CONFIGS / "digits.csv"), "--image", "8x8"]
    out = run(args, width, ascii)
    assert_fits(out, width, ascii)
    doc = json_of(*args)
    for f in doc["features"]:
        name = f["name"] or sym("a", 0, f["index"], ascii=ascii)
        cells = cells_of(out, ascii, name)
        assert str(f["rank"]) in cells
        for key in ("mean_dC_dx", "mean_abs_dC_dx", "mean_abs_dy_dx"):
            assert_whole(f[key], cells, ascii)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args", [["--data", str(CONFIGS / "digits.csv"), "--sample", "20"],
                                  []], ids=["data", "examples"])
def test_check_and_diagnose_on_digits(args: list[str], width: int) -> None:
    path = str(CONFIGS / "digits.yaml")
    for ascii in ALPHABETS:
        assert_fits(run(["check", path, *args], width, ascii), width, ascii)
        diag = [a for a in args if a != "--sample" and a != "20"]
        assert_fits(run(["diagnose", path, *diag], width, ascii), width, ascii)


@pytest.mark.parametrize("width", WIDTHS)
def test_evaluate(width: int) -> None:
    out = run(["evaluate", str(CONFIGS / "digits.yaml"), str(CONFIGS / "digits.csv")], width)
    assert_fits(out, width, False)
    doc = json_of("evaluate", str(CONFIGS / "digits.yaml"), str(CONFIGS / "digits.csv"))
    names = names_in(out, False)
    for label, counts in zip(doc["classes"], doc["confusion"], strict=True):
        assert str(label) in names
        assert [c for c in cells_of(out, False, str(label)) if c.isdigit()]
        assert str(max(counts)) in cells_of(out, False, str(label))
        assert str(sum(counts)) in cells_of(out, False, str(label))  # its rows (support)
    metrics = doc["metrics"]
    for what in ("macro", "weighted"):
        cells = cells_of(out, False, f"{what} avg")
        for key in ("precision", "recall", "f1"):
            assert_whole(metrics[what][key], cells, False)


@pytest.mark.parametrize("ascii", ALPHABETS)
@pytest.mark.parametrize("width", WIDTHS)
def test_evaluate_metrics_of_numeric_and_binary_targets(width: int, ascii: bool) -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(150, 80, (500, 2))
    regression = RegressionTally(("disease progression after one year", "y2"))
    regression.add(y + rng.normal(0, 55, y.shape), y)
    result = regression.result()
    report = EvaluationReport(Evaluation(1234567, 0.123456789, None, None, metrics=result),
                              None, "a-rather-long-name-trained.yaml", "diabetes.csv",
                              "squared_error", "standard")
    out = render(render_evaluation, report, width, ascii)
    assert_fits(out, width, ascii)
    assert "standard" in out
    for j, name in enumerate(result.names):
        cells = cells_of(out, ascii, name)
        for value in (result.rmse[j], result.mae[j], result.r2[j]):
            assert_whole(value, cells, ascii)
    assert_whole(result.overall_r2, cells_of(out, ascii, "overall (mean)"), ascii)

    labels = (rng.random(300) < 0.4).astype(np.intp)
    scores = np.clip(0.3 * labels[:, None] + rng.random((300, 1)) * 0.7, 0, 1)
    tally = ClassTally(("benign", "malignant"))
    tally.add(scores, labels)
    m = tally.result()
    recall = tuple(float(r) for r in m.recall)
    ev = Evaluation(m.rows, 0.25, m.accuracy, m.confusion, m.correct, recall, m)
    out = render(render_evaluation,
                 EvaluationReport(ev, m.classes, "bc.yaml", "bc.csv", "cross_entropy"),
                 width, ascii)
    assert_fits(out, width, ascii)
    assert m.roc_auc is not None and number(m.roc_auc, 6, ascii) in out
    for k, name in enumerate(m.classes):
        cells = cells_of(out, ascii, name)
        assert str(m.support[k]) in cells
        assert_whole(m.precision[k], cells, ascii)
        assert_whole(m.f1[k], cells, ascii)


# --- generated networks, through the presenters ----------------------------------------------

def render(fn: Any, report: Any, width: int, ascii: bool) -> str:
    out = io.StringIO()
    fn(report, out, Options(limit=None, ascii=ascii, width=width))
    return out.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(activation=st.sampled_from(list(ACTIVATIONS)), width=st.sampled_from(WIDTHS),
       ascii=st.booleans(), data=st.data())
def test_generated_networks_fit(activation: str, width: int, ascii: bool, data: Any) -> None:
    net: Network = data.draw(networks(activation, max_size=6, max_examples=3, max_layers=3))
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    with np.errstate(all="ignore"):
        report = analyze(net, paths=True)
        check = check_gradients(net, x, y, show_all=True)
        nudged = nudge(net, x, y, all_params(net)[-1], 1e-3)
        diagnosis = diagnose(net, x, y)
        stepped = step(net, over_examples(x, y), 0.1)
        sensitive = sensitivity(net, [(x, y)])
    out = render(render_analyze, report, width, ascii)
    assert_fits(out, width, ascii)
    for p in all_params(net):
        _, mean = report.trace.param_gradient(p.layer, p.kind, p.j, p.k)
        assert_whole(mean, cells_of(out, ascii, param_name(p, ascii)), ascii)
    for fn, r in ((render_check, check), (render_nudge, nudged), (render_diagnose, diagnosis),
                  (render_step, stepped), (render_sensitivity, sensitive)):
        assert_fits(render(fn, r, width, ascii), width, ascii)


def test_a_test_of_the_rule_can_fail() -> None:
    """The checks above catch a cut cell and a line that is too wide."""
    with pytest.raises(AssertionError):
        assert_fits("│ w⁽¹⁾₀₀ │ 0.0961… │\n", 80, False)
    with pytest.raises(AssertionError):
        assert_fits("x" * 81 + "\n", 80, False)
    with pytest.raises(AssertionError):
        assert_whole(0.0961234, {"0.0961…", "0.09"}, False)


# --- the layout itself ------------------------------------------------------------------------

def grid_text(grid: Grid, width: int, digits: int = 6, fixed: bool = False) -> str:
    from rich.console import Console

    out = io.StringIO()
    show(Console(file=out, width=width), grid, digits=digits, fixed=fixed, ascii=False)
    return out.getvalue()


def wide_grid(columns: int) -> Grid:
    grid = Grid("T", ["name", *(f"c{i}" for i in range(columns))], caption="note")
    grid.add_row("w⁽¹⁾₀₀", *(-0.0123456789 * (i + 1) for i in range(columns)))
    return grid


def test_narrower_consoles_take_fewer_digits_then_stacked_tables_then_blocks() -> None:
    assert "-0.0123457" in grid_text(wide_grid(3), 200)
    narrow = grid_text(wide_grid(5), 60)
    assert "(continued)" not in narrow and "-0.0123" in narrow  # fewer digits first
    assert "-0.0123457" not in narrow
    stacked = grid_text(wide_grid(12), 60)
    assert "T (continued)" in stacked
    assert stacked.count("w⁽¹⁾₀₀") >= 2  # each part repeats the name column
    fixed = grid_text(wide_grid(6), 60, digits=17, fixed=True)
    assert number(-0.0123456789 * 6, 17) in fixed  # --precision is kept
    tiny = grid_text(wide_grid(2), 30, digits=17, fixed=True)
    assert f"c1: {number(-0.0123456789 * 2, 17)}" in tiny  # one block per row
    for text, width in ((narrow, 60), (stacked, 60), (fixed, 60)):
        assert_fits(text, width, False)


def test_short_headers_are_explained_once_in_the_caption() -> None:
    from backprop_cli.present.fit import Col

    grid = Grid("T", ["param", Col("∂C₀/∂z⁽ˡ⁾ⱼ", "δ", "δ = ∂C₀/∂z⁽ˡ⁾ⱼ"),
                      *(f"column {i}" for i in range(5))])
    grid.add_row("w", *([0.123456] * 6))
    assert "δ = ∂C₀/∂z⁽ˡ⁾ⱼ" not in grid_text(grid, 200)
    narrow = grid_text(grid, 70)
    assert narrow.count("δ = ∂C₀/∂z⁽ˡ⁾ⱼ") == 1 and "┃ ∂C₀/∂z⁽ˡ⁾ⱼ" not in narrow


def test_piped_output_is_80_columns_unless_columns_says_otherwise() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    cmd = [sys.executable, "-m", "backprop_cli", "analyze", str(CONFIGS / "two-layer.yaml")]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True,
                         encoding="utf-8").stdout
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    assert_fits(out, 80, False)
    wide = subprocess.run(cmd, env={**env, "COLUMNS": "200"}, capture_output=True, text=True,
                          check=True, encoding="utf-8").stdout
    assert max(cell_len(line) for line in wide.splitlines()) > 80  # full headers, one line


# --- a real terminal --------------------------------------------------------------------------

@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
@pytest.mark.parametrize("ascii", ALPHABETS, ids=["unicode", "ascii"])
def test_a_real_80x24_terminal(ascii: bool) -> None:
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(TERM="xterm", NO_COLOR="1", PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_cli", "analyze", str(CONFIGS / "chain.yaml"),
         *(["--ascii"] if ascii else [])],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(60) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8"))
    text = text.replace("\r\n", "\n")
    assert "Weights" in text
    assert_fits(text, 80, ascii)
    for p in ("w", 1, 0, 0), ("w", 2, 0, 0), ("w", 3, 0, 0), ("b", 3, 0):
        assert sym(str(p[0]), *p[1:], ascii=ascii) in names_in(text, ascii)  # type: ignore[arg-type]


def test_the_readme_example_is_80_columns() -> None:
    readme = (Path(ROOT) / "README.md").read_text(encoding="utf-8")
    block = readme.split("Example (`backprop analyze configs/two-layer.yaml", 1)[1]
    block = block.split("```", 2)[1]
    assert "Weights" in block
    assert_fits(block, 80, False)
