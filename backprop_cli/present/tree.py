"""``backprop graph --tree PARAM``: the dependency tree of :mod:`reports.tree` as SVG (drawn
here), Graphviz DOT or Mermaid. No math here.

Every box is a quantity with its value and, below it, ∂C0/∂(that quantity); every edge carries
its local derivative ∂(right)/∂(left). Under the picture the chain rule is written out with the
numbers, by :class:`present.derivation.Derivation` (the lines of ``analyze --format text``,
whose operands multiply out by hand to the digits shown). A fan-out wider than ``max_shown``
draws its first and last paths and "… n more"; its sum is over every path.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TextIO
from xml.sax.saxutils import escape

from backprop_cli.errors import plural, printable
from backprop_cli.network import Param
from backprop_cli.present import Options
from backprop_cli.present.derivation import Block, Derivation, param_sym
from backprop_cli.present.graph import MAX_SHOWN, NEGATIVE, POSITIVE, _dot_str, _mermaid_str, shown
from backprop_cli.present.notation import cost0, number, partial, sym, to_ascii
from backprop_cli.present.text import TextRenderer
from backprop_cli.reports.tree import C0, Edge, Neuron, Node, Symbol, Tree

BOX_W, LINE, PAD = 156, 16, 7
GAP = 196  # between the boxes of two columns: room for the edge labels
ROW = 86
LEFT, TOP = 28, 78
TEXT_WIDTH = 110  # characters per line of the equations under the picture
CHAR_W = 6.9  # a character of the 12 px font, on average (the canvas is sized with it)
PARAM_FILL, PLAIN_FILL, COST_FILL = "#dbeafe", "#ffffff", "#fef3c7"
MORE = "more"  # the key of a "… n more" marker (one per column)


@dataclass(frozen=True)
class Placed:
    """A node (or a "… n more" marker, ``node`` None) at its place: (x, y) is the box's
    top-left corner."""

    node: Node | None
    column: int
    x: float
    y: float
    height: float
    hidden: int = 0

    @property
    def key(self) -> str:
        return self.node.key if self.node else f"{MORE}{self.column}"


@dataclass(frozen=True)
class View:
    """The tree to draw: the nodes and edges of the paths shown (``max_shown`` of a fan-out
    at most, the marker included) and where they go; ``hidden``: the paths not drawn;
    ``width`` of the boxes' columns; ``text_top``: where the lines under them start."""

    tree: Tree
    placed: tuple[Placed, ...]
    edges: tuple[Edge, ...]
    hidden: int
    width: float
    text_top: float


def _lines(node: Node) -> int:
    return 2 + (node.grad is not None) + (node.note is not None)


def view(t: Tree, max_shown: int = MAX_SHOWN) -> View:
    """Place the nodes of ``t``: columns left to right, a fan-out's paths one row each (a
    node on every path centred), the targets y in a row of their own at the bottom."""
    paths = sorted({n.path for n in t.nodes if n.path is not None})
    kept, hidden = shown(len(paths), max_shown) if paths else ([], 0)
    keep = {paths[i] for i in kept}
    nodes = [n for n in t.nodes if n.path is None or n.path in keep]
    slots = len(kept) + (1 if hidden else 0) if paths else 1
    slots = max(slots, max(sum(1 for n in nodes if n.column == c and n.path is None
                               and n.role != "target")
                           for c in {n.column for n in nodes}))
    head = max_shown // 2
    placed: list[Placed] = []
    columns = sorted({n.column for n in nodes})
    for c in columns:
        x = LEFT + c * (BOX_W + GAP)
        on_paths = [n for n in nodes if n.column == c and n.path is not None]
        others = [n for n in nodes if n.column == c and n.path is None and n.role != "target"]
        if on_paths:
            for slot, n in enumerate(on_paths):
                at = slot + (1 if hidden and slot >= head else 0)
                placed.append(_place(n, c, x, TOP + at * ROW))
            if hidden:
                placed.append(Placed(None, c, x, TOP + head * ROW, LINE * 2, hidden))
        else:
            y0 = TOP + (slots - len(others)) * ROW / 2
            placed.extend(_place(n, c, x, y0 + i * ROW) for i, n in enumerate(others))
        for n in nodes:
            if n.column == c and n.role == "target":
                placed.append(_place(n, c, x, TOP + slots * ROW))
    keys = {p.key for p in placed}
    edges = tuple(e for e in t.edges if e.source in keys and e.target in keys)
    targets = any(n.role == "target" for n in nodes)
    text_top = TOP + (slots + targets) * ROW + 12
    width = LEFT * 2 + (max(columns) + 1) * BOX_W + max(columns) * GAP
    return View(t, tuple(placed), edges, hidden, width, text_top)


