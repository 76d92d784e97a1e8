"""``backprop report``: one self-contained HTML page of an analyze report. No math here.

Inline CSS, JS and SVG and no request to any other host: it opens from disk. The tables are
rendered here, so everything but the interactive panel works without JavaScript; the panel
reads the report's JSON (the same document as ``analyze --format json``) from the page.

The page is live where it can be: engine.js (the engine in JavaScript) with the JS forms of
the network's activations and cost from their registry entries, and live.js, which keeps the
page's state and offers ``window.backprop``. It is static, and says why, when an activation or
cost has no JS form, when the network has more than :data:`LIVE_PARAMS` parameters, or when
the report is the mean over more than :data:`LIVE_ROWS` data rows (``report --data``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources

from backprop_cli.errors import plural
from backprop_cli.network import Array, Network, Param
from backprop_cli.present import Options
from backprop_cli.present.chart import svg_chart
from backprop_cli.present.graph import (
    DEFAULT_LABELS,
    INK,
    LIGHT_INK,
    MAX_WIDTH,
    MIN_WIDTH,
    NEGATIVE,
    POSITIVE,
    ZERO,
    picture,
    render_svg,
)
from backprop_cli.present.notation import number, sym
from backprop_cli.present.sensitivity import _caption, _feature, headers
from backprop_cli.present.sensitivity import render_svg as heatmap_svg
from backprop_cli.reports.analyze import AnalyzeReport
from backprop_cli.reports.sensitivity import SensitivityReport
from backprop_cli.reports.train import CostSeries

DIGITS = 6
ROW_LIMIT = 200
SENSITIVITY_ROWS = 10  # the inputs the page's sensitivity table ranks
LIVE_PARAMS = 20_000  # above this many weights and biases the page stays static
LIVE_ROWS = 1_000  # report --data: the rows the page keeps to recompute the means over them

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1.5rem;
       color: #111827; max-width: 78rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; } h3 { font-size: 1rem; }
.sensitivity-box { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
.sensitivity-box figure { margin: 0.5rem 0; }
.sensitivity-box svg { max-width: 100%; height: auto; }
h2, h3, section { scroll-margin-top: 6rem; }  /* below the sticky controls when jumped to */
.diagram { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
.diagram svg { max-width: 100%; height: auto; border: 1px solid #e5e7eb; }
#panel { flex: 1 1 25rem; min-width: 25rem; overflow-x: auto; max-width: 34rem;
         border: 1px solid #d1d5db; padding: 0.75rem 1rem; background: #f9fafb;
         font-size: 0.92rem; }
#panel .formula { line-height: 1.6; }
#panel table { margin-top: 0.5rem; font-size: 0.78rem; }
#panel th, #panel td { padding: 0.15rem 0.3rem; }
line.hit { cursor: pointer; }
line.edge.selected { stroke: #f59e0b !important; stroke-opacity: 1; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.88rem; }
th, td { border: 1px solid #e5e7eb; padding: 0.2rem 0.5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f4f6; }
caption { caption-side: bottom; text-align: left; color: #6b7280; font-size: 0.82rem; }
.note { color: #6b7280; font-size: 0.88rem; }
#playground { border: 1px solid #d1d5db; padding: 0.5rem 1rem 1rem; margin: 1rem 0; }
#playground h2 { margin-top: 0.75rem; }
#pg-controls { position: sticky; top: 0; z-index: 2; background: #ffffff; padding: 0 0.5rem;
               border-bottom: 1px solid #d1d5db; box-shadow: 0 2px 4px #0000001a; }
#pg-controls p { margin: 0.45rem 0; }
.pg-row { display: flex; gap: 1.25rem; flex-wrap: wrap; align-items: flex-start; }
.pg-box { flex: 1 1 22rem; min-width: 18rem; }
.pg-controls label { margin-right: 0.75rem; white-space: nowrap; }
.pg-controls input[type=number] { width: 7.5rem; }
.pg-controls input[type=range] { width: 14rem; vertical-align: middle; }
.pg-controls button { margin-right: 0.35rem; padding: 0.2rem 0.7rem; }
#pg-examples input { width: 5.5rem; }
#pg-error { color: #b91c1c; margin-left: 0.75rem; }
.pg-surfaces { display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-start; }
.pg-surfaces figure { margin: 0; font-size: 0.82rem; width: 250px; }
.pg-surfaces figure.small { width: 110px; }
.pg-surfaces canvas { border: 1px solid #9ca3af; image-rendering: pixelated; }
#pg-derivation math { margin: 0.3rem 0; font-size: 1.05rem; }
#pg-derivation p { margin: 0.4rem 0; }
#pg-tree svg, #pg-curve, #pg-nudges svg { max-width: 100%; height: auto; }
tr[data-param] { cursor: pointer; }
tr.selected td { background: #fef3c7; }
circle.neuron { cursor: pointer; }
circle.neuron.selected { stroke: #f59e0b; stroke-width: 4; }
button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #f59e0b; }
"""

