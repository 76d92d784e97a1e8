"""The worked ∂a(l)j/∂z(l)j lines of `analyze --format markdown|latex`: one per neuron and
example, σ' from activations.Activation.derivative_formula, and numbers that agree with
`analyze -f json` and with a forward pass by hand (math.exp, math.tanh).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import CONFIGS, invoke, write

from backprop_cli.activations import ACTIVATIONS

# Every elementwise activation, with z(l)j on both sides of 0 and relu at exactly z = 0
# (z(2)2: zero weights and bias), which takes the z ≤ 0 derivative.
MIXED = """\
name: mixed
input_size: 2
cost: squared_error
layers:
  - size: 2
    activation: tanh
    weights: [[0.5, -1.0], [0.8, 0.3]]
    biases: [0.1, -0.2]
  - size: 3
    activation: relu
    weights: [[1.0, 0.5], [-1.0, -0.5], [0.0, 0.0]]
    biases: [0.2, -0.1, 0.0]
  - size: 2
    activation: leaky_relu
    weights: [[0.7, -0.3, 0.4], [-0.9, 0.2, 0.1]]
    biases: [0.05, 0.3]
  - size: 1
    activation: softplus
    weights: [[1.2, -0.8]]
    biases: [-0.5]
  - size: 1
    activation: linear
    weights: [[0.6]]
    biases: [0.1]
examples:
  - input: [0.4, 0.9]
    target: [0.7]
