"""Gradient check: the engine's analytic gradient against central finite differences. Pure.

For every checked parameter θ (a weight w(l)jk or a bias b(l)j), in float64:

    numeric  = (C0(θ + ε) − C0(θ − ε)) / ((θ + ε) − (θ − ε))     per example, and the same
               with C (the mean of C0) for the full cost
    abs_err  = |analytic − numeric|
    rel_err  = abs_err / max(|analytic|, |numeric|, floor),   floor = 1e-3 · max(1, |C0|)

(|C| in place of |C0| for the full cost.) The floor keeps a gradient that is (close to) zero
from turning rounding noise into a huge relative error: central differences in float64 carry
a rounding error of about 1e-16 · |C0| / ε (≈ 1e-10 · |C0| at ε = 1e-6), so below the floor
the comparison is absolute, abs_err ≤ tolerance · floor (1e-9 · max(1, |C0|) by default).
A parameter passes when its rel_err ≤ tolerance for every example and for the full cost.

The numeric side only runs forward passes (:func:`engine.costs`); it never calls the backward
pass, so the two are independent. Near a kink (ReLU at z = 0) a difference that straddles the
kink is not a derivative; such a parameter can fail without the engine being wrong.

Over a data set (:func:`check_data`, ``check --data``) only the full cost C, the mean of C0
over N rows, is checked: the analytic ∂C/∂θ is streamed chunk by chunk as ``analyze --data``
does, then a second pass over the rows sums C0(θ + ε) − C0(θ − ε) per chunk for every checked
parameter. That second pass costs 2 forward passes over every row per checked parameter,
about 2 · P · N · W multiply-adds (P parameters checked, W weights of the network); more
than ``max_work`` of them is refused before it starts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop_cli.choices import CHECK_MAX_WORK
from backprop_cli.engine import Accumulator, Chunk, backprop, costs, fold
from backprop_cli.errors import DataError, UsageError, name_row_errors, plural
from backprop_cli.network import Array, Network, Param
from backprop_cli.reports import SCHEMA_VERSION, finite_or_none
from backprop_cli.reports.analyze import all_params

DEFAULT_EPS = 1e-6
DEFAULT_TOLERANCE = 1e-6
GRADIENT_FLOOR = 1e-3  # times max(1, |C0|)


@dataclass(frozen=True)
class ParamCheck:
    """One parameter: ``analytic`` and ``numeric`` (m + 1,): examples 0 … m−1, then the full
    cost C (m = 0 over a data set: the full cost only); ``abs_err`` and ``rel_err`` likewise.
    ``worst`` is the index of the largest rel_err (m for the full cost)."""

    param: Param
    value: float
    analytic: Array
    numeric: Array
    abs_err: Array
    rel_err: Array

    @property
    def worst(self) -> int:
        return int(np.argmax(_nan_is_worst(self.rel_err)))

    @property
    def max_rel(self) -> float:
        """NaN when a difference was NaN: it fails, as ``not (max_rel <= tolerance)``."""
        return float(np.max(self.rel_err))

    @property
    def max_abs(self) -> float:
        return float(np.max(self.abs_err))

    def passes(self, tolerance: float) -> bool:
        return bool(self.max_rel <= tolerance)

    def as_dict(self, m: int) -> dict[str, Any]:
        """NaN and ±inf as null (JSON has neither)."""
        return {
            **param_dict(self.param),
            "value": self.value,
            "analytic": _finite_list(self.analytic[:m]),
            "numeric": _finite_list(self.numeric[:m]),
            "full_analytic": finite_or_none(self.analytic[m]),
            "full_numeric": finite_or_none(self.numeric[m]),
            "max_abs_error": finite_or_none(self.max_abs),
            "max_rel_error": finite_or_none(self.max_rel),
        }


def _nan_is_worst(values: Array) -> Array:
    return np.where(np.isnan(values), np.inf, values)


def _finite_list(values: Array) -> list[float | None]:
    return [finite_or_none(v) for v in values.tolist()]


@dataclass(frozen=True)
class LayerCheck:
    """Layer l's summary over its checked parameters (None when none were sampled)."""

    layer: int
    checked: int
    total: int
    failed: int
    max_abs: float
    max_rel: float
    worst: ParamCheck | None


