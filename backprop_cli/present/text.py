"""``analyze --format text``: the worked derivation for a terminal, in the tables' notation
(∂C₀/∂w⁽³⁾₀₀, or dC0/dw(3)_00 with --ascii), wrapped to the width on operator boundaries.

The blocks are :mod:`derivation`'s, the same as markdown's and latex's; their math (a small
subset of LaTeX) is written here as text.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from typing import TextIO

from backprop_cli.present import Options
from backprop_cli.present.console import stream_width
from backprop_cli.present.derivation import Block, Derivation, Equation, Heading, Text
from backprop_cli.present.notation import partial, sym, to_ascii
from backprop_cli.reports.analyze import AnalyzeReport

_SUB = str.maketrans("0123456789jki", "₀₁₂₃₄₅₆₇₈₉ⱼₖᵢ")
_SUBSCRIPTABLE = set("0123456789jki,")
# x \times 10^{n}, as Numbers writes a power of ten: the tables' 4.54e-05
_POWER = re.compile(r"(-?[\d.]+) \\times 10\^\{(-?\d+)\}")
_NUMBER = re.compile(r"-?[\d.]+")
# command → (text, ascii); an activation's or a cost's own commands (\sigma, \ln) come with
# its registry entry (Activation.words, Cost.words: Derivation.words)
_WORDS = {
    "cdot": ("·", "*"), ",": ("·", "*"), " ": (" ", " "), "partial": ("∂", "d"),
    "infty": ("∞", "inf"), "ne": ("≠", "!="), "le": ("≤", "<="), "approx": ("≈", "~"),
    "times": ("×", "x"),
}


class Math:
    """LaTeX math as the derivation writes it → text (``ascii``: the tables' ASCII notation);
    ``words``: more commands, as (text, ascii)."""

    def __init__(self, ascii: bool, words: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.ascii = ascii
        self.words = {**_WORDS, **(words or {})}

    def __call__(self, tex: str) -> str:
        tex = _POWER.sub(lambda m: f"{m[1]}e{int(m[2]):+03d}", tex)
        text, _ = self.run(tex, 0)
        return re.sub(r"\bC_0", "C0", text) if self.ascii else text

    def run(self, tex: str, i: int) -> tuple[str, int]:
        """Text up to the } that closes the group at ``i`` (or the end), and the index after."""
        out: list[str] = []
        while i < len(tex):
            c = tex[i]
            if c == "}":
                return "".join(out), i + 1
            if c == "{":
                group, i = self.run(tex, i + 1)
                out.append(group)
            elif c == "\\":
                text, i = self.command(tex, i + 1)
                out.append(text)
            elif c in "^_":
                arg, i = self.arg(tex, i + 1)
                out.append(self.sup(arg) if c == "^" else self.sub(arg))
            else:
                out.append(c)
                i += 1
        return "".join(out), i

    def arg(self, tex: str, i: int) -> tuple[str, int]:
        """The argument at ``i``: a {group} or one character, as text."""
        if tex[i] == "{":
            return self.run(tex, i + 1)
        if tex[i] == "\\":
            return self.command(tex, i + 1)
        return tex[i], i + 1

    def raw(self, tex: str, i: int) -> tuple[str, int]:
        """The LaTeX source of the {group} at ``i``, and the index after it."""
        depth, start = 0, i
        while True:
            depth += {"{": 1, "}": -1}.get(tex[i], 0)
            i += 1
            if depth == 0:
                return tex[start + 1:i - 1], i

    def command(self, tex: str, i: int) -> tuple[str, int]:
        name = re.match(r"[A-Za-z]+|.", tex[i:])
        assert name is not None
        word, i = name[0], i + len(name[0])
        if word in ("left", "right"):
            return ("" if tex[i] == "." else tex[i]), i + 1
        if word in ("text", "operatorname"):
            source, i = self.raw(tex, i)
            return source if word == "text" else self(source), i
        if word == "frac":
            num, i = self.raw(tex, i)
            den, i = self.raw(tex, i)
            return self.frac(num, den), i
        if word == "sum":
            if i < len(tex) and tex[i] == "_":
                index, i = self.arg(tex, i + 1)
                return ("sum" if self.ascii else "Σ") + self.sub(index), i
            return "sum" if self.ascii else "Σ", i
        if word == "dots":
            if i < len(tex) and tex[i] == "_":
                more, i = self.arg(tex, i + 1)
                return ("..." if self.ascii else "…") + f" ({more})", i
            return "..." if self.ascii else "…", i
        if word not in self.words:
            raise ValueError(f"no text for \\{word} in {tex!r}")
        return self.words[word][self.ascii], i

    def frac(self, num: str, den: str) -> str:
        if num.startswith(r"\partial ") and den.startswith(r"\partial "):
            return partial(self(num[len(r"\partial "):]), self(den[len(r"\partial "):]),
                           ascii=self.ascii)
        top, bottom = self(num), self(den)
        if _NUMBER.fullmatch(top) and _NUMBER.fullmatch(bottom):
            return f"({top}/{bottom})"
        return f"{self.grouped(top)}/{self.grouped(bottom)}"

    @staticmethod
    def grouped(text: str) -> str:
        return f"({text})" if " " in text else text

    def sup(self, arg: str) -> str:
        if arg.startswith("(") and arg.endswith(")") and " " not in arg:
            return sym("", arg[1:-1], ascii=self.ascii)  # a layer: w⁽²⁾, w(2)
        if arg == "2":
            return "^2" if self.ascii else "²"
        return "^" + self.grouped(arg)

    def sub(self, arg: str) -> str:
        if set(arg) <= _SUBSCRIPTABLE:
            return "_" + arg if self.ascii else arg.translate(_SUB)
        return "_" + self.grouped(arg)


def _split(text: str, operators: str, outside: bool = True) -> list[str]:
    """``text`` cut before every " o " with o in ``operators`` (``outside``: only outside
    parentheses and brackets)."""
    atoms, start, depth = [], 0, 0
    for i, c in enumerate(text):
        depth += (c in "([") - (c in ")]")
        if (c == " " and i > start and text[i + 1:i + 2] in operators
                and text[i + 2:i + 3] == " " and (depth == 0 or not outside)):
            atoms.append(text[start:i])
            start = i
    return [*atoms, text[start:]]


def wrap_equation(text: str, lhs: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken before an =, + or − outside parentheses
    (before a ·, or inside parentheses, only where a term is wider than a line); a continuation
    line starts under the first = (a relation) or two further (an operator)."""
    indent = len(lhs) + 1 if len(lhs) + 1 <= width // 2 else 4
    room = width - indent - 2
    lines = [""]

    def put(atom: str) -> None:
        if lines[-1] and len(lines[-1]) + len(atom) > width:
            lines.append(" " * (indent if atom[1] in "=≈~" else indent + 2) + atom.lstrip())
        else:
            lines[-1] += atom

    def fill(atom: str, splits: list[tuple[str, bool]]) -> None:
        if len(atom) <= room or len(lines[-1]) + len(atom) <= width or not splits:
            put(atom)
            return
        pieces = _split(atom, *splits[0])
        for piece in pieces if len(pieces) > 1 else [atom]:
            fill(piece, splits[1:])

    for atom in _split(text, "=≈~+-"):
        fill(atom, [("·*", True), ("+-·*", False)])
    out: list[str] = []
    for line in lines:  # a number wider than the line on its own: cut
        while len(line) > width:
            cut = width - 1
            out.append(line[:cut] + "\\")
            line = " " * min(indent + 2, width // 2) + line[cut:]
        out.append(line)
    return out


class TextRenderer:
    def __init__(self, ascii: bool, width: int,
                 words: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.math = Math(ascii, words)
        self.ascii = ascii
        self.width = width

    def inline(self, parts: tuple[Text, ...]) -> str:
        text = "".join(self.math(p.text) if p.math else p.text for p in parts)
        return to_ascii(text) if self.ascii else text

    def block(self, b: Block) -> str:
        if isinstance(b, Equation):
            lhs = self.math(b.lhs)
            steps = [(rel, self.math(step))
                     for rel, step in b.relations("=", "~" if self.ascii else "≈")]
            text = lhs + "".join(f" {rel} {step}" for rel, step in steps)
            return "\n".join(wrap_equation(text, lhs, self.width))
        text = self.inline(b.parts)
        if isinstance(b, Heading):
            rule = {1: "=", 2: "-"}.get(b.level)
            title = textwrap.fill(text, self.width)
            return f"{title}\n{rule * min(len(text), self.width)}" if rule else title + ":"
        return textwrap.fill(text, self.width, break_on_hyphens=False)

    def render(self, blocks: list[Block]) -> str:
        out: list[str] = []
        for previous, b in zip([None, *blocks], blocks, strict=False):
            if out and not (isinstance(b, Equation) and isinstance(previous, Equation)):
                out.append("")
            out.append(self.block(b))
        return "\n".join(out) + "\n"


def render_text(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    derivation = Derivation(report, options.precision, options.limit)
    blocks = list(derivation.blocks())
    text = TextRenderer(options.ascii, stream_width(out), derivation.words()).render(blocks)
    out.write(to_ascii(text) if options.ascii else text)
