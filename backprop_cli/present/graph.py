"""The network as a diagram: SVG (written here, no Graphviz), Graphviz DOT, or Mermaid.

Neurons are circles labelled a(l)j; an edge's colour is the sign and its width the magnitude of
its value: the weight w(l)jk or ∂C/∂w(l)jk of the full cost. :func:`layout` is pure; large
layers show their first and last neurons and a "… n more" marker in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO
from xml.sax.saxutils import escape

import numpy as np

from backprop_cli.errors import printable
from backprop_cli.network import Array, Network
from backprop_cli.present import Options
from backprop_cli.present.notation import sym

MAX_SHOWN = 12  # items per layer, the "… n more" marker included
POSITIVE, NEGATIVE, ZERO = "#2563eb", "#dc2626", "#9ca3af"
MIN_WIDTH, MAX_WIDTH = 0.75, 6.0
COLUMN, ROW, RADIUS = 170, 52, 19
LEFT, TOP, BOTTOM = 70, 64, 96

SHOW = {"gradient": ("∂C/∂w", "dC/dw"), "weight": ("w", "w")}


@dataclass(frozen=True)
class Node:
    layer: int
    j: int
    x: float
    y: float


@dataclass(frozen=True)
class Marker:
    """Where a layer's ``hidden`` neurons would be."""

    layer: int
    hidden: int
    x: float
    y: float


@dataclass(frozen=True)
class Edge:
    """w(layer)jk from a(layer−1)k to a(layer)j, with the value it shows."""

    layer: int
    j: int
    k: int
    weight: float
    value: float
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def colour(self) -> str:
        return POSITIVE if self.value > 0 else NEGATIVE if self.value < 0 else ZERO

    @property
    def param(self) -> str:
        """The name `backprop nudge` takes: w2.0.1."""
        return f"w{self.layer}.{self.j}.{self.k}"


@dataclass(frozen=True)
class Graph:
    name: str
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    show: str
    nodes: tuple[Node, ...]
    markers: tuple[Marker, ...]
    edges: tuple[Edge, ...]
    max_abs: float
    width: float
    height: float

    def stroke_width(self, value: float) -> float:
        scale = abs(value) / self.max_abs if self.max_abs > 0 else 0.0
        return round(MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * scale, 2)


def shown(n: int, max_shown: int = MAX_SHOWN) -> tuple[list[int], int]:
    """The neurons of an n-neuron layer to draw, and how many are hidden behind the marker
    (which then takes one of the ``max_shown`` places, after the first half)."""
    if n <= max_shown:
        return list(range(n)), 0
    head = max_shown // 2
    tail = max_shown - 1 - head
    return [*range(head), *range(n - tail, n)], n - head - tail


def layout(net: Network, values: Sequence[Array], show: str,
           max_shown: int = MAX_SHOWN) -> Graph:
    """Positions of the neurons, markers and edges; ``values[l-1]`` (n_l, n_(l−1)) colours
    layer l's edges (the weights or their gradient)."""
    if max_shown < 3:
        raise ValueError("max_shown must be at least 3")
    sizes = tuple(net.sizes)
    picks = [shown(n, max_shown) for n in sizes]
    slots = max(len(idx) + (1 if hidden else 0) for idx, hidden in picks)
    height = TOP + slots * ROW + BOTTOM
    nodes: list[Node] = []
    markers: list[Marker] = []
    where: dict[tuple[int, int], tuple[float, float]] = {}
    for l, (idx, hidden) in enumerate(picks):  # noqa: E741
        count = len(idx) + (1 if hidden else 0)
        x = LEFT + l * COLUMN
        y0 = TOP + (slots - count) * ROW / 2 + ROW / 2
        head = len(idx) if not hidden else max_shown // 2
        for slot, j in enumerate(idx):
            y = y0 + (slot + (1 if hidden and slot >= head else 0)) * ROW
            nodes.append(Node(l, j, x, y))
            where[(l, j)] = (x, y)
        if hidden:
            markers.append(Marker(l, hidden, x, y0 + head * ROW))
    edges: list[Edge] = []
    for l in range(1, len(sizes)):  # noqa: E741
        w, v = net.layers[l - 1].weights, values[l - 1]
        for j in picks[l][0]:
            for k in picks[l - 1][0]:
                (x1, y1), (x2, y2) = where[(l - 1, k)], where[(l, j)]
                edges.append(Edge(l, j, k, float(w[j, k]), float(v[j, k]),
                                  x1 + RADIUS, y1, x2 - RADIUS, y2))
    finite = [np.abs(v)[np.isfinite(v)] for v in values]
    max_abs = max((float(f.max()) for f in finite if f.size), default=0.0)
    width = LEFT * 2 + (len(sizes) - 1) * COLUMN
    # The name is from the file: one line without control characters in every format (a
    # newline would end a Mermaid comment, an ESC reach the terminal).
    return Graph(printable(net.name or "network", lines=False), sizes,
                 tuple(layer.activation for layer in net.layers),
                 show, tuple(nodes), tuple(markers), tuple(edges), max_abs, max(width, 460),
                 height)


