"""Where text goes in a picture: boxes, estimated text widths, and labels placed along lines
where they overlap nothing already placed. Pure arithmetic, no SVG.

Widths are estimated from DejaVu Sans (the first font the diagrams ask for, and the widest of
them), so a box holds its text in any of the fonts the SVG names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Advance widths in em (DejaVu Sans); anything not listed takes DEFAULT_EM.
_EM = {**dict.fromkeys("0123456789", 0.636), ".": 0.318, ",": 0.318, "-": 0.361, "+": 0.838,
       "e": 0.615, " ": 0.318, "=": 0.838, "(": 0.39, ")": 0.39, "/": 0.337, "∂": 0.62,
       "C": 0.698, "w": 0.818, "y": 0.592, "a": 0.613, "…": 1.0, "|": 0.337}
_SMALL = "⁽⁾⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉ⱼₖˡ⁻"  # super- and subscripts: about two thirds of a digit
DEFAULT_EM = 0.7
HALO = 3.5  # the white outline drawn around label text, each side
LINE = 1.2  # a line of text is this many em high


def text_width(text: str, size: float) -> float:
    """The estimated advance width of ``text`` at font size ``size`` (px)."""
    return size * sum(0.42 if ch in _SMALL else _EM.get(ch, DEFAULT_EM) for ch in text)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return (self.x0 < other.x1 and other.x0 < self.x1
                and self.y0 < other.y1 and other.y0 < self.y1)

    def inside(self, other: Box) -> bool:
        return (other.x0 <= self.x0 and self.x1 <= other.x1
                and other.y0 <= self.y0 and self.y1 <= other.y1)


def text_box(x: float, baseline: float, text: str, size: float, anchor: str = "middle") -> Box:
    """The box of one line of text written at (x, baseline) with its halo; ``anchor`` as
    SVG's text-anchor."""
    w = text_width(text, size) + 2 * HALO
    x0 = x - w / 2 if anchor == "middle" else x - HALO if anchor == "start" else x - w + HALO
    top = baseline - 0.95 * size - HALO
    return Box(x0, top, x0 + w, top + LINE * size + 2 * HALO)


def baseline_for_centre(cy: float, size: float) -> float:
    """The baseline that centres one line of text of ``size`` on ``cy`` (the inverse of
    :func:`text_box`'s vertical extent)."""
    return cy - LINE * size / 2 + 0.95 * size


@dataclass(frozen=True)
class Request:
    """A label to place on the segment (x1, y1)–(x2, y2), at one of ``ts`` (fractions of the
    way from the first point), tried in order."""

    key: int  # names it to the caller
    text: str
    x1: float
    y1: float
    x2: float
    y2: float
    ts: Sequence[float]


@dataclass(frozen=True)
class Placed:
    key: int
    text: str
    x: float  # the centre of the text
    baseline: float
    box: Box


def place_all(asks: Iterable[Request], size: float, taken: list[Box],
              within: Box) -> list[Placed] | None:
    """Every request placed centred on its segment, in a box inside ``within`` that overlaps
    no box of ``taken`` nor any label placed before it; or None (and ``taken`` unchanged) if
    one of them has no room. On success the new boxes are appended to ``taken``."""
    placed: list[Placed] = []
    boxes = list(taken)
    for r in asks:
        for t in r.ts:
            cx, cy = r.x1 + t * (r.x2 - r.x1), r.y1 + t * (r.y2 - r.y1)
            base = baseline_for_centre(cy, size)
            box = text_box(cx, base, r.text, size)
            if box.inside(within) and not any(box.overlaps(b) for b in boxes):
                placed.append(Placed(r.key, r.text, cx, base, box))
                boxes.append(box)
                break
        else:
            return None
    taken[:] = boxes
    return placed


def fractions(prefer: float, lo: float, hi: float, step: float = 0.02) -> list[float]:
    """The fractions from ``lo`` to ``hi`` in ``step``\\ s, nearest to ``prefer`` first."""
    n = round((hi - lo) / step)
    ts = [round(lo + i * step, 6) for i in range(n + 1)]
    return sorted(ts, key=lambda t: (abs(t - prefer), t))
