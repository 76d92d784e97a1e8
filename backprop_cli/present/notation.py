"""The seed's notation as text: w⁽²⁾₀₁ where the terminal can show it, w(2)_01 where not."""

from __future__ import annotations

import re
from typing import TextIO

_SUP = str.maketrans("0123456789-l", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ˡ")
_SUB = str.maketrans("0123456789jk", "₀₁₂₃₄₅₆₇₈₉ⱼₖ")


def indices(*idx: int | str) -> str:
    """Subscript digits run together (01) while every index is one character, else 10,3."""
    parts = [str(i) for i in idx]
    return "".join(parts) if all(len(p) == 1 for p in parts) else ",".join(parts)


def sym(name: str, layer: int | str | None = None, *idx: int | str, ascii: bool = False) -> str:
    """``sym("w", 2, 0, 1)`` → ``w⁽²⁾₀₁`` (or ``w(2)_01``)."""
    sub = indices(*idx) if idx else ""
    if ascii:
        return name + (f"({layer})" if layer is not None else "") + (f"_{sub}" if sub else "")
    sup = f"⁽{str(layer).translate(_SUP)}⁾" if layer is not None else ""
    return name + sup + sub.translate(_SUB)


def partial(num: str, den: str, ascii: bool = False) -> str:
    return f"d{num}/d{den}" if ascii else f"∂{num}/∂{den}"


def cost0(ascii: bool = False) -> str:
    return "C0" if ascii else "C₀"


def number(x: float | None, digits: int = 6, ascii: bool = False) -> str:
    """The one number format of the tables: ``digits`` significant digits, "0" for -0, and
    "—" (or "-") for a missing value."""
    if x is None:
        return "-" if ascii else "—"
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text


# What --ascii (or a stream that is not UTF-8) writes in place of every non-ASCII character
# the presenters and the core's messages use (tests/test_ascii.py checks the whole package).
ASCII = str.maketrans({
    "Σ": "sum ", "−": "-", "²": "^2", "…": "...", "⋮": ":", "—": "-", "–": "-", "·": "*", "∂": "d",
    "σ": "sigma", "×": "x", "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~", "→": "->", "←": "<-",
    "⇄": "<->", "ⱼ": "_j", "ₖ": "_k", "ᵢ": "_i", "ˡ": "l", "δ": "delta", "‖": "||", "Δ": "delta ",
    "÷": "/", "±": "+-", "µ": "u", "μ": "mu", "β": "beta", "ε": "eps", "η": "eta",
    "θ": "theta", "ᵀ": "^T", "̂": "^", "′": "'", "√": "sqrt", "∞": "inf", "⌊": "floor(",
    "⌉": ")", "─": "-", "│": "|", "└": "+", "○": "o", "●": "*", "⁽": "(", "⁾": ")",
    "⁻": "-", "¹": "1", "³": "3", "━": "=", "╸": "-", "╺": "-", "∝": "~", "∇": "grad ",
    "◉": "@",  # the cost chart's train and validation in one cell
    "λ": "lambda", "γ": "gamma", "π": "pi", "⌋": ")",  # train's decay and schedules
    "ŷ": "y_hat", "ȳ": "mean(y)",  # evaluate's R²
    "░": "-", "▒": "=", "▓": "*", "█": "#", "┌": "+", "┐": "+", "┘": "+",
    **dict(zip("⁰⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉", "0456789" "0123456789", strict=True)),
})
# A layer in superscript, w⁽²⁾: its digits are plain, w(2), not w(^2).
_LAYER = re.compile("⁽([⁰¹²³⁴⁵⁶⁷⁸⁹⁻ˡ]+)⁾")
_FROM_SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻ˡ", "0123456789-l")
# Σ and Δ before a space or punctuation: the word without the space that keeps "Σj" "sum j".
_BARE_WORD = re.compile(r"[ΣΔ](?=[\s.,;:)|]|$)")


def to_ascii(text: str) -> str:
    """``text`` with the math symbols of :data:`ASCII` in plain ASCII; anything else that is
    not ASCII (a network's name, a class label) as a backslash escape."""
    text = _LAYER.sub(lambda m: "(" + m[1].translate(_FROM_SUP) + ")", text)
    text = _BARE_WORD.sub(lambda m: "sum" if m[0] == "Σ" else "delta", text).translate(ASCII)
    return text if text.isascii() else text.encode("ascii", "backslashreplace").decode("ascii")


class AsciiWriter:
    """A text stream that writes everything as ASCII (see :func:`to_ascii`)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, text: str) -> int:
        return self.out.write(to_ascii(text))

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return self.out.isatty()


def unicode_ok(stream: TextIO) -> bool:
    """Whether ``stream`` can take the seed's notation (its encoding is UTF-8 or UTF-16/32)."""
    encoding = getattr(stream, "encoding", None) or ""
    return encoding.lower().replace("-", "").startswith("utf")
