"""``analyze --format latex``: the worked derivation as a LaTeX document (amsmath) or, with
``--fragment``, the body alone to paste into one."""

from __future__ import annotations

from typing import TextIO

from backprop_cli.present import Options
from backprop_cli.present.derivation import Block, Derivation, Equation, Heading, Text
from backprop_cli.reports.analyze import AnalyzeReport

PREAMBLE = r"""\documentclass[a4paper]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{amsmath}
\allowdisplaybreaks
\begin{document}
"""
END = "\\end{document}\n"
_SECTION = {1: "section*", 2: "subsection*", 3: "subsubsection*", 4: "paragraph*"}
_ESCAPE = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
    "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}", "…": r"\dots{}",
}


def escape(text: str) -> str:
    # "--" would print as an en dash: keep the option names as typed.
    return "".join(_ESCAPE.get(c, c) for c in text).replace("--", "-{}-")


def inline(parts: tuple[Text, ...]) -> str:
    return "".join(f"${p.text}$" if p.math else escape(p.text) for p in parts)


def block(b: Block) -> str:
    if isinstance(b, Heading):
        return f"\\{_SECTION[b.level]}{{{inline(b.parts)}}}"
    if isinstance(b, Equation):
        lines = [f"  {b.lhs + ' ' if i == 0 else ''}&{rel} {step}"
                 for i, (rel, step) in enumerate(b.relations("=", r"\approx "))]
        return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"
    return inline(b.parts)


def render_latex(report: AnalyzeReport, out: TextIO, options: Options) -> None:
    body = "\n\n".join(block(b) for b in Derivation(report, options.precision,
                                                       options.limit).blocks()) + "\n"
    out.write(body if options.fragment else PREAMBLE + "\n" + body + "\n" + END)
