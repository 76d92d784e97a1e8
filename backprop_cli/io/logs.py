"""The cost per epoch read from a ``train --log`` file (the series type and the series of
training's own records: :mod:`backprop_cli.reports.train`). No printing.

A ``train --log`` file holds one JSON object per line (EpochRecord.to_dict); a
:class:`DataError` names the line that is not one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backprop_cli.errors import DataError, UsageError
from backprop_cli.reports.train import CostSeries, series


def parse_log(text: str, source: str) -> CostSeries:
    """A ``train --log`` file: one JSON object per line; a DataError names the line."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source}, line {number}: not JSON ({exc.msg}); expected one "
                            "object per line as `backprop train --log FILE` writes") from None
        if isinstance(row, dict) and row.get("type") == "summary":
            continue  # the last line of `train --log -`'s stdout
        if not isinstance(row, dict) or not isinstance(row.get("epoch"), int) or \
                "train_cost" not in row:
            raise DataError(f"{source}, line {number}: expected an object with 'epoch' and "
                            "'train_cost', as `backprop train --log FILE` writes")
        rows.append(row)
    if not rows:
        raise DataError(f"{source}: no epochs; expected the file `backprop train --log FILE` "
                        "writes")
    return series(rows)


def read_log(path: Path) -> CostSeries:
    """The ``train --log`` file at ``path``; a UsageError when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"--log {path}: cannot read: {reason}") from None
    return parse_log(text, str(path))
