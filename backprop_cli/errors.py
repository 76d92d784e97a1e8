"""Domain errors. Raised in the core, printed once by the command line (cli/), mapped to exit
codes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

ECHO_LIMIT = 60
# The advice of a NumericalError about a forward pass or cost that overflows.
OVERFLOW_ADVICE = ("the weights, biases or inputs are too large for the numbers to be "
                   "computed; scale them down")


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters and "…": input echoed in an
    error (a CSV line read as YAML, a long key) must not flood the terminal."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


# C0 and C1 control characters (ESC, CR, BEL, backspace …) and the bidirectional overrides.
_CONTROL = r"\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_CONTROL_KEPT_LINES = re.compile(f"[{_CONTROL}]")
_CONTROL_ALL = re.compile(f"[{_CONTROL}\t\n]")
QUOTE_LIMIT = 80
# A quoted value: its opening quote not after a letter (not the apostrophe of "file's").
_LONG_QUOTE = re.compile(f"(?<!\\w)(['\"])([^'\"\n]{{{QUOTE_LIMIT + 1},}})\\1(?!\\w)")


def printable(text: str, *, lines: bool = True) -> str:
    """``text`` (from a file: a network's name, a CSV header, a class label) with its control
    characters written as escapes (ESC as ``\\x1b``): on a terminal they would move the
    cursor, recolour or hide what follows. ``lines`` False: newlines and tabs too (one line)."""
    pattern = _CONTROL_KEPT_LINES if lines else _CONTROL_ALL
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def clip_quoted(message: str) -> str:
    """``message`` with every quoted value longer than :data:`QUOTE_LIMIT` characters cut
    to that many and "… (N characters)": a 100 kB CSV cell must not flood the terminal."""
    return _LONG_QUOTE.sub(lambda m: f"{m[1]}{m[2][:QUOTE_LIMIT]}…{m[1]} "
                                     f"({len(m[2])} characters)", message)


LINE_LIMIT = 1000  # characters of one message line; the rest is cut (a list of 10⁵ columns)


def clip_lines(message: str) -> str:
    """``message`` with every line longer than :data:`LINE_LIMIT` characters cut to that many
    and "… (N characters)"."""
    return "\n".join(line if len(line) <= LINE_LIMIT
                     else f"{line[:LINE_LIMIT]}… ({len(line)} characters)"
                     for line in message.split("\n"))


def plural(n: int, word: str, many: str | None = None) -> str:
    """``plural(1, "row")`` → "1 row", ``plural(3, "row")`` → "3 rows" (``many``: an irregular
    plural, e.g. "classes")."""
    return f"{n} {word if n == 1 else many or word + 's'}"


class BackpropError(Exception):
    """Base of every error a user can act on. ``exit_code`` is what the CLI exits with; the
    CLI prints ``backprop: {heading}{message}``."""

    exit_code = 2
    heading = "error: "


class ConfigError(BackpropError):
    """A network file is missing, malformed or inconsistent.

    ``path`` is the field path inside the document (``layers[1].weights``), ``line`` the
    1-based YAML line where it is known, ``file`` the file name as the user gave it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.file = file
        self.line = line
        super().__init__(str(self))

    def located(self, file: str | None = None, line: int | None = None) -> ConfigError:
        """The same error, with the file and line filled in where they were unknown."""
        return ConfigError(
            self.message,
            path=self.path,
            file=self.file or file,
            line=self.line if self.line is not None else line,
        )

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line is not None else "") + ": "
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"


class DataError(BackpropError):
    """A data file (CSV) is missing, malformed or does not fit the network."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | int | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.row, self.column) if p is not None]
        where = ":".join(str(p) for p in parts)
        return f"{where}: {self.message}" if where else self.message


class UsageError(BackpropError):
    """Options that are each valid but do not fit this network or each other."""


class NumericalError(BackpropError):
    """A valid network whose numbers overflow the floating-point type (weights, biases or
    inputs too large): refused with this message instead of a silent inf or NaN.

    ``example``: the 0-based row of the batch whose numbers overflowed, where one row is to
    blame; the message then reads ``{message} for example {example}: {advice}``.
    :meth:`on_line` names a data file's line in its place (as :class:`DataError` does).
    """

    def __init__(self, message: str, *, example: int | None = None, advice: str = "",
                 file: str | None = None, line: int | None = None) -> None:
        self.message = message
        self.example = example
        self.advice = advice
        self.file = file
        self.line = line
        super().__init__(str(self))

    def on_line(self, file: str, line: int) -> NumericalError:
        """The same error for the row on ``line`` (1-based; the header is line 1) of ``file``."""
        return NumericalError(self.message, example=self.example, advice=self.advice,
                              file=file, line=line)

    def __str__(self) -> str:
        text = self.message
        if self.line is not None:
            text = f"{self.file}:{self.line}: {text} for this row"
        elif self.example is not None:
            text += f" for example {self.example}"
        return f"{text}: {self.advice}" if self.advice else text


class OutputError(BackpropError):
    """An output (a file, stdout) cannot be written: a full disk, a missing permission."""


class CheckFailed(BackpropError):
    """``check``: some gradient differs from its finite-difference estimate (exit 1)."""

    exit_code = 1


class WarningsFound(BackpropError):
    """``diagnose --strict``: a finding is a warning (exit 1)."""

    exit_code = 1


class Diverged(BackpropError):
    """``train``: the cost became infinite or NaN; the last finite weights were written
    (exit 1)."""

    exit_code = 1


class Interrupted(BackpropError):
    """Stopped by a signal: exits 128 + its number, as a shell reports it."""

    heading = ""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


@runtime_checkable
class RowSource(Protocol):
    """Rows read from a file (a CSV's :class:`io.datasets.Dataset` or ``DataStream``), which
    can name the file and line of the row a :class:`NumericalError` is about."""

    def name_row(self, exc: NumericalError) -> NumericalError: ...


@contextmanager
def name_row_errors(rows: object) -> Iterator[None]:
    """Around the work on ``rows``: a :class:`NumericalError` of one of them is raised naming
    its file and line where ``rows`` is a :class:`RowSource`; else as it is."""
    try:
        yield
    except NumericalError as exc:
        named = rows.name_row(exc) if isinstance(rows, RowSource) else exc
        if named is exc:
            raise
        raise named from None