"""

# \frac{\partial a^{(l)}_{j}}{\partial z^{(l)}_{j}} = steps (one Markdown display line)
_LINE = re.compile(r"^\\frac\{\\partial a\^\{\((\d+)\)\}_\{(\d+)\}\}"
                   r"\{\\partial z\^\{\(\1\)\}_\{\2\}\} = (.+)$", re.MULTILINE)
_NUMBER = r"\(?(-?[0-9.]+)\)?"
# the numbers substituted into the last step of each derivative_formula: a(l)j or z(l)j
_SUBSTITUTED = {
    "sigmoid": ("a", re.compile(rf"^{_NUMBER}\(1 - {_NUMBER}\)$")),
    "tanh": ("a", re.compile(rf"^1 - \{{{_NUMBER}\}}\^2$")),
    "relu": ("z", re.compile(rf"^\\left\[1 \\text\{{ if \}} {_NUMBER} > 0,\\ 0 \\text\{{ if \}} "
                             rf"{_NUMBER} \\le 0\\right\]$")),
    "leaky_relu": ("z", re.compile(rf"^\\left\[1 \\text\{{ if \}} {_NUMBER} > 0,\\ 0.01 "
                                   rf"\\text\{{ if \}} {_NUMBER} \\le 0\\right\]$")),
    "softplus": ("z", re.compile(rf"^\\frac\{{1\}}\{{1 \+ e\^\{{-{_NUMBER}\}}\}}$")),
}
_SIGMA_PRIME = {
    "sigmoid": r"\sigma'", "tanh": r"\tanh'", "relu": r"\operatorname{ReLU}'",
    "leaky_relu": r"\operatorname{LReLU}'", "linear": r"\operatorname{id}'",
    "softplus": r"\operatorname{softplus}'",
}


def by_hand(net: dict[str, Any], x: list[float]) -> list[list[tuple[float, float, float]]]:
    """Per layer and neuron: (z, a, σ'(z)), from the formulas with math.exp and math.tanh."""
    layers = []
    a_prev = x
    for layer in net["layers"]:
        out = []
        for w, b in zip(layer["weights"], layer["biases"], strict=True):
            z = sum(wk * ak for wk, ak in zip(w, a_prev, strict=True)) + b
            name = layer["activation"]
            if name == "sigmoid":
                a = 1 / (1 + math.exp(-z))
                da_dz = a * (1 - a)
            elif name == "tanh":
                a = math.tanh(z)
                da_dz = 1 - a * a
            elif name == "relu":
                a, da_dz = max(z, 0.0), 1.0 if z > 0 else 0.0
            elif name == "leaky_relu":
                a, da_dz = (z, 1.0) if z > 0 else (0.01 * z, 0.01)
            elif name == "softplus":
                a, da_dz = math.log1p(math.exp(z)), 1 / (1 + math.exp(-z))
            else:
                assert name == "linear"
                a, da_dz = z, 1.0
            out.append((z, a, da_dz))
        layers.append(out)
        a_prev = [a for _, a, _ in out]
    return layers


def da_dz_lines(markdown: str) -> dict[tuple[int, int, int], list[str]]:
    """(example, l, j) → the steps of its ∂a(l)j/∂z(l)j line; each (example, l, j) once."""
    found: dict[tuple[int, int, int], list[str]] = {}
    for section in markdown.split("\n## Example ")[1:]:
        e = int(section.split("\n", 1)[0])
        for m in _LINE.finditer(section):
            key = (e, int(m[1]), int(m[2]))
            assert key not in found, f"∂a/∂z of {key} written twice"
            found[key] = m[3].split(" = ")
    return found


def g(x: float, digits: int) -> str:
    return f"{x:.{digits}g}"


def check(path: Path, digits: int | None = None) -> set[str]:
    """Every ∂a/∂z line of ``path``'s derivation against analyze -f json and by_hand; the
    activations seen."""
    precision = ["--precision", str(digits)] if digits else []
    digits = digits or 3
    result = invoke("analyze", path, "--format", "markdown", *precision)
    assert result.exit_code == 0, result.output
    lines = da_dz_lines(result.stdout)
    report = json.loads(invoke("analyze", path, "-f", "json").stdout)
    net = yaml.safe_load(path.read_text(encoding="utf-8"))
    seen = set()
    expected = set()
    for example in report["examples"]:
        e = example["index"]
        hand = by_hand(net, example["input"])
        for l, layer in enumerate(example["layers"], start=1):  # noqa: E741
            name = layer["activation"]
            seen.add(name)
            for j, da_dz in enumerate(layer["da_dz"]):
                expected.add((e, l, j))
                z, a, hand_da_dz = hand[l - 1][j]
                assert math.isclose(layer["z"][j], z, rel_tol=1e-12, abs_tol=1e-15)
                assert math.isclose(da_dz, hand_da_dz, rel_tol=1e-12, abs_tol=1e-15)
                steps = lines[(e, l, j)]
                assert steps[0] == rf"{_SIGMA_PRIME[name]}\left(z^{{({l})}}_{{{j}}}\right)"
                # the result: σ' of the json report, rounded as every number of the derivation
                assert steps[-1] == g(da_dz, digits) == g(hand_da_dz, digits)
                if name == "linear":
                    assert steps == [r"\operatorname{id}'\left(z^{(" + f"{l})}}_{{{j}}}\\right)",
                                     "1"]
                    continue
                symbol, pattern = _SUBSTITUTED[name]
                m = pattern.match(steps[-2])
                assert m, steps[-2]
                value = layer[symbol][j]
                assert math.isclose(value, a if symbol == "a" else z, rel_tol=1e-12,
                                    abs_tol=1e-15)
                # value with the derivation's digits, or the fewest more that keep the
                # formula worked from the numbers shown rounding to the result shown
                (shown,) = set(m.groups())
                assert shown in {g(value, d) for d in range(digits, 18)}, (shown, value)
                shown_args = (np.array([[float(g(x, digits))]]) for x in (z, a))
                worked = float(ACTIVATIONS[name].derivative(*shown_args)[0, 0])
                # a result on a rounding tie (0.505(1 − 0.505) = 0.249975) needs more digits too
                assert (shown == g(value, digits)) == all(
                    g(h, digits) == steps[-1] for h in (worked, worked * (1 + 1e-12),
                                                        worked * (1 - 1e-12)))
    assert set(lines) == expected  # one line per neuron and example, however many weights
    return seen


def test_chain_and_two_layer_sigmoid() -> None:
    assert check(CONFIGS / "chain.yaml") == {"sigmoid"}
    assert check(CONFIGS / "two-layer.yaml") == {"sigmoid"}


def test_chain_line_as_the_seed_writes_it() -> None:
    """σ'(z(3)) = a(3)(1 − a(3)) with a(3) = 0.538597: 0.248510, the 0.249 of ∂C0/∂w(3). With
    a(3) written 0.539 the product would be 0.248: it is written 0.5386 (0.5386 · 0.4614 =
    0.24851)."""
    text = invoke("analyze", CONFIGS / "chain.yaml", "-f", "markdown", "--param",
                  "w3.0.0").stdout
    assert (r"\frac{\partial a^{(3)}_{0}}{\partial z^{(3)}_{0}} = \sigma'\left(z^{(3)}_{0}"
            r"\right) = a^{(3)}_{0}(1 - a^{(3)}_{0}) = 0.5386(1 - 0.5386) = 0.249") in text
    # before the chain rule that uses it
    assert text.index(r"= 0.5386(1 - 0.5386) = 0.249") < text.index(r"\cdot 0.2485 \cdot 0.3698")


def test_every_elementwise_activation(tmp_path: Path) -> None:
    seen = check(write(tmp_path, "mixed.yaml", MIXED))
    elementwise = {name for name, sigma in ACTIVATIONS.items() if sigma.elementwise}
    assert seen | {"sigmoid"} == elementwise  # a new activation needs a case here
    assert all(ACTIVATIONS[name].derivative_formula for name in elementwise)


def test_precision_applies(tmp_path: Path) -> None:
    check(CONFIGS / "two-layer.yaml", digits=5)
    check(write(tmp_path, "mixed.yaml", MIXED), digits=6)


def test_relu_at_exactly_zero(tmp_path: Path) -> None:
    text = invoke("analyze", write(tmp_path, "mixed.yaml", MIXED), "-f", "markdown").stdout
    steps = da_dz_lines(text)[(0, 2, 2)]
    assert steps[-2:] == [r"\left[1 \text{ if } 0 > 0,\ 0 \text{ if } 0 \le 0\right]", "0"]


def test_softmax_with_squared_error_derives_delta(tmp_path: Path) -> None:
    """No per-neuron ∂a/∂z: δ(L)j = a(L)j(∂C0/∂a(L)j − Σi a(L)i ∂C0/∂a(L)i), with numbers."""
    text = (CONFIGS / "softmax.yaml").read_text(encoding="utf-8")
    path = write(tmp_path, "sm.yaml", text.replace("categorical_cross_entropy", "squared_error"))
    markdown = invoke("analyze", path, "-f", "markdown", "--example", "0").stdout
    report = json.loads(invoke("analyze", path, "-f", "json", "--example", "0").stdout)
    out = report["examples"][0]["layers"][1]
    assert not any(l == 2 for _, l, _ in da_dz_lines(markdown))  # noqa: E741
    a, dC_da = out["a"], out["dC_da"]

    def factor(x: float, digits: int) -> str:
        return f"({g(x, digits)})" if x < 0 else g(x, digits)

    def line(j: int, digits: int) -> str:
        """The worked line with its operands to ``digits`` (as many as it takes for them to
        give the result, tests/test_derivation_arithmetic.py)."""
        weighted = " + ".join(f"{factor(ai, digits)} \\cdot {factor(d, digits)}"
                              for ai, d in zip(a, dC_da, strict=True))
        return (rf"= {factor(a[j], digits)}\left({factor(dC_da[j], digits)} - "
                rf"\left({weighted}\right)\right) = {g(out['dC_dz'][j], 3)}" + "\n")

    for j in range(3):
        # by hand from the Jacobian a_i(1[i=j] − a_j): the json δ
        delta = a[j] * (dC_da[j] - sum(ai * d for ai, d in zip(a, dC_da, strict=True)))
        assert math.isclose(out["dC_dz"][j], delta, rel_tol=1e-12)
        assert any(line(j, digits) in markdown for digits in range(3, 8)), j


@pytest.mark.parametrize("config", ["softmax", "xor"])
def test_stable_delta_keeps_its_formula(config: str) -> None:
    """Softmax with categorical cross-entropy: δ(L)j in its stable form and no ∂a(L)/∂z(L)
    line; sigmoid with cross-entropy where the product is δ: the ∂a/∂z line as elsewhere."""
    markdown = invoke("analyze", CONFIGS / f"{config}.yaml", "-f", "markdown").stdout
    output_lines = [key for key in da_dz_lines(markdown) if key[1] == 2]
    if config == "softmax":
        assert not output_lines
        assert r"\partial z^{(2)}_{0}} = a^{(2)}_{0} \sum_i y_i - y_{0} = -0.717" in markdown
    else:
        assert len(output_lines) == 4  # one output neuron, four examples


def test_a_saturated_neuron_shows_the_digits_its_formula_needs(tmp_path: Path) -> None:
    # z(1)0 = 10: a = 0.9999546 (3 digits: "1", and a(1 − a) would read 0); z(2)0 = 6 on tanh
    path = write(tmp_path, "sat.yaml", """\
input_size: 1
layers:
  - {size: 2, activation: sigmoid, weights: [[10.0], [0.5]], biases: [0, 0]}
  - {size: 1, activation: tanh, weights: [[6.0, 0.0]], biases: [0.0]}
examples: [{input: [1.0], target: [0.5]}]
""")
    lines = da_dz_lines(invoke("analyze", path, "--format", "markdown").stdout)
    sigmoid, tanh, plain = lines[(0, 1, 0)], lines[(0, 2, 0)], lines[(0, 1, 1)]
    assert sigmoid[-2:] == ["0.9999546(1 - 0.9999546)", r"4.54 \times 10^{-5}"]
    assert pytest.approx(4.54e-5, abs=5e-8) == 0.9999546 * (1 - 0.9999546)
    assert tanh[-2:] == ["1 - {0.9999877}^2", r"2.46 \times 10^{-5}"]
    assert pytest.approx(2.46e-5, abs=5e-8) == 1 - 0.9999877**2
    assert plain[-2:] == ["0.622(1 - 0.622)", "0.235"]  # no more digits than it needs


def test_the_forward_line_shows_the_digits_sigma_needs(tmp_path: Path) -> None:
    # z = 1.3249: tanh(1.32) = 0.8668 would sit next to a = 0.868; tanh(1.325) = 0.8680
    path = write(tmp_path, "t.yaml", """\
input_size: 1
layers: [{size: 1, activation: tanh, weights: [[1.3249]], biases: [0]}]
examples: [{input: [1.0], target: [0.5]}]
""")
    text = invoke("analyze", path, "--format", "markdown").stdout
    assert r"a^{(1)}_{0} = \tanh\left(z^{(1)}_{0}\right) = \tanh\left(1.325\right) = 0.868" in text
    assert f"{math.tanh(1.325):.3g}" == "0.868" != f"{math.tanh(1.32):.3g}"
    assert r"z^{(1)}_{0} = w^{(1)}_{00} a^{(0)}_{0} + b^{(1)}_{0} = 1.32 \cdot 1 + 0 = 1.32" in text