def _more(p: Placed, ascii: bool) -> str:
    return f"{'...' if ascii else '…'} {p.hidden} more"


def _fill(n: Node) -> str:
    return (PARAM_FILL if n.role in ("param", "neuron") else
            COST_FILL if n.role == "cost" else PLAIN_FILL)


def _place(n: Node, column: int, x: float, y: float) -> Placed:
    return Placed(n, column, x, y, _lines(n) * LINE + 2 * PAD - 4)


class Words:
    """The tree's text in the seed's notation (``ascii``: w(2)_01, dC0/dw(2)_01)."""

    def __init__(self, t: Tree, ascii: bool) -> None:
        self.t = t
        self.ascii = ascii
        self.derivation = Derivation(t.report, None, None)
        self.renderer = TextRenderer(ascii, TEXT_WIDTH, self.derivation.words())

    def text(self, s: str) -> str:
        """Words of the core (its notes, in the tables' notation) for the output."""
        s = printable(s, lines=False)
        return to_ascii(s) if self.ascii else s

    def sym(self, s: Symbol) -> str:
        if s.name == "C0":
            return cost0(self.ascii)
        return sym(s.name, s.layer, *s.idx, ascii=self.ascii)

    def d(self, of: Symbol, by: Symbol) -> str:
        return partial(self.sym(of), self.sym(by), ascii=self.ascii)

    def num(self, x: float | None) -> str:
        return number(x, 4, ascii=self.ascii)

    # --- boxes and edges ------------------------------------------------------------------

    def box(self, n: Node) -> list[str]:
        """The lines of a box: the symbol, its value, ∂C0/∂it, a note (the cost's formula)."""
        if n.vector is not None:
            values = [self.num(v) for v in n.vector]
            if len(values) > 4:
                values = [*values[:2], "…" if not self.ascii else "...", values[-1]]
            value = f"({', '.join(values)})"
        else:
            value = self.num(n.value)
        lines = [self.sym(n.symbol), f"= {value}"]
        if n.grad is not None:
            lines.append(f"{self.d(Symbol('C0'), n.symbol)} = {self.num(n.grad)}")
        if n.note is not None:
            lines.append(self.text(n.note.removeprefix("C0 = ")))
        return lines

    def edge(self, e: Edge) -> list[str]:
        """Two lines: ∂target/∂source, then what it equals (a name, where it has one) and its
        value; none for y, a constant of C0."""
        if e.local is None:
            return []
        src, dst = self.t.node(e.source).symbol, self.t.node(e.target).symbol
        name = self.name(src, dst)
        value = self.num(e.local)
        second = f"= {name} = {value}" if name and name != value else f"= {value}"
        return [self.d(dst, src), self.text(second) if self.ascii else second]

    def name(self, src: Symbol, dst: Symbol) -> str | None:
        """What ∂dst/∂src is in symbols: a(l−1)k for ∂z/∂w, w for ∂z/∂a, 1 for ∂z/∂b, σ'(z)
        for ∂a/∂z, the Jacobian entry of a softmax, δ for a softmax z's edge to C0."""
        prime = "'"  # as the derivations write σ'(z)
        if dst.name == "z" and src.name == "w":
            assert dst.layer is not None
            return self.sym(Symbol("a", dst.layer - 1, src.idx[1:]))
        if dst.name == "z" and src.name == "a":
            return self.sym(Symbol("w", dst.layer, (*dst.idx, *src.idx)))
        if dst.name == "z" and src.name == "b":
            return "1"
        if dst.name == "a" and src.name == "z":
            if self.t.report.is_elementwise(dst.layer or 0):
                return f"{'sigma' if self.ascii else 'σ'}{prime}({self.sym(src)})"
            aj = self.sym(Symbol("a", src.layer, src.idx))  # "-" as the numbers write it
            return f"{aj}(1 - {aj})" if dst.idx == src.idx else f"-{self.sym(dst)}{aj}"
        if dst.name == "C0" and src.name == "z":
            return sym("δ" if not self.ascii else "delta", src.layer, *src.idx,
                       ascii=self.ascii)
        return None

    # --- the equations under the picture --------------------------------------------------

    def equations(self) -> list[Block]:
        """The derivation's lines for this tree: the factors from the cost down to the
        parameter (or the neuron's sum), then ∂C0/∂param; ∂C/∂param over the examples."""
        t, d = self.t, self.derivation
        r, e, L = t.report, t.example, t.report.network.depth
        out: list[Block] = []
        if isinstance(t.target, Neuron):
            n = t.target
            if n.layer < L:
                out.extend(d.backward_step(e, n.layer + 1, n.j))
            else:
                out.append(d.output_line(e, n.j))
            return out
        p: Param = t.target
        l, j = p.layer, p.j  # noqa: E741
        if l == L and d.stable_delta(e, j):
            out.append(d.delta(e, j))
        elif not r.is_elementwise(l):
            out.append(d.softmax_delta(e, j))
        else:
            if l == L:
                out.append(d.output_line(e, j))
            else:
                out.extend(d.backward_step(e, l + 1, j))
            out.append(d.da_dz(e, l, j))
        out.append(d.chain(e, p))
        m = r.example_count
        if m > 1 and t.mean_gradient is not None:
            gradients = [r.row(i, p).gradient for i in range(m)]
            out.append(d.mean(param_sym(p), gradients, t.mean_gradient))
        return out

    def below(self) -> list[str]:
        """Every line written under the picture: the equations, then the notes."""
        return [line for line, _ in self.marked()]

    def marked(self) -> list[tuple[str, bool]]:
        """:meth:`below`'s lines, each with whether it is the tree's own result (∂C0/∂param,
        or the neuron's ∂C0/∂a)."""
        equations = self.equations()
        own = 0 if isinstance(self.t.target, Neuron) else (
            len(equations) - (2 if self.t.report.example_count > 1 else 1))
        out: list[tuple[str, bool]] = []
        for i, eq in enumerate(equations):
            out.extend((line, i == own) for line in self.renderer.block(eq).splitlines())
        out.extend((line, False) for line in self.notes())
        return out

    def notes(self) -> list[str]:
        lines: list[str] = []
        notes = [*self.t.notes]
        if self.t.product is not None and self.t.product.note:
            notes.append(self.t.product.note)
        if self.t.paths is not None and self.t.paths.note:
            notes.append(self.t.paths.note)
        for note in notes:
            lines.extend(textwrap.wrap(self.text(note), TEXT_WIDTH, break_on_hyphens=False))
        return lines

    def title(self) -> str:
        t = self.t
        r = t.report
        name = printable(r.network.name or "network", lines=False)
        what = (f"neuron {self.sym(Symbol('a', t.target.layer, (t.target.j,)))}"
                if isinstance(t.target, Neuron) else self.sym(_param_symbol(t.target)))
        m = r.example_count
        text = (f"{name}: the dependency tree of {what}, example {t.example} "
                f"(of {plural(m, 'example')}); {cost0(self.ascii)} is that example's cost")
        return to_ascii(text) if self.ascii else text

    def legend(self) -> str:
        text = ("boxes: the value, then ∂C₀/∂(that value); edges: the local derivative "
                "∂(right)/∂(left) (dashed: through later layers); the chain rule multiplies "
                "them along a path and adds the paths")
        return to_ascii(text) if self.ascii else text


