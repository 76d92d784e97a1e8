"""Presenters: each renders one report to a text stream. No math here.

A presenter is ``render(report, out, options) -> None``. :data:`PRESENTERS` names the one for
every report kind (the command that builds the report) and format; its module is imported on
use, so that ``--format json`` never pays for rich's table machinery.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO


@dataclass(frozen=True)
class Options:
    """``precision``: significant digits (None: tables 6, machine formats exact);
    ``limit``: rows per table (None: all); ``ascii``: w(2)_01 instead of w⁽²⁾₀₁;
    ``width``: the terminal width for tables (None: rich decides); ``fragment``: LaTeX without
    the document around it; ``compact``: a JSON document on one line."""

    precision: int | None = None
    limit: int | None = 25
    ascii: bool = False
    width: int | None = None
    fragment: bool = False
    compact: bool = False


Presenter = Callable[[Any, TextIO, Options], None]

# A report with to_dict() (its JSON document) in JSON.
_DOCUMENT = ("json", "render_document")

# report kind → format → (module of backprop_cli.present, function). The formats are the
# command's --format choices, in the order its help lists them.
PRESENTERS: dict[str, dict[str, tuple[str, str]]] = {
    "analyze": {
        "table": ("table", "render_analyze"),
        "json": ("json", "render_json"),
        "ndjson": ("json", "render_ndjson"),
        "csv": ("json", "render_csv"),
        "text": ("text", "render_text"),
        "markdown": ("markdown", "render_markdown"),
        "latex": ("latex", "render_latex"),
    },
    "check": {"table": ("toolkit", "render_check"), "json": _DOCUMENT},
    "nudge": {"table": ("toolkit", "render_nudge"), "json": _DOCUMENT},
    "step": {
        "table": ("step", "render_table"),
        "json": _DOCUMENT,
        "csv": ("step", "render_csv"),
        "text": ("step", "render_text"),
    },
    "diagnose": {"table": ("toolkit", "render_diagnose"), "json": _DOCUMENT},
    "sensitivity": {
        "table": ("sensitivity", "render_table"),
        "json": _DOCUMENT,
        "csv": ("sensitivity", "render_csv"),
        "svg": ("sensitivity", "render_svg"),
    },
    "train": {"table": ("train", "render_summary"), "json": _DOCUMENT},
    "evaluate": {"table": ("predict", "render_evaluation"), "json": _DOCUMENT},
    "predict": {
        "csv": ("predict", "render_csv"),
        "json": _DOCUMENT,
        "ndjson": ("predict", "render_ndjson"),
    },
    "graph": {
        "svg": ("graph", "write_svg"),
        "dot": ("graph", "write_dot"),
        "mermaid": ("graph", "write_mermaid"),
    },
    "tree": {  # graph --tree PARAM: the same formats
        "svg": ("tree", "write_svg"),
        "dot": ("tree", "write_dot"),
        "mermaid": ("tree", "write_mermaid"),
    },
}


def formats(kind: str) -> tuple[str, ...]:
    """The formats the reports of ``kind`` can be rendered in."""
    return tuple(PRESENTERS[kind])


def presenter(kind: str, fmt: str) -> Presenter:
    module, name = PRESENTERS[kind][fmt]
    fn: Presenter = getattr(importlib.import_module(f"backprop_cli.present.{module}"), name)
    return fn
