"""Long lists of decimals in a network file, read by ``float()`` instead of YAML.

libyaml composes a node per number (about 10 µs each with our walk: 1–4 s for 10⁵ weights), so
the lists are cut out of the text first and YAML reads what is left. Two forms are found, in
every style the common writers use:

- a flow list ``[0.1, -2.5e-05, …]``, on one line or wrapped over several (the tool's own
  files, ``yaml.safe_dump(default_flow_style=None)``, JSON one-line or indented);
- a run of block entries, one ``- 0.1`` a line at one indentation (``yaml.safe_dump``).

Over the characters allowed here (digits, ``+-.eE``) ``float()`` reads a number exactly as the
careful reading does (config._Walker: YAML's float, or _NUMBER for the ``1e5`` YAML 1.1 leaves
as text); a whole number (no point, no exponent) is an ``int`` there, so a list with one is left
to YAML. Anything else (``.nan``, a comment, a quoted number, a missing comma) makes ``float()``
fail and the list is left to YAML too.

The text keeps its lines, and what follows a list its column: a flow list becomes ``[]``, its
line breaks and spaces; a run keeps its first entry and its other lines become empty. Each list
is known by the 0-based (line, column) where YAML will find what is left of it: the ``[`` of a
flow list, the first number of a run. The caller must check that YAML found every one of them
there (a list inside a quoted text or a ``|`` block is not a list), and read the original text
otherwise.
"""

from __future__ import annotations

import json
import re
from itertools import compress, repeat
from operator import contains, not_
from typing import NamedTuple

# `[` + at least 32 characters of numbers, commas and white space + `]`: a list no other list
# is nested in. Short lists are left to YAML (nothing to gain).
_FLOW = re.compile(r"\[([-+0-9.eE, \r\n]{32,})\]")
# Eight or more lines `- <number>` at one indentation (captured once: `(?=(…))\1` does not
# backtrack into it), \n or \r\n.
_RUN = re.compile(r"^(?=([ ]*))\1- [-+0-9.eE]+[ ]*\r?(?:\n\1- [-+0-9.eE]+[ ]*\r?){7,}$",
                  re.MULTILINE)

class NumberList(NamedTuple):
    """The values of one list; ``first``: the run's first number as written (kept in the
    text), None for a flow list (emptied to ``[]``)."""

    first: str | None
    values: list[float]


def _decimals(body: str) -> list[float] | None:
    """The numbers of ``body`` (separated by commas), or None if one is not a decimal that
    ``float()`` reads."""
    try:  # JSON's numbers are some of these decimals; its parser reads them with float()
        values = json.loads(f"[{body}]")
        return values if values and {*map(type, values)} == {float} else None
    except ValueError:
        pass
    tokens = body.split(",")
    try:
        floats = list(map(float, tokens))
    except ValueError:
        return None
    # A whole number has no point and no exponent (most tokens have a point: test that first).
    for token in compress(tokens, map(not_, map(contains, tokens, repeat(".")))):
        if "e" not in token and "E" not in token:
            return None
    return floats


def cut_number_lists(text: str) -> tuple[str, dict[tuple[int, int], NumberList]]:
    """``text`` with its long lists of decimals blanked out (same length, same lines), and those
    lists by the 0-based (line, column) where YAML will find what is left of each."""
    found: list[tuple[int, int, str, NumberList]] = []  # (start, end, replacement, list)
    for match in _FLOW.finditer(text):
        body = match.group(1)
        values = _decimals(body)
        if values is None:
            continue
        # `[]`, the list's line breaks, then spaces up to where its `]` was
        breaks = body.count("\n")
        pad = len(body) - body.rfind("\n") if breaks else len(body)
        if text[match.end():match.end() + 1] in ("\n", "\r", ""):
            pad = 0  # nothing follows the list on its line: no column to keep
        found.append((match.start(), match.end(), "[]" + "\n" * breaks + " " * pad,
                      NumberList(None, values)))
    for match in _RUN.finditer(text) if "- " in text else ():
        # "- " is only ever the entry marker (a number has no space): one number a line
        values = _decimals(match.group(0).replace("- ", "").replace("\n", ","))
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
    done = line = 0
    for start, end, replacement, numbers in found:
        if start < done:  # overlapping matches cannot happen; skip rather than trust that
            continue
        line += text.count("\n", done, start)
        column = start - (text.rfind("\n", 0, start) + 1)
        pieces.append(text[done:start])
        pieces.append(replacement)
        lists[(line, column)] = numbers
        line += text.count("\n", start, end)
        done = end
    pieces.append(text[done:])
    return "".join(pieces), lists
