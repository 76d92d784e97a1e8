"""``backprop sensitivity``'s report as a ranked table (with a heatmap of block characters
for --image), CSV rows and an SVG heatmap. No math here beyond placing the values on a
scale: every number comes from :class:`~backprop_cli.reports.sensitivity.SensitivityReport`
(its JSON is ``to_dict()``)."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, TextIO
from xml.sax.saxutils import escape

from rich.console import Console
from rich.text import Text

from backprop_cli.present import Options
from backprop_cli.present.console import make_console
from backprop_cli.present.fit import Cell, Col, Grid
from backprop_cli.present.json import round_floats
from backprop_cli.present.notation import number, sym, to_ascii
from backprop_cli.present.table import _Fmt, show

if TYPE_CHECKING:
    from backprop_cli.reports.sensitivity import SensitivityReport

# The heatmap's shades, lightest (the scale's low end) to darkest; --ascii writes - = * #
SHADES = (" ", "░", "▒", "▓", "█")
UNITS = {"standard": "one standard deviation of the feature (its scale)",
         "minmax": "the feature's training range max − min (its scale)"}


def _output(report: SensitivityReport, ascii: bool) -> str:
    """ŷ as the seed writes it: a(L)j, or Σj a(L)j's terms."""
    L = report.network.depth
    return sym("a", L, report.output if report.output is not None else "j", ascii=ascii)


def headers(report: SensitivityReport, ascii: bool) -> dict[str, Col]:
    """The table's header of each of :data:`~backprop_cli.reports.sensitivity.SORTS`."""
    f = _Fmt(Options(ascii=ascii))
    x = sym("x", None, "k", ascii=ascii)
    c0 = f.c0
    dy = f.d(_output(report, ascii), x)
    dy_full = f"mean |{dy}|" if report.output is not None else f"mean Σⱼ |{dy}|"
    return {
        "mean_dC_dx": Col(f"mean {f.d(c0, x)}", f"{f.d(c0, 'x')}",
                          f"{f.d(c0, 'x')} = mean {f.d(c0, x)}"),
        "mean_abs_dC_dx": Col(f"mean |{f.d(c0, x)}|", f"|{f.d(c0, 'x')}|",
                              f"|{f.d(c0, 'x')}| = mean |{f.d(c0, x)}|"),
        "mean_abs_dy_dx": Col(dy_full, f"|{f.d('ŷ', 'x')}|", f"|{f.d('ŷ', 'x')}| = {dy_full}"),
    }


def _what_x(report: SensitivityReport) -> str:
    """What x is, and the chain rule for a raw unit."""
    if report.scale is None:
        return ("x is the raw feature (the network stores no scaling): each value is per unit "
                "of the feature.")
    unit = UNITS.get(report.normalize, "the feature's scale")
    return (f"x is the network's input {sym('a', 0, 'k')}: the feature after the network's "
            f"stored {report.normalize} scaling x = (raw − shift) / scale, so each value is "
            f"per {unit}; per raw unit, ∂C₀/∂raw = ∂C₀/∂x / scale (json: \"scale\").")


def _caption(report: SensitivityReport, ascii: bool) -> str:
    cols = headers(report, ascii)
    ranked = cols[report.sort].header
    by = " (by its size: the largest |mean| first)" if report.sort == "mean_dC_dx" else ""
    y_hat = ("ŷ = " + _output(report, ascii) + (", summed over the outputs j"
                                                if report.output is None else ""))
    pre = report.network.preprocessing
    if pre is not None and pre.target_scale is not None:
        y_hat += (f" (in the target's units: the stored {pre.normalize_target} target "
                  "scaling undone)")
    return (f"Ranked by {ranked}{by}. {y_hat}. {_what_x(report)} Signs that differ between rows "
            f"cancel in the mean of {_Fmt(Options(ascii=ascii)).d('C₀', 'x')}, not in the "
            "mean of its size.")


def _feature(report: SensitivityReport, k: int, ascii: bool) -> str:
    return report.name(k) or sym("a", 0, k, ascii=ascii)


def render_table(report: SensitivityReport, out: TextIO, options: Options) -> None:
    console = make_console(out, options)
    f = _Fmt(options)
    net = report.network
    console.print(Text(
        f"Sensitivity of {net.name or 'network'} ({'-'.join(map(str, net.sizes))}) to each "
        f"input x, over {report.scope}; C = mean of {f.c0} = {f.num(report.cost)}",
        style="bold"))
    if report.image is not None:
        heatmap(console, report, options)
    cols = headers(report, options.ascii)
    grid = Grid("Inputs ranked by their effect on the cost and the output",
                ["feature", "rank", cols["mean_dC_dx"], cols["mean_abs_dC_dx"],
                 cols["mean_abs_dy_dx"]],
                caption=_caption(report, options.ascii), tight=True)
    rows = ([_feature(report, r["index"], options.ascii), str(r["rank"]), r["mean_dC_dx"],
             r["mean_abs_dC_dx"], r["mean_abs_dy_dx"]] for r in report.rows_ranked())
    typed: list[list[Cell]] = [list(r) for r in rows]
    grid.add_rows(typed, len(typed), options.limit)
    show(console, f, grid)


def _scale(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if v == v and abs(v) != float("inf")]
    return (min(finite), max(finite)) if finite else (0.0, 0.0)


def shade_of(value: float, low: float, high: float) -> int:
    """The index into :data:`SHADES` of ``value`` on the scale low … high, in equal steps."""
    if not high > low or value != value:
        return len(SHADES) - 1 if value == value else 0
    step = (value - low) / (high - low) * len(SHADES)
    return min(max(int(step), 0), len(SHADES) - 1)


