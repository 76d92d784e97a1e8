"""Every worked line of the derivations is true as written: the printed operands, evaluated as
printed (by this test's own reading of the text, markdown and latex output) and rounded to the
precision, give the printed result — for every shipped config and for generated networks of
every activation × cost (issue 11)."""

from __future__ import annotations

import ast
import io
import math
import re
from collections.abc import Callable

import pytest
from conftest import CONFIGS, networks, valid_pairs
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backprop_cli.errors import BackpropError
from backprop_cli.io.config import load_network
from backprop_cli.network import Network
from backprop_cli.present import Options, presenter
from backprop_cli.present.derivation import Derivation, Equation, Numbers
from backprop_cli.present.markdown import block as markdown_block
from backprop_cli.present.text import TextRenderer
from backprop_cli.reports.analyze import analyze

FORMATS = ("text", "markdown", "latex")
PRECISION = 3
SHIPPED = sorted(CONFIGS.glob("*.yaml"))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def _softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


NAMESPACE: dict[str, object] = {
    "sig": _sigmoid, "tanh": math.tanh, "relu": lambda z: max(z, 0.0),
    "lrelu": lambda z: z if z > 0 else 0.01 * z, "ident": lambda z: z, "softplus": _softplus,
    "E": math.e, "inf": math.inf,
}


def _frac(m: re.Match[str]) -> str:
    return f"(({m[1]})/({m[2]}))"


def python_of_latex(step: str) -> str:
    """A numeric LaTeX step as Python: 0.7 \\cdot (-0.851) → 0.7 * (-0.851)."""
    s = re.sub(r"(-?[\d.]+) \\times 10\^\{(-?\d+)\}", r"\1e\2", step)
    s = re.sub(r"e\^\{([^{}]*)\}", r"E**(\1)", s)
    s = re.sub(r"\\left\[1 \\text\{ if \} (\S+) > 0,\\ (\S+) \\text\{ if \} \S+ \\le 0\\right\]",
               r"(1 if \1 > 0 else \2)", s)
    for tex, py in ((r"\cdot", "*"), (r"\left", ""), (r"\right", ""), (r"\sigma", "sig"),
                    (r"\tanh", "tanh"), (r"\operatorname{ReLU}", "relu"),
                    (r"\operatorname{LReLU}", "lrelu"), (r"\operatorname{id}", "ident"),
                    (r"\operatorname{softplus}", "softplus"), (r"\infty", "inf")):
        s = s.replace(tex, py)
    while r"\frac" in s:
        s, n = re.subn(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", _frac, s)
        if not n:
            break
    return s.replace("{", "(").replace("}", ")").replace("^", "**")


def python_of_text(step: str) -> str:
    """A numeric text step as Python: 0.7 · (-0.851) → 0.7 * (-0.851), σ(0.45) → sig(0.45)."""
    s = re.sub(r"\be\^", "E**", step)
    s = re.sub(r"\[1 if (\S+) > 0, (\S+) if \S+ ≤ 0\]", r"(1 if \1 > 0 else \2)", s)
    for text, py in (("·", "*"), ("²", "**2"), ("^", "**"), ("σ", "sig"), ("LReLU", "lrelu"),
                     ("ReLU", "relu"), ("id(", "ident("), ("∞", "inf")):
        s = s.replace(text, py)
    return s


_OPERATORS: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda x, y: x + y, ast.Sub: lambda x, y: x - y, ast.Mult: lambda x, y: x * y,
    ast.Div: lambda x, y: x / y, ast.Pow: lambda x, y: x ** y,
}


def _value(node: ast.expr) -> float:
    """Arithmetic on numbers and NAMESPACE's functions only; anything else is a LookupError."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_value(node.left), _value(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        x = _value(node.operand)
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.Name) and isinstance(NAMESPACE.get(node.id), float):
        return NAMESPACE[node.id]  # type: ignore[return-value]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and callable(NAMESPACE.get(node.func.id)) and len(node.args) == 1):
        return NAMESPACE[node.func.id](_value(node.args[0]))  # type: ignore[operator]
    if (isinstance(node, ast.IfExp) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.ops[0], ast.Gt)):  # [1 if z > 0, 0 if z ≤ 0]
        z, bound = _value(node.test.left), _value(node.test.comparators[0])
        return _value(node.body) if z > bound else _value(node.orelse)
    raise LookupError(ast.dump(node))


def evaluate(expression: str) -> float | None:
    """The value of a numeric step, or None for a symbolic one (a⁽²⁾₀, ∂C₀/∂w …)."""
    # implicit products as printed: 2(0.5 - 1), 0.54(1 - 0.54), (1/2)(…)
    expression = re.sub(r"((?<![\w.])[\d.]+(?:e[-+]\d+)?|\))\s*\(", r"\1*(", expression)
    try:
        return _value(ast.parse(expression.strip(), mode="eval").body)
    except (SyntaxError, LookupError):
        return None
    except (ZeroDivisionError, OverflowError):
        return math.inf


def shown(x: float, digits: int = PRECISION) -> str:
    """x as the derivation writes a result (Numbers), in the tables' e-notation."""
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


