"""The worked derivation of an analyze report, as blocks of text and LaTeX math. No math here.

Markdown (``$…$`` on GitHub) and LaTeX (amsmath) render the same blocks: every number comes
from the report and is only formatted; the substituted products are the report's factors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from string import Template

import numpy as np

from backprop_cli.network import Array
from backprop_cli.present.notation import indices
from backprop_cli.report import AnalyzeReport, Param

DEFAULT_PRECISION = 3
MAX_TERMS = 6  # terms of a sum written out; the rest is elided as "… n more terms"


@dataclass(frozen=True)
class Text:
    """Plain text (``math`` False) or inline LaTeX math."""

    text: str
    math: bool = False


@dataclass(frozen=True)
class Heading:
    level: int
    parts: tuple[Text, ...]


@dataclass(frozen=True)
class Paragraph:
    parts: tuple[Text, ...]


@dataclass(frozen=True)
class Equation:
    """``lhs = steps[0] = steps[1] = …``: LaTeX aligns the steps on their = signs."""

    lhs: str
    steps: tuple[str, ...]


Block = Heading | Paragraph | Equation

# σ of each activation as LaTeX, applied to its argument
_SIGMA = {
    "sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{ReLU}",
    "leaky_relu": r"\operatorname{LReLU}", "linear": r"\operatorname{id}",
    "softplus": r"\operatorname{softplus}",
}
_COST = {
    "squared_error": r"\sum_j \left(a^{(L)}_j - y_j\right)^2",
    "cross_entropy": r"-\sum_j \left[y_j \ln a^{(L)}_j + (1 - y_j) \ln\left(1 - a^{(L)}_j\right)"
                     r"\right]",
    "categorical_cross_entropy": r"-\sum_j y_j \ln a^{(L)}_j",
}


# δ(L)j in the stable form of a cost with an output activation (costs.Cost.fused), with
# a(L)j as {a}, yj as {y}, j as {j} and the layer as {l}
_FUSED = {
    ("cross_entropy", "sigmoid"): "{a} - y_{{{j}}}",
    ("categorical_cross_entropy", "sigmoid"): "y_{{{j}}}\\left({a} - 1\\right)",
    ("categorical_cross_entropy", "softmax"): "{a} \\sum_i y_i - y_{{{j}}}",
    ("cross_entropy", "softmax"): "\\left({a} - y_{{{j}}}\\right) - \\sum_{{i \\ne {j}}} "
                                  "\\frac{{{a}\\left(a^{{({l})}}_i - y_i\\right)}}"
                                  "{{1 - a^{{({l})}}_i}}",
}


def sym(name: str, layer: int | str | None, *idx: int | str) -> str:
    """``sym("w", 2, 0, 1)`` → ``w^{(2)}_{01}``: the seed's w(2)01."""
    sup = f"^{{({layer})}}" if layer is not None else ""
    sub = f"_{{{indices(*idx)}}}" if idx else ""
    return name + sup + sub


def d(num: str, den: str) -> str:
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


def param_sym(p: Param) -> str:
    return sym("w", p.layer, p.j, p.k) if p.k is not None else sym("b", p.layer, p.j)


