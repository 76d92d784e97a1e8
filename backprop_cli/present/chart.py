"""The cost per epoch, seen: a terminal chart and an inline SVG chart (the PNG: io/plot.py).

The series come from :mod:`backprop_cli.reports.train` (training's per-epoch records) or
:mod:`backprop_cli.io.logs` (a ``train --log`` file); no math and no parsing here.
"""

from __future__ import annotations

import math
from html import escape

from backprop_cli.reports.train import CostSeries

LOG_SPAN = 10  # the terminal chart's y axis is logarithmic when the costs span more than 10×


# --- the terminal chart -------------------------------------------------------------------

def terminal_chart(s: CostSeries, *, width: int = 80, height: int = 10,
                   ascii: bool = False) -> str:
    """Rows of text at most ``width`` wide: the y axis labelled with the largest and smallest
    cost, train as ● (``*``), validation as ○ (``o``) and ◉ (``@``) where both fall in one
    cell, epochs along the bottom. The y axis is logarithmic when the largest cost is more
    than 10× the smallest: on a linear one, a cost 10× below another sits on the bottom row
    with everything else below it."""
    values = s.values()
    if not values:
        return ""
    top, bottom = max(values), min(values)
    log = bottom > 0 and top > LOG_SPAN * bottom
    hi, lo = (math.log10(top), math.log10(bottom)) if log else (top, bottom)
    span = hi - lo or 1.0
    label = max(len(f"{top:.4g}"), len(f"{bottom:.4g}"))
    n = len(s.epochs)
    cols = max(1, min(width - label - 2, n))
    grid = [[" "] * cols for _ in range(height)]
    train_mark, val_mark, both = ("*", "o", "@") if ascii else ("●", "○", "◉")

    def put(i: int, v: float | None, mark: str) -> None:
        if v is None:
            return
        col = round(i * (cols - 1) / (n - 1)) if n > 1 else 0
        row = round((hi - (math.log10(v) if log else v)) / span * (height - 1))
        cell = grid[row][col]
        grid[row][col] = mark if cell in (" ", mark) else both

    for i in range(n):
        put(i, s.val[i], val_mark)
        put(i, s.train[i], train_mark)
    bar = "|" if ascii else "│"
    lines = []
    for r, cells in enumerate(grid):
        y = f"{top:.4g}" if r == 0 else f"{bottom:.4g}" if r == height - 1 else ""
        lines.append(f"{y:>{label}} {bar}{''.join(cells)}".rstrip())
    lines.append(" " * label + " " + ("+" if ascii else "└") + ("-" if ascii else "─") * cols)
    first, last = str(s.epochs[0]), str(s.epochs[-1])
    lines.append(" " * (label + 2) + first + last.rjust(cols - len(first)) if cols > len(first)
                 + len(last) else " " * (label + 2) + f"{first}{'...' if ascii else '…'}{last}")
    key = [f"{train_mark} train cost"]
    if s.has_val:
        key.append(f"{val_mark} validation cost")
    if any(both in row for row in grid):
        key.append(f"{both} both")
    key.append("(per epoch, log scale)" if log else "(per epoch)")
    lines.append(wrap_parts(key, width, " " * (label + 2), gap="   "))
    return "\n".join(lines) + "\n"


def wrap_parts(parts: list[str], width: int, indent: str = "", gap: str = " ",
               first: str | None = None) -> str:
    """``parts`` joined by ``gap`` onto lines of at most ``width``, each starting with
    ``indent`` (the first with ``first``, if given); a part is never split."""
    lines = [(indent if first is None else first) + parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + len(gap) + len(part) <= width:
            lines[-1] += gap + part
        else:
            lines.append(indent + part)
    return "\n".join(lines)


# --- the SVG chart (for the HTML report) --------------------------------------------------

def svg_chart(s: CostSeries, *, width: int = 560, height: int = 260) -> str:
    left, right, top, bottom = 64, 16, 16, 52
    values = s.values()
    hi = max(values) if values else 1.0
    lo = min(values) if values else 0.0
    span = hi - lo or 1.0
    e0, e1 = s.epochs[0], s.epochs[-1]
    ex = (e1 - e0) or 1
    pw, ph = width - left - right, height - top - bottom

    def xy(epoch: int, v: float) -> str:
        return f"{left + (epoch - e0) / ex * pw:.1f},{top + (hi - v) / span * ph:.1f}"

    out = [f'<svg class="cost-chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-size="12" role="img">',
           "<title>cost per epoch</title>",
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#6b7280"/>',
           f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" '
           'stroke="#6b7280"/>',
           f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{hi:.4g}</text>',
           f'<text x="{left - 6}" y="{top + ph + 4}" text-anchor="end">{lo:.4g}</text>',
           f'<text x="{left}" y="{top + ph + 18}" text-anchor="middle">{e0}</text>',
           f'<text x="{left + pw}" y="{top + ph + 18}" text-anchor="middle">{e1}</text>',
           f'<text x="{left + pw / 2}" y="{top + ph + 18}" text-anchor="middle">epoch</text>']
    legend_y = height - 10
    for i, (name, data, colour) in enumerate((("train", s.train, "#2563eb"),
                                              ("validation", s.val, "#ea580c"))):
        points = [xy(e, v) for e, v in zip(s.epochs, data, strict=True) if v is not None]
        if not points:
            continue
        out.append(f'<polyline class="{name}" fill="none" stroke="{colour}" stroke-width="2" '
                   f'points="{" ".join(points)}"/>')
        x0 = left + i * 150
        out.append(f'<line x1="{x0}" y1="{legend_y - 4}" x2="{x0 + 24}" y2="{legend_y - 4}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{x0 + 30}" y="{legend_y}">{escape(name, quote=False)} cost</text>')
    out.append("</svg>")
    return "\n".join(out)
