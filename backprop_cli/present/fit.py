"""Tables that fit the console: every name and number whole, at any width from 60 columns.

A presenter fills a :class:`Grid` (title, columns, rows of text and numbers, caption) and
:func:`show` lays it out for the console's width, taking the first of these that fits:

1. the full headers, at the presenter's digits;
2. the short headers (each short one's full form once, in the caption);
3. fewer significant digits, down to :data:`MIN_DIGITS` (never when --precision was given);
4. the same with a blank only on the left of each cell (then with none, for a ``tight`` grid
   of short cells such as counts);
5. the columns split over stacked tables, each repeating the first column;
6. one block of ``header: value`` lines per row.

Widths are measured here, in the alphabet that is printed (ASCII is substituted before, not
after, the layout), so rich never has to shrink a column and never ends a cell in "…".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from backprop_cli.errors import plural
from backprop_cli.present.notation import number, to_ascii

MIN_DIGITS = 3  # the automatic choice never shows fewer significant digits than this

Cell = str | float | None  # a float (or None, "—") is a number, printed at the chosen digits


@dataclass(frozen=True)
class Col:
    """A column: its ``header``, and a ``short`` one for narrow consoles whose meaning the
    caption then gives as ``legend`` (default ``short = header``; "": the caption already
    says)."""

    header: str
    short: str | None = None
    legend: str | None = None


@dataclass
class Grid:
    """A table before layout: the first column names the row (left), the others are right.
    ``short_note`` ends the caption's legend of short headers; ``keep_digits``: the numbers
    are compared digit by digit (before and after a nudge), so the table is split rather than
    shown with fewer digits; ``tight``: cells may go without blanks before the table is
    split."""

    title: str
    columns: Sequence[Col | str]
    caption: str | None = None
    short_note: str | None = None
    keep_digits: bool = False
    tight: bool = False
    rows: list[list[Cell]] = field(default_factory=list)

    def add_row(self, *cells: Cell) -> None:
        self.rows.append(list(cells))

    def add_rows(self, rows: Iterable[Sequence[Cell]], total: int, limit: int | None) -> None:
        """At most ``limit`` of the ``total`` rows, then a row of "⋮" (a cut cell would end in
        "…") and a note saying how many more there are."""
        shown = 0
        for row in rows:
            if limit is not None and shown >= limit:
                break
            self.add_row(*row)
            shown += 1
        if shown < total:
            self.add_row(*(["⋮"] * len(self.columns)))
            note = f"… {plural(total - shown, 'more row')} (--limit 0 shows all)"
            self.caption = f"{note}\n{self.caption}" if self.caption else note


def _col(c: Col | str) -> Col:
    return c if isinstance(c, Col) else Col(c)


def _table_width(widths: Sequence[int], pad: int) -> int:
    # every column has ``pad`` blanks and a rule on its right; one more rule on the left
    return sum(widths) + (pad + 1) * len(widths) + 1


@dataclass(frozen=True)
class _Layout:
    headers: list[str]
    cells: list[list[str]]
    short: bool
    pad: int = 2  # blanks per cell: 2 (one each side), 1 (left only), 0

    def widths(self, columns: Sequence[int]) -> list[int]:
        return [max([cell_len(self.headers[i]), *(cell_len(r[i]) for r in self.cells)])
                for i in columns]

    def fits(self, columns: Sequence[int], width: int) -> bool:
        return _table_width(self.widths(columns), self.pad) <= width

    def stack(self, width: int) -> list[list[int]] | None:
        """The columns split into parts that each fit with the first column, or None."""
        parts: list[list[int]] = []
        part = [0]
        for i in range(1, len(self.headers)):
            if self.fits([*part, i], width):
                part.append(i)
                continue
            if len(part) == 1 or not self.fits([0, i], width):
                return None
            parts.append(part)
            part = [0, i]
        return [*parts, part]


def show(console: Console, grid: Grid, *, digits: int, fixed: bool, ascii: bool) -> None:
    """``grid`` on ``console`` at its width (see the module's docstring). ``digits``:
    significant digits of the numbers; ``fixed``: the user chose them (--precision), so they
    are kept; ``ascii``: w(2)_01 for w⁽²⁾₀₁ and every other symbol in ASCII."""
    text: Callable[[str], str] = to_ascii if ascii else str
    width = console.width
    cols = [_col(c) for c in grid.columns]
    choices = ([digits] if fixed or grid.keep_digits
               else list(range(digits, min(digits, MIN_DIGITS) - 1, -1)))

    def layout(short: bool, d: int, pad: int = 2) -> _Layout:
        headers = [text(c.short if short and c.short else c.header) for c in cols]
        cells = [[text(c if isinstance(c, str) else number(c, d, ascii)) for c in row]
                 for row in grid.rows]
        return _Layout(headers, cells, short and any(c.short for c in cols), pad)

    everything = list(range(len(cols)))
    candidates = [layout(False, choices[0]),
                  *(layout(True, d, pad) for pad in ((2, 1, 0) if grid.tight else (2, 1))
                    for d in choices)]
    chosen = next((c for c in candidates if c.fits(everything, width)), None)
    parts: list[list[int]] | None = [everything] if chosen is not None else None
    if chosen is None:
        for d in choices:  # the most digits that two stacked tables hold, else the fewest
            chosen = layout(True, d)
            parts = chosen.stack(width)
            if parts is not None and (len(parts) <= 2 or d == choices[-1]):
                break
    assert chosen is not None

    caption = grid.caption or ""
    if chosen.short:
        legend = [c.legend or f"{c.short} = {c.header}" for c in cols
                  if c.short and c.legend != ""]
        if grid.short_note:
            legend.append(grid.short_note)
        if legend:
            caption = "\n".join(filter(None, [f"Columns: {'; '.join(legend)}.", caption]))
    for n, part in enumerate(parts or [everything]):
        title = grid.title if n == 0 else f"{grid.title} (continued)"
        console.print(Text(text(title), style="table.title"))
        if parts is None:
            _blocks(console, chosen, cols, text)
            break
        table = Table(box=box.ASCII2 if ascii else box.HEAVY_HEAD,
                      padding=((0, 1), (0, 0, 0, 1), (0, 0))[2 - chosen.pad])
        for i in part:
            # fold, not ellipsis: should a measure here ever be short, a cell wraps, never cut
            table.add_column(chosen.headers[i], justify="left" if i == 0 else "right",
                             no_wrap=True, overflow="fold")
        for row in chosen.cells:
            table.add_row(*(row[i] for i in part))
        console.print(table)
    if caption:
        console.print(Text(text(caption), style="table.caption"))


def _blocks(console: Console, chosen: _Layout, cols: Sequence[Col],
            text: Callable[[str], str]) -> None:
    """One block per row: its name, then ``header: value`` per column (full headers)."""
    for row in chosen.cells:
        console.print(Text(row[0], style="bold"))
        for c, cell in zip(cols[1:], row[1:], strict=True):
            console.print(Text(f"  {text(c.header)}: {cell}"))
