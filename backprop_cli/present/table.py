"""Rich tables of the analyze report, in the seed's notation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from rich.console import Console
from rich.text import Text

from backprop_cli.errors import plural
from backprop_cli.network import Param
from backprop_cli.present import Options
from backprop_cli.present.console import make_console
from backprop_cli.present.fit import Cell, Col, Grid
from backprop_cli.present.fit import show as show_grid
from backprop_cli.present.notation import cost0, number, partial, sym
from backprop_cli.reports.analyze import AnalyzeReport

DEFAULT_PRECISION = 6
MAX_EXAMPLE_COLUMNS = 5


class _Fmt:
    def __init__(self, options: Options, default_precision: int = DEFAULT_PRECISION) -> None:
        self.digits = options.precision or default_precision
        self.fixed = options.precision is not None  # --precision: kept at every width
        self.ascii = options.ascii

    def num(self, x: float | None) -> str:
        return number(x, self.digits, self.ascii)

    def sym(self, name: str, layer: int | str | None = None, *idx: int | str) -> str:
        return sym(name, layer, *idx, ascii=self.ascii)

    def d(self, num: str, den: str) -> str:
        return partial(num, den, self.ascii)

    @property
    def c0(self) -> str:
        return cost0(self.ascii)

    def param(self, p: Param) -> str:
        if p.kind == "w":
            assert p.k is not None
            return self.sym("w", p.layer, p.j, p.k)
        return self.sym("b", p.layer, p.j)


def show(console: Console, f: _Fmt, grid: Grid) -> None:
    """``grid`` laid out for the console's width, at ``f``'s digits and alphabet."""
    show_grid(console, grid, digits=f.digits, fixed=f.fixed, ascii=f.ascii)


def render_analyze(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    console = make_console(out, options)
    f = _Fmt(options)
    net = report.network
    limit = options.limit
    header = (
        f"{net.name or 'network'}: sizes {'-'.join(map(str, net.sizes))}, cost {net.cost} "
        f"({net.cost_fn.formula}), {report.scope}; "
        f"C = mean of {f.c0} = {f.num(report.trace.cost)}"
    )
    console.print(Text(header, style="bold"))
    for e in report.examples:
        _forward(console, report, f, e, limit)
        _parameters(console, report, f, e, "w", limit)
        _parameters(console, report, f, e, "b", limit)
        _backward(console, report, f, e, limit)
        if report.paths:
            _paths(console, report, f, e, limit)
    if report.example_count > 1:
        _full_gradient(console, report, f, limit)


def _forward(console: Console, report: AnalyzeReport, f: _Fmt, e: int, limit: int | None) -> None:
    net = report.network
    L = net.depth
    c0 = f.num(float(report.trace.cost_per_example[e]))
    caption = f"{f.c0} = {net.cost_fn.formula.split('=', 1)[1].strip()} = {c0}"
    if report.forward_note:
        caption = f"C = mean of {f.c0} over the rows = {c0}\n{report.forward_note}"
    grid = Grid(
        f"Forward pass — {report.example_title(e)}",
        ["neuron", f.sym("z", "l", "j"), f.sym("a", "l", "j"),
         Col("target " + f.sym("y", None, "j"), f.sym("y", None, "j"))],
        caption=caption,
    )
    rows: list[list[Cell]] = []
    layers = [0, *report.layers] if 1 in report.layers else list(report.layers)
    for l in layers:  # noqa: E741
        if l == 0:
            rows.extend([f.sym("a", 0, k), "", float(x), ""]
                        for k, x in enumerate(report.inputs[e]))
            continue
        t = report.trace.layers[l - 1]
        for j in range(t.z.shape[1]):
            target: Cell = float(report.targets[e, j]) if l == L else ""
            rows.append([f.sym("a", l, j), float(t.z[e, j]), float(t.a[e, j]), target])
    grid.add_rows(rows, len(rows), limit)
    show(console, f, grid)


def _parameters(console: Console, report: AnalyzeReport, f: _Fmt, e: int, kind: str,
                limit: int | None) -> None:
    total = report.param_count(kind=kind)
    if not total:
        return
    params = report.params(kind=kind, limit=limit)
    layers = report.param_layers(kind)
    is_w = kind == "w"
    what = f.sym("w", "l", "j", "k") if is_w else f.sym("b", "l", "j")
    a, z = f.sym("a", "l", "j"), f.sym("z", "l", "j")
    a_prev = f.sym("a", "l-1", "k")
    dz = Col(f"{f.d(z, what)} = {a_prev}", a_prev, f"{a_prev} = {f.d(z, what)}") if is_w else \
        Col(f"{f.d(z, what)} = 1", f.d("z", kind), "")
    # short headers: the formula under the table has them in full; the row names the indices
    columns: list[Col | str] = [
        "param", "value", Col(f.d(f.c0, a), f.d(f.c0, "a"), ""), Col(f.d(a, z), f.d("a", "z"), ""),
        Col(f.d(f.c0, z), "δ", f"δ = {f.d(f.c0, z)}"), dz,
        Col(f.d(f.c0, what), f.d(f.c0, kind), ""),
    ]
    softmax_layers = [l for l in layers if not report.is_elementwise(l)]  # noqa: E741
    notes = [f"{f.d(f.c0, what)} = {f.d(f.c0, a)} · {f.d(a, z)} · {f.d(z, what)}"]
    if softmax_layers:
        notes.append(
            f"{f.d('a', 'z')} — (softmax, layer {', '.join(map(str, softmax_layers))}): every "
            f"a_i depends on every z_j, so there is no per-neuron factor; {f.d(f.c0, z)} = "
            f"Σi {f.d(f.c0, 'a_i')} · {f.d('a_i', 'z_j')} is used in its place."
        )
    if report.factor_note:
        notes.append(report.factor_note)
    if report.fused_note and report.network.depth in layers:
        notes.append(report.fused_note)
    title = f"{'Weights' if is_w else 'Biases'} — {report.example_title(e)}"
    if report.top is not None:
        title += f" (top {report.top} by |{f.d('C', 'param')}|)"

    def rows() -> Iterable[list[Cell]]:
        for p in params:
            r = report.row(e, p)
            yield [f.param(p), r.value, r.dC_da, r.da_dz, r.dC_dz, r.dz_dw, r.gradient]

    grid = Grid(title, columns, "\n".join(notes),
                short_note="the layer and indices are those of the row's parameter")
    grid.add_rows(rows(), total, limit)
    show(console, f, grid)


def _backward(console: Console, report: AnalyzeReport, f: _Fmt, e: int, limit: int | None) -> None:
    a_prev = f.sym("a", "l-1", "k")
    formula = (
        f"{f.d(f.c0, a_prev)} = Σj {f.sym('w', 'l', 'j', 'k')} · "
        f"{f.d(f.sym('a', 'l', 'j'), f.sym('z', 'l', 'j'))} · {f.d(f.c0, f.sym('a', 'l', 'j'))}"
    )
    grid = Grid(
        f"Propagating backwards — {report.example_title(e)}",
        ["neuron", "value", f.d(f.c0, a_prev), "paths"],
        caption=f"{formula}\nEach neuron reaches the cost through every neuron of the next "
        "layer (paths: how many); the paths add up. For layer 0 this is the sensitivity to "
        "the input.",
    )
    rows: list[list[Cell]] = []
    for l in sorted(report.layers, reverse=True):  # noqa: E741
        t = report.trace.layers[l - 1]
        n = t.z.shape[1]
        for k in range(t.dz_dw.shape[1]):
            rows.append([f.sym("a", l - 1, k), float(t.dz_dw[e, k]), float(t.dC_da_prev[e, k]),
                         str(n)])
    grid.add_rows(rows, len(rows), limit)
    show(console, f, grid)


def _full_gradient(console: Console, report: AnalyzeReport, f: _Fmt, limit: int | None) -> None:
    m = report.example_count
    per_example = m <= MAX_EXAMPLE_COLUMNS
    columns: list[Col | str] = ["param"]
    if per_example:
        columns += [Col(f"{f.d(f.c0, 'param')} example {e}", f"example {e}", "")
                    for e in range(m)]
    columns.append(Col(f"{f.d('C', 'param')} mean over {plural(m, 'example')}",
                       f"mean over {m}", ""))
    caption = f"C = (1/{m}) Σ {f.c0} over {plural(m, 'example')}"
    if per_example:
        caption += (f"; example e: {f.d(f.c0, 'param')} of that example alone; mean over "
                    f"{m}: {f.d('C', 'param')}, their mean")
    grid = Grid("Gradient of the full cost", columns, caption=caption)
    params = report.params(limit=limit)

    def rows() -> Iterable[list[Cell]]:
        for p in params:
            gradients, mean = report.trace.param_gradient(p.layer, p.kind, p.j, p.k)
            cells: list[Cell] = [f.param(p)]
            if per_example:
                cells += [float(g) for g in gradients.tolist()]
            cells.append(mean)
            yield cells

    grid.add_rows(rows(), report.param_count(), limit)
    show(console, f, grid)


def _paths(console: Console, report: AnalyzeReport, f: _Fmt, e: int, limit: int | None) -> None:
    w, a, z = f.sym("w", "l", "j", "k"), f.sym("a", "l", "j"), f.sym("z", "l", "j")
    softmax = sorted(l for l in report.layers if not report.is_elementwise(l))  # noqa: E741
    caption = (f"{f.d(f.c0, f.sym('a', 'l-1', 'k'))} = Σj {w} · {f.d(a, z)} · {f.d(f.c0, a)}\n"
               "Largest |term| first; the last row of each neuron is the sum of its paths.")
    if softmax:
        caption += (
            f"\nSoftmax (layer {', '.join(map(str, softmax))}): every a_i depends on every z_j, "
            f"so the term is {w} · {f.d(f.c0, z)} and {f.d(a, z)}, {f.d(f.c0, a)} show —."
        )
    if report.factor_note:
        caption += f"\n{report.factor_note}"
    if report.fused_note:
        caption += f"\nLayer {report.network.depth}: {report.fused_note}"
    grid = Grid(
        f"Paths — {report.example_title(e)}",
        ["neuron", "via", Col(w, "w"), Col(f.d(a, z), f.d("a", "z")),
         Col(f.d(f.c0, a), f.d(f.c0, "a")), "term"],
        caption=caption,
    )

    def rows() -> Iterable[list[Cell]]:
        for ps in report.path_sums(e):  # one neuron's paths at a time, as the rows are shown
            for t in ps.terms:
                yield [f.sym("a", ps.layer - 1, ps.k), f.sym("a", ps.layer, t.j), t.w,
                       t.da_dz, t.dC_da, t.term]
            yield [f.sym("a", ps.layer - 1, ps.k), "sum" if f.ascii else "Σ", "", "", "",
                   ps.sum]

    sizes = report.network.sizes
    total = sum((sizes[n] + 1) * sizes[n - 1] for n in report.layers)  # rows: terms and Σ
    grid.add_rows(rows(), total, limit)
    show(console, f, grid)