@dataclass(frozen=True, eq=False)
class CheckReport:
    """``data``: the rows of a data set the full cost was checked over (file, rows, chunks, the
    cost C …; JSON key "data"), with ``example_count`` 0; None: the network's examples."""

    network: Network
    example_count: int
    eps: float
    tolerance: float
    sample: int | None
    seed: int
    params: tuple[ParamCheck, ...]
    layers: tuple[LayerCheck, ...] = field(default=())
    show_all: bool = False
    data: dict[str, Any] | None = None

    @property
    def failed(self) -> list[ParamCheck]:
        return [p for p in self.params if not p.passes(self.tolerance)]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def scope(self) -> str:
        """What was checked: "2 examples and the full cost C", or C over a data set's rows."""
        if self.data is None:
            return f"{plural(self.example_count, 'example')} and the full cost C"
        return f"the full cost C over {plural(self.data['rows'], 'row')} of {self.data['file']}"

    @property
    def floor_cost(self) -> str:
        """The cost whose size sets the floor: C0 per example, C alone over a data set."""
        return "C0" if self.data is None else "C"

    def to_dict(self) -> dict[str, Any]:
        """The JSON document; ``parameters`` (every checked parameter) only with show_all,
        ``data`` only over a data set."""
        m = self.example_count
        doc: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "network": self.network.name,
            "sizes": self.network.sizes,
            "examples": m,
            "eps": self.eps,
            "tolerance": self.tolerance,
            "gradient_floor": GRADIENT_FLOOR,
            "rel_error": "|analytic − numeric| / max(|analytic|, |numeric|, "
                         f"gradient_floor · max(1, |{self.floor_cost}|))",
            "sample": self.sample,
            "seed": self.seed,
            "checked": len(self.params),
            "failed": len(self.failed),
            "passed": self.passed,
            "layers": [
                {
                    "layer": lc.layer,
                    "checked": lc.checked,
                    "total": lc.total,
                    "failed": lc.failed,
                    "max_abs_error": finite_or_none(lc.max_abs),
                    "max_rel_error": finite_or_none(lc.max_rel),
                    "worst": None if lc.worst is None else {
                        **lc.worst.as_dict(m),
                        "example": None if lc.worst.worst == m else lc.worst.worst,
                    },
                }
                for lc in self.layers
            ],
        }
        if self.show_all:
            doc["parameters"] = [p.as_dict(m) for p in self.params]
        if self.data is not None:
            doc["data"] = self.data
        return doc


def param_dict(p: Param) -> dict[str, Any]:
    return {"layer": p.layer, "kind": p.kind, "j": p.j, "k": p.k}


def _check_step(net: Network, chosen: list[Param], eps: float) -> None:
    """Refuse an ε so small that θ + ε and θ − ε round to the same float64 for a parameter:
    the difference would be 0 / 0."""
    for p in chosen:
        theta = _value(net, p)
        if (theta + eps) - (theta - eps) == 0.0:
            name = f"w{p.layer}.{p.j}.{p.k}" if p.k is not None else f"b{p.layer}.{p.j}"
            raise UsageError(
                f"--eps {eps:g}: θ ± ε rounds back to θ for {name} = {theta!r} (float64 keeps "
                f"about 16 digits); use --eps {np.spacing(abs(theta)):.1g} at the very least, "
                f"better about 1e-6 · max(1, |θ|) = {1e-6 * max(1.0, abs(theta)):.1g}")


def _check_options(eps: float, tolerance: float, sample: int | None) -> None:
    if not (np.isfinite(eps) and eps > 0):
        raise UsageError(f"--eps {eps}: expected a step > 0 that is finite (e.g. 1e-6)")
    if not (np.isfinite(tolerance) and tolerance > 0):
        raise UsageError(f"--tolerance {tolerance}: expected a number > 0 that is finite "
                         "(e.g. 1e-6)")
    if sample is not None and sample < 1:
        raise UsageError(f"--sample {sample}: expected a whole number ≥ 1")


def _chosen(net: Network, sample: int | None, seed: int, eps: float) -> list[Param]:
    """Every parameter, or ``sample`` of them drawn without replacement with ``seed``."""
    everything = all_params(net)
    chosen = everything
    if sample is not None and sample < len(everything):
        picks = np.random.default_rng(seed).choice(len(everything), size=sample, replace=False)
        chosen = [everything[i] for i in sorted(picks.tolist())]
    _check_step(net, chosen, eps)
    return chosen


def _probe(net: Network) -> Network:
    """A private float64 copy whose entries are nudged in place and restored exactly."""
    return net.with_parameters(
        [layer.weights.astype(np.float64, copy=True) for layer in net.layers],
        [layer.biases.astype(np.float64, copy=True) for layer in net.layers],
    )