# The live page's controls (kept in view while scrolling) and its section after the diagram:
# hidden until its script finds window.backprop live (so without JavaScript the page is
# today's static page); playground.js fills the empty parts.
CONTROLS = """<div id="pg-controls" class="pg-controls" hidden role="group"
 aria-label="Playground controls">
<p><label for="pg-select">Selected</label><select id="pg-select"></select>
<label for="pg-slider"><span id="pg-name">value</span></label>
<input type="range" id="pg-slider" min="-1" max="1" step="any">
<label for="pg-value">value</label><input type="number" id="pg-value" step="any">
<label for="pg-example">example</label><select id="pg-example"></select></p>
<p><label for="pg-lr">learning rate η</label>
<input type="number" id="pg-lr" value="0.5" min="0" step="any">
<button type="button" id="pg-step">Step</button>
<button type="button" id="pg-play">Play</button>
<button type="button" id="pg-pause" disabled>Pause</button>
<button type="button" id="pg-reset">Reset</button>
<span id="pg-steps" aria-live="polite">step 0</span> · <strong id="pg-cost"></strong>
<span id="pg-error" role="alert"></span></p>
</div>
<p id="pg-static" class="note" hidden></p>"""
PLAYGROUND = """<section id="playground" hidden aria-labelledby="pg-title">
<h2 id="pg-title">Playground: gradient descent, decision surface, derivation, tree</h2>
<div class="pg-row">
<div class="pg-box"><h3>Cost C per step</h3>
<svg id="pg-curve" role="img" aria-label="cost per gradient-descent step" width="460"
 height="200" viewBox="0 0 460 200"></svg></div>
<div class="pg-box"><h3 id="pg-nudges-title">Desired nudges −η·∂C/∂param</h3>
<div id="pg-nudges"></div></div>
</div>
<div class="pg-row">
<div id="pg-surfaces-box" hidden><h3>Decision surface over the input plane</h3>
<div class="pg-surfaces" id="pg-surfaces"></div></div>
<div id="pg-examples"></div>
</div>
<div class="pg-row">
<div class="pg-box" id="pg-derivation" aria-live="polite"></div>
<div class="pg-box"><h3 id="pg-tree-title">Tree</h3><div id="pg-tree"></div></div>
</div>
</section>"""

def _script(name: str) -> str:
    return (resources.files("backprop_cli.present") / name).read_text(encoding="utf-8")


JS = _script("report.js")
PLAYGROUND_JS = _script("playground.js")
ENGINE_JS = _script("engine.js")
LIVE_JS = _script("live.js")


@dataclass(frozen=True)
class Live:
    """Whether the page recomputes itself (``why`` not: a sentence), and the engine's script."""

    live: bool
    why: str = ""
    engine: str = ""


