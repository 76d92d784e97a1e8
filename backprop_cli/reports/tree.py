"""The seed's dependency tree of one parameter or neuron, with the numbers of one example. Pure.

For w(l)jk the lesson draws w(l)jk, a(l−1)k, b(l)j → z(l)j → a(l)j → C0 ← y and writes

    ∂C0/∂w(l)jk = ∂C0/∂a(l)j · ∂a(l)j/∂z(l)j · ∂z(l)j/∂w(l)jk

with one local derivative on every edge. In a hidden layer ∂C0/∂a(l)j is itself the sum over
the paths through layer l+1 (the "many paths" of a neuron):

    ∂C0/∂a(l)j = Σi w(l+1)ij · ∂a(l+1)i/∂z(l+1)i · ∂C0/∂a(l+1)i

which the tree carries as its fan-out (the whole tree of ``--tree a1.0``). Every number is the
engine's (the trace of :func:`reports.analyze.analyze`): node values z, a, C0, the factors on
the edges, the products and sums. Where the engine does not compute δ = ∂C0/∂z as the product
of the factors drawn (a cost's stable form in z(L); the softmax Jacobian) the tree says so and
its product uses δ itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from backprop_cli.errors import UsageError, plural
from backprop_cli.network import Network, Param
from backprop_cli.reports.analyze import AnalyzeReport, check_example
from backprop_cli.reports.nudge import param_name, parse_param

TREE_SYNTAX = ("w<l>.<j>.<k> for w(l)jk, b<l>.<j> for b(l)j or a<l>.<j> for the neuron a(l)j, "
               "e.g. w2.0.1, b3.0 or a1.0")
_NEURON = re.compile(r"a([0-9]+)\.([0-9]+)")  # \d takes any Unicode digit
C0 = "C0"  # the cost node's key


@dataclass(frozen=True)
class Neuron:
    """The neuron a(layer)j; layer 0 is the input."""

    layer: int
    j: int

    @property
    def name(self) -> str:
        return f"a{self.layer}.{self.j}"


Target = Param | Neuron


def target_name(target: Target) -> str:
    """``w2.0.1``, ``b3.0`` or ``a1.0``."""
    return target.name if isinstance(target, Neuron) else param_name(target)


def parse_target(text: str, net: Network, option: str = "--tree") -> Target:
    """``w2.0.1``, ``b3.0`` (as :func:`parse_param`) or ``a1.0`` for the neuron a(1)0; a
    :class:`UsageError` names the valid ranges."""
    stripped = text.strip()
    match = _NEURON.fullmatch(stripped)
    if match is None:
        if stripped[:1] in ("w", "b"):
            return parse_param(text, net, what=option, syntax=TREE_SYNTAX)
        raise UsageError(f"{option} {text!r}: expected {TREE_SYNTAX}")
    l, j = int(match[1]), int(match[2])  # noqa: E741
    if not 0 <= l <= net.depth:
        raise UsageError(f"{option} {text!r}: layer {l} does not exist; the network has neurons "
                         f"in layers 0 (the input) to {net.depth}")
    n = net.sizes[l]
    if not 0 <= j < n:
        raise UsageError(f"{option} {text!r}: j = {j} is out of range; layer {l} has "
                         f"{plural(n, 'neuron')}, j = 0 … {n - 1}")
    return Neuron(l, j)


@dataclass(frozen=True)
class Symbol:
    """A quantity of the seed's notation: ``name`` (w, b, a, z, y or C0) with its layer and
    indices; the presenters write it (w⁽²⁾₀₁ or w(2)_01)."""

    name: str
    layer: int | None = None
    idx: tuple[int | str, ...] = ()


@dataclass(frozen=True)
class Node:
    """One box of the tree. ``value``: the quantity itself (``vector`` for the targets y);
    ``grad``: ∂C0/∂(this quantity) where the tree shows it; ``column``: its depth from the
    left (the leaves are 0); ``path``: the fan-out path (neuron i of the next layer) it belongs
    to, None if on every path; ``role``: "param" or "neuron" for the one the tree is about,
    else "value", "cost" or "target"."""

    key: str
    symbol: Symbol
    value: float | None
    column: int
    grad: float | None = None
    role: str = "value"
    note: str | None = None
    path: int | None = None
    vector: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Edge:
    """``source`` → ``target`` (node keys) with the local derivative ∂target/∂source (None: y,
    a constant of C0); ``path`` as for :class:`Node`. ``through``: the layers (first, last) the
    edge stands for when it skips some (a hidden a(l+1)i to C0)."""

    source: str
    target: str
    local: float | None
    path: int | None = None
    through: tuple[int, int] | None = None


@dataclass(frozen=True)
class Factor:
    """∂``of``/∂``by`` = ``value``; ``name``: the quantity it equals, where it has one
    (∂z(l)j/∂w(l)jk is a(l−1)k, ∂z(l+1)i/∂a(l)k is w(l+1)ik)."""

    of: Symbol
    by: Symbol
    value: float
    name: Symbol | None = None


@dataclass(frozen=True)
class Product:
    """∂C0/∂``by`` = the product of ``factors`` = ``value`` (the engine's); ``note`` when a
    factor is δ itself rather than ∂C0/∂a · ∂a/∂z."""

    by: Symbol
    factors: tuple[Factor, ...]
    value: float
    note: str | None = None


@dataclass(frozen=True)
class Term:
    """One path of a sum: ``index`` (the neuron i it goes through), its factors and their
    product ``value`` (the engine's term)."""

    index: int
    factors: tuple[Factor, ...]
    value: float


@dataclass(frozen=True)
class Paths:
    """∂``of``/∂``by`` = Σ over ``terms`` = ``total`` (the engine's); ``agrees``: the terms
    add up to the total within round-off (not so where the engine takes δ in a stable form and
    the drawn factors are ∞ · 0)."""

    of: Symbol
    by: Symbol
    terms: tuple[Term, ...]
    total: float
    agrees: bool
    note: str | None = None


@dataclass(frozen=True, eq=False)
class Tree:
    """The tree of ``target`` for example ``example`` of ``report``.

    ``product``: for a parameter, ∂C0/∂param as the product of the factors on its edges;
    ``paths``: the sum the tree fans out into: ∂C0/∂a(l)j over the paths through layer l+1
    (a hidden neuron, or the a(l)j of a hidden parameter), or δ(L)j through the softmax
    Jacobian; ``mean_gradient``: ∂C/∂param of the full cost (the mean over the examples).
    """

    report: AnalyzeReport
    target: Target
    example: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    product: Product | None
    paths: Paths | None
    mean_gradient: float | None
    notes: tuple[str, ...]

    @property
    def name(self) -> str:
        return target_name(self.target)

    def node(self, key: str) -> Node:
        return next(n for n in self.nodes if n.key == key)


def _key(s: Symbol) -> str:
    if s.name in ("w", "b", "a", "z"):
        return s.name + ".".join(str(x) for x in (s.layer, *s.idx))
    return s.name + "".join(str(x) for x in s.idx)


def _agrees(terms: list[float], total: float) -> bool:
    """Whether Σ terms is ``total`` within the round-off of adding them."""
    if not all(math.isfinite(t) for t in terms):
        return False
    scale = sum(abs(t) for t in terms)
    return abs(math.fsum(terms) - total) <= 1e-12 * max(scale, abs(total)) + 1e-300


class _Builder:
    """Collects the nodes and edges of one tree from the report's trace (example e)."""

    def __init__(self, report: AnalyzeReport, e: int) -> None:
        self.r = report
        self.net = report.network
        self.trace = report.trace
        self.e = e
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.notes: list[str] = []

    def add(self, node: Node) -> Node:
        self.nodes.setdefault(node.key, node)
        return node

    def link(self, source: Node, target: Node, local: float | None, path: int | None = None,
             through: tuple[int, int] | None = None) -> None:
        self.edges.append(Edge(source.key, target.key, local, path, through))

    # --- the quantities -------------------------------------------------------------------

    def a(self, l: int, j: int, column: int, role: str = "value",  # noqa: E741
          path: int | None = None) -> Node:
        """a(l)j with its value and ∂C0/∂a(l)j (a(0) is the input)."""
        e = self.e
        if l == 0:
            value = float(self.r.inputs[e, j])
            grad = float(self.trace.layers[0].dC_da_prev[e, j])
        else:
            t = self.trace.layers[l - 1]
            value, grad = float(t.a[e, j]), float(t.dC_da[e, j])
        s = Symbol("a", l, (j,))
        return self.add(Node(_key(s), s, value, column, grad, role=role, path=path))

    def z(self, l: int, j: int, column: int, path: int | None = None) -> Node:  # noqa: E741
        t = self.trace.layers[l - 1]
        s = Symbol("z", l, (j,))
        return self.add(Node(_key(s), s, float(t.z[self.e, j]), column,
                             float(t.dC_dz[self.e, j]), path=path))

    def cost(self, column: int) -> Node:
        c0 = float(self.trace.cost_per_example[self.e])
        return self.add(Node(C0, Symbol("C0"), c0, column, role="cost",
                             note=self.net.cost_fn.formula))

    def targets(self, column: int, cost: Node, j: int | None = None) -> None:
        """y (yj of the one output when ``j`` is given) → C0: a constant of C0, no derivative."""
        y = self.r.targets[self.e]
        if j is not None:
            s = Symbol("y", None, (j,))
            node = self.add(Node(_key(s), s, float(y[j]), column, role="target"))
        else:
            node = self.add(Node("y", Symbol("y"), None, column, role="target",
                                 vector=tuple(float(v) for v in y)))
        self.link(node, cost, None)

    def elementwise(self, l: int) -> bool:  # noqa: E741
        return self.net.layers[l - 1].sigma.elementwise

    def stable(self, l: int, j: int) -> bool:  # noqa: E741
        """Whether δ(l)j is shown as itself, the engine's stable form, rather than as the
        product ∂C0/∂a(l)j · ∂a(l)j/∂z(l)j: in layer L where the engine takes it from z (the
        cost's stable form) and that product is not δ (∞ · 0 at a saturated output); the
        derivations decide alike (Derivation.stable_delta)."""
        return (l == self.net.depth and self.r.fused is not None
                and not self.r.product_is_delta(self.e, j))

    # --- the pieces of a tree -------------------------------------------------------------

    def output(self, l: int, j: int, a_node: Node, column: int) -> None:  # noqa: E741
        """a(L)j → C0 ← y: ∂C0/∂a(L)j from the cost."""
        cost = self.cost(column)
        self.link(a_node, cost, a_node.grad)
        self.targets(column - 1, cost, j)

    def fanout(self, l: int, k: int, column: int, role: str = "value") -> Paths:  # noqa: E741
        """a(l)k → z(l+1)i → a(l+1)i → C0 for every neuron i of layer l+1 (l < L), and the
        sum ∂C0/∂a(l)k over those paths; a(l)k's node is in ``column``."""
        L, e = self.net.depth, self.e
        nxt = l + 1
        src = self.a(l, k, column, role=role)
        ps = self.r.path_sum(e, nxt, k)
        terms = sorted(ps.terms, key=lambda t: t.j)
        elementwise = self.elementwise(nxt)
        stable = [self.stable(nxt, p.j) for p in terms]
        end = column + (3 if elementwise else 2)
        cost = self.cost(end)
        self.targets(end - 1, cost)
        t_next = self.trace.layers[nxt - 1]
        out: list[Term] = []
        for p in terms:
            i = p.j
            w = Factor(Symbol("z", nxt, (i,)), Symbol("a", l, (k,)), p.w,
                       Symbol("w", nxt, (i, k)))
            z = self.z(nxt, i, column + 1, path=i)
            self.link(src, z, p.w, path=i)
            if elementwise:
                a = self.a(nxt, i, column + 2, path=i)
                da_dz = float(t_next.da_dz[e, i])
                self.link(z, a, da_dz, path=i)
                through = (nxt + 1, L) if nxt < L else None
                self.link(a, cost, a.grad, path=i, through=through)
            else:  # softmax: every a(L) depends on every z(L); δ(L)i as one edge
                self.link(z, cost, z.grad, path=i)
            factors: tuple[Factor, ...]
            if elementwise and not stable[i]:  # the term is w · σ' · ∂C0/∂a as drawn
                assert p.da_dz is not None and p.dC_da is not None
                factors = (w, Factor(Symbol("a", nxt, (i,)), Symbol("z", nxt, (i,)), p.da_dz),
                           Factor(Symbol("C0"), Symbol("a", nxt, (i,)), p.dC_da))
            else:
                factors = (w, Factor(Symbol("C0"), Symbol("z", nxt, (i,)), p.dC_dz))
            out.append(Term(i, factors, p.term))
        if nxt < L:
            later = f"layer {nxt + 1}" if nxt + 1 == L else f"layers {nxt + 1} to {L}"
            self.notes.append(f"each ∂C0/∂a({nxt})i comes from {later}, a sum over paths as "
                              f"this one is (--tree a{nxt}.i draws it)")
        note = None
        if not elementwise:
            note = (f"layer {nxt} is softmax: its ∂a/∂z is a Jacobian, so each path carries "
                    f"∂C0/∂z({nxt})i = δ({nxt})i")
        elif any(stable) and self.r.fused is not None:
            note = (f"δ({nxt})i = ∂C0/∂z({nxt})i = {self.r.fused.text} is taken from z({nxt}) "
                    f"directly (the stable form of {self.net.cost}), not as ∂C0/∂a · ∂a/∂z, "
                    "which is ∞ · 0 at a saturated output: the paths through "
                    + ", ".join(f"a({nxt}){p.j}" for p, s in zip(terms, stable, strict=True)
                                if s) + " carry δ itself")
        return Paths(Symbol("C0"), Symbol("a", l, (k,)), tuple(out), ps.sum,
                     _agrees([t.value for t in out], ps.sum), note)

    def jacobian(self, j: int, z_node: Node, column: int) -> Paths:
        """A softmax output: z(L)j → a(L)i for every i (∂a(L)i/∂z(L)j = a(L)i(1[i=j] − a(L)j))
        → C0, and δ(L)j as the sum over i."""
        L, e = self.net.depth, self.e
        t = self.trace.layers[L - 1]
        cost = self.cost(column + 1)
        self.targets(column, cost)
        terms: list[Term] = []
        for i in range(self.net.sizes[L]):
            a = self.a(L, i, column, path=i)
            jac = float(t.da_dz[e, i, j])
            self.link(z_node, a, jac, path=i)
            self.link(a, cost, a.grad, path=i)
            factors = (Factor(Symbol("C0"), Symbol("a", L, (i,)), float(t.dC_da[e, i])),
                       Factor(Symbol("a", L, (i,)), Symbol("z", L, (j,)), jac))
            terms.append(Term(i, factors, float(t.dC_da[e, i]) * jac))
        delta = float(t.dC_dz[e, j])
        agrees = _agrees([x.value for x in terms], delta)
        note = (f"∂a({L})i/∂z({L}){j} = a({L})i(1[i = {j}] − a({L}){j}), the softmax Jacobian")
        if self.r.fused is not None:
            note += (f"; the engine takes δ({L}){j} in the stable form of {self.net.cost} with "
                     f"softmax, {self.r.fused.text}")
            if not agrees:
                note += ", which these terms do not give here (a saturated output)"
        return Paths(Symbol("C0"), Symbol("z", L, (j,)), tuple(terms), delta,
                     agrees, note)

    def param(self, p: Param) -> tuple[Product, Paths | None, float]:
        """w(l)jk or b(l)j: the leaves, z(l)j, a(l)j and on to C0."""
        l, j, e, L = p.layer, p.j, self.e, self.net.depth  # noqa: E741
        layer, t = self.net.layers[l - 1], self.trace.layers[l - 1]
        row = self.r.row(e, p)
        b_sym = Symbol("b", l, (j,))
        z = self.z(l, j, 1)
        n_prev = layer.weights.shape[1]
        if p.kind == "w":
            assert p.k is not None
            k = p.k
            by = Symbol("w", l, (j, k))
            own = self.add(Node(_key(by), by, row.value, 0, row.gradient, role="param"))
            a_prev = self.a(l - 1, k, 0)
            b = self.add(Node(_key(b_sym), b_sym, float(layer.biases[j]), 0))
            self.link(own, z, row.dz_dw)
            self.link(a_prev, z, float(layer.weights[j, k]))
            self.link(b, z, 1.0)
            dz = Factor(Symbol("z", l, (j,)), by, row.dz_dw, Symbol("a", l - 1, (k,)))
            others = n_prev - 1  # the terms of z(l)j the tree leaves out
            which = f"other term{'s' if others > 1 else ''} w({l}){j}k · a({l - 1})k (k ≠ {k})"
        else:
            by = b_sym
            own = self.add(Node(_key(by), by, row.value, 0, row.gradient, role="param"))
            self.link(own, z, 1.0)
            dz = Factor(Symbol("z", l, (j,)), by, 1.0)
            others = n_prev
            which = f"term{'s' if others > 1 else ''} w({l}){j}k · a({l - 1})k"
        if others:
            self.notes.append(
                f"z({l}){j} = Σk w({l}){j}k a({l - 1})k + b({l}){j}: its "
                + (f"{others} {which} are not drawn: they do" if others > 1
                   else f"{which} is not drawn: it does")
                + f" not depend on {param_name(p)}")
        paths: Paths | None = None
        delta = Factor(Symbol("C0"), Symbol("z", l, (j,)), row.dC_dz)
        note: str | None = None
        factors: tuple[Factor, ...]
        if not self.elementwise(l):  # softmax output
            paths = self.jacobian(j, z, 2)
            factors = (delta, dz)
            note = (f"a softmax has no single ∂a/∂z: δ({l}){j} = ∂C0/∂z({l}){j} = Σi "
                    f"∂C0/∂a({l})i · ∂a({l})i/∂z({l}){j}, over the paths through every a({l})i")
        else:
            a_node = self.a(l, j, 2)
            self.link(z, a_node, float(t.da_dz[e, j]))
            if l == L:
                self.output(l, j, a_node, 3)
            else:
                paths = self.fanout(l, j, 2)
            if self.stable(l, j):
                factors = (delta, dz)
                note = self.r.fused_note
            else:
                assert row.da_dz is not None
                factors = (Factor(Symbol("C0"), Symbol("a", l, (j,)), row.dC_da),
                           Factor(Symbol("a", l, (j,)), Symbol("z", l, (j,)), row.da_dz), dz)
        return Product(by, factors, row.gradient, note), paths, row.mean_gradient

    def neuron(self, n: Neuron) -> Paths | None:
        """a(l)j: its fan-out (l < L), or its ∂C0/∂a(L)j from the cost (the output layer)."""
        L = self.net.depth
        if n.layer < L:
            if n.layer == 0:
                self.notes.append(f"a(0){n.j} is input {n.j} of the example: no weight or bias "
                                  "feeds it, but the cost is as sensitive to it as this sum says")
            return self.fanout(n.layer, n.j, 0, role="neuron")
        a_node = self.a(L, n.j, 0, role="neuron")
        self.output(L, n.j, a_node, 1)
        self.notes.append(f"a({L}){n.j} is an output neuron: it reaches the cost directly, so "
                          f"∂C0/∂a({L}){n.j} comes from the cost, not from a sum over paths")
        return None


def tree(report: AnalyzeReport, target: Target, example: int = 0) -> Tree:
    """The tree of ``target`` (a :class:`Param` or a :class:`Neuron` of the report's
    network) for example ``example`` of the report (a report over every example)."""
    check_example(example, report.example_count)
    b = _Builder(report, example)
    product: Product | None = None
    mean: float | None = None
    if isinstance(target, Neuron):
        paths = b.neuron(target)
    else:
        product, paths, mean = b.param(target)
    return Tree(report, target, example, tuple(b.nodes.values()), tuple(b.edges), product,
                paths, mean, tuple(b.notes))