def _differences(probe: Network, p: Param, eps: float, x: Array, y: Array
                 ) -> tuple[Array, float]:
    """(C0(θ + ε) − C0(θ − ε) for every row of x (m, n_0), y (m, n_L), the step
    (θ + ε) − (θ − ε) as float64 rounds it), θ of ``probe`` restored exactly."""
    layer = probe.layers[p.layer - 1]
    values: Array
    at: tuple[int, ...]
    if p.kind == "w":
        assert p.k is not None
        values, at = layer.weights, (p.j, p.k)
    else:
        values, at = layer.biases, (p.j,)
    theta = float(values[at])
    try:
        values[at] = theta + eps
        plus = costs(probe, x, y)
        step_up = float(values[at])
        values[at] = theta - eps
        minus = costs(probe, x, y)
        step = step_up - float(values[at])
    finally:
        values[at] = theta
    return plus - minus, step


def _compared(p: Param, value: float, analytic: Array, numeric: Array, floor: Array
              ) -> ParamCheck:
    abs_err = np.abs(analytic - numeric)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return ParamCheck(p, value, analytic, numeric, abs_err, abs_err / scale)


def _value(net: Network, p: Param) -> float:
    layer = net.layers[p.layer - 1]
    return float(layer.weights[p.j, p.k] if p.k is not None else layer.biases[p.j])


def _report(net: Network, m: int, checks: list[ParamCheck], **options: Any) -> CheckReport:
    """The report of ``checks`` over m examples; ``options``: the other fields."""
    return CheckReport(network=net, example_count=m, params=tuple(checks),
                       layers=_summary(net, checks, options["tolerance"]), **options)


def _summary(net: Network, checks: list[ParamCheck], tolerance: float
             ) -> tuple[LayerCheck, ...]:
    layers = []
    for index, layer in enumerate(net.layers):
        mine = [c for c in checks if c.param.layer == index + 1]
        worst = max(mine, key=lambda c: float(_nan_is_worst(c.rel_err).max())) if mine else None
        layers.append(LayerCheck(
            layer=index + 1,
            checked=len(mine),
            total=layer.weights.size + layer.biases.size,
            failed=sum(not c.passes(tolerance) for c in mine),
            max_abs=float(np.max([c.max_abs for c in mine])) if mine else 0.0,
            max_rel=worst.max_rel if worst is not None else 0.0,
            worst=worst,
        ))
    return tuple(layers)


