"""The worked derivation of an analyze report, as blocks of text and LaTeX math. No math here.

Markdown (``$…$`` on GitHub) and LaTeX (amsmath) render the same blocks: every number comes
from the report and is only formatted; the substituted products are the report's factors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from string import Template

import numpy as np

from backprop_cli.network import Array, Param
from backprop_cli.present.notation import indices
from backprop_cli.reports.analyze import AnalyzeReport

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
    """``lhs = steps[0] = steps[1] = …``: LaTeX aligns the steps on their = signs. ``approx``:
    the last step is ≈ the one before (its operands as shown do not give it to its digits)."""

    lhs: str
    steps: tuple[str, ...]
    approx: bool = False

    def relations(self, equals: str, approx: str) -> list[tuple[str, str]]:
        """(relation, step) of every step: ``equals``, and ``approx`` before an ≈ last step."""
        last = len(self.steps) - 1
        return [(approx if self.approx and i == last else equals, step)
                for i, step in enumerate(self.steps)]


Block = Heading | Paragraph | Equation

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


def _scalar(f: Callable[..., Array], *args: float) -> float:
    """``f`` of (1, 1) arrays (an activation's σ or σ') at ``args``."""
    return float(f(*(np.array([[x]]) for x in args))[0, 0])


class Derivation:
    """The blocks of one report's worked derivation; ``limit`` equations per section.

    A line that works out a value from numbers (``2(0.5385 - 1) = -0.923``) is true as
    written: its operands are shown with as many digits as it takes for them, evaluated as
    shown, to give the value to the digits it is shown with (:meth:`worked`); the value itself
    is the report's, rounded, as in the tables and JSON.
    """

    def __init__(self, report: AnalyzeReport, digits: int | None, limit: int | None) -> None:
        self.report = report
        self.net = report.network
        self.num = Numbers(digits or DEFAULT_PRECISION)
        self.limit = limit
        self.chosen = getattr(report, "chosen", None) is not None

    def words(self) -> dict[str, tuple[str, str]]:
        """The LaTeX commands of the network's own formulas (its activations' and its cost's
        :attr:`~activations.Activation.words`), as (text, ASCII), for a text rendering."""
        words = dict(self.net.cost_fn.words)
        for layer in self.net.layers:
            words.update(layer.sigma.words)
        return words

    def blocks(self) -> Iterator[Block]:
        r, net = self.report, self.net
        name = net.name or "network"
        L = net.depth
        yield Heading(1, (Text(f"Worked derivation: {name} ({'-'.join(map(str, net.sizes))})"),))
        cost = net.cost_fn.latex
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
        for l, layer in enumerate(self.net.layers, start=1):  # noqa: E741
            shown = self.cap(layer.size)
            for j in range(shown):
                yield self.weighted_input(e, l, j)
                yield self.activation(e, l, j)
            yield from self.more(shown, layer.size)
        yield self.cost(e)

    def weighted_input(self, e: int, l: int, j: int) -> Equation:  # noqa: E741
        """z(l)j = Σk w(l)jk a(l−1)k + b(l)j, with its terms."""
        layer, t = self.net.layers[l - 1], self.report.trace.layers[l - 1]
        n_prev = layer.weights.shape[1]
        args = (*(float(w) for w in layer.weights[j]), *(float(x) for x in t.dz_dw[e]),
                float(layer.biases[j]))

        def written(n: Numbers) -> str:
            return _sum([*(rf"{n.factor(args[k])} \cdot {n.factor(args[n_prev + k])}"
                           for k in range(n_prev)), n.factor(args[-1])])

        def value(*v: float) -> float:
            return sum(v[k] * v[n_prev + k] for k in range(n_prev)) + v[-1]

        line, approx = self.worked(written, value, args, float(t.z[e, j]), terms=n_prev + 1)
        general = (f"{sym('w', l, j, 0)} {sym('a', l - 1, 0)} + {sym('b', l, j)}"
                   if n_prev == 1 else
                   rf"\sum_k {sym('w', l, j, 'k')} {sym('a', l - 1, 'k')} + {sym('b', l, j)}")
        return Equation(sym("z", l, j), (general, line, self.num(float(t.z[e, j]))), approx)

    def activation(self, e: int, l: int, j: int) -> Equation:  # noqa: E741
        """a(l)j = σ(z(l)j), with its number."""
        layer, t = self.net.layers[l - 1], self.report.trace.layers[l - 1]
        z, a = sym("z", l, j), sym("a", l, j)
        a_value = self.num(float(t.a[e, j]))
        sigma = layer.sigma.latex
        if not layer.sigma.elementwise:  # softmax: every a(L)j depends on every z(L)i
            return Equation(a, (rf"\frac{{e^{{{z}}}}}{{\sum_i e^{{{sym('z', l, 'i')}}}}}",
                                a_value))
        z_value, fn = float(t.z[e, j]), layer.sigma.fn
        line, approx = self.worked(lambda n: rf"{sigma}\left({n(z_value)}\right)",
                                   lambda x: _scalar(fn, x), (z_value,), float(t.a[e, j]))
        return Equation(a, (rf"{sigma}\left({z}\right)", line, a_value), approx)

    def cost(self, e: int) -> Equation:
        """C0 of example e (squared error: with its terms)."""
        r = self.report
        c0 = float(r.trace.cost_per_example[e])
        cost_fn = self.net.cost_fn
        steps = [cost_fn.latex]
        approx = False
        term_value = cost_fn.term_value
        if cost_fn.term_latex and term_value is not None:
            term = Template(cost_fn.term_latex)
            n_out = self.net.sizes[-1]
            args = (*(float(x) for x in r.trace.layers[-1].a[e]),
                    *(float(y) for y in r.targets[e]))

            def written(n: Numbers) -> str:
                return _sum([term.substitute(a=n(args[j]), y=n.factor(args[n_out + j]))
                             for j in range(n_out)])

            def value(*v: float) -> float:
                return sum(term_value(v[j], v[n_out + j]) for j in range(n_out))

            line, approx = self.worked(written, value, args, c0, terms=n_out)
            steps.append(line)
        return Equation("C_0", (*steps, self.num(c0)), approx)

    def output_dC_da(self, e: int, j: int) -> tuple[Callable[[Numbers, float, float], str],
                                                    Callable[[float, float], float]]:
        """∂C0/∂a(L)j with a(L)j and yj substituted into the cost's derivative
        (:attr:`costs.Cost.dC_da_values`): how to write it with given numbers, and its value,
        both of (a(L)j, yj)."""
        cost_fn = self.net.cost_fn
        values = Template(cost_fn.dC_da_values)
        value = cost_fn.dC_da_value or (lambda a, y: _scalar(cost_fn.dC_da, a, y))
        return (lambda n, a, y: values.substitute(a=n(a), y=n.factor(y)), value)

    def output_line(self, e: int, j: int) -> Equation:
        """∂C0/∂a(L)j = its formula = with numbers = its value."""
        a = sym("a", self.net.depth, j)
        formula = Template(self.net.cost_fn.dC_da_latex).substitute(a=a, j=j)
        write, value = self.output_dC_da(e, j)
        args = (float(self.report.trace.layers[-1].a[e, j]), float(self.report.targets[e, j]))
        dC_da = float(self.report.trace.layers[-1].dC_da[e, j])
        line, approx = self.worked(lambda n: write(n, *args), value, args, dC_da)
        return Equation(d("C_0", a), (formula, line, self.num(dC_da)), approx)

    def worked(self, write: Callable[[Numbers], str], f: Callable[..., float],
               args: Sequence[float], value: float | None, terms: int = 1) -> tuple[str, bool]:
        """A line's operands ``args`` as ``write`` writes them, with ``self.num``'s digits or as
        many more as it takes for ``f`` of the operands as shown to round to ``value`` as shown:
        a saturated a = 0.9999546 shown as 1 would make a(1 − a) read 0, 2(0.539 − 1) is −0.922
        where a = 0.5385 gives −0.923. The second item says the value is only ≈: where no digits
        give it (float round-off of a sum that cancels to 0, a subnormal), the operands get the
        digits that come within round-off of it. A sum of more than MAX_TERMS ``terms`` is
        elided and keeps the digits."""
        if terms > MAX_TERMS or value is None:  # "… 4 more" cannot be checked by hand
            return write(self.num), False
        goal = self.num(value)
        tolerance = 1e-12 * max((abs(x) for x in args), default=0.0)
        close: int | None = None
        with np.errstate(all="ignore"):  # a(1 − a) of a = 0 in a cross-entropy: inf, as shown
            for digits in range(self.num.digits, 18):
                got = float(f(*(np.float64(f"{x:.{digits}g}") for x in args)))
                # the same under a nudge of 1e-12: a result on a rounding tie (0.7 · 0.611 −
                # 0.4 · 0.599 + 0.3 · 0.378 is exactly 0.3015) reads 0.301 or 0.302 by hand
                if all(self.num(g) == goal for g in (got, got * (1 + 1e-12), got * (1 - 1e-12))):
                    return write(Numbers(digits)), False
                if close is None and abs(got - value) <= tolerance:
                    close = digits
        return write(Numbers(close or 17)), True

    def neurons(self, l: int) -> list[int]:  # noqa: E741
        """The neurons j of layer l whose ∂C0/∂a(l)j the chosen parameters need."""
        if self.chosen:
            return sorted({p.j for p in self.report.params(l)})
        return list(range(self.net.sizes[l]))

    def backward(self, e: int, l: int) -> Iterator[Block]:  # noqa: E741
        r, L = self.report, self.net.depth
        neurons = self.neurons(l)
        if not neurons and not r.param_count(l):
            return
        yield Heading(4, (Text(f"Layer {l}"),))
        shown = self.cap(len(neurons))
        for j in neurons[:shown]:
            if l == L and self.stable_delta(e, j):
                yield self.delta(e, j)
                continue
            if l == L:
                yield self.output_line(e, j)
            else:
                yield from self.backward_step(e, l + 1, j)
            yield self.da_dz(e, l, j) if r.is_elementwise(l) else self.softmax_delta(e, j)
        yield from self.more(shown, len(neurons))
        for kind in ("w", "b"):
            chosen = r.params(l, kind, self.limit)
            for p in chosen:
                yield self.chain(e, p)
            yield from self.more(len(chosen), r.param_count(l, kind))

    def fused_note(self) -> Paragraph:
        """:attr:`AnalyzeReport.fused_note` with its symbols as math (LaTeX text takes no ∂)."""
        r, L = self.report, self.net.depth
        fused = self.report.fused
        assert fused is not None  # r.fused_note is set
        formula = fused.latex
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
        value = float(r.trace.layers[-1].dC_dz[e, j])
        fused = r.fused
        if fused is None:
            return Equation(d("C_0", z), (num(value),))
        formula = fused.latex
        steps = [formula.format(a=a, j=j, l=L)]
        approx = False
        if fused.value is not None:  # the sums are written out only in general
            args = (float(r.trace.layers[-1].a[e, j]), float(r.targets[e, j]))
            line, approx = self.worked(
                lambda n: formula.format(a=n.factor(args[0]), j=j, l=L).replace(
                    f"y_{{{j}}}", n.factor(args[1])), fused.value, args, value)
            steps.append(line)
        return Equation(d("C_0", z), (*steps, num(value)), approx)

    def da_dz(self, e: int, l: int, j: int) -> Equation:  # noqa: E741
        """∂a(l)j/∂z(l)j = σ'(z(l)j), worked out with the activation's derivative formula
        (:attr:`activations.Activation.derivative_formula`)."""
        num, layer = self.num, self.net.layers[l - 1]
        t = self.report.trace.layers[l - 1]
        a, z = sym("a", l, j), sym("z", l, j)
        formula = [Template(step) for step in layer.sigma.derivative_formula]
        z_value, a_value = float(t.z[e, j]), float(t.a[e, j])
        derivative = layer.sigma.derivative
        line, approx = self.worked(
            lambda n: formula[-1].substitute(a=n.factor(a_value), z=n.factor(z_value)),
            lambda x, y: _scalar(derivative, x, y), (z_value, a_value), float(t.da_dz[e, j]))
        steps = [rf"{layer.sigma.latex}'\left({z}\right)",
                 *(step.substitute(a=a, z=z) for step in formula), line,
                 num(float(t.da_dz[e, j]))]
        # σ' of linear is 1 with or without numbers: each step once
        return Equation(d(a, z), tuple(s for i, s in enumerate(steps) if s not in steps[:i]),
                        approx)

    def softmax_delta(self, e: int, j: int) -> Equation:
        """δ(L)j = Σi ∂C0/∂a(L)i · ∂a(L)i/∂z(L)j of a softmax output without a stable form
        (softmax's ∂a/∂z is a Jacobian, a(L)i(1[i=j] − a(L)j)), as Activation.backward sums it."""
        r, num, L = self.report, self.num, self.net.depth
        t = r.trace.layers[L - 1]
        a, ai = sym("a", L, j), sym("a", L, "i")
        n_out = t.a.shape[1]
        args = (*(float(x) for x in t.a[e]), *(float(x) for x in t.dC_da[e]))

        def written(n: Numbers) -> str:
            weighted = _sum([rf"{n.factor(args[i])} \cdot {n.factor(args[n_out + i])}"
                             for i in range(n_out)])
            return (rf"{n.factor(args[j])}\left({n.factor(args[n_out + j])} - "
                    rf"\left({weighted}\right)\right)")

        def value(*v: float) -> float:
            return v[j] * (v[n_out + j] - sum(v[i] * v[n_out + i] for i in range(n_out)))

        line, approx = self.worked(written, value, args, float(t.dC_dz[e, j]), terms=n_out)
        return Equation(d("C_0", sym("z", L, j)), (
            rf"\sum_i {d('C_0', ai)} \, {d(ai, sym('z', L, j))}",
            rf"\sum_i {d('C_0', ai)} \, {ai}\left(1_{{i = {j}}} - {a}\right)",
            rf"{a}\left({d('C_0', a)} - \sum_i {ai} \, {d('C_0', ai)}\right)",
            line, num(float(t.dC_dz[e, j]))), approx)

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
            factors = [(term.w, term.da_dz, term.dC_da) for term in terms]
        else:
            general = rf"{total}{w} \, {d('C_0', z)}"
            factors = [(term.w, term.dC_dz, None) for term in terms]
        width = 3 if elementwise else 2
        args = tuple(float(x) for fs in factors for x in fs[:width] if x is not None)

        def written(n: Numbers) -> str:
            return _sum([r" \cdot ".join(n.factor(args[i + f]) for f in range(width))
                         for i in range(0, len(args), width)])

        def value(*v: float) -> float:
            return sum(float(np.prod(v[i:i + width])) for i in range(0, len(v), width))

        line, approx = self.worked(written, value, args, ps.sum, terms=len(terms))
        yield Equation(d("C_0", sym("a", l - 1, k)), (general, line, num(ps.sum)), approx)

    def chain(self, e: int, p: Param) -> Equation:
        """∂C0/∂w(l)jk = ∂C0/∂a(l)j · ∂a(l)j/∂z(l)j · ∂z(l)j/∂w(l)jk, with numbers."""
        r, num = self.report, self.num
        row = r.row(e, p)
        l, j = p.layer, p.j  # noqa: E741
        a, z, w = sym("a", l, j), sym("z", l, j), param_sym(p)

        def dz(n: Numbers) -> str:
            return n.factor(row.dz_dw) if p.kind == "w" else "1"

        if row.da_dz is None or (l == self.net.depth and self.stable_delta(e, j)):
            general = rf"{d('C_0', z)} \cdot {d(z, w)}"
            line, approx = self.worked(lambda n: rf"{n.factor(row.dC_dz)} \cdot {dz(n)}",
                                        lambda x, y: x * y, (row.dC_dz, row.dz_dw),
                                        row.gradient)
        else:
            general = rf"{d('C_0', a)} \cdot {d(a, z)} \cdot {d(z, w)}"
            da_dz = row.da_dz
            if l == self.net.depth:
                write, first = self.output_dC_da(e, j)
                out = (float(r.trace.layers[-1].a[e, j]), float(r.targets[e, j]))
                line, approx = self.worked(
                    lambda n: rf"{write(n, *out)} \cdot {n.factor(da_dz)} \cdot {dz(n)}",
                    lambda x, y, s, t: first(x, y) * s * t, (*out, da_dz, row.dz_dw),
                    row.gradient)
            else:
                line, approx = self.worked(
                    lambda n: rf"{n.factor(row.dC_da)} \cdot {n.factor(da_dz)} \cdot {dz(n)}",
                    lambda x, s, t: x * s * t, (row.dC_da, da_dz, row.dz_dw), row.gradient)
        return Equation(d("C_0", w), (general, line, num(row.gradient)), approx)

    # --- the full cost ----------------------------------------------------------------------

    def full_gradient(self) -> Iterator[Block]:
        r = self.report
        m = r.example_count
        yield Heading(2, (Text("Gradient of the full cost "),
                          Text(f"C = \\frac{{1}}{{{m}}} \\sum_i C_{{0,i}}", math=True)))
        params = r.params(limit=self.limit)
        for p in params:
            rows = [r.row(e, p) for e in range(m)]
            w = param_sym(p)
            yield self.mean(w, [row.gradient for row in rows], rows[0].mean_gradient)
        yield from self.more(len(params), r.param_count())

    def mean(self, w: str, gradients: list[float], value: float) -> Equation:
        """∂C/∂w = the mean of the examples' ∂C0/∂w."""
        m = len(gradients)
        line, approx = self.worked(
            lambda n: rf"\frac{{1}}{{{m}}}\left({_sum([n(g) for g in gradients])}\right)",
            lambda *v: sum(v) / m, gradients, value, terms=m)
        return Equation(d("C", w), (rf"\frac{{1}}{{{m}}} \sum_i {d('C_{0,i}', w)}", line,
                                   self.num(value)), approx)
