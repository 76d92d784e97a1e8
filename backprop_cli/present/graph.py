"""The network as a diagram with its numbers: SVG (written here, no Graphviz), Graphviz DOT, or
Mermaid.

What the picture shows, and the formulas the live page's JavaScript repeats (one place each):

- a neuron a(l)j is filled grey by its activation in one example (or the mean over a data set's
  rows): :func:`neuron_fill` of a and its layer's range (lo, hi) from :func:`layer_range`, which
  the SVG writes on ``<g class="layer" data-lo data-hi>``; its value is written inside when the
  layer has at most :data:`SMALL_LAYER` neurons (:func:`short`).
- an edge w(l)jk is coloured by the sign of the value it shows, ∂C/∂w of the full cost or the
  weight (:func:`edge_colour`), and as wide as :func:`edge_width` of |value| and the picture's
  scale S (``data-scale``): the largest |value| (auto) or a given one, so two pictures can share
  it.
- edge labels (``--labels``): w on the half of the edge near its source, ∂C/∂w (italic, in its
  sign's colour) on the half near its target, each where it overlaps no other label; a layer's
  edges get their labels only if all of them fit (:func:`layout`).
- the cost node C₀ of the example (or C, the mean) is joined to the output neurons, each with
  its target y written beside it.

:func:`layout` is pure; large layers show their first and last neurons and a "… n more" marker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TextIO
from xml.sax.saxutils import escape

import numpy as np

from backprop_cli.choices import GRAPH_LABELS
from backprop_cli.errors import UsageError, printable
from backprop_cli.network import Array, Network
from backprop_cli.present import Options
from backprop_cli.present.notation import cost0, number, sym, to_ascii
from backprop_cli.present.placement import (
    Box,
    Request,
    fractions,
    place_all,
    text_box,
    text_width,
)

if TYPE_CHECKING:
    from backprop_cli.reports.analyze import AnalyzeReport

MAX_SHOWN = 12  # items per layer, the "… n more" marker included
SMALL_LAYER = 12  # a layer of at most this many neurons has its values written inside
POSITIVE, NEGATIVE, ZERO = "#2563eb", "#dc2626", "#9ca3af"
MIN_WIDTH, MAX_WIDTH = 0.75, 6.0
COLUMN, ROW, RADIUS = 170, 54, 22
LABELLED_COLUMN, LABELLED_ROW = 250, 70  # with edge labels: room for them
LEFT, TOP = 70, 84
COST_DX, COST_RADIUS = 150, 27  # the cost node: right of the output layer
LABEL_SIZE, LEGEND_SIZE, LEGEND_LINE = 10, 12, 17
INK, LIGHT_INK = "#111827", "#ffffff"
HALO = 'stroke="#ffffff" stroke-width="7" stroke-linejoin="round" paint-order="stroke"'
DEFAULT_LABELS = "both"
LABEL_KINDS = {"none": (), "weights": ("weight",), "gradients": ("gradient",),
               "both": ("weight", "gradient")}
assert tuple(LABEL_KINDS) == GRAPH_LABELS

SHOW = {"gradient": ("∂C/∂w", "dC/dw"), "weight": ("w", "w")}


# --- the formulas (the live page repeats these) ------------------------------------------

def edge_colour(value: float) -> str:
    """POSITIVE for value > 0, NEGATIVE for < 0, ZERO for 0 (and NaN)."""
    return POSITIVE if value > 0 else NEGATIVE if value < 0 else ZERO


def edge_width(value: float, scale: float) -> float:
    """MIN_WIDTH + (MAX_WIDTH − MIN_WIDTH)·min(1, |value|/scale), rounded to 0.01: |value| at
    or above the scale gets the full width; NaN (or a scale of 0) the least."""
    fraction = min(1.0, abs(value) / scale) if scale > 0 and not math.isnan(value) else 0.0
    return round(MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * fraction, 2)


def grey_level(a: float, lo: float, hi: float) -> int:
    """0 (black) … 255 (white): t = clamp((a − lo)/(hi − lo), 0, 1), level = floor(255·t + 0.5)
    (JavaScript's Math.round(255 * t)). A NaN is white."""
    if math.isnan(a):
        return 255
    t = min(1.0, max(0.0, (a - lo) / (hi - lo)))
    return math.floor(255 * t + 0.5)


def neuron_fill(a: float, lo: float, hi: float) -> str:
    """The grey a neuron with activation a is filled with, in a layer of range (lo, hi): lo is
    black and hi white (a lit neuron is bright, as in the lesson), clamped outside the range;
    ``#gggggg`` with gg = :func:`grey_level` in two lower-case hex digits."""
    return "#" + f"{grey_level(a, lo, hi):02x}" * 3


def neuron_ink(a: float, lo: float, hi: float) -> str:
    """The colour of the text inside the neuron: white on a fill darker than mid-grey."""
    return LIGHT_INK if grey_level(a, lo, hi) < 128 else INK


def layer_range(probability: bool, values: Array) -> tuple[float, float]:
    """The (lo, hi) of a layer's greys: (0, 1) for an activation whose values are
    probabilities (sigmoid, softmax); else from min(0, smallest a) to max(0, largest a) over
    the examples (the inputs for layer 0), and (lo, lo + 1) if that is one number."""
    if probability:
        return 0.0, 1.0
    finite = values[np.isfinite(values)]
    lo = min(0.0, float(finite.min())) if finite.size else 0.0
    hi = max(0.0, float(finite.max())) if finite.size else 1.0
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def short(x: float) -> str:
    """A number as the picture writes it: 3 significant digits (Python's ``f"{x:.3g}"``, "0"
    for −0); the exact value is in the element's data-value and tooltip."""
    return number(x, 3)


def parse_scale(text: str) -> float | None:
    """``--scale``: None for "auto", else a positive finite number."""
    if text.strip().lower() == "auto":
        return None
    try:
        scale = float(text)
    except ValueError:
        scale = math.nan
    if not (math.isfinite(scale) and scale > 0):
        raise UsageError(f"--scale {text}: give 'auto' (the largest magnitude in the picture) "
                         "or a positive number, e.g. --scale 0.05")
    return scale


# --- the layout ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    layer: int
    j: int
    x: float
    y: float
    a: float | None = None  # its activation in the example shown

    @property
    def name(self) -> str:
        """a1.0: the neuron's name in data-neuron (a0.k: the input k)."""
        return f"a{self.layer}.{self.j}"


@dataclass(frozen=True)
class Marker:
    """Where a layer's ``hidden`` neurons would be."""

    layer: int
    hidden: int
    x: float
    y: float


@dataclass(frozen=True)
class Edge:
    """w(layer)jk from a(layer−1)k to a(layer)j, with the value it shows (and ∂C/∂w)."""

    layer: int
    j: int
    k: int
    weight: float
    value: float
    x1: float
    y1: float
    x2: float
    y2: float
    gradient: float | None = None

    @property
    def colour(self) -> str:
        return edge_colour(self.value)

    @property
    def param(self) -> str:
        """The name `backprop nudge` takes: w2.0.1."""
        return f"w{self.layer}.{self.j}.{self.k}"


@dataclass(frozen=True)
class EdgeLabel:
    """The number of an edge's weight or gradient, centred at (x, baseline)."""

    param: str
    kind: str  # "weight" or "gradient"
    value: float
    x: float
    baseline: float


@dataclass(frozen=True)
class Forward:
    """What the neurons and the cost node show: one example's forward pass (or, over a data
    set's rows, the mean of each value). ``a[l]`` (n_l,) for l = 0 … L, a[0] being the input;
    ``y`` (n_L,) the targets; ``cost`` C₀ of the example (C over rows); ``ranges[l]`` the
    (lo, hi) of layer l's greys; ``example`` its index (None: the mean over rows); ``full_cost``
    C, the mean over ``scope`` (in words)."""

    a: tuple[Array, ...]
    y: Array
    cost: float
    ranges: tuple[tuple[float, float], ...]
    example: int | None
    count: int
    full_cost: float
    scope: str

    @property
    def shown(self) -> str:
        """Which values the neurons show, in words."""
        if self.example is None:
            return f"the mean over {self.scope}"
        return f"example {self.example}" + (f" of {self.count}" if self.count > 1 else "")


@dataclass(frozen=True)
class Target:
    j: int
    y: float
    x: float
    baseline: float


@dataclass(frozen=True)
class CostNode:
    x: float
    y: float


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
    scale: float = 0.0  # the |value| drawn at full width
    scale_given: bool = False  # --scale ABS (else auto: max_abs)
    labels: str = "none"  # --labels
    edge_labels: tuple[EdgeLabel, ...] = ()
    label_kinds: tuple[tuple[str, ...], ...] = ()  # per layer l = 1 … L: the kinds placed
    forward: Forward | None = None
    cost_node: CostNode | None = None
    targets: tuple[Target, ...] = ()
    legend_top: float = 0.0
    column: float = COLUMN  # between the layers' centres

    def stroke_width(self, value: float) -> float:
        return edge_width(value, self.scale)

    @property
    def requested_kinds(self) -> tuple[str, ...]:
        kinds = LABEL_KINDS[self.labels]
        return tuple(k for k in kinds
                     if k == "weight" or any(e.gradient is not None for e in self.edges))


def shown(n: int, max_shown: int = MAX_SHOWN) -> tuple[list[int], int]:
    """The neurons of an n-neuron layer to draw, and how many are hidden behind the marker
    (which then takes one of the ``max_shown`` places, after the first half)."""
    if n <= max_shown:
        return list(range(n)), 0
    head = max_shown // 2
    tail = max_shown - 1 - head
    return [*range(head), *range(n - tail, n)], n - head - tail


def forward_of(report: AnalyzeReport, example: int = 0) -> Forward:
    """The neurons' values of ``report``'s example (over a data set's rows: the means), and
    each layer's range over all the report's examples."""
    net, trace = report.network, report.trace
    chosen = list(report.examples)
    a = (report.inputs[example], *(t.a[example] for t in trace.layers))
    everything = (report.inputs[chosen], *(t.a[chosen] for t in trace.layers))
    ranges = tuple(layer_range(l > 0 and net.layers[l - 1].sigma.probability, v)
                   for l, v in enumerate(everything))  # noqa: E741
    over = report.over is not None
    return Forward(a, report.targets[example], float(trace.cost_per_example[example]), ranges,
                   None if over else example, report.example_count, float(trace.cost),
                   report.scope)


def picture(report: AnalyzeReport | None, net: Network, show: str,
            max_shown: int = MAX_SHOWN, *, example: int = 0, scale: float | None = None,
            labels: str = DEFAULT_LABELS) -> Graph:
    """The diagram of ``net`` with the numbers of ``report`` (None: a network without
    examples, drawn with its weights only): edges show ∂C/∂w of the full cost or w."""
    gradients = None if report is None else report.trace.grad_w
    weights = tuple(layer.weights for layer in net.layers)
    if show == "gradient" and gradients is None:
        raise ValueError("--show gradient needs a report")
    values = gradients if show == "gradient" and gradients is not None else weights
    forward = None if report is None else forward_of(report, example)
    return layout(net, values, show, max_shown, gradients=gradients, forward=forward,
                  scale=scale, labels=labels)


def layout(net: Network, values: Sequence[Array], show: str, max_shown: int = MAX_SHOWN, *,
           gradients: Sequence[Array] | None = None, forward: Forward | None = None,
           scale: float | None = None, labels: str = DEFAULT_LABELS) -> Graph:
    """Positions of the neurons, markers, edges, labels and the cost node; ``values[l-1]``
    (n_l, n_(l−1)) colours layer l's edges (the weights or their gradient), ``gradients``
    (the same shapes) labels them; ``scale``: the |value| drawn at full width (None: the
    largest |value| of the network)."""
    if max_shown < 3:
        raise ValueError("max_shown must be at least 3")
    if show == "gradient" and gradients is None:
        gradients = values
    sizes = tuple(net.sizes)
    column, row = (LABELLED_COLUMN, LABELLED_ROW) if LABEL_KINDS[labels] else (COLUMN, ROW)
    picks = [shown(n, max_shown) for n in sizes]
    slots = max(len(idx) + (1 if hidden else 0) for idx, hidden in picks)
    nodes: list[Node] = []
    markers: list[Marker] = []
    where: dict[tuple[int, int], tuple[float, float]] = {}
    for l, (idx, hidden) in enumerate(picks):  # noqa: E741
        count = len(idx) + (1 if hidden else 0)
        x = LEFT + l * column
        y0 = TOP + (slots - count) * row / 2 + row / 2
        head = len(idx) if not hidden else max_shown // 2
        for slot, j in enumerate(idx):
            y = y0 + (slot + (1 if hidden and slot >= head else 0)) * row
            a = None if forward is None else float(forward.a[l][j])
            nodes.append(Node(l, j, x, y, a))
            where[(l, j)] = (x, y)
        if hidden:
            markers.append(Marker(l, hidden, x, y0 + head * row))
    edges: list[Edge] = []
    for l in range(1, len(sizes)):  # noqa: E741
        w, v = net.layers[l - 1].weights, values[l - 1]
        grad = None if gradients is None else gradients[l - 1]
        for j in picks[l][0]:
            for k in picks[l - 1][0]:
                (x1, y1), (x2, y2) = where[(l - 1, k)], where[(l, j)]
                edges.append(Edge(l, j, k, float(w[j, k]), float(v[j, k]),
                                  x1 + RADIUS, y1, x2 - RADIUS, y2,
                                  None if grad is None else float(grad[j, k])))
    finite = [np.abs(v)[np.isfinite(v)] for v in values]
    max_abs = max((float(f.max()) for f in finite if f.size), default=0.0)
    L = len(sizes) - 1
    x_out = LEFT + L * column
    cost_node = targets = None
    if forward is not None:
        outputs = [n for n in nodes if n.layer == L]
        cy = (min(n.y for n in outputs) + max(n.y for n in outputs)) / 2
        cost_node = CostNode(x_out + COST_DX, cy)
        targets = tuple(Target(n.j, float(forward.y[n.j]), x_out + RADIUS + 7, n.y - 6)
                        for n in outputs)
    band_bottom = TOP + slots * row
    # The name is from the file: one line without control characters in every format (a
    # newline would end a Mermaid comment, an ESC reach the terminal).
    g = Graph(printable(net.name or "network", lines=False), sizes,
              tuple(layer.activation for layer in net.layers), show, tuple(nodes),
              tuple(markers), tuple(edges), max_abs, 0.0, 0.0,
              scale=max_abs if scale is None else scale, scale_given=scale is not None,
              labels=labels, forward=forward, cost_node=cost_node, targets=targets or (),
              legend_top=band_bottom + 14, column=column)
    placed, kinds = _place_labels(g, band_bottom)
    g = replace(g, edge_labels=placed, label_kinds=kinds)
    width = max(460.0, x_out + (COST_DX + COST_RADIUS + 70 if forward else LEFT),
                16 + max(_legend_width(line) for _, line in legend_lines(g)) + 16)
    height = g.legend_top + 14 + LEGEND_LINE * len(legend_lines(g))
    return replace(g, width=width, height=height)


def _legend_width(text: str) -> float:
    return text_width(text, LEGEND_SIZE) + 30


def _place_labels(g: Graph, band_bottom: float) -> tuple[tuple[EdgeLabel, ...],
                                                           tuple[tuple[str, ...], ...]]:
    """Every edge of a layer labelled with each kind asked for, or (if they do not all fit)
    with the kind the colours show, or none; no label overlaps another, a neuron or a marker."""
    wanted = g.requested_kinds
    taken = [Box(n.x - RADIUS - 1, n.y - RADIUS - 1, n.x + RADIUS + 1, n.y + RADIUS + 1)
             for n in g.nodes]
    taken += [text_box(m.x, m.y + 4, _more(m, False), 12) for m in g.markers]
    within = Box(0, TOP - 8, LEFT + (len(g.sizes) - 1) * g.column, band_bottom + 8)
    primary = "gradient" if g.show == "gradient" else "weight"
    labels: list[EdgeLabel] = []
    kinds_per_layer: list[tuple[str, ...]] = []
    for l in range(1, len(g.sizes)):  # noqa: E741
        edges = [e for e in g.edges if e.layer == l]
        tries = [wanted]
        if len(wanted) > 1 and primary in wanted:
            tries.append((primary,))
        done: tuple[str, ...] = ()
        for kinds in tries:
            if not kinds:
                break
            pairs = [(e, kind) for e in edges for kind in kinds]
            asks = [Request(i, short(_label_value(e, kind)), e.x1, e.y1, e.x2, e.y2,
                            _W_FRACTIONS if kind == "weight" else _G_FRACTIONS)
                    for i, (e, kind) in enumerate(pairs)]
            placed = place_all(asks, LABEL_SIZE, taken, within)
            if placed is not None:
                for p in placed:
                    edge, kind = pairs[p.key]
                    labels.append(EdgeLabel(edge.param, kind, _label_value(edge, kind), p.x,
                                            p.baseline))
                done = kinds
                break
        kinds_per_layer.append(done)
    return tuple(labels), tuple(kinds_per_layer)


# w near the edge's source, ∂C/∂w near its target (a fifth of the way in, then further).
_W_FRACTIONS = fractions(0.2, 0.08, 0.48)
_G_FRACTIONS = [round(1 - t, 6) for t in _W_FRACTIONS]


def _label_value(e: Edge, kind: str) -> float:
    if kind == "weight":
        return e.weight
    assert e.gradient is not None
    return e.gradient


# --- words -----------------------------------------------------------------------------------

def _num(x: float) -> str:
    return f"{x:.4g}"


def edge_title(g: Graph, e: Edge, ascii: bool = False) -> str:
    w = sym("w", e.layer, e.j, e.k, ascii=ascii)
    text = f"{w} = {_num(e.weight)}"
    if e.gradient is not None:
        text += f"; {SHOW['gradient'][ascii]} = {_num(e.gradient)}"
    return text


def legend_lines(g: Graph) -> list[tuple[str | None, str]]:
    """The legend in words, line by line, each with the colour of its swatch (or None)."""
    lines: list[tuple[str | None, str]] = []
    f = g.forward
    if f is not None:
        lines.append((None, f"neurons: a⁽ˡ⁾ⱼ of {f.shown}, black = the layer's lo … white = "
                            "its hi (under its title), value inside"))
    else:
        lines.append((None, "neurons: not filled (the network has no examples)"))
    if g.show == "gradient":
        lines += [(POSITIVE, "blue: ∂C/∂w > 0, so gradient descent decreases w"),
                  (NEGATIVE, "red: ∂C/∂w < 0, so gradient descent increases w"),
                  (ZERO, "grey: ∂C/∂w = 0, so gradient descent leaves w as it is")]
    else:
        lines += [(POSITIVE, "blue: w > 0, so a larger a⁽ˡ⁻¹⁾ₖ raises z⁽ˡ⁾ⱼ"),
                  (NEGATIVE, "red: w < 0, so a larger a⁽ˡ⁻¹⁾ₖ lowers z⁽ˡ⁾ⱼ"),
                  (ZERO, "grey: w = 0, no effect")]
    what = SHOW[g.show][0]
    how = "given" if g.scale_given else f"auto: the largest |{what}|"
    lines.append((None, f"width: |{what}| relative to the scale {_num(g.scale)} ({how}); "
                        "at or above it, full width"))
    if f is not None:
        mean = ("the mean over the rows" if f.example is None
                else "the one example's C₀" if f.count == 1
                else f"the mean of C₀ over {f.scope}")
        lines.append((None, f"∂C/∂w: of the full cost C = {_num(f.full_cost)}, {mean}"))
    kinds = g.requested_kinds
    if kinds:
        parts = []
        if "weight" in kinds:
            parts.append("w near the edge's source")
        if "gradient" in kinds:
            parts.append("∂C/∂w (italic) near its target")
        text = "labels: " + ", ".join(parts)
        names = {"weight": "w", "gradient": "∂C/∂w"}
        bare = [str(l) for l, got in enumerate(g.label_kinds, start=1) if not got]  # noqa: E741
        if bare:
            text += f"; no room for them on the edges into {_layers(bare)}"
        for kind in kinds:
            partial = [str(l) for l, got in enumerate(g.label_kinds, start=1)  # noqa: E741
                       if got and kind not in got]
            if partial:
                text += f"; no room for {names[kind]} on the edges into {_layers(partial)}"
        if bare or any(got != kinds for got in g.label_kinds):
            text += " (hover an edge for its numbers)"
        lines.append((None, text))
    return lines


def _layers(numbers: list[str]) -> str:
    return f"layer{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}"


def legend(g: Graph, ascii: bool = False) -> str:
    text = "; ".join(line for _, line in legend_lines(g))
    return to_ascii(text) if ascii else text


def _t(text: str, ascii: bool) -> str:
    return escape(to_ascii(text) if ascii else text)


def _more(m: Marker, ascii: bool) -> str:
    return f"{'...' if ascii else '…'} {m.hidden} more"


def _layer_title(g: Graph, l: int) -> str:  # noqa: E741
    if l == 0:
        return f"layer 0: input ({g.sizes[0]})"
    return f"layer {l}: {g.activations[l - 1]} ({g.sizes[l]})"


def _cost_name(f: Forward, ascii: bool) -> str:
    return "C" if f.example is None else cost0(ascii)


# --- SVG ------------------------------------------------------------------------------------

def _text(cls: str, x: float, y: float, text: str, anchor: str = "middle",
          **attrs: object) -> str:
    """``<text class=cls x y text-anchor …>text</text>``; attrs: data_layer=1 → data-layer."""
    more = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (f'<text class="{cls}" x="{x:g}" y="{y:g}" text-anchor="{anchor}"{more}>'
            f"{escape(text)}</text>")


def render_svg(g: Graph, *, interactive: bool = False, ascii: bool = False) -> str:
    """A standalone SVG document; ``interactive`` adds a wide transparent line over every edge
    (class "hit", same data-* attributes) to make thin edges easy to click."""
    out: list[str] = []
    w, h = g.width, g.height
    f = g.forward
    example = "" if f is None else "mean" if f.example is None else str(f.example)
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:g}" height="{h:g}" '
        f'viewBox="0 0 {w:g} {h:g}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" '
        f'font-size="13" role="img" class="network" data-show="{g.show}" '
        f'data-scale="{g.scale!r}" data-labels="{g.labels}" data-example="{example}">'
    )
    title = f"{g.name}: {'-'.join(map(str, g.sizes))}; {legend(g, ascii)}"
    out.append(f"<title>{escape(title)}</title>")
    out.append(f'<rect width="{w:g}" height="{h:g}" fill="#ffffff"/>')
    for l in range(len(g.sizes)):  # noqa: E741
        x = LEFT + l * g.column
        out.append(_text("layer-title", x, TOP - 40, _layer_title(g, l), font_size=12,
                         fill="#374151"))
        if f is not None:
            lo, hi = f.ranges[l]
            out.append(_text("layer-range", x, TOP - 24,
                             f"black {short(lo)} {_t('…', ascii)} white {short(hi)}",
                             data_layer=l, font_size=10, fill="#6b7280"))
    out.append('<g class="edges" stroke-linecap="round">')
    for e in g.edges:
        data = (f'data-param="{e.param}" data-layer="{e.layer}" data-j="{e.j}" '
                f'data-k="{e.k}" data-value="{e.value!r}"')
        coords = f'x1="{e.x1:g}" y1="{e.y1:g}" x2="{e.x2:g}" y2="{e.y2:g}"'
        tip = _t(edge_title(g, e, ascii), False)
        out.append(f'<line class="edge" {data} {coords} stroke="{e.colour}" '
                   f'stroke-width="{g.stroke_width(e.value)}" stroke-opacity="0.85">'
                   f"<title>{tip}</title></line>")
        if interactive:
            out.append(f'<line class="hit" {data} {coords} stroke="transparent" '
                       f'stroke-width="9"><title>{tip}</title></line>')
    out.append("</g>")
    out += _svg_cost_edges(g, ascii)
    out.append('<g class="neurons">')
    for l in range(len(g.sizes)):  # noqa: E741
        out += _svg_layer(g, l, ascii)
    out.append("</g>")
    out += _svg_cost(g, ascii)
    if g.edge_labels:
        out.append(f'<g class="edge-labels" font-size="{LABEL_SIZE}" text-anchor="middle" '
                   'pointer-events="none">')
        for lab in g.edge_labels:
            style = (f'fill="{INK}"' if lab.kind == "weight"
                     else f'fill="{edge_colour(lab.value)}" font-style="italic"')
            out.append(f'<text class="edge-label" data-param="{lab.param}" '
                       f'data-kind="{lab.kind}" data-value="{lab.value!r}" x="{lab.x:.2f}" '
                       f'y="{lab.baseline:.2f}" {style} {HALO}>{short(lab.value)}</text>')
        out.append("</g>")
    out += _svg_legend(g, ascii)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_layer(g: Graph, l: int, ascii: bool) -> list[str]:  # noqa: E741
    f = g.forward
    lo, hi = (0.0, 1.0) if f is None else f.ranges[l]
    rng = "" if f is None else f' data-lo="{lo!r}" data-hi="{hi!r}"'
    out = [f'<g class="layer" data-layer="{l}"{rng}>']
    small = g.sizes[l] <= SMALL_LAYER
    for n in (n for n in g.nodes if n.layer == l):
        label = sym("a", n.layer, n.j, ascii=ascii)
        if n.a is None:
            fill, ink, value, tip = "#ffffff", INK, "", label
        else:
            fill, ink = neuron_fill(n.a, lo, hi), neuron_ink(n.a, lo, hi)
            value = f' data-value="{n.a!r}"'
            tip = f"{label} = {number(n.a)}"
        out.append(
            f'<circle class="neuron" data-neuron="{n.name}" data-layer="{n.layer}" '
            f'data-j="{n.j}"{value} cx="{n.x:g}" cy="{n.y:g}" r="{RADIUS}" fill="{fill}" '
            f'stroke="{INK}" stroke-width="1.5"><title>{escape(tip)}</title></circle>')
        written = n.a is not None and small
        size = 11 if len(label) <= 6 else 9
        y = n.y - 3 if written else n.y + 4
        out.append(_text("label", n.x, y, label, font_size=size, fill=ink,
                         pointer_events="none"))
        if written:
            assert n.a is not None
            text = short(n.a)
            vsize = 10 if len(text) <= 5 else 8
            out.append(_text("neuron-value", n.x, n.y + 12, text, data_neuron=n.name,
                             font_size=vsize, fill=ink, pointer_events="none"))
    for m in (m for m in g.markers if m.layer == l):
        out.append(_text("more", m.x, m.y + 4, _more(m, ascii), data_layer=m.layer,
                         data_hidden=m.hidden, font_size=12, fill="#6b7280"))
    out.append("</g>")
    return out


