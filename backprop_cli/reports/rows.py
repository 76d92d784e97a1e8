"""The rows every ``analyze`` output is made of: one parameter's chain-rule factors for one
example (:class:`ParamRow`), a block of them, and the path sums of ``--paths``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.network import Array

ROW_FIELDS = (
    "example", "layer", "kind", "j", "k", "value",
    "dC_da", "da_dz", "dC_dz", "dz_dw", "gradient", "mean_gradient",
)


@dataclass(frozen=True)
class ParamRow:
    """One parameter's chain-rule factors for one example.

    ``gradient`` = ∂C0/∂param = dC_da · da_dz · dz_dw (dC_dz · dz_dw for softmax, where
    ``da_dz`` is None); ``mean_gradient`` = ∂C/∂param of the full cost. ``example`` is
    "mean" for the mean over a data set's rows (``analyze --data``).
    """

    example: int | str
    layer: int
    kind: str
    j: int
    k: int | None
    value: float
    dC_da: float
    da_dz: float | None
    dC_dz: float
    dz_dw: float
    gradient: float
    mean_gradient: float

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ROW_FIELDS}


@dataclass(frozen=True, eq=False)
class RowBlock:
    """Consecutive rows of :meth:`AnalyzeReport.rows` for one example and one (layer, kind), as
    columns, so that large analyses are written without a Python object per row.

    Row i is the parameter (``j[i]``, ``k[i]``) (``k`` None for biases); ``value``,
    ``gradient``, ``mean_gradient``: (r,), one per row. The factors of neuron j, ``dC_da``,
    ``da_dz`` (None for softmax) and ``dC_dz``: (n_l,), row i's is ``dC_da[j[i]]``;
    ``dz_dw`` = a(l−1): (n_(l−1),), row i's is ``dz_dw[k[i]]`` (None for biases: ∂z/∂b = 1).
    """

    example: int | str
    layer: int
    kind: str
    j: NDArray[np.intp]
    k: NDArray[np.intp] | None
    value: Array
    dC_da: Array
    da_dz: Array | None
    dC_dz: Array
    dz_dw: Array | None
    gradient: Array
    mean_gradient: Array

    def __len__(self) -> int:
        return int(self.j.shape[0])

    def rows(self) -> Iterator[ParamRow]:
        """The block's rows one by one (equal to :meth:`AnalyzeReport.row`'s)."""
        for i, j in enumerate(self.j.tolist()):
            k = None if self.k is None else int(self.k[i])
            yield ParamRow(
                example=self.example, layer=self.layer, kind=self.kind, j=j, k=k,
                value=float(self.value[i]),
                dC_da=float(self.dC_da[j]),
                da_dz=None if self.da_dz is None else float(self.da_dz[j]),
                dC_dz=float(self.dC_dz[j]),
                dz_dw=1.0 if self.dz_dw is None or k is None else float(self.dz_dw[k]),
                gradient=float(self.gradient[i]),
                mean_gradient=float(self.mean_gradient[i]),
            )


@dataclass(frozen=True)
class PathTerm:
    """One path from a(l−1)k to the cost through neuron j of layer l:
    ``term`` = w(l)jk · ∂C0/∂z(l)j, which is w(l)jk · ∂a(l)j/∂z(l)j · ∂C0/∂a(l)j for an
    elementwise σ; for softmax ``da_dz`` and ``dC_da`` are None (no per-neuron factor)."""

    j: int
    w: float
    da_dz: float | None
    dC_da: float | None
    dC_dz: float
    term: float


@dataclass(frozen=True)
class PathSum:
    """∂C0/∂a(l−1)k for one example: its ``terms``, largest |term| first, and ``sum`` (the
    engine's ∂C0/∂a(l−1)k, which the terms add up to); ``example`` as in :class:`ParamRow`."""

    example: int | str
    layer: int
    k: int
    terms: tuple[PathTerm, ...]
    sum: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "example": self.example,
            "layer": self.layer,
            "k": self.k,
            "sum": self.sum,
            "terms": [
                {"j": t.j, "w": t.w, "da_dz": t.da_dz, "dC_da": t.dC_da, "dC_dz": t.dC_dz,
                 "term": t.term}
                for t in self.terms
            ],
        }


def top_order(magnitude: Array, top: int | None) -> NDArray[np.intp]:
    """The indices of the ``top`` largest of ``magnitude`` (n,), largest first, equal ones in
    index order: ``np.argsort(-magnitude, kind="stable")[:top]`` (NaN last) in O(n) — the K-th
    largest by ``np.partition``, the indices above it and the first ones equal to it, then a
    sort of those K alone."""
    key = np.where(np.isnan(magnitude), -1.0, magnitude)  # NaN after every |g| ≥ 0
    n = key.shape[0]
    if top is None or top >= n:
        return np.argsort(-key, kind="stable")
    kth = float(np.partition(key, n - top)[n - top])  # the top-th largest
    above = np.flatnonzero(key > kth)
    tied = np.flatnonzero(key == kth)[: top - above.size]
    chosen = np.sort(np.concatenate([above, tied]))
    return chosen[np.argsort(-key[chosen], kind="stable")]
