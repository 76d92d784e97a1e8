"""The one rich console every table presenter draws on."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, TextIO

from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from backprop_cli.errors import printable
from backprop_cli.present import Options
from backprop_cli.present.notation import AsciiWriter, to_ascii

DEFAULT_WIDTH = 80  # of a stream that is not a terminal, unless COLUMNS says otherwise
MIN_WIDTH = 20  # a narrower COLUMNS (0, negative, tiny) is ignored


def stream_width(stream: TextIO) -> int:
    """The columns ``stream`` has: COLUMNS, else its terminal's width (at least MIN_WIDTH),
    else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns >= MIN_WIDTH:
        return columns
    if stream.isatty():
        try:
            return max(os.get_terminal_size(stream.fileno()).columns, MIN_WIDTH)
        except (OSError, ValueError):
            pass
    return DEFAULT_WIDTH


# Blanks at the end of a line, before any colour codes that close it.
_TRAILING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)(?=\n)")


class TrimmedWriter:
    """A text stream that drops the blanks rich pads every line with (to the width of a table
    or of the console), so that piped output has no trailing spaces. Blanks at the end of one
    write are held back until the next shows whether the line goes on."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.pending = ""

    def write(self, text: str) -> int:
        text = _TRAILING.sub(r"\1", self.pending + text)
        kept = text.rstrip(" ")
        self.pending = text[len(kept):]
        self.out.write(kept)
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, …: those of the stream
        return getattr(self.out, name)


class PrintableConsole(Console):
    """A console whose text is written with its control characters as escapes: a network's
    name, a CSV header or a class label holding ESC … is shown, never obeyed, by the
    terminal. Rich's own colour codes are added after, from the styles."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(printable(segment.text), segment.style)
            for segment in buffer)


class AsciiConsole(PrintableConsole):
    """A console that writes text in ASCII before it wraps it, so that a line stays within the
    width after Σ becomes "sum " and … becomes "..." (its stream rewrites whatever is left)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(_ascii(o) for o in objects), **kwargs)


def _ascii(o: Any) -> Any:
    if isinstance(o, str):
        return to_ascii(o)
    if isinstance(o, Text):
        return Text(to_ascii(o.plain), style=o.style, justify=o.justify)
    return o


def make_console(out: TextIO, options: Options) -> Console:
    """A console on ``out``; with ``options.ascii`` everything is written as plain ASCII, and
    where ``out`` is not a terminal without trailing blanks."""
    file: Any = out if out.isatty() else TrimmedWriter(out)
    if options.ascii:
        file = AsciiWriter(file)
    # markup=False: formulas such as −Σj [yj ln aj …] are text, not rich markup.
    kind = AsciiConsole if options.ascii else PrintableConsole
    return kind(file=file, width=options.width, highlight=False, emoji=False, markup=False)