def _svg_cost_edges(g: Graph, ascii: bool) -> list[str]:
    c, f = g.cost_node, g.forward
    if c is None or f is None:
        return []
    L = len(g.sizes) - 1
    out = ['<g class="cost-edges" stroke="#6b7280" stroke-width="1.2" stroke-dasharray="4 3">']
    for n in (n for n in g.nodes if n.layer == L):
        dx, dy = c.x - n.x, c.y - n.y
        d = math.hypot(dx, dy)
        x2, y2 = c.x - dx / d * COST_RADIUS, c.y - dy / d * COST_RADIUS
        tip = (f"{_cost_name(f, ascii)} depends on {sym('a', L, n.j, ascii=ascii)} "
               f"and {sym('y', None, n.j, ascii=ascii)}")
        out.append(f'<line class="cost-edge" data-neuron="{n.name}" x1="{n.x + RADIUS:g}" '
                   f'y1="{n.y:g}" x2="{x2:.2f}" y2="{y2:.2f}"><title>{_t(tip, False)}'
                   "</title></line>")
    out.append("</g>")
    return out


def _svg_cost(g: Graph, ascii: bool) -> list[str]:
    c, f = g.cost_node, g.forward
    if c is None or f is None:
        return []
    name = _cost_name(f, ascii)
    tip = (f"{name} = {number(f.cost)}: the cost of {f.shown}"
           + ("" if f.example is None else f"; C = {number(f.full_cost)} over {f.scope}"))
    out = ['<g class="cost">',
           f'<circle class="cost-node" cx="{c.x:g}" cy="{c.y:g}" r="{COST_RADIUS}" '
           f'fill="#fef3c7" stroke="{INK}" stroke-width="1.5"><title>{_t(tip, ascii)}</title>'
           "</circle>",
           _text("cost-label", c.x, c.y - 3, name, font_size=13, pointer_events="none"),
           _text("cost-value", c.x, c.y + 13, short(f.cost), font_size=11,
                 pointer_events="none")]
    if f.example is not None and f.count > 1:
        out.append(_text("cost-mean", c.x, c.y + COST_RADIUS + 16,
                         f"C = {short(f.full_cost)} (mean)", font_size=11, fill="#374151"))
    for t in g.targets:
        out.append(f'<text class="target" data-target="y{t.j}" data-value="{t.y!r}" '
                   f'x="{t.x:g}" y="{t.baseline:g}" font-size="11" fill="#374151" {HALO}>'
                   f"{escape(sym('y', None, t.j, ascii=ascii))} = {short(t.y)}</text>")
    out.append("</g>")
    return out