def engine_script(net: Network) -> Live:
    """engine.js with the JS forms of the network's activations and cost (and the cost's
    stable form for its output activation), or why the page cannot have them."""
    lines = ["(function (M) {", "  var E = BackpropEngine;"]
    for name, sigma in {layer.activation: layer.sigma for layer in net.layers}.items():
        js = sigma.js
        if js is None:
            return Live(False, f"the activation {name} has no JavaScript form (no js in its "
                        "entry in activations.py), so the page cannot recompute it")
        lines.append(f"  E.activations[{json.dumps(name)}] = {js};")
    cost = net.cost_fn
    if cost.js is None:
        return Live(False, f"the cost {net.cost} has no JavaScript form (no js in its entry "
                    "in costs.py), so the page cannot recompute it")
    lines.append(f"  E.costs[{json.dumps(net.cost)}] = {cost.js};")
    output = net.layers[-1].activation
    fused = cost.fused.get(output)
    if fused is not None:
        if fused.js is None:
            return Live(False, f"the stable form of {net.cost} with {output} has no JavaScript "
                        "form (no js in its Fused entry in costs.py), so the page cannot "
                        "recompute it")
        lines.append(f"  E.costs[{json.dumps(net.cost)}].fused = "
                     f"{{{json.dumps(output)}: {fused.js}}};")
    lines.append("})(BackpropEngine.math);")
    return Live(True, engine=ENGINE_JS + "\n" + "\n".join(lines) + "\n")


def live_page(report: AnalyzeReport, rows: tuple[Array, Array] | None = None) -> Live:
    """The page's engine, or why the page is static. ``rows``: (inputs, targets) of the data
    rows of a ``report --data`` page, None if they were not kept."""
    net = report.network
    count = sum(layer.weights.size + layer.biases.size for layer in net.layers)
    if count > LIVE_PARAMS:
        return Live(False, f"the network has {count:,} parameters, more than the "
                    f"{LIVE_PARAMS:,} the page recomputes in the browser")
    if report.over is not None and (rows is None or report.over.rows > LIVE_ROWS):
        count = report.over.rows
        what = (f"more than the {LIVE_ROWS:,} the page keeps" if count > LIVE_ROWS
                else "and the page was not given them")
        return Live(False, f"the report is the mean over {count:,} data "
                    f"row{'' if count == 1 else 's'}, {what} to recompute it")
    return engine_script(net)


def _live_settings(live: Live, net: Network,
                   rows: tuple[Array, Array] | None) -> dict[str, object]:
    """What live.js reads: whether the page is live, why not, whether targets are
    probabilities (the cost takes ln a), and the data rows of a page over --data."""
    settings: dict[str, object] = {"live": live.live, "why": live.why,
                                   "probability_targets": net.cost_fn.probability_targets}
    if live.live and rows is not None:
        inputs, targets = rows
        settings["rows"] = [{"input": x, "target": y}
                            for x, y in zip(inputs.tolist(), targets.tolist(), strict=True)]
    return settings


def num(x: float | None) -> str:
    return number(x, DIGITS)


Row = tuple[str, Sequence[str]]
"""A table row: its attributes (`` data-param="w2.0.1" data-example="0"``, or "") and cells."""