class Numbers:
    """Numbers with ``digits`` significant digits, as LaTeX."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __call__(self, x: float | None) -> str:
        if x is None:
            return r"\text{n/a}"
        text = f"{x:.{self.digits}g}"
        if text in ("-0", "0"):
            return "0"
        if "e" in text:
            mantissa, exp = text.split("e")
            return rf"{mantissa} \times 10^{{{int(exp)}}}"
        return text

    def factor(self, x: float | None) -> str:
        """A factor of a product: negative numbers and powers of ten in parentheses."""
        text = self(x)
        return f"({text})" if text.startswith("-") or "times" in text else text


def _sum(terms: list[str]) -> str:
    """``t0 + t1 + …`` with at most MAX_TERMS written out; ``+ (-x)`` written ``- x``."""
    if len(terms) > MAX_TERMS:
        more = len(terms) - (MAX_TERMS - 1)
        terms = [*terms[: MAX_TERMS - 2], rf"\dots_{{\text{{{more} more}}}}", *terms[-1:]]
    out = terms[0]
    for t in terms[1:]:
        out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return out


class Derivation:
    """The blocks of one report's worked derivation; ``limit`` equations per section."""

    def __init__(self, report: AnalyzeReport, digits: int | None, limit: int | None) -> None:
        self.report = report
        self.net = report.network
        self.num = Numbers(digits or DEFAULT_PRECISION)
        self.limit = limit
        self.params = report.params()
        self.chosen = getattr(report, "chosen", None) is not None

    def blocks(self) -> Iterator[Block]:
        r, net = self.report, self.net
        name = net.name or "network"
        L = net.depth
        yield Heading(1, (Text(f"Worked derivation: {name} ({'-'.join(map(str, net.sizes))})"),))
        cost = _COST.get(net.cost, rf"\text{{{net.cost}}}")
        yield Paragraph((
            Text(f"The cost of one example ({net.cost.replace('_', ' ')}) is "),
            Text(f"C_0 = {cost}", math=True),
            Text(" with "),
            Text(f"L = {L}", math=True),
            Text("; the full cost "),
            Text("C", math=True),
            Text(" is the mean of "),
            Text("C_0", math=True),
            Text(f" over {r.scope}. The weight "),
            Text(sym("w", "l", "j", "k"), math=True),
            Text(" connects "),
            Text(sym("a", "l-1", "k"), math=True),
            Text(" to "),
            Text(sym("a", "l", "j"), math=True),
            Text(f". Numbers are rounded to {self.num.digits} significant digits."),
        ))
        if r.factor_note:
            yield Paragraph((Text(r.factor_note),))
        if r.fused_note:
            yield self.fused_note()
        for e in r.examples:
            yield from self.example(e)
        if r.example_count > 1:
            yield from self.full_gradient()

    def more(self, shown: int, total: int) -> Iterator[Block]:
        if shown < total:
            yield Paragraph((Text(
                f"… {total - shown} more (--limit 0 shows all; --param or --layer chooses)"),))

    def cap(self, n: int) -> int:
        return n if self.limit is None else min(n, self.limit)

    # --- one example ------------------------------------------------------------------------

    def example(self, e: int) -> Iterator[Block]:
        r = self.report
        title = r.example_title(e)
        yield Heading(2, (Text(title[:1].upper() + title[1:]),))
        x = ", ".join(self.num(float(v)) for v in r.inputs[e])
        y = ", ".join(self.num(float(v)) for v in r.targets[e])
        yield Paragraph((Text("Input "), Text(f"a^{{(0)}} = ({x})", math=True),
                         Text(", target "), Text(f"y = ({y})", math=True), Text(".")))
        yield Heading(3, (Text("Forward pass"),))
        yield from self.forward(e)
        yield Heading(3, (Text("Backward pass"),))
        for l in sorted(r.layers, reverse=True):  # noqa: E741
            yield from self.backward(e, l)

    def forward(self, e: int) -> Iterator[Block]:
        r, num = self.report, self.num
        for l, layer in enumerate(self.net.layers, start=1):  # noqa: E741
            t = r.trace.layers[l - 1]
            shown = self.cap(layer.size)
            for j in range(shown):
                z, a = sym("z", l, j), sym("a", l, j)
                terms = [f"{num.factor(float(layer.weights[j, k]))} \\cdot "
                         f"{num.factor(float(t.dz_dw[e, k]))}"
                         for k in range(layer.weights.shape[1])]
                n_prev = layer.weights.shape[1]
                general = (f"{sym('w', l, j, 0)} {sym('a', l - 1, 0)} + {sym('b', l, j)}"
                           if n_prev == 1 else
                           rf"\sum_k {sym('w', l, j, 'k')} {sym('a', l - 1, 'k')} + "
                           f"{sym('b', l, j)}")
                yield Equation(z, (general,
                                   _sum([*terms, num.factor(float(layer.biases[j]))]),
                                   num(float(t.z[e, j]))))
                sigma = _SIGMA.get(layer.activation)
                if sigma is None:  # softmax: every a(L)j depends on every z(L)i
                    yield Equation(a, (rf"\frac{{e^{{{z}}}}}{{\sum_i e^{{{sym('z', l, 'i')}}}}}",
                                       num(float(t.a[e, j]))))
                else:
                    z_value, a_value = float(t.z[e, j]), float(t.a[e, j])
                    given = self._digits_for(layer.sigma.fn, (z_value,), a_value)
                    yield Equation(a, (rf"{sigma}\left({z}\right)",
                                       rf"{sigma}\left({given(z_value)}\right)",
                                       num(a_value)))
            yield from self.more(shown, layer.size)
        c0 = float(r.trace.cost_per_example[e])
        steps = [_COST.get(self.net.cost, rf"\text{{{self.net.cost}}}")]
        if self.net.cost == "squared_error":
            out = r.trace.layers[-1]
            steps.append(_sum([
                f"({num(float(out.a[e, j]))} - {num.factor(float(r.targets[e, j]))})^2"
                for j in range(out.a.shape[1])]))
        steps.append(num(c0))
        yield Equation("C_0", tuple(steps))

    def output_dC_da(self, e: int, j: int) -> str:
        """∂C0/∂a(L)j with a(L)j and yj substituted into the cost's derivative."""
        L, num = self.net.depth, self.num
        a = num(float(self.report.trace.layers[-1].a[e, j]))
        y = num.factor(float(self.report.targets[e, j]))
        if self.net.cost == "squared_error":
            return f"2({a} - {y})"
        if self.net.cost == "cross_entropy":
            return rf"\frac{{{a} - {y}}}{{{a}(1 - {a})}}"
        if self.net.cost == "categorical_cross_entropy":
            return rf"-\frac{{{y}}}{{{a}}}"
        return num.factor(float(self.report.trace.layers[L - 1].dC_da[e, j]))

    def neurons(self, l: int) -> list[int]:  # noqa: E741
        """The neurons j of layer l whose ∂C0/∂a(l)j the chosen parameters need."""
        if self.chosen:
            return sorted({p.j for p in self.params if p.layer == l})
        return list(range(self.net.sizes[l]))

    def backward(self, e: int, l: int) -> Iterator[Block]:  # noqa: E741
        r, num = self.report, self.num
        L = self.net.depth
        t = r.trace.layers[l - 1]
        params = [p for p in self.params if p.layer == l]
        neurons = self.neurons(l)
        if not params and not neurons:
            return
        yield Heading(4, (Text(f"Layer {l}"),))
        shown = self.cap(len(neurons))
        for j in neurons[:shown]:
            a = sym("a", l, j)
            if l == L and self.stable_delta(e, j):
                yield self.delta(e, j)
                continue
            if l == L:
                formula = {"squared_error": f"2({a} - {sym('y', None, j)})",
                           "cross_entropy": rf"\frac{{{a} - y_{j}}}{{{a}(1 - {a})}}",
                           "categorical_cross_entropy": rf"-\frac{{y_{j}}}{{{a}}}"}
                steps = [formula[self.net.cost]] if self.net.cost in formula else []
                yield Equation(d("C_0", a), (*steps, self.output_dC_da(e, j),
                                             num(float(t.dC_da[e, j]))))
            else:
                yield from self.backward_step(e, l + 1, j)
            yield self.da_dz(e, l, j) if r.is_elementwise(l) else self.softmax_delta(e, j)
        yield from self.more(shown, len(neurons))
        for kind in ("w", "b"):
            chosen = [p for p in params if p.kind == kind]
            shown = self.cap(len(chosen))
            for p in chosen[:shown]:
                yield self.chain(e, p)
            yield from self.more(shown, len(chosen))

    def fused_note(self) -> Paragraph:
        """:attr:`AnalyzeReport.fused_note` with its symbols as math (LaTeX text takes no ∂)."""
        r, L = self.report, self.net.depth
        formula = _FUSED[(self.net.cost, self.net.layers[-1].activation)]
        parts = [
            Text("In layer "), Text(f"L = {L}", math=True), Text(", "),
            Text(f"{d('C_0', sym('z', 'L', 'j'))} = "
                 f"{formula.format(a=sym('a', 'L', 'j'), j='j', l='L')}", math=True),
            Text(" is computed from "), Text(sym("z", "L"), math=True),
            Text(f" directly (the stable form of {self.net.cost.replace('_', ' ')} with "
                 f"{self.net.layers[-1].activation}), not as the product "),
            Text(rf"{d('C_0', 'a')} \cdot {d('a', 'z')}", math=True),
        ]
        if r.saturated:
            parts += [Text(", which is "), Text(r"\infty \cdot 0", math=True), Text(" here")]
        return Paragraph((*parts, Text(".")))

    def stable_delta(self, e: int, j: int) -> bool:
        """Whether δ(L)j is written in its stable form instead of as ∂C0/∂a · ∂a/∂z: where the
        engine computes it so (costs.Cost.fused) and the product is not finite or not δ."""
        return self.report.fused is not None and not self.report.product_is_delta(e, j)

    def delta(self, e: int, j: int) -> Equation:
        """δ(L)j = ∂C0/∂z(L)j in the stable form, with a(L)j and yj substituted."""
        r, num, L = self.report, self.num, self.net.depth
        a, z = sym("a", L, j), sym("z", L, j)
        value = num(float(r.trace.layers[-1].dC_dz[e, j]))
        formula = _FUSED.get((self.net.cost, self.net.layers[-1].activation))
        if formula is None:
            return Equation(d("C_0", z), (value,))
        steps = [formula.format(a=a, j=j, l=L)]
        if "\\sum" not in formula:  # the sums are written out only in general
            aj = num.factor(float(r.trace.layers[-1].a[e, j]))
            steps.append(formula.format(a=aj, j=j, l=L).replace(
                f"y_{{{j}}}", num.factor(float(r.targets[e, j]))))
        return Equation(d("C_0", z), (*steps, value))

    def da_dz(self, e: int, l: int, j: int) -> Equation:  # noqa: E741
        """∂a(l)j/∂z(l)j = σ'(z(l)j), worked out with the activation's derivative formula
        (:attr:`activations.Activation.derivative_formula`)."""
        num, layer = self.num, self.net.layers[l - 1]
        t = self.report.trace.layers[l - 1]
        a, z = sym("a", l, j), sym("z", l, j)
        formula = [Template(step) for step in layer.sigma.derivative_formula]
        z_value, a_value = float(t.z[e, j]), float(t.a[e, j])
        given = self._digits_for(layer.sigma.derivative, (z_value, a_value),
                                 float(t.da_dz[e, j]))
        steps = [rf"{_SIGMA[layer.activation]}'\left({z}\right)",
                 *(step.substitute(a=a, z=z) for step in formula),
                 formula[-1].substitute(a=given.factor(a_value), z=given.factor(z_value)),
                 num(float(t.da_dz[e, j]))]
        # σ' of linear is 1 with or without numbers: each step once
        return Equation(d(a, z), tuple(s for i, s in enumerate(steps) if s not in steps[:i]))

    def _digits_for(self, f: Callable[..., Array], args: tuple[float, ...],
                    value: float) -> Numbers:
        """The numbers to put into σ or σ' (``f`` of (1, 1) arrays): ``self.num``'s digits, or
        as many more as it takes for f of the numbers shown to round to the value shown — a
        saturated a = 0.9999546 shown as 1 would make a(1 − a) read 0, tanh(1.32) is 0.867 where
        z = 1.3205 gives 0.868."""
        for digits in range(self.num.digits, 18):
            shown = (float(f"{x:.{digits}g}") for x in args)
            got = float(f(*(np.array([[x]]) for x in shown))[0, 0])
            if self.num(got) == self.num(value):
                break
        return Numbers(digits)

    def softmax_delta(self, e: int, j: int) -> Equation:
        """δ(L)j = Σi ∂C0/∂a(L)i · ∂a(L)i/∂z(L)j of a softmax output without a stable form
        (softmax's ∂a/∂z is a Jacobian, a(L)i(1[i=j] − a(L)j)), as Activation.backward sums it."""
        r, num, L = self.report, self.num, self.net.depth
        t = r.trace.layers[L - 1]
        a, ai = sym("a", L, j), sym("a", L, "i")
        weighted = _sum([rf"{num.factor(float(t.a[e, i]))} \cdot "
                         f"{num.factor(float(t.dC_da[e, i]))}" for i in range(t.a.shape[1])])
        return Equation(d("C_0", sym("z", L, j)), (
            rf"\sum_i {d('C_0', ai)} \, {d(ai, sym('z', L, j))}",
            rf"\sum_i {d('C_0', ai)} \, {ai}\left(1_{{i = {j}}} - {a}\right)",
            rf"{a}\left({d('C_0', a)} - \sum_i {ai} \, {d('C_0', ai)}\right)",
            rf"{num.factor(float(t.a[e, j]))}\left({num.factor(float(t.dC_da[e, j]))} - "
            rf"\left({weighted}\right)\right)",
            num(float(t.dC_dz[e, j]))))

    def backward_step(self, e: int, l: int, k: int) -> Iterator[Block]:  # noqa: E741
        """∂C0/∂a(l−1)k = Σj w(l)jk · ∂a(l)j/∂z(l)j · ∂C0/∂a(l)j, with its terms."""
        r, num = self.report, self.num
        ps = r.path_sum(e, l, k)
        terms = sorted(ps.terms, key=lambda term: term.j)
        elementwise = r.is_elementwise(l)
        one = len(terms) == 1  # a single path: no sum, j = 0
        jj: int | str = 0 if one else "j"
        w, a, z = sym("w", l, jj, k), sym("a", l, jj), sym("z", l, jj)
        total = "" if one else r"\sum_j "
        if elementwise:
            general = rf"{total}{w} \, {d(a, z)} \, {d('C_0', a)}"
            values = [f"{num.factor(term.w)} \\cdot {num.factor(term.da_dz)} \\cdot "
                      f"{num.factor(term.dC_da)}" for term in terms]
        else:
            general = rf"{total}{w} \, {d('C_0', z)}"
            values = [f"{num.factor(term.w)} \\cdot {num.factor(term.dC_dz)}" for term in terms]
        yield Equation(d("C_0", sym("a", l - 1, k)), (general, _sum(values), num(ps.sum)))

    def chain(self, e: int, p: Param) -> Equation:
        """∂C0/∂w(l)jk = ∂C0/∂a(l)j · ∂a(l)j/∂z(l)j · ∂z(l)j/∂w(l)jk, with numbers."""
        row = self.report.row(e, p)
        num = self.num
        l, j = p.layer, p.j  # noqa: E741
        a, z, w = sym("a", l, j), sym("z", l, j), param_sym(p)
        dz = num.factor(row.dz_dw) if p.kind == "w" else "1"
        first = (self.output_dC_da(e, j) if l == self.net.depth and self.net.cost in _COST
                 else num.factor(row.dC_da))
        if row.da_dz is None or (l == self.net.depth and self.stable_delta(e, j)):
            general = rf"{d('C_0', z)} \cdot {d(z, w)}"
            values = f"{num.factor(row.dC_dz)} \\cdot {dz}"
        else:
            general = rf"{d('C_0', a)} \cdot {d(a, z)} \cdot {d(z, w)}"
            values = rf"{first} \cdot {num.factor(row.da_dz)} \cdot {dz}"
        return Equation(d("C_0", w), (general, values, num(row.gradient)))

    # --- the full cost ----------------------------------------------------------------------

    def full_gradient(self) -> Iterator[Block]:
        r, num = self.report, self.num
        m = r.example_count
        yield Heading(2, (Text("Gradient of the full cost "),
                          Text(f"C = \\frac{{1}}{{{m}}} \\sum_i C_{{0,i}}", math=True)))
        shown = self.cap(len(self.params))
        for p in self.params[:shown]:
            rows = [r.row(e, p) for e in range(m)]
            w = param_sym(p)
            yield Equation(d("C", w), (
                rf"\frac{{1}}{{{m}}} \sum_i {d('C_{0,i}', w)}",
                rf"\frac{{1}}{{{m}}}\left({_sum([num(row.gradient) for row in rows])}\right)",
                num(rows[0].mean_gradient)))
        yield from self.more(shown, len(self.params))