def _svg_legend(g: Graph, ascii: bool) -> list[str]:
    out = [f'<g class="legend" font-size="{LEGEND_SIZE}" fill="#374151" '
           f'transform="translate(16 {g.legend_top:g})">']
    for i, (colour, line) in enumerate(legend_lines(g)):
        y = 14 + LEGEND_LINE * i
        x = 0
        if colour is not None:
            out.append(f'<line x1="0" y1="{y - 4}" x2="22" y2="{y - 4}" stroke="{colour}" '
                       'stroke-width="4" stroke-linecap="round"/>')
            x = 30
        out.append(f'<text x="{x}" y="{y}">{_t(line, ascii)}</text>')
    out.append("</g>")
    return out


# --- DOT and Mermaid ------------------------------------------------------------------------

def _id(layer: int, j: int) -> str:
    return f"a{layer}_{j}"


def _dot_str(text: str) -> str:
    return _dot_lines(text)


def _dot_lines(*lines: str) -> str:
    """A DOT string of centred lines."""
    return '"' + "\\n".join(t.replace("\\", "\\\\").replace('"', '\\"') for t in lines) + '"'


def _node_text(g: Graph, n: Node, ascii: bool, newline: str) -> str:
    label = sym("a", n.layer, n.j, ascii=ascii)
    return label if n.a is None else f"{label}{newline}{short(n.a)}"


