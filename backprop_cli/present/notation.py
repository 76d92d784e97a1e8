"""The seed's notation as text: w⁽²⁾₀₁ where the terminal can show it, w(2)_01 where not."""

from __future__ import annotations

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


# What --ascii (or a terminal that is not UTF-8) writes in place of the math symbols.
ASCII = str.maketrans({
    "Σ": "sum ", "−": "-", "²": "^2", "…": "...", "—": "-", "·": "*", "∂": "d", "σ": "sigma",
    "×": "x", "≤": "<=", "≥": ">=", "→": "->", "ⱼ": "_j", "ₖ": "_k", "ˡ": "l", "₀": "0",
    "δ": "delta", "≈": "~", "‖": "||", "Δ": "delta ",
})


class AsciiWriter:
    """A text stream that writes the math symbols of :data:`ASCII` as plain ASCII."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, text: str) -> int:
        return self.out.write(text.translate(ASCII))

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return self.out.isatty()