def _table(caption: str, header: Sequence[str], rows: Iterable[Row], total: int,
           limit: int | None, cls: str, fields: Sequence[str | None] = ()) -> str:
    """``fields``: per column, the ``data-field`` the page's script refreshes that cell by
    (the key of the number in the report's JSON), or None."""
    out = [f'<table class="{cls}"><thead><tr>'
           + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    hooks = [f' data-field="{f}"' if f else "" for f in fields]
    hooks += [""] * (len(header) - len(hooks))
    shown = 0
    for attrs, row in rows:
        if limit is not None and shown >= limit:
            break
        out.append(f"<tr{attrs}>" + "".join(f"<td{hook}>{escape(c)}</td>"
                                             for hook, c in zip(hooks, row, strict=False))
                   + "</tr>")
        shown += 1
    note = caption
    if shown < total:
        note += f" … {plural(total - shown, 'more row')} (backprop report --limit 0 shows all)."
    out.append(f"</tbody><caption>{escape(note)}</caption></table>")
    return "\n".join(out)


def _param(p: Param) -> str:
    return sym("w", p.layer, p.j, p.k) if p.k is not None else sym("b", p.layer, p.j)


def _param_name(p: Param) -> str:
    """The name the page's script (and `backprop nudge`) takes: w2.0.1, b3.0."""
    return f"w{p.layer}.{p.j}.{p.k}" if p.k is not None else f"b{p.layer}.{p.j}"


def _tables(report: AnalyzeReport, limit: int | None) -> str:
    """The tables of every example. Every number's cell carries ``data-field`` and its row
    ``data-example`` (the position in the JSON's examples) and ``data-param`` or
    ``data-neuron``, so that the live page can refresh it after an edit."""
    net = report.network
    L = net.depth
    out: list[str] = []
    for pos, e in enumerate(report.examples):
        title = report.example_title(e)
        cost = "C = mean of C₀" if report.forward_note else "C₀"
        # the live page rewrites the number after the last "= "
        out.append(f'<h3 class="example-cost" data-example="{pos}">'
                   f"{escape(title[:1].upper() + title[1:])}: {cost} = "
                   f"{num(float(report.trace.cost_per_example[e]))}</h3>")
        ex = f' data-example="{pos}"'
        rows: list[Row] = [(f' data-neuron="a0.{k}"{ex}', [sym("a", 0, k), "", num(float(x)), ""])
                           for k, x in enumerate(report.inputs[e])]
        for l in range(1, L + 1):  # noqa: E741
            t = report.trace.layers[l - 1]
            rows += [(f' data-neuron="a{l}.{j}"{ex}',
                      [sym("a", l, j), num(float(t.z[e, j])), num(float(t.a[e, j])),
                       num(float(report.targets[e, j])) if l == L else ""])
                     for j in range(t.z.shape[1])]
        note = f" {report.forward_note}" if report.forward_note else ""
        out.append(_table(f"Forward pass: z⁽ˡ⁾ⱼ = Σₖ w⁽ˡ⁾ⱼₖ a⁽ˡ⁻¹⁾ₖ + b⁽ˡ⁾ⱼ, a⁽ˡ⁾ⱼ = σ(z⁽ˡ⁾ⱼ); "
                          f"{net.cost_fn.formula}.{note}",
                          ["neuron", "z⁽ˡ⁾ⱼ", "a⁽ˡ⁾ⱼ", "target yⱼ"], rows, len(rows), limit,
                          "forward", (None, "z", "a", "y")))
        for kind, name in (("w", "Weights"), ("b", "Biases")):
            params = report.params(kind=kind, limit=limit)
            what = "w⁽ˡ⁾ⱼₖ" if kind == "w" else "b⁽ˡ⁾ⱼ"

            def rows_of(params: list[Param] = params, e: int = e, ex: str = ex) -> Iterable[Row]:
                for p in params:
                    r = report.row(e, p)
                    yield (f' data-param="{_param_name(p)}"{ex}',
                           [_param(p), num(r.value), num(r.dC_da), num(r.da_dz),
                            num(r.dC_dz), num(r.dz_dw), num(r.gradient), num(r.mean_gradient)])

            out.append(_table(
                f"{name}: ∂C₀/∂{what} = ∂C₀/∂a⁽ˡ⁾ⱼ · ∂a⁽ˡ⁾ⱼ/∂z⁽ˡ⁾ⱼ · ∂z⁽ˡ⁾ⱼ/∂{what}; "
                f"∂C/∂{what} is the gradient of the full cost.",
                ["param", "value", "∂C₀/∂a⁽ˡ⁾ⱼ", "∂a⁽ˡ⁾ⱼ/∂z⁽ˡ⁾ⱼ", "∂C₀/∂z⁽ˡ⁾ⱼ",
                 f"∂z⁽ˡ⁾ⱼ/∂{what} = {'a⁽ˡ⁻¹⁾ₖ' if kind == 'w' else '1'}",
                 f"∂C₀/∂{what} (this example)", f"∂C/∂{what} (mean over {report.scope})"],
                rows_of(), report.param_count(kind=kind), limit,
                "weights" if kind == "w" else "biases",
                (None, "value", "dC_da", "da_dz", "dC_dz", "dz_dw", "gradient",
                 "mean_gradient")))
        rows = [(f' data-neuron="a{l - 1}.{k}" data-layer="{l}"{ex}',
                 [sym("a", l - 1, k), num(float(report.trace.layers[l - 1].dz_dw[e, k])),
                  num(float(report.trace.layers[l - 1].dC_da_prev[e, k])),
                  str(net.sizes[l])])
                for l in sorted(report.layers, reverse=True)  # noqa: E741
                for k in range(net.sizes[l - 1])]
        out.append(_table("Backward: ∂C₀/∂a⁽ˡ⁻¹⁾ₖ = Σⱼ w⁽ˡ⁾ⱼₖ · ∂a⁽ˡ⁾ⱼ/∂z⁽ˡ⁾ⱼ · ∂C₀/∂a⁽ˡ⁾ⱼ: "
                          "each neuron reaches the cost through every neuron of the next layer.",
                          ["neuron", "value", "∂C₀/∂a⁽ˡ⁻¹⁾ₖ", "paths"], rows, len(rows), limit,
                          "backward", (None, "dz_dw", "dC_da_prev")))
    return "\n".join(out)


def _sensitivity(report: SensitivityReport) -> str:
    """The inputs ranked by mean |∂C₀/∂x| (the first :data:`SENSITIVITY_ROWS`), and the
    heatmap of ``backprop sensitivity --format svg`` when the report has an image shape.
    Static: the numbers of the file, as Python computed them."""
    cols = headers(report, False)
    order = ("mean_dC_dx", "mean_abs_dC_dx", "mean_abs_dy_dx")
    rows: list[Row] = [
        (f' data-feature="{r["index"]}"',
         [_feature(report, r["index"], False), str(r["rank"]),
          *(num(r[c]) for c in order)])
        for r in report.rows_ranked()]
    out = ['<section id="sensitivity" aria-labelledby="sensitivity-title">',
           '<h2 id="sensitivity-title">Sensitivity: the inputs ranked by their effect on the '
           "cost</h2>",
           f'<p class="note">Over {escape(report.scope)}, as the file was written (C = '
           f"{num(report.cost)}): computed when the page was made; the live controls above "
           "do not update it. <code>backprop sensitivity</code> gives every input.</p>"]
    top = (f"The first {SENSITIVITY_ROWS} of {len(rows)} inputs. "
           if len(rows) > SENSITIVITY_ROWS else "")
    figure = ""
    if report.image is not None:
        h, w = report.image
        buffer = io.StringIO()
        heatmap_svg(report, buffer, Options())
        figure = ("<figure>" + buffer.getvalue().replace(
            ' xmlns="http://www.w3.org/2000/svg"', "", 1)
            + f"<figcaption class=\"note\">{escape(cols[report.sort].header)} on the "
            f"{h}×{w} image: input k at row k // {w}, column k % {w}.</figcaption></figure>")
    out.append('<div class="sensitivity-box">'
               + _table(top + _caption(report, False),
                        ["feature", "rank", *(cols[c].header for c in order)],
                        rows[:SENSITIVITY_ROWS], min(len(rows), SENSITIVITY_ROWS), None,
                        "sensitivity")
               + figure + "</div>")
    out.append("</section>")
    return "\n".join(out)


def _json_script(doc: object, id_: str = "report-data") -> str:
    # "<" never appears raw, so no "</script>" (or "<!--") inside can end the element early.
    text = json.dumps(doc, allow_nan=False).replace("<", "\\u003c")
    return f'<script type="application/json" id="{id_}">{text}</script>'


def _page_constants() -> dict[str, object]:
    """The diagram's drawing constants (present/graph.py), for the page's script to redraw it
    with the same formulas."""
    return {"minWidth": MIN_WIDTH, "maxWidth": MAX_WIDTH, "positive": POSITIVE,
            "negative": NEGATIVE, "zero": ZERO, "ink": INK, "lightInk": LIGHT_INK}


def render_html(report: AnalyzeReport, *, source: str, costs: CostSeries | None = None,
                limit: int | None = ROW_LIMIT, max_neurons: int = 12,
                data_rows: tuple[Array, Array] | None = None, example: int = 0,
                scale: float | None = None, labels: str = DEFAULT_LABELS,
                sensitivity: SensitivityReport | None = None) -> str:
    """The page. ``costs``: training and validation cost per epoch (from ``train --log``);
    ``data_rows``: the rows of a report over ``--data`` (inputs, targets), for a live page;
    ``example``, ``scale``, ``labels``: the diagram's (as ``backprop graph``'s options);
    ``sensitivity``: the inputs' ranking (and heatmap, with its image) for its section."""
    net = report.network
    live = live_page(report, data_rows)
    name = net.name or "network"
    graph = picture(report, net, "gradient", max_neurons, example=example, scale=scale,
                    labels=labels)
    svg = render_svg(graph, interactive=True).replace(
        ' xmlns="http://www.w3.org/2000/svg"', "", 1)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No request leaves the page: everything is inline, and the policy says so.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        f"<title>backprop report: {escape(name)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>backprop report: {escape(name)} ({'-'.join(map(str, net.sizes))})</h1>",
        f'<p>From <code>{escape(source)}</code>. Cost {escape(net.cost)} '
        f"({escape(net.cost_fn.formula)}); the full cost C is the mean of C₀ over "
        f"{escape(report.scope)}: <strong class=\"cost\">C = {num(report.trace.cost)}"
        "</strong></p>",
    ]
    for note in (report.factor_note, report.fused_note):
        if note:
            parts.append(f'<p class="note">{escape(note)}</p>')
    if not live.live:
        parts.append(f'<p class="note" id="static-note">This page is static: {escape(live.why)}.'
                     " Its numbers are those of the file; they cannot be edited here.</p>")
    parts += [
        CONTROLS,
        "<h2>Network: neurons lit by their activation, edges by ∂C/∂w, and the cost C₀</h2>",
        f'<div class="diagram">{svg}',
        f'<aside id="panel" data-scope="{escape(report.scope)}"><p>Each neuron is filled '
        "by its activation a⁽ˡ⁾ⱼ (dark: low, light: high; the value inside), each edge "
        "coloured by the sign of ∂C/∂w and drawn as wide as its size, labelled with w and "
        "∂C/∂w where there is room; the outputs are joined to the cost node C₀ with the "
        "targets y. The legend under the picture says it in words.</p><p>Click or hover an "
        "edge (a weight) to see its chain-rule factors and its gradient here. (This needs "
        "JavaScript; the tables below do not.)</p></aside></div>",
        PLAYGROUND,
    ]
    if sensitivity is not None:
        parts.append(_sensitivity(sensitivity))
    if costs is not None:
        parts += ["<h2>Training: cost per epoch</h2>", svg_chart(costs)]
        rows = [("", [str(e), num(t), num(v)])
                for e, t, v in zip(costs.epochs, costs.train, costs.val, strict=True)]
        parts.append(_table("From the training log.", ["epoch", "train cost", "val cost"],
                            rows, len(rows), limit, "training"))
    parts += ["<h2>Tables</h2>", _tables(report, limit), _json_script(report.to_dict()),
              _json_script(_live_settings(live, net, data_rows), "live-settings")]
    if live.live:
        parts.append(f"<script>{live.engine}</script>")
    parts += [f"<script>{LIVE_JS}</script>",
              f"<script>var DIGITS = {DIGITS};\n{JS}</script>",
              f"<script>var PAGE = {json.dumps(_page_constants())};\n{PLAYGROUND_JS}</script>",
              "</body></html>"]
    return "\n".join(parts) + "\n"
