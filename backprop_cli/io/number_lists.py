"""Long lists of decimals in a network file, read by ``float()`` instead of YAML.

libyaml composes a node per number (about 10 µs each with our walk: 1–4 s for 10⁵ weights), so
the lists are cut out of the text first and YAML reads what is left. Two forms are found, in
every style the common writers use:

- a flow list ``[0.1, -2.5e-05, …]``, on one line or wrapped over several (the tool's own
  files, ``yaml.safe_dump(default_flow_style=None)``, JSON one-line or indented);
- a run of block entries, one ``- 0.1`` a line at one indentation (``yaml.safe_dump``).

Over the characters allowed here (digits, ``+-.eE``) ``float()`` reads a number exactly as the
careful reading does (config._Walker: YAML's float, or _NUMBER for the ``1e5`` YAML 1.1 leaves
as text); numpy's text reader (np.loadtxt) calls the same correctly rounded conversion, straight
into a float64 array. A whole number (no point, no exponent) is an ``int`` there, so a list with
one is left to YAML. Anything else (``.nan``, a comment, a quoted number, a missing comma, a
value that overflows) makes the conversion fail and the list is left to YAML too.

A flow list that ends its line (the tool's own files: one weight row a line) is found by
looking at the lines that end with ``]``; the regular expressions, which cost about 15 ns a
character, only scan the text between those lines.

The text keeps its lines: a flow list becomes ``[]`` (over several lines: ``[]``, its line
breaks, and spaces up to where its ``]`` was, so that what follows keeps its indentation); a
run keeps its first entry and its other lines become empty. Each list is known by the 0-based
(line, column) where YAML will find what is left of it in the text returned: the ``[`` of a
flow list, the first number of a run. The caller must check that YAML found every one of them
there (a list inside a quoted text or a ``|`` block is not a list), and read the original text
otherwise.
"""

from __future__ import annotations

import re
import warnings
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

# `[` + at least 32 characters of numbers, commas and white space + `]`: a list no other list
# is nested in. Short lists are left to YAML (nothing to gain).
_SHORTEST = 32
_FLOW = re.compile(rf"\[([-+0-9.eE, \r\n]{{{_SHORTEST},}})\]")
# Eight or more lines `- <number>` at one indentation (captured once: `(?=(…))\1` does not
# backtrack into it), \n or \r\n.
_RUN = re.compile(r"^(?=([ ]*))\1- [-+0-9.eE]+[ ]*\r?(?:\n\1- [-+0-9.eE]+[ ]*\r?){7,}$",
                  re.MULTILINE)
_ALLOWED = b"0123456789.eE+-, "  # in a flow list on one line


class NumberList(NamedTuple):
    """The values of one list; ``first``: the run's first number as written (kept in the
    text), None for a flow list (emptied to ``[]``)."""

    first: str | None
    values: NDArray[np.float64]


def _decimals(body: str) -> NDArray[np.float64] | None:
    """The numbers of ``body`` (one line of numbers separated by commas, no other characters
    than _FLOW's), or None if one is not a decimal that ``float()`` reads, is a whole number
    or is not finite."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "empty input"
            values = np.loadtxt([body], delimiter=",", comments=None, quotechar=None,
                                dtype=np.float64, ndmin=1)
    except (ValueError, UserWarning):
        return None
    # Every number read has at most one point: as many points as numbers, each has one.
    if body.count(".") < len(values):
        for token in body.split(","):  # a whole number has no point and no exponent
            if "." not in token and "e" not in token and "E" not in token:
                return None
    if not np.isfinite(values).all():
        return None
    return values


def _line_ends(text: str) -> list[tuple[int, int]]:
    """(start, end) of each flow list that ends its line (``]`` then a line break, or the
    end of the text) and holds at least _SHORTEST characters of _ALLOWED."""
    spans = []
    ends = []
    at = text.find("]\n")
    while at >= 0:
        ends.append(at)
        at = text.find("]\n", at + 2)
    if text.endswith("]"):
        ends.append(len(text) - 1)
    for close in ends:
        line = text.rfind("\n", 0, close) + 1
        open_ = text.rfind("[", line, close)
        if close - open_ - 1 < _SHORTEST or open_ < 0:
            continue
        body = text[open_ + 1:close]
        if body.isascii() and not body.encode().translate(None, _ALLOWED):
            spans.append((open_, close + 1))
    return spans


def cut_number_lists(text: str) -> tuple[str, dict[tuple[int, int], NumberList]]:
    """``text`` with its long lists of decimals blanked out (the same lines), and those lists
    by the 0-based (line, column) where YAML will find what is left of each."""
    found: list[tuple[int, int, str, NumberList]] = []  # (start, end, replacement, list)
    lines = _line_ends(text)
    for start, end in lines:
        values = _decimals(text[start + 1:end - 1])
        if values is not None:  # `[]`: nothing follows the list on its line
            found.append((start, end, "[]", NumberList(None, values)))
    # The regular expressions scan what is between those lines (a line's start to its `[`
    # holds no list: a flow list there would leave the `[` of the last one unclosed).
    gaps = [(0, len(text))] if not lines else [
        (begin, text.rfind("\n", 0, stop) + 1)
        for begin, stop in zip([0] + [end for _, end in lines],
                               [start for start, _ in lines] + [len(text)], strict=True)]
    gaps[-1] = (gaps[-1][0], len(text))
    runs = "- " in text
    for begin, stop in gaps:
        if stop - begin <= _SHORTEST:
            continue
        for match in _FLOW.finditer(text, begin, stop):
            body = match.group(1)
            values = _decimals(body.replace("\r", " ").replace("\n", " "))
            if values is None:
                continue
            # `[]`, the list's line breaks, then (a list over several lines) spaces up to
            # where its `]` was
            breaks = body.count("\n")
            pad = len(body) - body.rfind("\n") if breaks else 0
            if text[match.end():match.end() + 1] in ("\n", "\r", ""):
                pad = 0  # nothing follows the list on its line: no column to keep
            found.append((match.start(), match.end(), "[]" + "\n" * breaks + " " * pad,
                          NumberList(None, values)))
        for match in _RUN.finditer(text, begin, stop) if runs else ():
            # "- " is only ever the entry marker (a number has no space): one number a line
            values = _decimals(match.group(0).replace("- ", "").replace("\r", "")
                               .replace("\n", ","))
            if values is None:
                continue
            start = match.start() + len(match.group(1)) + 2  # the first number
            first = text[start:text.index("\n", start)]
            found.append((start, match.end(), first + "\n" * (len(values) - 1),
                          NumberList(first.rstrip(" \r"), values)))
    if not found:
        return text, {}
    found.sort(key=lambda item: item[0])
    lists: dict[tuple[int, int], NumberList] = {}
    pieces: list[str] = []
    # Positions in the text returned: ``length`` of what is written, the line and where it
    # starts carried along (a search back to the line's start from each list would read JSON
    # on one line again for every list).
    done = length = line = line_start = 0
    for start, end, replacement, numbers in found:
        if start < done:  # overlapping matches cannot happen; skip rather than trust that
            continue
        for piece, found_here in ((text[done:start], True), (replacement, False)):
            if breaks := piece.count("\n"):
                line += breaks
                line_start = length + piece.rfind("\n") + 1
            length += len(piece)
            pieces.append(piece)
            if found_here:
                lists[(line, length - line_start)] = numbers
        done = end
    pieces.append(text[done:])
    return "".join(pieces), lists
