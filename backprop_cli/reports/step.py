"""One step of gradient descent with every number shown (``backprop step``). Pure.

A step moves every parameter θ (each w(l)jk and b(l)j) against the gradient of the full cost C
(the mean of C0 over the examples, or over --data's rows): θ ← θ − η·∂C/∂θ, where −η·∂C/∂θ is
θ's *desired nudge*. To first order the cost changes by

    ΔC ≈ Σθ ∂C/∂θ · (−η·∂C/∂θ) = −η‖∇C‖²,

which the report shows beside the actual ΔC of a second forward pass. ``steps`` N repeats the
step N times (full-batch gradient descent, what ``train --optimizer sgd --batch-size <all rows>
--no-shuffle`` does in N epochs), with the cost before and after each step.

The per-parameter rows are for the whole move: θ's value and ∂C/∂θ before the first step, that
step's nudge −η·∂C/∂θ, and θ after the last step (after step 1, value + nudge, when N = 1).

The first-order prediction *holds* for a step unless the cost went up, or the actual ΔC is off
the predicted one by more than :data:`PREDICTION_TOLERANCE` (half) of it: then η is too large
for the straight-line picture, and the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from backprop_cli.engine import Chunk, Trace, backprop
from backprop_cli.errors import NumericalError, UsageError, plural
from backprop_cli.network import Array, Network, Param, TrainingInfo
from backprop_cli.reports import SCHEMA_VERSION, Moved, finite_or_none
from backprop_cli.reports.analyze import all_params
from backprop_cli.reports.dataset import accumulate
from backprop_cli.reports.nudge import param_name

# A step's prediction fails when |actual − predicted| > this share of |predicted|.
PREDICTION_TOLERANCE = 0.5

# The full cost's trace at the given weights, and how many rows it is the mean over.
Measure = Callable[[Network], tuple[Trace, int]]


def over_examples(inputs: Array, targets: Array) -> Measure:
    """C and ∇C over the examples inputs (m, n_0), targets (m, n_L)."""
    def measure(net: Network) -> tuple[Trace, int]:
        return backprop(net, inputs, targets), int(inputs.shape[0])

    return measure


def over_rows(chunks: Iterable[Chunk]) -> Measure:
    """C and ∇C over the rows of ``chunks`` (read again at every call), as ``analyze --data``
    computes them."""
    def measure(net: Network) -> tuple[Trace, int]:
        means = accumulate(net, chunks).means()
        return means.trace, means.rows

    return measure


@dataclass(frozen=True)
class CostStep(Moved):
    """Step ``step`` (1-based): C before and after it, ‖∇C‖ before it, and the first-order
    prediction ΔC ≈ −η‖∇C‖²."""

    step: int
    gradient_norm: float

    @property
    def holds(self) -> bool:
        """Whether the first-order prediction held (see the module's docstring)."""
        if not (math.isfinite(self.actual) and math.isfinite(self.predicted)):
            return False
        if self.actual > 0:
            return False
        return (self.predicted == 0
                or abs(self.actual - self.predicted) <= PREDICTION_TOLERANCE * abs(self.predicted))

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "before": self.before, "after": self.after,
                "actual": self.actual, "predicted": self.predicted, "ratio": self.ratio,
                "gradient_norm": self.gradient_norm, "holds": self.holds}


@dataclass(frozen=True)
class ParamStep:
    """One parameter's move: ``value`` and ``gradient`` ∂C/∂θ before the first step, ``nudge``
    = −η·∂C/∂θ of that step, ``after`` its value after the last step."""

    param: Param
    value: float
    gradient: float
    nudge: float
    after: float

    @property
    def name(self) -> str:
        return param_name(self.param)

    def as_dict(self) -> dict[str, Any]:
        p = self.param
        return {"name": self.name, "layer": p.layer, "kind": p.kind, "j": p.j, "k": p.k,
                "value": self.value, "gradient": self.gradient, "nudge": self.nudge,
                "after": self.after}


# The columns of --format csv: one row per parameter.
PARAM_FIELDS = ("name", "layer", "kind", "j", "k", "value", "gradient", "nudge", "after")