def _num(x: float) -> str:
    return f"{x:.4g}"


def edge_title(g: Graph, e: Edge, ascii: bool = False) -> str:
    w = sym("w", e.layer, e.j, e.k, ascii=ascii)
    text = f"{w} = {_num(e.weight)}"
    if g.show == "gradient":
        text += f"; {SHOW['gradient'][ascii]} = {_num(e.value)}"
    return text


def legend_lines(g: Graph, ascii: bool = False) -> tuple[str, str]:
    what = SHOW[g.show][ascii]
    scope = " of the full cost C" if g.show == "gradient" else ""
    return (f"colour: the sign of {what}{scope} (blue > 0, red < 0)",
            f"width: |{what}| (largest {_num(g.max_abs)})")


def legend(g: Graph, ascii: bool = False) -> str:
    return "edge " + "; ".join(legend_lines(g, ascii))


def _more(m: Marker, ascii: bool) -> str:
    return f"{'...' if ascii else '…'} {m.hidden} more"


def _layer_title(g: Graph, l: int) -> str:  # noqa: E741
    if l == 0:
        return f"layer 0: input ({g.sizes[0]})"
    return f"layer {l}: {g.activations[l - 1]} ({g.sizes[l]})"


# --- SVG ------------------------------------------------------------------------------------

def render_svg(g: Graph, *, interactive: bool = False, ascii: bool = False) -> str:
    """A standalone SVG document; ``interactive`` adds a wide transparent line over every edge
    (class "hit", same data-* attributes) to make thin edges easy to click."""
    out: list[str] = []
    w, h = g.width, g.height
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:g}" height="{h:g}" '
        f'viewBox="0 0 {w:g} {h:g}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" '
        f'font-size="13" role="img" class="network" data-show="{g.show}">'
    )
    title = f"{g.name}: {'-'.join(map(str, g.sizes))}; {legend(g, ascii)}"
    out.append(f"<title>{escape(title)}</title>")
    out.append(f'<rect width="{w:g}" height="{h:g}" fill="#ffffff"/>')
    for l in range(len(g.sizes)):  # noqa: E741
        out.append(f'<text class="layer-title" x="{LEFT + l * COLUMN}" y="{TOP - 26}" '
                   f'text-anchor="middle" font-size="12" fill="#374151">'
                   f"{escape(_layer_title(g, l))}</text>")
    out.append('<g class="edges" stroke-linecap="round">')
    for e in g.edges:
        data = (f'data-param="{e.param}" data-layer="{e.layer}" data-j="{e.j}" '
                f'data-k="{e.k}" data-value="{e.value!r}"')
        coords = f'x1="{e.x1:g}" y1="{e.y1:g}" x2="{e.x2:g}" y2="{e.y2:g}"'
        out.append(f'<line class="edge" {data} {coords} stroke="{e.colour}" '
                   f'stroke-width="{g.stroke_width(e.value)}" stroke-opacity="0.85">'
                   f"<title>{escape(edge_title(g, e, ascii))}</title></line>")
        if interactive:
            out.append(f'<line class="hit" {data} {coords} stroke="transparent" '
                       f'stroke-width="9"><title>{escape(edge_title(g, e, ascii))}</title>'
                       "</line>")
    out.append("</g>")
    out.append('<g class="neurons">')
    for n in g.nodes:
        label = sym("a", n.layer, n.j, ascii=ascii)
        out.append(
            f'<circle class="neuron" data-layer="{n.layer}" data-j="{n.j}" cx="{n.x:g}" '
            f'cy="{n.y:g}" r="{RADIUS}" fill="#ffffff" stroke="#111827" stroke-width="1.5">'
            f"<title>{escape(label)}</title></circle>"
        )
        size = 12 if len(label) <= 6 else 10
        out.append(f'<text class="label" x="{n.x:g}" y="{n.y + 4:g}" text-anchor="middle" '
                   f'font-size="{size}" pointer-events="none">{escape(label)}</text>')
    for m in g.markers:
        out.append(f'<text class="more" data-layer="{m.layer}" data-hidden="{m.hidden}" '
                   f'x="{m.x:g}" y="{m.y + 4:g}" text-anchor="middle" font-size="12" '
                   f'fill="#6b7280">{escape(_more(m, ascii))}</text>')
    out.append("</g>")
    y = h - BOTTOM + 28
    out.append(f'<g class="legend" font-size="12" fill="#374151" transform="translate(16 {y:g})">')
    for i, (colour, text) in enumerate(((POSITIVE, "> 0"), (NEGATIVE, "< 0"))):
        x0 = i * 90
        out.append(f'<line x1="{x0}" y1="0" x2="{x0 + 36}" y2="0" stroke="{colour}" '
                   f'stroke-width="4" stroke-linecap="round"/>')
        out.append(f'<text x="{x0 + 44}" y="4">{escape(text)}</text>')
    for i, line in enumerate(legend_lines(g, ascii)):
        out.append(f'<text x="0" y="{24 + 17 * i}">{escape(line)}</text>')
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- DOT and Mermaid ------------------------------------------------------------------------