def heatmap(console: Console, report: SensitivityReport, options: Options) -> None:
    """The chosen column on the --image grid, row by row (input k at row k // W, column
    k % W), two characters per pixel, in a frame; then the scale with its numbers."""
    assert report.image is not None
    h, w = report.image
    values = [float(v) for v in report.column(report.sort)]
    low, high = _scale(values)
    digits = options.precision or 3
    header = headers(report, options.ascii)[report.sort].header
    console.print(Text(f"{header} on the {h}×{w} image (input k at row k // {w}, column "
                       f"k % {w})"))
    cell = 2 if 2 * w + 2 <= (console.width or 80) else 1
    console.print(Text("┌" + "─" * (cell * w) + "┐"))
    for r in range(h):
        line = "".join(SHADES[shade_of(values[r * w + c], low, high)] * cell for c in range(w))
        console.print(Text(f"│{line}│"))
    console.print(Text("└" + "─" * (cell * w) + "┘"))
    n = len(SHADES)
    bounds = [low + (high - low) * i / n for i in range(n + 1)]
    console.print(Text("Scale (equal steps from the smallest to the largest value):"))
    for i, shade in enumerate(SHADES):
        lo, hi = number(bounds[i], digits, options.ascii), number(bounds[i + 1], digits,
                                                                    options.ascii)
        console.print(Text(f"  [{shade * 2}] {lo} to {hi}"))
    console.print()


def render_csv(report: SensitivityReport, out: TextIO, options: Options) -> None:
    """One row per input, in rank order (the columns of :data:`FEATURE_FIELDS`)."""
    from backprop_cli.reports.sensitivity import FEATURE_FIELDS

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FEATURE_FIELDS)
    for row in report.rows_ranked():
        if options.precision is not None:
            row = round_floats(row, options.precision)
        if row["name"] is None:
            row["name"] = sym("a", 0, row["index"], ascii=True)
        writer.writerow([row[name] for name in FEATURE_FIELDS])


# --- SVG ------------------------------------------------------------------------------------

WHITE, NEGATIVE, POSITIVE = (255, 255, 255), (37, 99, 235), (220, 38, 38)
PIXELS = 480  # the image's longer side, at most
TICKS = 5


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return f"#{r:02x}{g:02x}{bl:02x}"


def colour(value: float, low: float, high: float) -> str:
    """White at the scale's low end (or at 0 when the scale spans 0) to red at its high end,
    blue at its negative end: a signed column is centred on 0."""
    if value != value:
        return "#9ca3af"
    if low < 0:
        bound = max(-low, high) or 1.0
        return _mix(WHITE, POSITIVE if value >= 0 else NEGATIVE, abs(value) / bound)
    return _mix(WHITE, POSITIVE, (value - low) / (high - low) if high > low else 1.0)


def render_svg(report: SensitivityReport, out: TextIO, options: Options) -> None:
    """A standalone SVG heatmap of the chosen column on the --image grid, with its scale."""
    assert report.image is not None
    h, w = report.image
    values = [float(v) for v in report.column(report.sort)]
    low, high = _scale(values)
    if low < 0:
        bound = max(-low, high)
        low, high = -bound, bound
    size = max(4, min(40, PIXELS // max(h, w)))
    digits = options.precision or 3
    text = to_ascii if options.ascii else str
    header = text(headers(report, options.ascii)[report.sort].header)
    left, top = 16, 40
    bar_x = left + w * size + 24
    width, height = bar_x + 120, top + max(h * size, 160) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, '
        f'sans-serif" font-size="12" role="img" class="sensitivity" '
        f'data-sort="{report.sort}">',
        f"<title>{escape(text(f'{header}: {h}×{w} image of the inputs'))}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{left}" y="24" font-size="14" fill="#111827">{escape(header)}</text>',
        f'<g class="pixels" transform="translate({left} {top})">',
    ]
    for k, v in enumerate(values):
        r, c = divmod(k, w)
        name = text(_feature(report, k, options.ascii))
        parts.append(f'<rect x="{c * size}" y="{r * size}" width="{size}" height="{size}" '
                     f'fill="{colour(v, low, high)}" data-k="{k}" data-value="{v!r}">'
                     f"<title>{escape(name)}: {number(v, 6, options.ascii)}</title></rect>")
    parts.append(f'<rect width="{w * size}" height="{h * size}" fill="none" '
                 'stroke="#374151" stroke-width="1"/>')
    parts.append("</g>")
    bar = 160
    parts.append(f'<g class="scale" transform="translate({bar_x} {top})">')
    steps = 32
    for i in range(steps):  # top: the high end
        v = high - (high - low) * (i + 0.5) / steps
        parts.append(f'<rect x="0" y="{i * bar / steps:g}" width="18" '
                     f'height="{bar / steps + 0.5:g}" fill="{colour(v, low, high)}"/>')
    parts.append(f'<rect width="18" height="{bar}" fill="none" stroke="#374151"/>')
    for i in range(TICKS):
        v = high - (high - low) * i / (TICKS - 1)
        y = bar * i / (TICKS - 1)
        parts.append(f'<line x1="18" y1="{y:g}" x2="23" y2="{y:g}" stroke="#374151"/>')
        parts.append(f'<text class="tick" x="27" y="{y + 4:g}" fill="#374151">'
                     f"{escape(number(v, digits, options.ascii))}</text>")
    parts.append("</g>")
    parts.append("</svg>")
    out.write("\n".join(parts) + "\n")
