"""`backprop report`: one self-contained HTML page; the cost charts; `train --plot`."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import CONFIGS, SATURATED
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.io.logs import parse_log
from backprop_cli.io.plot import have_matplotlib
from backprop_cli.present.chart import terminal_chart
from backprop_cli.present.notation import sym
from backprop_cli.reports.train import series


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


class Page(HTMLParser):
    """Tags (checked to nest), table cells per table class, and the scripts' text."""

    VOID: ClassVar[set[str]] = {"meta", "br", "line", "circle", "rect", "polyline", "input", "img"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.table: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.script: dict[str, str | None] | None = None
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag == "table":
            self.table = a.get("class") or ""
            self.tables.setdefault(self.table, [])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "script":
            self.script = a

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack.pop() == tag, tag
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append("".join(self.cell))
            self.cell = None
        elif tag == "tr" and self.table is not None and self.row is not None:
            self.tables[self.table].append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None
        elif tag == "script":
            self.script = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
        if self.script is not None:
            self.scripts.append((self.script, data))


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    assert page.stack == []
    return page


def test_report_is_self_contained_and_has_the_tables(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code, stdout, _ = invoke("report", str(CONFIGS / "two-layer.yaml"), "-o", str(out))
    assert code == 0 and stdout == ""
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "http" not in text.replace("http-equiv", "")  # no other host, not even a namespace
    page = parse(text)
    assert page.urls == []
    # the JSON is analyze --format json's document
    data = [body for attrs, body in page.scripts if attrs.get("type") == "application/json"]
    _, json_out, _ = invoke("analyze", str(CONFIGS / "two-layer.yaml"), "--format", "json")
    assert json.loads(data[0]) == json.loads(json_out)
    # server-side tables: forward pass a(2)1 of example 0 = 0.617009 (see test_analyze_cli)
    forward = page.tables["forward"]
    assert ["a⁽²⁾₁", "0.476871", "0.617009", "0"] in forward
    weights = {row[0]: row for row in page.tables["weights"]}
    assert weights["w⁽²⁾₁₀"][-1] == "0.0513728"  # ∂C/∂w(2)10, by hand in test_graph.py
    assert weights["w⁽²⁾₁₀"][1] == "-0.2"
    assert len(page.tables["weights"]) == 2 * (1 + 12)  # two examples: header + 12 weights
    assert len(page.tables["biases"]) == 2 * (1 + 5)
    first = next(row for row in page.tables["backward"] if row[0] == "a⁽¹⁾₀")  # example 0
    assert first[2] == "-0.203835"  # ∂C0/∂a(1)0, the sum in test_markdown_latex.py
    assert 'class="cost">C = 0.496285<' in text
    # the diagram: one clickable line per edge, with the parameter's nudge name
    assert len(re.findall(r'<line class="hit" data-param="w\d\.\d\.\d"', text)) == 12
    assert 'id="panel"' in text


def test_report_headers_say_which_gradient_in_words() -> None:
    """∂C₀/∂w (one example) and ∂C/∂w (the mean) side by side are told apart in words."""
    code, html, _ = invoke("report", str(CONFIGS / "two-layer.yaml"))
    assert code == 0
    page = parse(html)
    assert page.tables["weights"][0][-3:] == [
        "∂z⁽ˡ⁾ⱼ/∂w⁽ˡ⁾ⱼₖ = a⁽ˡ⁻¹⁾ₖ", "∂C₀/∂w⁽ˡ⁾ⱼₖ (this example)",
        "∂C/∂w⁽ˡ⁾ⱼₖ (mean over 2 examples)"]
    assert page.tables["biases"][0][-3:] == [
        "∂z⁽ˡ⁾ⱼ/∂b⁽ˡ⁾ⱼ = 1", "∂C₀/∂b⁽ˡ⁾ⱼ (this example)", "∂C/∂b⁽ˡ⁾ⱼ (mean over 2 examples)"]
    # the panel's script: the same words, the scope from the page
    assert 'id="panel" data-scope="2 examples"' in html
    assert '" (this example)</th>' in html and '"<p>Full cost, mean over "' in html
    code, html, _ = invoke("report", str(CONFIGS / "xor.yaml"), "--data", str(CONFIGS / "xor.csv"))
    assert "(mean over 4 rows of " in html and 'data-scope="4 rows of ' in html


def test_report_with_training_log(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    trained = tmp_path / "xor.yaml"
    code, _, err = invoke("train", str(CONFIGS / "xor.yaml"), str(CONFIGS / "xor.csv"), "-o",
                          str(trained), "--epochs", "5", "--log", str(log), "--val-split",
                          "0.25", "-q")
    assert code == 0, err
    records = [json.loads(line) for line in log.read_text().splitlines()]
    code, html, _ = invoke("report", str(trained), "--log", str(log))
    assert code == 0
    page = parse(html)
    rows = page.tables["training"][1:]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    assert float(rows[2][1]) == pytest.approx(records[2]["train_cost"], rel=1e-5)
    assert float(rows[2][2]) == pytest.approx(records[2]["val_cost"], rel=1e-5)
    assert html.count('<polyline class="train"') == 1
    assert html.count('<polyline class="validation"') == 1


def test_report_bad_log(tmp_path: Path) -> None:
    log = tmp_path / "bad.log"
    log.write_text('{"epoch": 1, "train_cost": 0.5}\nnot json\n')
    code, _, err = invoke("report", str(CONFIGS / "chain.yaml"), "--log", str(log))
    assert code == 2
    assert f"{log}, line 2: not JSON" in err
    code, _, err = invoke("report", str(CONFIGS / "chain.yaml"), "--log", str(tmp_path / "no"))
    assert code == 2 and "cannot read" in err


def test_report_from_data(tmp_path: Path) -> None:
    code, html, err = invoke("report", str(CONFIGS / "xor.yaml"), "--data",
                             str(CONFIGS / "xor.csv"))
    assert code == 0, err
    page = parse(html)
    assert "mean over" in html and "xor.csv" in html
    assert len(page.tables["weights"]) > 1
    # The forward pass shows means: its cost is C, the mean of C0, not C0 of the mean a(L).
    assert re.search(r"<h3[^>]*>Mean over 4 rows: C = mean of C₀ = [0-9.]+</h3>", html)
    assert "not C0 of the mean a(L) and y" in html


def test_parse_log_and_terminal_chart() -> None:
    s = parse_log('{"epoch": 1, "train_cost": 1.0, "val_cost": 2.0}\n'
                  '{"epoch": 2, "train_cost": 0.5, "val_cost": null}\n\n'
                  '{"epoch": 3, "train_cost": 0.25, "val_cost": 1.0}\n', "log")
    assert s.epochs == (1, 2, 3) and s.train == (1.0, 0.5, 0.25) and s.val == (2.0, None, 1.0)
    lines = terminal_chart(s, height=5, ascii=True).splitlines()
    # top row is the largest cost (2, validation at epoch 1), bottom the smallest (0.25)
    assert lines[0] == "   2 |o"
    assert lines[4] == "0.25 |  *"
    assert lines[-1].strip() == "* train cost   o validation cost   (per epoch)"
    grid = [line[6:] for line in lines[:5]]
    # train 1.0 at epoch 1: row round((2 − 1)/1.75 · 4) = 2; 0.5 → row 3; 0.25 → row 4
    assert grid[2][0] == "*" and grid[3][1] == "*" and grid[4][2] == "*"
    assert grid[2][2] == "o"  # validation 1.0 at epoch 3


def test_series_drops_non_finite() -> None:
    s = series([{"epoch": 1, "train_cost": float("nan"), "val_cost": None}])
    assert s.train == (None,) and s.values() == []
    assert terminal_chart(s) == ""


@pytest.mark.skipif(have_matplotlib(), reason="matplotlib is installed")
def test_plot_without_matplotlib_says_how_to_install(tmp_path: Path) -> None:
    out = tmp_path / "trained.yaml"
    code, _, err = invoke("train", str(CONFIGS / "xor.yaml"), str(CONFIGS / "xor.csv"), "-o",
                          str(out), "--plot", str(tmp_path / "cost.png"))
    assert code == 2
    assert "pip install '.[plot]' in the backprop_cli checkout, or install matplotlib" in err
    assert not out.exists()  # refused before training


@pytest.mark.skipif(not have_matplotlib(), reason="matplotlib is not installed")
def test_plot_writes_a_png(tmp_path: Path) -> None:
    png = tmp_path / "cost.png"
    code, _, err = invoke("train", str(CONFIGS / "xor.yaml"), str(CONFIGS / "xor.csv"), "-o",
                          str(tmp_path / "t.yaml"), "--epochs", "3", "--plot", str(png), "-q")
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_report_says_when_delta_is_the_stable_form(tmp_path: Path) -> None:
    net = tmp_path / "sat.yaml"
    net.write_text(SATURATED, encoding="utf-8")
    out = tmp_path / "r.html"
    code, _, err = invoke("report", str(net), "-o", str(out))
    assert code == 0, err
    assert ('<p class="note">δ(L)j = ∂C0/∂z(L)j = a(L)j − yj is computed from z(L) directly '
            "(the stable form of cross_entropy with sigmoid), not as the product ∂C0/∂a · "
            "∂a/∂z, which is ∞ · 0 here.</p>") in out.read_text(encoding="utf-8")


def test_without_javascript_the_page_is_the_tables_with_hooks_for_the_live_page() -> None:
    """The playground's parts are ``hidden`` until its script runs; the tables are the page's
    own HTML, and each number's cell names its field and row for the live page to refresh."""
    code, html, _ = invoke("report", str(CONFIGS / "two-layer.yaml"))
    assert code == 0
    for part in ('<div id="pg-controls" class="pg-controls" hidden',
                 '<section id="playground" hidden'):
        assert part in html
    page = parse(html)
    assert len(page.tables["weights"]) == 2 * (1 + 12)
    doc = json.loads(next(body for attrs, body in page.scripts
                          if attrs.get("id") == "report-data"))
    # w(2)10 of example 1: every factor's cell, as the JSON has it
    t = doc["examples"][1]["layers"][1]
    row = re.search(r'<tr data-param="w2\.1\.0" data-example="1">(.*?)</tr>', html)
    assert row is not None
    cells = dict(re.findall(r'<td data-field="(\w+)">([^<]*)</td>', row.group(1)))
    assert cells == {"value": "-0.2", "dC_da": f"{t['dC_da'][1]:.6g}",
                     "da_dz": f"{t['da_dz'][1]:.6g}", "dC_dz": f"{t['dC_dz'][1]:.6g}",
                     "dz_dw": f"{t['dz_dw'][0]:.6g}", "gradient": f"{t['dC_dw'][1][0]:.6g}",
                     "mean_gradient": "0.0513728"}
    assert re.search(r'<tr data-neuron="a1\.2" data-example="0"><td>a⁽¹⁾₂</td>'
                     r'<td data-field="z">[-0-9.e]+</td><td data-field="a">', html)
    assert '<tr data-neuron="a1.0" data-layer="2" data-example="0">' in html
    assert '<h3 class="example-cost" data-example="1">Example 1: C₀ = ' in html


def test_report_diagram_carries_the_numbers() -> None:
    """The page's diagram is `graph`'s: neurons lit and valued, edge labels, the cost node."""
    _, html, _ = invoke("report", str(CONFIGS / "two-layer.yaml"))
    _, svg, _ = invoke("graph", str(CONFIGS / "two-layer.yaml"))
    for line in svg.splitlines()[2:]:  # all but the root element and its title (namespace)
        if not line.startswith(("<line class=", "</g>", "<g ", "</svg>")):
            assert line in html
    assert '<text class="neuron-value" x="320" y="' in html  # a(1)0 = 0.611
    assert '<text class="cost-value" ' in html and ">0.562</text>" in html
    assert len(re.findall(r'<text class="edge-label" data-param="w\d\.\d\.\d"', html)) == 24
    # over a data set's rows: the mean, and its cost is C
    _, html, _ = invoke("report", str(CONFIGS / "xor.yaml"), "--data", str(CONFIGS / "xor.csv"))
    assert 'data-example="mean"' in html
    assert re.search(r'<text class="cost-label" [^>]*>C</text>', html)
    assert "neurons: a⁽ˡ⁾ⱼ of the mean over 4 rows of " in html


def test_report_takes_graphs_diagram_options() -> None:
    """--labels, --scale and --example reach the page's diagram: its SVG is graph's with the
    same options, and carries them for the page's script (data-labels/-scale/-example)."""
    net = str(CONFIGS / "two-layer.yaml")
    options = ("--labels", "none", "--scale", "0.05", "--example", "1")
    code, html, err = invoke("report", net, *options)
    assert code == 0, err
    assert 'data-scale="0.05" data-labels="none" data-example="1"' in html
    assert 'class="edge-label"' not in html
    _, svg, _ = invoke("graph", net, *options)
    assert "neurons: a⁽ˡ⁾ⱼ of example 1 of 2" in svg
    for line in svg.splitlines()[2:]:
        if not line.startswith(("<line class=", "</g>", "<g ", "</svg>")):
            assert line in html
    _, html, _ = invoke("report", net, "--labels", "weights")
    assert 'data-labels="weights"' in html and 'data-kind="gradient"' not in html
    assert len(re.findall(r'<text class="edge-label" data-param=', html)) == 12


@pytest.mark.parametrize(("args", "message"), [
    (["--scale", "0"], "--scale 0: give 'auto'"),
    (["--scale", "big"], "--scale big: give 'auto'"),
    (["--example", "2"], "--example 2: the network has 2 examples, numbered 0 to 1"),
    (["--image", "3x3"], "--image 3x3: 3×3 = 9 pixels, but the network has 2 inputs"),
])
def test_report_bad_diagram_options_exit_2_with_one_message(
        args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    code, stdout, err = invoke("report", str(CONFIGS / "two-layer.yaml"), *args, "-o", str(out))
    assert code == 2 and stdout == "" and not out.exists()
    assert err.count("error") == 1 and message in err and "Traceback" not in err


def test_report_example_with_data_is_refused() -> None:
    code, stdout, err = invoke("report", str(CONFIGS / "xor.yaml"), "--data",
                               str(CONFIGS / "xor.csv"), "--example", "0")
    assert code == 2 and stdout == ""
    assert "with --data the diagram shows the mean over every row" in err


def test_report_sensitivity_section_has_sensitivitys_numbers() -> None:
    """The section ranks the inputs as `sensitivity -f json` does, with the same numbers (to
    the page's 6 digits); it says it is static; with --image the heatmap is sensitivity's SVG,
    inline (no namespace, no request)."""
    net = str(CONFIGS / "digits.yaml")
    code, html, err = invoke("report", net, "--image", "8x8")
    assert code == 0, err
    _, doc, _ = invoke("sensitivity", net, "-f", "json")
    features = json.loads(doc)["features"]
    rows = parse(html).tables["sensitivity"]
    assert rows[0] == ["feature", "rank", "mean ∂C₀/∂xₖ", "mean |∂C₀/∂xₖ|",
                       "mean Σⱼ |∂a⁽³⁾ⱼ/∂xₖ|"]
    assert len(rows) == 1 + 10
    for row, f in zip(rows[1:], features, strict=False):
        assert row[:2] == [f["name"] or sym("a", 0, f["index"]), str(f["rank"])]
        got = [float(c) for c in row[2:]]
        want = [f["mean_dC_dx"], f["mean_abs_dC_dx"], f["mean_abs_dy_dx"]]
        assert got == pytest.approx(want, rel=1e-5)
    assert "The first 10 of 64 inputs." in html
    assert "the live controls above do not update it" in html
    _, svg, _ = invoke("sensitivity", net, "-f", "svg", "--image", "8x8")
    assert svg.splitlines()[3] in html  # the heatmap's first pixel row, as sensitivity draws it
    assert len(re.findall(r'<rect x="\d+" y="\d+" width="\d+" height="\d+" fill="#[0-9a-f]{6}" '
                          r'data-k="\d+"', html)) == 64
    assert "http" not in html.replace("http-equiv", "")
    # without --image: the table only; every network gets the section
    _, html, _ = invoke("report", str(CONFIGS / "two-layer.yaml"))
    section = html.split('<section id="sensitivity"')[1].split("</section>")[0]
    assert "<svg" not in section and "The first" not in section
    assert len(parse(html).tables["sensitivity"]) == 1 + 2