def _id(layer: int, j: int) -> str:
    return f"a{layer}_{j}"


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(g: Graph, *, ascii: bool = False) -> str:
    out = [f"digraph {_dot_str(g.name)} {{",
           "  rankdir=LR; splines=line; nodesep=0.25; ranksep=1.6;",
           f"  label={_dot_str(legend(g, ascii))}; labelloc=b; fontsize=11;",
           "  node [shape=circle, fixedsize=true, width=0.65, fontsize=10];"]
    for l in range(len(g.sizes)):  # noqa: E741
        out.append(f"  subgraph layer{l} {{ rank=same;")
        for n in (n for n in g.nodes if n.layer == l):
            label = _dot_str(sym("a", n.layer, n.j, ascii=ascii))
            out.append(f"    {_id(n.layer, n.j)} [label={label}];")
        for m in (m for m in g.markers if m.layer == l):
            out.append(f"    more{l} [shape=plaintext, label={_dot_str(_more(m, ascii))}];")
        out.append("  }")
    for e in g.edges:
        out.append(f"  {_id(e.layer - 1, e.k)} -> {_id(e.layer, e.j)} [color=\"{e.colour}\", "
                   f"penwidth={g.stroke_width(e.value)}, arrowhead=none, "
                   f"tooltip={_dot_str(edge_title(g, e, ascii))}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_str(text: str) -> str:
    """Mermaid labels are HTML: its own entity codes for <, > and quotes."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def render_mermaid(g: Graph, *, ascii: bool = False) -> str:
    # "%%" would open a directive (%%{init: …}%%) inside the comment
    out = ["flowchart LR", f"  %% {g.name.replace('%', '#37;')}: {legend(g, ascii)}"]
    for n in g.nodes:
        out.append(f'  {_id(n.layer, n.j)}(("{sym("a", n.layer, n.j, ascii=ascii)}"))')
    for m in g.markers:
        out.append(f'  more{m.layer}["{_more(m, ascii)}"]')
    for e in g.edges:
        out.append(f"  {_id(e.layer - 1, e.k)} --- {_id(e.layer, e.j)}")
    for i, e in enumerate(g.edges):
        out.append(f"  linkStyle {i} stroke:{e.colour},stroke-width:{g.stroke_width(e.value)}px")
    out.append(f'  legend["{_mermaid_str(legend(g, ascii))}"]')
    out.append("  classDef note fill:#ffffff,stroke:#9ca3af,color:#374151")
    out.append("  class legend note")
    return "\n".join(out) + "\n"


# The presenters of `backprop graph --format svg|dot|mermaid` (see backprop_cli.present).

def write_svg(g: Graph, out: TextIO, options: Options) -> None:
    out.write(render_svg(g, ascii=options.ascii))


def write_dot(g: Graph, out: TextIO, options: Options) -> None:
    out.write(render_dot(g, ascii=options.ascii))


def write_mermaid(g: Graph, out: TextIO, options: Options) -> None:
    out.write(render_mermaid(g, ascii=options.ascii))