@dataclass(frozen=True, eq=False)
class StepReport:
    """``network`` before the first step, ``stepped`` after the last; ``grad_w``/``grad_b``
    (per layer, shapes as the weights and biases) ∂C/∂θ before the first step; ``costs`` one
    :class:`CostStep` per step; ``rows`` how many examples (or rows of ``data``) C is the mean
    over; ``data`` describes --data's file (None: the network's examples)."""

    network: Network
    stepped: Network
    lr: float
    grad_w: tuple[Array, ...]
    grad_b: tuple[Array, ...]
    costs: tuple[CostStep, ...]
    rows: int
    data: dict[str, Any] | None = None

    @property
    def steps(self) -> int:
        return len(self.costs)

    @property
    def before(self) -> float:
        return self.costs[0].before

    @property
    def after(self) -> float:
        return self.costs[-1].after

    @property
    def scope(self) -> str:
        """What C is the mean over, in words."""
        if self.data is not None:
            return f"{plural(self.rows, 'row')} of {self.data['file']}"
        return plural(self.rows, "example")

    @property
    def failed(self) -> tuple[CostStep, ...]:
        """The steps whose first-order prediction did not hold."""
        return tuple(c for c in self.costs if not c.holds)

    @property
    def note(self) -> str | None:
        """Why η is too large for the first-order prediction, or None when it held."""
        failed = self.failed
        if not failed:
            return None
        first = failed[0]
        where = f"in step {first.step}" if self.steps > 1 else "here"
        if first.actual > 0:
            why = f"the cost went up {where} (ΔC = {first.actual:+.3g})"
        else:
            why = (f"{where} the actual ΔC = {first.actual:.3g} is off the prediction "
                   f"{first.predicted:.3g} by more than {PREDICTION_TOLERANCE:.0%}")
        more = (f"; {len(failed)} of {plural(self.steps, 'step')} missed it (cost up, or off "
                f"by more than {PREDICTION_TOLERANCE:.0%})"
                if self.steps > 1 and len(failed) > 1 else "")
        return (f"η = {self.lr:g} is too large for the first-order prediction "
                f"ΔC ≈ −η‖∇C‖²: {why}{more}; a smaller --lr follows it more closely")

    def params(self) -> Iterator[ParamStep]:
        """Every parameter in file order: per layer every w(l)jk row by row, then b(l)j."""
        for p in all_params(self.network):
            i = p.layer - 1
            if p.kind == "w":
                assert p.k is not None
                value = self.network.layers[i].weights[p.j, p.k]
                gradient = self.grad_w[i][p.j, p.k]
                after = self.stepped.layers[i].weights[p.j, p.k]
            else:
                value = self.network.layers[i].biases[p.j]
                gradient = self.grad_b[i][p.j]
                after = self.stepped.layers[i].biases[p.j]
            yield ParamStep(p, float(value), float(gradient), float(-(self.lr * gradient)),
                            float(after))

    def training_info(self) -> TrainingInfo:
        """The ``training:`` block of the stepped network file: what ``train`` of the same
        moves would record (sgd on every row at once, no shuffle; an epoch is a step); the
        caller adds the runtime, as train's does."""
        return TrainingInfo(
            data=None if self.data is None else str(self.data["file"]),
            rows=self.rows,
            options={"command": "step", "optimizer": "sgd", "lr": self.lr,
                     "steps": self.steps, "batch_size": self.rows, "shuffle": False,
                     "dtype": "float64"},
            status="completed",
            epochs_run=self.steps,
            train_cost=finite_or_none(self.after),
        )

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "network": self.network.name,
            "lr": self.lr,
            "steps": self.steps,
            "rows": self.rows,
            "cost": {"name": "C", "before": self.before, "after": self.after,
                     "actual": self.after - self.before,
                     "predicted": self.costs[0].predicted if self.steps == 1 else None},
            "prediction_holds": not self.failed,
            "note": self.note,
            "per_step": [c.as_dict() for c in self.costs],
            "parameters": [r.as_dict() for r in self.params()],
        }
        if self.data is not None:
            doc["data"] = self.data
        return doc


def check_step_options(lr: float, steps: int) -> None:
    """--lr is a finite number > 0 and --steps a whole number ≥ 1, or a UsageError."""
    if not (math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr {lr:g}: expected a finite learning rate η > 0, e.g. --lr 0.1")
    if steps < 1:
        raise UsageError(f"--steps {steps}: expected a whole number of steps ≥ 1")


def _moved(net: Network, trace: Trace, lr: float, step: int) -> Network:
    """``net`` after one step θ ← θ − η·∂C/∂θ; a NumericalError if a parameter overflows."""
    weights = [layer.weights - lr * g for layer, g in zip(net.layers, trace.grad_w, strict=True)]
    biases = [layer.biases - lr * g for layer, g in zip(net.layers, trace.grad_b, strict=True)]
    for l, (w, b) in enumerate(zip(weights, biases, strict=True), start=1):  # noqa: E741
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise NumericalError(
                f"--lr {lr:g}: step {step} moved a weight or bias of layer {l} beyond the "
                "largest float64", advice="choose a smaller --lr")
    return net.with_parameters(weights, biases)


def _norm_squared(trace: Trace) -> float:
    """‖∇C‖², the sum of (∂C/∂θ)² over every parameter θ."""
    with np.errstate(over="ignore"):
        return float(sum(float(np.sum(g * g)) for g in (*trace.grad_w, *trace.grad_b)))


def step(net: Network, measure: Measure, lr: float, steps: int = 1,
         data: dict[str, Any] | None = None) -> StepReport:
    """``steps`` steps of gradient descent with learning rate ``lr`` on the cost ``measure``
    gives (:func:`over_examples`, :func:`over_rows`); ``data`` describes --data's file."""
    check_step_options(lr, steps)
    trace, rows = measure(net)
    first = trace
    current = net
    costs: list[CostStep] = []
    for n in range(1, steps + 1):
        moved = _moved(current, trace, lr, n)
        norm2 = _norm_squared(trace)
        try:
            after, rows = measure(moved)
        except NumericalError as exc:
            raise NumericalError(
                f"--lr {lr:g}: after step {n}, {exc.message}", example=exc.example,
                advice=f"the network's own numbers are finite: choose a smaller --lr "
                       f"(now {lr:g})", file=exc.file, line=exc.line) from None
        costs.append(CostStep(n, math.sqrt(norm2), before=trace.cost, after=after.cost,
                              predicted=-lr * norm2))
        current, trace = moved, after
    return StepReport(
        network=net, stepped=current, lr=lr, grad_w=first.grad_w, grad_b=first.grad_b,
        costs=tuple(costs), rows=rows, data=None if data is None else {**data, "rows": rows},
    )


def stepped_network(report: StepReport, runtime: dict[str, Any]) -> Network:
    """The network after the last step with its ``training:`` block (``runtime``: the numpy and
    BLAS that computed it, :func:`io.blas.runtime`)."""
    return replace(report.stepped, training=replace(report.training_info(), runtime=runtime))
