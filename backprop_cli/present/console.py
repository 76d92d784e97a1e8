"""The one rich console every table presenter draws on."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console

from backprop_cli.present import Options
from backprop_cli.present.notation import AsciiWriter


def make_console(out: TextIO, options: Options) -> Console:
    """A console on ``out``; with ``options.ascii`` everything is written as plain ASCII."""
    file: TextIO = AsciiWriter(out) if options.ascii else out  # type: ignore[assignment]
    # markup=False: formulas such as −Σj [yj ln aj …] are text, not rich markup.
    return Console(file=file, width=options.width, highlight=False, emoji=False, markup=False)