def _param_symbol(p: Param) -> Symbol:
    return Symbol("w", p.layer, (p.j, p.k)) if p.k is not None else Symbol("b", p.layer, (p.j,))


# --- SVG ------------------------------------------------------------------------------------

def _text_width(text: str) -> float:
    return len(text) * CHAR_W


def render_svg(v: View, *, ascii: bool = False) -> str:
    """A standalone SVG document: boxes, edges with their labels, the equations below."""
    words = Words(v.tree, ascii)
    below = words.below()
    title, legend = words.title(), words.legend()
    marked = [(legend, False), *words.marked()]
    text_lines = [legend, *below]
    width = max(v.width, LEFT * 2 + max(_text_width(s) for s in [title, *text_lines]))
    height = v.text_top + 22 + LINE * 1.25 * len(text_lines) + 16
    at = {p.key: p for p in v.placed}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12" role="img" '
        f'class="tree" data-tree="{escape(v.tree.name)}" data-example="{v.tree.example}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text class="title" x="{LEFT}" y="30" font-size="14" font-weight="bold" '
        f'fill="#111827">{escape(title)}</text>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#6b7280"/></marker></defs>',
    ]
    fan_in: dict[str, int] = {}
    fan_out: dict[str, int] = {}
    for e in v.edges:
        fan_in[e.target] = fan_in.get(e.target, 0) + 1
        fan_out[e.source] = fan_out.get(e.source, 0) + 1
    out.append('<g class="edges">')
    labels: list[str] = []
    for e in v.edges:
        a, b = at[e.source], at[e.target]
        x1, y1 = a.x + BOX_W, a.y + a.height / 2
        x2, y2 = b.x, b.y + b.height / 2
        data = f'data-source="{e.source}" data-target="{e.target}"'
        if e.local is None:
            out.append(f'<line class="edge constant" {data} x1="{x1:g}" y1="{y1:g}" '
                       f'x2="{x2:g}" y2="{y2:g}" stroke="#9ca3af" stroke-width="1.2" '
                       'stroke-dasharray="5 4" marker-end="url(#arrow)"/>')
            continue
        colour = POSITIVE if e.local > 0 else NEGATIVE if e.local < 0 else "#9ca3af"
        dash = ' stroke-dasharray="8 4"' if e.through else ""
        out.append(f'<line class="edge" {data} data-local="{e.local!r}" x1="{x1:g}" '
                   f'y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="{colour}" stroke-width="1.6"'
                   f'{dash} marker-end="url(#arrow)"/>')
        # the label where the edges it meets are apart: near the "many" end
        f = 0.34 if fan_in.get(e.target, 0) > 1 and fan_out.get(e.source, 0) == 1 else (
            0.6 if fan_out.get(e.source, 0) > 1 else 0.5)
        lx, ly = x1 + (x2 - x1) * f, y1 + (y2 - y1) * f
        lines = words.edge(e)
        w = max(_text_width(s) for s in lines) * 0.92 + 8
        labels.append(f'<g class="edge-label" {data}>'
                      f'<rect x="{lx - w / 2:.1f}" y="{ly - 15:.1f}" width="{w:.1f}" '
                      f'height="30" rx="3" fill="#ffffff" fill-opacity="0.9"/>'
                      f'<text x="{lx:.1f}" y="{ly - 3:.1f}" text-anchor="middle" '
                      f'font-size="11.5" fill="#1f2937">{escape(lines[0])}</text>'
                      f'<text x="{lx:.1f}" y="{ly + 11:.1f}" text-anchor="middle" '
                      f'font-size="11.5" fill="#1f2937">{escape(lines[1])}</text></g>')
    out.append("</g>")
    out.append('<g class="edge-labels">')
    out.extend(labels)
    out.append("</g>")
    out.append('<g class="nodes">')
    for p in v.placed:
        if p.node is None:
            more = _more(p, ascii)
            out.append(f'<text class="more" data-hidden="{p.hidden}" x="{p.x + BOX_W / 2:g}" '
                       f'y="{p.y + LINE:g}" text-anchor="middle" fill="#6b7280">'
                       f"{escape(more)}</text>")
            continue
        n = p.node
        fill = _fill(n)
        stroke = "#1d4ed8" if n.role in ("param", "neuron") else "#374151"
        out.append(f'<g class="node" data-node="{n.key}" data-role="{n.role}"'
                   + (f' data-value="{n.value!r}"' if n.value is not None else "")
                   + (f' data-grad="{n.grad!r}"' if n.grad is not None else "") + ">")
        out.append(f'<rect x="{p.x:g}" y="{p.y:g}" width="{BOX_W}" height="{p.height:g}" '
                   f'rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1.4"/>')
        for i, line in enumerate(words.box(n)):
            weight = ' font-weight="bold" font-size="13"' if i == 0 else (
                ' font-size="10" fill="#6b7280"' if i == 3 or (i == 2 and n.grad is None)
                else "")
            out.append(f'<text x="{p.x + BOX_W / 2:g}" y="{p.y + PAD + 10 + i * LINE:g}" '
                       f'text-anchor="middle"{weight}>{escape(line)}</text>')
        out.append("</g>")
    out.append("</g>")
    y = v.text_top + 14
    out.append(f'<g class="equations" font-size="12" fill="#111827" '
               f'transform="translate({LEFT} {y:g})">')
    for i, (line, own) in enumerate(marked):
        cls, style = (("legend", ' fill="#4b5563"') if i == 0 else
                      ("result", ' font-weight="bold"') if own else ("line", ""))
        out.append(f'<text class="{cls}" x="0" y="{i * LINE * 1.25:g}" xml:space="preserve"'
                   f'{style}>{escape(line)}</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- DOT and Mermaid ------------------------------------------------------------------------

def _id(key: str) -> str:
    return key.replace(".", "_")


def render_dot(v: View, *, ascii: bool = False) -> str:
    words = Words(v.tree, ascii)
    label = "\\l".join(s.replace("\\", "\\\\").replace('"', '\\"')
                       for s in [words.title(), words.legend(), *words.below()]) + "\\l"
    title = f"{v.tree.report.network.name or 'network'} {v.tree.name}"
    out = [f"digraph {_dot_str(printable(title, lines=False))} {{",
           "  rankdir=LR; nodesep=0.35; ranksep=1.4;",
           f'  label="{label}"; labelloc=b; labeljust=l; fontsize=10; fontname="monospace";',
           "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontsize=11];",
           "  edge [fontsize=9];"]
    for p in v.placed:
        if p.node is None:
            more = _more(p, ascii)
            out.append(f"  {_id(p.key)} [shape=plaintext, style=\"\", label={_dot_str(more)}];")
            continue
        n = p.node
        fill = _fill(n)
        text = "\\n".join(s.replace("\\", "\\\\").replace('"', '\\"') for s in words.box(n))
        out.append(f'  {_id(n.key)} [label="{text}", fillcolor="{fill}"];')
    for e in v.edges:
        text = "\\n".join(s.replace("\\", "\\\\").replace('"', '\\"') for s in words.edge(e))
        style = (' [style=dashed, color="#9ca3af"]' if e.local is None else
                 f' [label="{text}"' + (", style=dashed]" if e.through else "]"))
        out.append(f"  {_id(e.source)} -> {_id(e.target)}{style};")
    out.append("}")
    return "\n".join(out) + "\n"


def render_mermaid(v: View, *, ascii: bool = False) -> str:
    words = Words(v.tree, ascii)
    out = ["flowchart LR", f"  %% {words.title().replace('%', '#37;')}"]
    for p in v.placed:
        if p.node is None:
            more = _more(p, ascii)
            out.append(f'  {_id(p.key)}["{_mermaid_str(more)}"]')
            continue
        text = "<br/>".join(_mermaid_str(s) for s in words.box(p.node))
        out.append(f'  {_id(p.node.key)}["{text}"]')
    for e in v.edges:
        lines = words.edge(e)
        if not lines:
            out.append(f"  {_id(e.source)} -.-> {_id(e.target)}")
            continue
        arrow = "-.->" if e.through else "-->"
        text = "<br/>".join(_mermaid_str(s) for s in lines)
        out.append(f'  {_id(e.source)} {arrow}|"{text}"| {_id(e.target)}')
    lines = [words.legend(), *words.below()]
    out.append('  equations["' + "<br/>".join(_mermaid_str(s) for s in lines) + '"]')
    out.append("  classDef note fill:#ffffff,stroke:#9ca3af,color:#374151,text-align:left")
    out.append("  class equations note")
    keys = [p.key for p in v.placed if p.node is not None and p.node.role in ("param", "neuron")]
    if keys:
        out.append(f"  style {_id(keys[0])} fill:{PARAM_FILL},stroke:#1d4ed8")
    if any(p.key == C0 for p in v.placed):
        out.append(f"  style {_id(C0)} fill:{COST_FILL}")
    return "\n".join(out) + "\n"


# The presenters of `backprop graph --tree PARAM --format svg|dot|mermaid`.

def write_svg(v: View, out: TextIO, options: Options) -> None:
    out.write(render_svg(v, ascii=options.ascii))


def write_dot(v: View, out: TextIO, options: Options) -> None:
    out.write(render_dot(v, ascii=options.ascii))


def write_mermaid(v: View, out: TextIO, options: Options) -> None:
    out.write(render_mermaid(v, ascii=options.ascii))
