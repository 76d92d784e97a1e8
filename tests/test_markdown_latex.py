"""`analyze --format text|markdown|latex`: golden files for the shipped chain and two-layer
configs, the numbers of the seed's chain rule, --param/--layer, well-formed LaTeX, and text
that fits the width.

Regenerate the golden files after an intended change with:
    UPDATE_GOLDEN=1 pytest tests/test_markdown_latex.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import CONFIGS, ROOT, SATURATED
from typer.testing import CliRunner

from backprop_cli.cli import app

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASES = [(config, fmt) for config in ("chain", "two-layer")
         for fmt in ("text", "markdown", "latex")]
SUFFIX = {"text": "txt", "markdown": "md", "latex": "tex"}


def analyze(*args: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, ["analyze", *args], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


def check_golden(path: Path, text: str) -> None:
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} is stale: check the diff, then run UPDATE_GOLDEN=1 pytest {__file__}")


@pytest.mark.parametrize(("config", "fmt"), CASES)
def test_golden(config: str, fmt: str) -> None:
    text = analyze(str(CONFIGS / f"{config}.yaml"), "--format", fmt)
    check_golden(GOLDEN / f"{config}.{SUFFIX[fmt]}", text)


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize("config", ["chain", "two-layer", "softmax", "mnist-784-16-16-10"])
def test_text_fits_the_width(config: str, columns: int) -> None:
    for ascii_ in ([], ["--ascii"]):
        text = analyze(str(CONFIGS / f"{config}.yaml"), "--format", "text", "--limit", "4",
                       *ascii_, columns=columns)
        lines = text.splitlines()
        assert len(lines) > 20
        assert max(len(line) for line in lines) <= columns
        assert "\\" not in text and "{" not in text  # no LaTeX left
        if ascii_:
            assert text.isascii()
    # wrapped where it must be, on an operator, under the first =
    wide = analyze(str(CONFIGS / "two-layer.yaml"), "-f", "text", "--param", "w2.0.1",
                   columns=200)
    narrow = analyze(str(CONFIGS / "two-layer.yaml"), "-f", "text", "--param", "w2.0.1",
                     columns=columns)
    assert " ".join(wide.split()) == " ".join(narrow.split())  # the same words


def test_text_without_columns_is_80_wide() -> None:
    result = CliRunner().invoke(app, ["analyze", str(CONFIGS / "mnist-784-16-16-10.yaml"),
                                      "-f", "text", "--example", "0", "--limit", "3"],
                                env={"COLUMNS": None})
    widths = [len(line) for line in result.stdout.splitlines()]
    assert max(widths) == 80  # the long sums fill the lines


def test_text_writes_the_tables_notation() -> None:
    text = analyze(str(CONFIGS / "chain.yaml"), "-f", "text", "--param", "w3.0.0", columns=200)
    assert ("∂C₀/∂w⁽³⁾₀₀ = ∂C₀/∂a⁽³⁾₀ · ∂a⁽³⁾₀/∂z⁽³⁾₀ · ∂z⁽³⁾₀/∂w⁽³⁾₀₀ = 2(0.5386 - 1) · 0.2485 "
            "· 0.3698 = -0.0848\n") in text
    ascii_ = analyze(str(CONFIGS / "chain.yaml"), "-f", "text", "--param", "w3.0.0", "--ascii",
                     columns=200)
    assert ("dC0/dw(3)_00 = dC0/da(3)_0 * da(3)_0/dz(3)_0 * dz(3)_0/dw(3)_00 = 2(0.5386 - 1) "
            "* 0.2485 * 0.3698 = -0.0848\n") in ascii_
    # the same blocks as markdown: the same equations, one per line
    markdown = analyze(str(CONFIGS / "chain.yaml"), "-f", "markdown", "--param", "w3.0.0")
    assert text.count(" = ") > 10 and markdown.count("$$\n") == 2 * (
        sum(1 for line in text.splitlines() if re.match(r"[∂zaC]\S* = ", line)))


def test_chain_rule_with_the_seed_numbers() -> None:
    """chain.yaml by hand: a(3) = σ(1.5 σ(−1.2 σ(0.82) + 0.3) − 0.4) = 0.538597, y = 1,
    σ'(z(3)) = a(1 − a) = 0.248510, a(2) = 0.369798: ∂C0/∂w(3) = 2(0.539 − 1)·0.249·0.37, its
    factors written with the digits that make the product −0.0848 by hand."""
    text = analyze(str(CONFIGS / "chain.yaml"), "--format", "markdown", "--param", "w3.0.0")
    assert (r"\frac{\partial C_0}{\partial w^{(3)}_{00}} = \frac{\partial C_0}{\partial "
            r"a^{(3)}_{0}} \cdot \frac{\partial a^{(3)}_{0}}{\partial z^{(3)}_{0}} \cdot "
            r"\frac{\partial z^{(3)}_{0}}{\partial w^{(3)}_{00}} = 2(0.5386 - 1) \cdot 0.2485 "
            r"\cdot 0.3698 = -0.0848") in text
    # only the chosen parameter: no other weight or bias is derived
    assert r"\partial b^{(3)}" not in text and r"\partial w^{(2)}" not in text
    assert "C_0 = " in text and "= 0.213" in text  # (0.538597 − 1)² = 0.212892


def test_backward_step_sums_the_paths() -> None:
    """two-layer, example 0: ∂C0/∂a(1)0 = 0.7·σ'(z(2)0)·2(a(2)0 − 1) + (−0.2)·σ'(z(2)1)·2a(2)1
    = 0.7·0.244·(−0.851) + (−0.2)·0.236·1.23 = −0.204, written with the digits that give it
    (to three digits, −0.2034 by hand; issue 11)."""
    text = analyze(str(CONFIGS / "two-layer.yaml"), "--format", "markdown", "--param",
                   "w1.0.1", "--example", "0")
    assert (r"\frac{\partial C_0}{\partial a^{(1)}_{0}} = \sum_j w^{(2)}_{j0} \, \frac{\partial "
            r"a^{(2)}_{j}}{\partial z^{(2)}_{j}} \, \frac{\partial C_0}{\partial a^{(2)}_{j}} "
            r"= 0.7 \cdot 0.2444 \cdot (-0.8505) + (-0.2) \cdot 0.2363 \cdot 1.234 "
            r"= -0.204") in text
    assert r"= (-0.2038) \cdot 0.2378 \cdot 0.5 = -0.0242" in text


def test_layer_and_precision() -> None:
    text = analyze(str(CONFIGS / "two-layer.yaml"), "--format", "markdown", "--layer", "2",
                   "--precision", "5", "--example", "1")
    assert "#### Layer 2" in text and "#### Layer 1" not in text
    assert r"\partial w^{(1)}" not in text
    # example 1: a(1) = σ(0.5·0.2 − 0.3·0.9 + 0.1, …) = (0.482507, 0.636453, 0.505), then
    # a(2)1 = σ(−0.2·0.482507 + 0.6·0.636453 + 0.9·0.505 − 0.1) = 0.654724
    assert r"= 2(0.654724 - 1) = -0.69055" in text  # 2(0.65472 − 1) would be −0.69056


def test_bad_param_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["analyze", str(CONFIGS / "chain.yaml"), "-f", "markdown",
                                      "--param", "w4.0.0"])
    assert result.exit_code == 2
    assert "layer 4 does not exist" in result.stderr


def test_limit_elides_equations() -> None:
    text = analyze(str(CONFIGS / "mnist-784-16-16-10.yaml"), "--format", "markdown",
                   "--layer", "3", "--limit", "3", "--example", "0")
    assert text.count(r"\frac{\partial C_0}{\partial w^{(3)}") == 3
    assert "… 157 more" in text  # 10 × 16 = 160 weights of layer 3, 3 shown
    assert r"\dots_{\text{780 more}}" in text  # z(1)j sums 784 inputs and a bias: 6 written


def _balanced(tex: str) -> None:
    depth = 0
    for c in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(c, 0)
        assert depth >= 0
    assert depth == 0
    stack: list[str] = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", tex):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack.pop() == name
    assert not stack
    assert tex.count("$") % 2 == 0


@pytest.mark.parametrize("config", ["chain", "two-layer", "softmax", "mnist-784-16-16-10"])
def test_latex_is_balanced(config: str) -> None:
    tex = analyze(str(CONFIGS / f"{config}.yaml"), "--format", "latex")
    assert tex.startswith(r"\documentclass") and r"\usepackage{amsmath}" in tex
    assert tex.rstrip().endswith(r"\end{document}")
    _balanced(tex)
    fragment = analyze(str(CONFIGS / f"{config}.yaml"), "--format", "latex", "--fragment")
    assert r"\documentclass" not in fragment and r"\begin{document}" not in fragment
    assert fragment.strip() in tex
    _balanced(fragment)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles(tmp_path: Path) -> None:
    for config in ("chain", "softmax"):
        tex = tmp_path / f"{config}.tex"
        tex.write_text(analyze(str(CONFIGS / f"{config}.yaml"), "--format", "latex"),
                       encoding="utf-8")
        run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                              tex.name], cwd=tmp_path, capture_output=True, text=True,
                             check=False)
        assert run.returncode == 0, run.stdout[-2000:]
        assert (tmp_path / f"{config}.pdf").stat().st_size > 1000


def test_readme_shows_the_current_derivation() -> None:
    """The README's rendered derivation is the tool's output (regenerate: UPDATE_GOLDEN=1)."""
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- derivation:start -->\n", "<!-- derivation:end -->"
    assert start in text and end in text
    current = analyze(str(CONFIGS / "chain.yaml"), "--format", "markdown", "--param", "w3.0.0")
    body = current.split("### Backward pass", 1)[1].strip()
    block = start + body + "\n" + end
    shown = text[text.index(start): text.index(end) + len(end)]
    if UPDATE and shown != block:
        readme.write_text(text.replace(shown, block), encoding="utf-8")
        shown = block
    assert shown == block, "README derivation is stale: run UPDATE_GOLDEN=1 pytest"



@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_saturated_output_derives_the_stable_delta(tmp_path: Path, fmt: str) -> None:
    # a = σ(1000) = 1 exactly: ∂C0/∂a = (1 − 0)/(1(1 − 1)) is ∞ (clipped) and ∂a/∂z = 0, while
    # the engine's δ = a − y = 1 comes from z directly. The derivation must not write ∞ · 0 = 1.
    net = tmp_path / "sat.yaml"
    net.write_text(SATURATED, encoding="utf-8")
    text = analyze(str(net), "--format", fmt)
    flat = " ".join(text.replace("&", "").replace("\\\\\n", " ").split())
    assert "(1 - 1)" not in flat
    assert r"\partial z^{(1)}_{0}} = a^{(1)}_{0} - y_{0} = 1 - 0 = 1" in flat
    assert (r"\frac{\partial C_0}{\partial z^{(1)}_{0}} \cdot "
            r"\frac{\partial z^{(1)}_{0}}{\partial w^{(1)}_{00}} = 1 \cdot 1 = 1") in flat
    assert "the stable form of cross entropy with sigmoid" in flat
    assert r"$\infty \cdot 0$ here" in flat
    assert "∂" not in text and "δ" not in text  # LaTeX text takes no Unicode math


def test_unsaturated_output_keeps_the_product(tmp_path: Path) -> None:
    # Where ∂C0/∂a · ∂a/∂z equals δ, the derivation multiplies the factors as usual (and still
    # says that δ is computed in the stable form); with squared error there is no stable form.
    net = tmp_path / "ok.yaml"
    net.write_text(SATURATED.replace("[[1000]]", "[[0.5]]"), encoding="utf-8")
    text = analyze(str(net), "--format", "markdown")
    assert r"\frac{0.622 - 0}{0.622(1 - 0.622)} \cdot 0.235 \cdot 1 = 0.622" in text
    assert "the stable form of cross entropy with sigmoid" in text and "infty" not in text
    assert "stable form" not in analyze(str(CONFIGS / "chain.yaml"), "--format", "markdown")


def test_help_says_what_each_derivation_format_is_for() -> None:
    result = CliRunner().invoke(app, ["analyze", "--help"], env={"COLUMNS": "200"})
    flat = " ".join(result.stdout.replace("│", " ").split())
    assert "text (for the terminal, wrapped to COLUMNS)" in flat
    assert "markdown (for a Markdown viewer with math" in flat
    assert "latex (a document for pdflatex)" in flat
