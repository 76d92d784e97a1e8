"""``backprop sensitivity``: how much the cost and the output move with each input feature,
over the network's examples or a CSV file's rows (read in chunks). Pure.

The engine (:class:`~backprop_cli.engine.SensitivitySums`) keeps, per input k, the mean over
the rows of ∂C0/∂xk (signed), |∂C0/∂xk| and Σj |∂ŷj/∂xk|; here they get the features' names,
a rank by the chosen column, and what x is: the network's input a(0), i.e. a feature after the
network's stored scaling x′ = (x − shift) / scale. Per raw unit of a feature, by the chain
rule ∂C0/∂x = ∂C0/∂x′ · 1/scale: the report keeps each feature's scale for that.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop_cli.engine import Chunk, SensitivitySums, fold
from backprop_cli.errors import UsageError, plural
from backprop_cli.network import Array, Network
from backprop_cli.reports import SCHEMA_VERSION, finite_or_none

# The columns a table shows and --sort ranks by (largest first; mean_dC_dx by its size |·|).
SORTS = ("mean_abs_dC_dx", "mean_dC_dx", "mean_abs_dy_dx")
DEFAULT_SORT = "mean_abs_dC_dx"
# One row of the JSON's "features" and of --format csv, in order.
FEATURE_FIELDS = ("rank", "index", "name", "mean_dC_dx", "mean_abs_dC_dx", "mean_abs_dy_dx",
                  "scale")


def parse_image(text: str | None, net: Network) -> tuple[int, int] | None:
    """``--image HxW`` (8x8, 28x28) as (H, W), whose product must be n_0."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", text)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise UsageError(f"--image {text!r}: expected HEIGHTxWIDTH in pixels, e.g. 8x8 or 28x28")
    h, w = int(match[1]), int(match[2])
    if h * w != net.input_size:
        raise UsageError(
            f"--image {text}: {h}×{w} = {h * w} pixels, but the network has "
            f"{plural(net.input_size, 'input')}; give HxW with H·W = {net.input_size}")
    return h, w


def check_sensitivity_options(net: Network, sort: str, output: int | None) -> None:
    """--sort names a column; --output j an output neuron of ``net``."""
    if sort not in SORTS:
        raise UsageError(f"--sort {sort!r}: expected one of: {', '.join(SORTS)}")
    if output is not None and not 0 <= output < net.output_size:
        last = net.output_size - 1
        raise UsageError(
            f"--output {output}: the network has {plural(net.output_size, 'output')} "
            f"(a({net.depth})0 … a({net.depth}){last}); give j from 0 to {last}")


@dataclass(frozen=True, eq=False)
class SensitivityReport:
    """Per input k (n_0,): ``mean_dC_dx`` the mean over the rows of ∂C0/∂xk, ``mean_abs_dC_dx``
    of |∂C0/∂xk|, ``mean_abs_dy_dx`` of Σj |∂ŷj/∂xk| (ŷ = a(L), in the target's units when
    the network stores a target scaling; j = ``output`` alone if given). ``names``: the
    feature columns' names (None: the network knows none); ``scale`` (n_0,): the stored
    normalization's divisor per feature, None if there is none; ``normalize``: its method
    ("none": x is the raw feature). ``order``: the inputs ranked by ``sort``; ``data``: where
    the rows came from (None: the network's examples)."""

    network: Network
    mean_dC_dx: Array
    mean_abs_dC_dx: Array
    mean_abs_dy_dx: Array
    cost: float
    rows: int
    names: tuple[str, ...] | None
    scale: Array | None
    normalize: str
    sort: str = DEFAULT_SORT
    output: int | None = None
    image: tuple[int, int] | None = None
    data: dict[str, Any] | None = None

    def column(self, name: str) -> Array:
        """The (n_0,) values of one of :data:`SORTS`."""
        values: Array = getattr(self, name)
        return values

    @property
    def order(self) -> list[int]:
        """The inputs k, largest value of the ``sort`` column first (ties: input order)."""
        key = np.abs(self.column(self.sort))
        return sorted(range(self.network.input_size), key=lambda k: (-float(key[k]), k))

    def name(self, k: int) -> str | None:
        return self.names[k] if self.names else None

    @property
    def scope(self) -> str:
        """What the means are over, in words."""
        if self.data is not None:
            return f"{plural(self.rows, 'row')} of {self.data['file']}"
        return plural(self.rows, "example")

    def rows_ranked(self) -> Iterable[dict[str, Any]]:
        """One dict per input (:data:`FEATURE_FIELDS`), in rank order."""
        for rank, k in enumerate(self.order, start=1):
            yield {
                "rank": rank,
                "index": k,
                "name": self.name(k),
                "mean_dC_dx": finite_or_none(float(self.mean_dC_dx[k])),
                "mean_abs_dC_dx": finite_or_none(float(self.mean_abs_dC_dx[k])),
                "mean_abs_dy_dx": finite_or_none(float(self.mean_abs_dy_dx[k])),
                "scale": None if self.scale is None else finite_or_none(float(self.scale[k])),
            }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "network": self.network.name,
            "sizes": self.network.sizes,
            "cost": finite_or_none(self.cost),
            "rows": self.rows,
            "sort": self.sort,
            "output": self.output,
            "x": "normalized" if self.scale is not None else "raw",
            "normalize": self.normalize,
            "image": None if self.image is None else {"height": self.image[0],
                                                      "width": self.image[1]},
            "features": list(self.rows_ranked()),
        }
        if self.data is not None:
            out["data"] = self.data
        return out


def sensitivity(
    net: Network,
    chunks: Iterable[Chunk],
    *,
    sort: str = DEFAULT_SORT,
    output: int | None = None,
    image: tuple[int, int] | None = None,
    names: tuple[str, ...] | None = None,
    data: dict[str, Any] | None = None,
) -> SensitivityReport:
    """The sensitivity report over the rows of ``chunks`` ((inputs, targets) pairs, as the
    network sees them: its stored preprocessing applied). ``names``: the feature columns'
    names (default: the network's stored ones); ``data`` (file, …) is completed with the
    row and chunk counts."""
    check_sensitivity_options(net, sort, output)
    pre = net.preprocessing
    sums = fold(chunks, functools.partial(SensitivitySums, net, output,
                                          None if pre is None else pre.target_scale))
    if sums.rows == 0:
        raise UsageError("no rows to compute the sensitivity over")
    stored = pre.features if pre is not None and pre.features else None
    names = names or stored
    scale = pre.scale if pre is not None and pre.scale is not None else None
    return SensitivityReport(
        network=net,
        mean_dC_dx=sums.dC_dx,
        mean_abs_dC_dx=sums.abs_dC_dx,
        mean_abs_dy_dx=sums.abs_dy_dx,
        cost=sums.cost,
        rows=sums.rows,
        names=tuple(names) if names else None,
        scale=scale,
        normalize=pre.normalize if pre is not None else "none",
        sort=sort,
        output=output,
        image=image,
        data=None if data is None else {**data, "rows": sums.rows, "chunks": sums.chunks},
    )
