"""``analyze --format markdown``: the worked derivation with math in ``$…$`` (GitHub renders it)."""

from __future__ import annotations

import re
from typing import TextIO

from backprop_cli.present import Options
from backprop_cli.present.derivation import Block, Derivation, Equation, Heading, Text
from backprop_cli.reports.analyze import AnalyzeReport

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|$])")


def inline(parts: tuple[Text, ...]) -> str:
    return "".join(f"${p.text}$" if p.math else _SPECIAL.sub(r"\\\1", p.text) for p in parts)


def block(b: Block) -> str:
    if isinstance(b, Heading):
        return "#" * b.level + " " + inline(b.parts)
    if isinstance(b, Equation):
        # One display block per equation: GitHub's renderer takes $$ … $$ on their own lines.
        steps = "".join(f" {rel} {step}" for rel, step in b.relations("=", r"\approx"))
        return f"$$\n{b.lhs}{steps}\n$$"
    return inline(b.parts)


def render_markdown(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    blocks = Derivation(report, options.precision, options.limit).blocks()
    out.write("\n\n".join(block(b) for b in blocks) + "\n")