def result_of(step: str) -> str | None:
    """The printed result as the tables would write it, or None if ``step`` is no number."""
    step = re.sub(r"(-?[\d.]+) \\times 10\^\{(-?\d+)\}",
                  lambda m: f"{m[1]}e{int(m[2]):+03d}", step.strip())
    return step if re.fullmatch(r"-?[\d.]+(?:e[-+]\d+)?|-?inf", step) else None


def equations(text: str, fmt: str) -> list[list[tuple[str, str]]]:
    """Every equation as [(relation, step), …]; the first relation is ''."""
    if fmt == "markdown":
        bodies = re.findall(r"^\$\$\n(.*?)\n\$\$$", text, re.M | re.S)
    elif fmt == "latex":
        bodies = [b.replace("&", "").replace("\\\\\n", " ")
                  for b in re.findall(r"\\begin\{align\*\}\n(.*?)\n\\end\{align\*\}", text, re.S)]
    else:  # an equation starts at the left margin; a continuation line is indented
        bodies = []
        for line in text.splitlines():
            if line.startswith(" ") and bodies:
                bodies[-1] += " " + line.strip()
            elif re.match(r"\S+ [=≈] ", line):
                bodies.append(line)
    relation = r" (=|≈|\\approx) " if fmt == "text" else r" (=|\\approx) "
    out = []
    for body in bodies:
        parts = re.split(relation, " ".join(body.split()))
        out.append([("", parts[0]), *zip(parts[1::2], parts[2::2], strict=True)])
    return out


def check(text: str, fmt: str, digits: int = PRECISION) -> tuple[int, list[str]]:
    """(lines recomputed, the lines their printed operands do not give). A line written ≈ must
    be off by no more than float round-off (1e-12 of the size of its numbers)."""
    python: Callable[[str], str] = python_of_text if fmt == "text" else python_of_latex
    checked, wrong = 0, []
    for eq in equations(text, fmt):
        (_, operands), (relation, result) = eq[-2], eq[-1]
        printed = result_of(result)
        if printed is None or "…" in operands or "dots" in operands:
            continue
        value = evaluate(python(operands))
        if value is None:
            continue
        checked += 1
        if relation == "=":  # and not on a rounding tie, which a hand may round either way
            ok = all(shown(v, digits) == printed
                     for v in (value, value * (1 + 1e-12), value * (1 - 1e-12)))
        else:
            size = sum(abs(float(x)) for x in re.findall(r"\d[\d.]*(?:e[-+]\d+)?", operands))
            # or exact operands whose result is a rounding tie no digits can resolve:
            # -(0.25/0.5) · 0.25 · 1 ≈ -0.12 at 2 digits (-0.125 reads -0.12 or -0.13)
            tie = {shown(v, digits) for v in (value * (1 + 1e-12), value * (1 - 1e-12))}
            ok = abs(value - float(printed)) <= 1e-12 * size or (len(tie) == 2
                                                                 and printed in tie)
        if not ok:
            wrong.append(f"{operands} {relation} {result} (by hand: {value:.6g})")
    return checked, wrong


def render(net: Network, fmt: str, digits: int | None = None, **options: object) -> str:
    out = io.StringIO()
    presenter("analyze", fmt)(analyze(net), out, Options(limit=None, precision=digits,
                                                         **options))  # type: ignore[arg-type]
    return out.getvalue()


def test_the_check_flags_a_line_on_a_rounding_tie() -> None:
    """0.7 · 0.611 + (-0.4) · 0.599 + 0.3 · 0.378 + 0 is exactly 0.3015: "= 0.301" is not
    true by hand (a student rounds it to 0.302); the derivation gives the operands more digits."""
    line = "z = 0.7 · 0.611 + (-0.4) · 0.599 + 0.3 · 0.378 + 0 = 0.301\n"
    assert check(line, "text", 3) == (1, ["0.7 · 0.611 + (-0.4) · 0.599 + 0.3 · 0.378 + 0 = "
                                          "0.301 (by hand: 0.3015)"])


