"""What the engine's numbers mean to a reader: one report type per command, no printing, no
files. A presenter renders a report; the command line builds one."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

SCHEMA_VERSION = 1  # of the JSON documents: a contract, keys are kept and new ones only added


def finite_or_none(x: object) -> float | None:
    """``x`` as a float when it is a finite number, else None (JSON has no inf or NaN)."""
    return float(x) if isinstance(x, numbers.Real) and math.isfinite(x) else None


@dataclass(frozen=True, kw_only=True)
class Moved:
    """A quantity ``before`` and ``after`` a change (a nudge, a step), and the first-order
    prediction of the change, ``predicted``."""

    before: float
    after: float
    predicted: float

    @property
    def actual(self) -> float:
        return self.after - self.before

    @property
    def ratio(self) -> float | None:
        """actual / predicted (None when the prediction is 0: nothing to compare)."""
        return self.actual / self.predicted if self.predicted != 0 else None