def _node_colours(g: Graph, n: Node) -> tuple[str, str]:
    assert g.forward is not None and n.a is not None
    lo, hi = g.forward.ranges[n.layer]
    return neuron_fill(n.a, lo, hi), neuron_ink(n.a, lo, hi)


def _edge_texts(g: Graph, e: Edge, ascii: bool) -> dict[str, str]:
    """The labels an edge carries, by kind (the kinds its layer has room for in the SVG)."""
    kinds = g.label_kinds[e.layer - 1] if g.label_kinds else ()
    texts = {}
    if "weight" in kinds:
        texts["weight"] = f"w {short(e.weight)}"
    if "gradient" in kinds and e.gradient is not None:
        texts["gradient"] = f"{SHOW['gradient'][ascii]} {short(e.gradient)}"
    return texts


def render_dot(g: Graph, *, ascii: bool = False) -> str:
    out = [f"digraph {_dot_str(g.name)} {{",
           "  rankdir=LR; splines=line; nodesep=0.25; ranksep=1.6;",
           f"  label={_dot_str(legend(g, ascii))}; labelloc=b; fontsize=11;",
           "  node [shape=circle, fixedsize=true, width=0.75, fontsize=10];"]
    for l in range(len(g.sizes)):  # noqa: E741
        out.append(f"  subgraph layer{l} {{ rank=same;")
        for n in (n for n in g.nodes if n.layer == l):
            label = sym("a", n.layer, n.j, ascii=ascii)
            text = (_dot_lines(label, short(n.a))
                    if n.a is not None and g.sizes[l] <= SMALL_LAYER else _dot_str(label))
            style = ""
            if n.a is not None:
                fill, ink = _node_colours(g, n)
                style = f', style=filled, fillcolor="{fill}", fontcolor="{ink}"'
            out.append(f"    {_id(n.layer, n.j)} [label={text}{style}];")
        for m in (m for m in g.markers if m.layer == l):
            out.append(f"    more{l} [shape=plaintext, label={_dot_str(_more(m, ascii))}];")
        out.append("  }")
    for e in g.edges:
        texts = _edge_texts(g, e, ascii)
        extra = "".join(f", {attr}={_dot_str(texts[kind])}"
                        for kind, attr in (("weight", "taillabel"), ("gradient", "headlabel"))
                        if kind in texts)
        if texts:
            extra += ", labelfontsize=8, labeldistance=2.5"
        out.append(f"  {_id(e.layer - 1, e.k)} -> {_id(e.layer, e.j)} [color=\"{e.colour}\", "
                   f"penwidth={g.stroke_width(e.value)}, arrowhead=none, "
                   f"tooltip={_dot_str(edge_title(g, e, ascii))}{extra}];")
    f, L = g.forward, len(g.sizes) - 1
    if f is not None:
        name = _cost_name(f, ascii)
        out.append(f"  cost [shape=doublecircle, width=0.9, style=filled, fillcolor=\"#fef3c7\", "
                   f"label={_dot_lines(name, short(f.cost))}];")
        for t in g.targets:
            y = f"{sym('y', None, t.j, ascii=ascii)} = {short(t.y)}"
            out.append(f"  {_id(L, t.j)} -> cost [style=dashed, color=\"#6b7280\", "
                       f"arrowhead=none, label={_dot_str(y)}, fontsize=9];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_str(text: str) -> str:
    """Mermaid labels are HTML: its own entity codes for <, > and quotes."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def render_mermaid(g: Graph, *, ascii: bool = False) -> str:
    # "%%" would open a directive (%%{init: …}%%) inside the comment
    out = ["flowchart LR", f"  %% {g.name.replace('%', '#37;')}: {legend(g, ascii)}"]
    styles = []
    for n in g.nodes:
        small = g.sizes[n.layer] <= SMALL_LAYER
        text = (_node_text(g, n, ascii, "<br/>") if small
                else sym("a", n.layer, n.j, ascii=ascii))
        out.append(f'  {_id(n.layer, n.j)}(("{text}"))')
        if n.a is not None:
            fill, ink = _node_colours(g, n)
            styles.append(f"  style {_id(n.layer, n.j)} fill:{fill},color:{ink}")
    for m in g.markers:
        out.append(f'  more{m.layer}["{_more(m, ascii)}"]')
    links: list[tuple[str, float]] = []
    for e in g.edges:
        texts = _edge_texts(g, e, ascii)
        label = f'|"{_mermaid_str("; ".join(texts.values()))}"|' if texts else ""
        out.append(f"  {_id(e.layer - 1, e.k)} ---{label} {_id(e.layer, e.j)}")
        links.append((e.colour, g.stroke_width(e.value)))
    f, L = g.forward, len(g.sizes) - 1
    if f is not None:
        out.append(f'  cost(("{_cost_name(f, ascii)}<br/>{short(f.cost)}"))')
        for t in g.targets:
            y = f"{sym('y', None, t.j, ascii=ascii)} = {short(t.y)}"
            out.append(f'  {_id(L, t.j)} -.-|"{_mermaid_str(y)}"| cost')
            links.append(("#6b7280", 1.2))
        styles.append("  style cost fill:#fef3c7")
    for i, (colour, width) in enumerate(links):
        out.append(f"  linkStyle {i} stroke:{colour},stroke-width:{width}px")
    out += styles
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