def test_the_check_flags_a_wrong_line() -> None:
    # the lines as the tool printed them, and their true forms
    text = ("∂C₀/∂a⁽³⁾₀ = 2(a⁽³⁾₀ - y₀) = 2(0.539 - 1) = -0.923\n"
            "∂C₀/∂w⁽³⁾₀₀ = 1.5 · 0.249 · (-0.923) = -0.344\n"
            "a = σ(z) = σ(0.45) = 0.611\n")
    assert check(text, "text") == (3, ["2(0.539 - 1) = -0.923 (by hand: -0.922)",
                                       "1.5 · 0.249 · (-0.923) = -0.344 (by hand: "
                                       "-0.344741)"])
    latex = ("$$\n\\frac{\\partial C_0}{\\partial a} = 0.7 \\cdot 0.244 \\cdot (-0.851) + "
             "(-0.2) \\cdot 0.236 \\cdot 1.23 = -0.204\n$$\n\n"
             "$$\nx = \\frac{0.5385 - 1}{0.5385(1 - 0.5385)} = -1.85\n$$\n")
    checked, wrong = check(latex, "markdown")
    assert checked == 2 and len(wrong) == 2
    assert check("$$\nx = 2(0.5385 - 1) = -0.923\n$$\n", "markdown") == (1, [])


@pytest.mark.parametrize("config", SHIPPED, ids=lambda p: p.stem)
def test_every_line_of_the_shipped_configs_is_true_as_written(config: object) -> None:
    net = load_network(config)  # type: ignore[arg-type]
    try:
        net.require_examples(None)
    except BackpropError:
        pytest.skip("no examples")
    counts = {}
    for fmt in FORMATS:
        checked, wrong = check(render(net, fmt), fmt)
        assert not wrong, (fmt, wrong)
        counts[fmt] = checked
    # the three formats show the same lines
    assert counts["text"] == counts["markdown"] == counts["latex"] > 0


@pytest.mark.parametrize(("activation", "cost"), valid_pairs())
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_line_of_generated_networks_is_true_as_written(activation: str, cost: str,
                                                              data: st.DataObject) -> None:
    net = data.draw(networks(activation, cost, max_layers=3, max_size=4, max_examples=2))
    digits = data.draw(st.sampled_from([2, 3, 4]))
    try:
        texts = {fmt: render(net, fmt, digits) for fmt in FORMATS}
    except BackpropError:  # a forward pass that overflows: analyze refuses it
        assume(False)
    counts = []
    for fmt, text in texts.items():
        checked, wrong = check(text, fmt, digits)
        assert not wrong, (fmt, wrong)
        counts.append(checked)
    assert counts[0] == counts[1] == counts[2] > 0


def test_the_count_of_lines_recomputed_by_hand() -> None:
    """Over the shipped configs, in all three formats: many lines, each recomputed."""
    total = 0
    for config in SHIPPED:
        net = load_network(config)
        if net.examples is None:
            continue
        for fmt in FORMATS:
            checked, wrong = check(render(net, fmt), fmt)
            assert not wrong
            total += checked
    print(f"derivation lines recomputed by hand: {total}")
    assert total >= 1000


def test_a_line_no_digits_make_true_is_written_approximately() -> None:
    """The fallback of Derivation.worked: where no number of digits makes the operands give the
    value (a subnormal, an engine's stable form), the value is written ≈, not =."""
    derivation = Derivation(analyze(load_network(CONFIGS / "chain.yaml")), None, None)

    def write(n: Numbers) -> str:
        return n(0.1234567) + " + 0"

    assert derivation.worked(write, lambda x: x, [0.1234567], 0.1234567) == ("0.123 + 0", False)
    assert derivation.worked(write, lambda x: x, [0.1234567], 0.2) == ("0.1234567 + 0", True)
    # a sum that cancels to 0 by hand, 2e-17 after float round-off: the operands to the digits
    # that come within round-off of it
    terms = [0.26, -0.02512345678901, 0.26, 0.02512345678901]
    line, approx = derivation.worked(
        lambda n: " + ".join(n(x) for x in terms), lambda a, b, c, d: a * b + c * d, terms,
        2.1e-17)
    assert approx and line == "0.26 + -0.0251 + 0.26 + 0.0251"  # 0 by hand ≈ 2.1e-17
    # more digits where three do not give the value: 0.5386 − 1 ≠ 0.539 − 1 to three digits
    assert derivation.worked(lambda n: f"2({n(0.538597)} - 1)", lambda a: 2 * (a - 1),
                             [0.538597], 2 * (0.538597 - 1)) == ("2(0.5386 - 1)", False)
    eq = Equation("x", ("y", "0.123 + 0", "0.2"), approx=True)
    assert markdown_block(eq) == "$$\nx = y = 0.123 + 0 \\approx 0.2\n$$"
    assert TextRenderer(False, 80).block(eq) == "x = y = 0.123 + 0 ≈ 0.2"
    assert TextRenderer(True, 80).block(eq) == "x = y = 0.123 + 0 ~ 0.2"
    assert check("x = y = 0.123 + 0 ≈ 0.2\n", "text") == (1, ["0.123 + 0 ≈ 0.2 (by hand: 0.123)"])
    # where float round-off leaves 2e-17 of what is 0 by hand (seen on a softmax δ)
    assert check("x = 0.75 · 0.18 + 0.75 · (-0.18) ≈ 2.1e-17\n", "text") == (1, [])