def check_gradients(
    net: Network,
    inputs: Array,
    targets: Array,
    *,
    eps: float = DEFAULT_EPS,
    tolerance: float = DEFAULT_TOLERANCE,
    sample: int | None = None,
    seed: int = 0,
    show_all: bool = False,
) -> CheckReport:
    """Check ∂C0/∂θ for every example and ∂C/∂θ; inputs (m, n_0), targets (m, n_L).

    ``sample``: check that many parameters drawn without replacement with ``seed`` (all of
    them when it is None or not smaller than the parameter count).
    """
    _check_options(eps, tolerance, sample)
    x = np.asarray(inputs, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    trace = backprop(net, x, y)
    c0 = np.append(trace.cost_per_example, trace.cost)
    floor = GRADIENT_FLOOR * np.maximum(1.0, np.abs(c0))
    chosen = _chosen(net, sample, seed, eps)
    probe = _probe(net)
    checks = []
    for p in chosen:
        per_example, full = trace.param_gradient(p.layer, p.kind, p.j, p.k)
        diff, step = _differences(probe, p, eps, x, y)
        numeric = np.append(diff / step, np.mean(diff) / step)
        checks.append(_compared(p, _value(net, p), np.append(per_example, full), numeric,
                                floor))
    return _report(net, x.shape[0], checks, eps=eps, tolerance=tolerance, sample=sample,
                   seed=seed, show_all=show_all)


class _Differences:
    """Σ over the rows of C0(θ + ε) − C0(θ − ε) for each parameter θ in ``chosen`` (forward
    passes only), and the steps (θ + ε) − (θ − ε): an :class:`~backprop_cli.engine.Sums`."""

    def __init__(self, net: Network, chosen: list[Param], eps: float) -> None:
        self.probe = _probe(net)
        self.chosen = chosen
        self.eps = eps
        self.sums = np.zeros(len(chosen))
        self.steps = np.zeros(len(chosen))
        self.rows = 0

    def add(self, inputs: Array, targets: Array) -> None:
        x = np.ascontiguousarray(inputs)  # a column selection's view; read 2 × P times
        for i, p in enumerate(self.chosen):
            diff, self.steps[i] = _differences(self.probe, p, self.eps, x, targets)
            self.sums[i] += np.sum(diff)
        self.rows += len(x)

    def merge(self, other: _Differences) -> _Differences:
        if other.rows:
            self.sums += other.sums
            self.steps[:] = other.steps
            self.rows += other.rows
        return self


def _first(chunks: Iterable[Chunk], rows: int | None) -> Iterator[Chunk]:
    """The chunks cut after ``rows`` rows (None: all of them)."""
    left = rows
    for x, y in chunks:
        if left is None:
            yield x, y
            continue
        yield x[:left], y[:left]
        left -= len(x)
        if left <= 0:
            return


def _too_much(net: Network, checked: int, within: int, file: str, max_work: float) -> str:
    weights = sum(layer.weights.size for layer in net.layers)
    fewer = (f"check the first --rows {within} (or fewer), a --sample of the parameters"
             if within >= 1 else "check a --sample of the parameters")
    return (f"check --data: {plural(checked, 'parameter')} × 2 forward passes × more than "
            f"{plural(within, 'row')} of {file} × {weights:,} multiply-adds per row exceed "
            f"--max-work {max_work:.3g}; {fewer}, or raise --max-work (0: no limit)")


def check_data(
    net: Network,
    chunks: Iterable[Chunk],
    data: dict[str, Any],
    *,
    eps: float = DEFAULT_EPS,
    tolerance: float = DEFAULT_TOLERANCE,
    sample: int | None = None,
    seed: int = 0,
    show_all: bool = False,
    max_rows: int | None = None,
    max_work: float = CHECK_MAX_WORK,
) -> CheckReport:
    """Check ∂C/∂θ of the full cost C over a data set: ``chunks`` yields (inputs (m_c, n_0),
    targets (m_c, n_L)) and is iterated twice (a
    :class:`~backprop_cli.io.datasets.DataStream` reads its file anew each time); only the first
    ``max_rows`` rows are used when given. ``data`` describes the rows (file …) and is
    completed with their count.

    Memory is bounded by the chunk size. Refused (UsageError) as soon as the rows read make the
    numeric side more than ``max_work`` multiply-adds (0 or inf: no limit).
    """
    _check_options(eps, tolerance, sample)
    if max_rows is not None and max_rows < 1:
        raise UsageError(f"--rows {max_rows}: expected a whole number ≥ 1")
    if not max_work >= 0:
        raise UsageError(f"--max-work {max_work}: expected a number ≥ 0 (0: no limit)")
    chosen = _chosen(net, sample, seed, eps)
    per_row = 2 * len(chosen) * sum(layer.weights.size for layer in net.layers)
    within = (int(max_work // per_row) if 0 < max_work < np.inf and per_row else None)

    if max_rows is None and hasattr(chunks, "fold"):  # in parts summed apart (Dask)
        acc = fold(chunks, functools.partial(Accumulator, net))
        if within is not None and acc.rows > within:
            raise UsageError(_too_much(net, len(chosen), within, data["file"], max_work))
    else:
        acc = Accumulator(net)  # the analytic side: the backward pass, as analyze --data runs it
        for x, y in _first(chunks, max_rows):
            if within is not None and acc.rows + len(x) > within:
                raise UsageError(_too_much(net, len(chosen), within, data["file"], max_work))
            with name_row_errors(chunks):
                acc.add(x, y)
    means = acc.means()
    n = means.rows

    make = functools.partial(_Differences, net, chosen, eps)  # the numeric side
    if max_rows is None and hasattr(chunks, "fold"):
        diffs = fold(chunks, make)
    else:
        diffs = make()
        for x, y in _first(chunks, max_rows):
            with name_row_errors(chunks):
                diffs.add(x, y)
    if diffs.rows != n:
        raise DataError(f"the file changed while it was read: {plural(n, 'row')}, then "
                        f"{plural(diffs.rows, 'row')}", file=data["file"])
    diff_sums, steps = diffs.sums, diffs.steps

    floor = np.array([GRADIENT_FLOOR * max(1.0, abs(means.trace.cost))])
    checks = [
        _compared(p, _value(net, p),
                  np.array([means.trace.param_gradient(p.layer, p.kind, p.j, p.k)[1]]),
                  np.array([diff_sums[i] / n / steps[i]]), floor)
        for i, p in enumerate(chosen)
    ]
    return _report(net, 0, checks, eps=eps, tolerance=tolerance, sample=sample, seed=seed,
                   show_all=show_all,
                   data={**data, "rows": n, "chunks": means.chunks, "cost": means.trace.cost})
