"""Gradient descent: optimizers and the training loop as a generator of per-epoch records.

No I/O, no printing. The seed's last step: the gradient of the cost of a batch (the mean of C0
over its rows) moves every weight and bias a little "downhill", w ← w − η·∂C/∂w.

Batches are consecutive rows of the training set (after shuffling, if on); the last one may be
shorter. Everything runs in one dtype (float64 or float32) end to end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.choices import DTYPES as DTYPE_NAMES
from backprop_cli.choices import OPTIMIZERS
from backprop_cli.engine import cost0, mean_cost
from backprop_cli.engine import costs as engine_costs
from backprop_cli.engine import forward as engine_forward
from backprop_cli.errors import NumericalError, UsageError
from backprop_cli.fastpath import Model
from backprop_cli.network import Array, Label, Network, Preprocessing, TrainingInfo
from backprop_cli.reports import finite_or_none
from backprop_cli.reports.metrics import ClassMetrics, Metrics, RegressionMetrics
from backprop_cli.reports.train import EpochRecord, TrainSummary, measure

DTYPES: dict[str, type[np.floating]] = {name: getattr(np, name) for name in DTYPE_NAMES}


@dataclass(frozen=True)
class TrainOptions:
    """``lr`` is η; ``momentum`` is μ (v ← μv − η∂C/∂w, w ← w + v); ``beta1``, ``beta2``,
    ``eps`` are Adam's β1, β2, ε; ``patience``: stop when the validation cost has not improved
    for that many epochs (and keep the best weights)."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    shuffle: bool = True
    seed: int = 0
    patience: int | None = None
    dtype: str = "float64"

    def check(self) -> None:
        if self.epochs < 1:
            raise UsageError(f"--epochs {self.epochs}: expected a whole number ≥ 1")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size {self.batch_size}: expected a whole number ≥ 1")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"--lr {self.lr}: expected a number > 0")
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(f"--optimizer {self.optimizer!r}: expected one of: "
                             f"{', '.join(OPTIMIZERS)}")
        if not 0 <= self.momentum < 1:
            raise UsageError(f"--momentum {self.momentum}: expected a number from 0 up to 1")
        for name, value in (("--beta1", self.beta1), ("--beta2", self.beta2)):
            if not 0 <= value < 1:
                raise UsageError(f"{name} {value}: expected a number from 0 up to 1")
        if not (math.isfinite(self.eps) and self.eps > 0):
            raise UsageError(f"--eps {self.eps}: expected a number > 0")
        if self.patience is not None and self.patience < 1:
            raise UsageError(f"--patience {self.patience}: expected a whole number ≥ 1")
        if self.dtype not in DTYPES:
            raise UsageError(f"--dtype {self.dtype!r}: expected one of: {', '.join(DTYPES)}")
        if self.seed < 0:
            raise UsageError(f"--seed {self.seed}: expected a whole number ≥ 0")

    def to_dict(self) -> dict[str, Any]:
        """The options that mattered for this optimizer (for the ``training:`` block)."""
        out = asdict(self)
        if self.optimizer != "momentum":
            del out["momentum"]
        if self.optimizer != "adam":
            for key in ("beta1", "beta2", "eps"):
                del out[key]
        if self.patience is None:
            del out["patience"]
        return out


# --- the lean model -----------------------------------------------------------------------



# --- optimizers -----------------------------------------------------------------------------

class Optimizer:
    """Plain SGD, w ← w − η·∂C/∂w: updates the parameters in place from the gradients (which
    it may overwrite). The gradients arrive multiplied by ``grad_scale`` (η here, so that the
    step is one subtraction per parameter)."""

    def __init__(self, params: list[Array], options: TrainOptions) -> None:
        self.options = options
        self.grad_scale = options.lr

    def step(self, params: list[Array], grads: list[Array]) -> None:
        for p, g in zip(params, grads, strict=True):
            p -= g


class Momentum(Optimizer):
    """v ← μ·v − η·∂C/∂w;  w ← w + v (the gradients arrive multiplied by η)."""

    def __init__(self, params: list[Array], options: TrainOptions) -> None:
        super().__init__(params, options)
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params: list[Array], grads: list[Array]) -> None:
        mu = self.options.momentum
        for p, g, v in zip(params, grads, self.v, strict=True):
            v *= mu
            v -= g
            p += v


class Adam(Optimizer):
    """m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  w ← w − η·m̂/(√v̂ + ε), with the bias
    corrections m̂ = m/(1−β1^t), v̂ = v/(1−β2^t) after t steps."""

    def __init__(self, params: list[Array], options: TrainOptions) -> None:
        super().__init__(params, options)
        self.grad_scale = 1.0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]
        self.t = 0

    def step(self, params: list[Array], grads: list[Array]) -> None:
        o = self.options
        self.t += 1
        step = o.lr / (1.0 - o.beta1**self.t)
        root_correction = 1.0 / math.sqrt(1.0 - o.beta2**self.t)
        for p, g, m, v, tmp in zip(params, grads, self.m, self.v, self.tmp, strict=True):
            m *= o.beta1
            np.multiply(g, 1.0 - o.beta1, out=tmp)
            m += tmp
            v *= o.beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1.0 - o.beta2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp *= root_correction
            tmp += o.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step
            p -= tmp


OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {
    "sgd": Optimizer, "momentum": Momentum, "adam": Adam,
}


# --- the loop -------------------------------------------------------------------------------



class Trainer:
    """Train ``net`` on ``inputs`` (m, n_0), ``targets`` (m, n_L); optional validation rows.

    Iterate :meth:`run` for the epoch records; afterwards ``status`` is one of
    :data:`STATUSES` and :meth:`network` gives the weights to keep (the best epoch's after
    early stopping, the last finite ones after divergence). Every epoch ends by checking that
    its weights' forward pass is finite on every training and validation row (a ReLU turns
    z = −inf into 0, so a finite cost does not show it): if not, that is divergence too.
    """

    def __init__(
        self,
        net: Network,
        inputs: Array,
        targets: Array,
        options: TrainOptions,
        *,
        labels: NDArray[np.intp] | None = None,
        val: tuple[Array, Array, NDArray[np.intp] | None] | None = None,
        classes: tuple[Label, ...] | None = None,
        preprocessing: Preprocessing | None = None,
    ) -> None:
        options.check()
        if options.patience is not None and val is None:
            raise UsageError("--patience needs validation rows: add --val-split F or --val FILE")
        dtype = DTYPES[options.dtype]
        self.options = options
        with np.errstate(over="ignore"):  # a float32 cast overflows to inf: refused below
            self.model = Model(net, dtype)
            x = np.asarray(inputs, dtype=dtype)
            # [x 1] (m, n_0 + 1), the rows as Model.gradients(..., with_ones=True) takes them
            self._inputs1 = np.ones((x.shape[0], x.shape[1] + 1), dtype)
            self._inputs1[:, :-1] = x
            self.inputs = self._inputs1[:, :-1]
            self.targets = np.ascontiguousarray(targets, dtype=dtype)
            self.val = None if val is None else (
                np.ascontiguousarray(val[0], dtype=dtype),
                np.ascontiguousarray(val[1], dtype=dtype),
                val[2],
            )
        self.labels = labels
        # the class labels, and the target scaling the metrics undo (targets as trained on)
        self.classes, self.preprocessing = classes, preprocessing
        held = [] if self.val is None else [self.val[0], self.val[1]]
        for what, values in (("network's weights and biases", self.model.params()),
                             ("inputs and targets", [self.inputs, self.targets, *held])):
            if not all(np.isfinite(v).all() for v in values):
                raise UsageError(
                    f"--dtype {options.dtype}: the {what} do not fit in "
                    f"{options.dtype} (largest {np.finfo(dtype).max:.3g}); use --dtype float64 "
                    "or scale them down")
        # max(1, max|x|) and max|y| over the training and validation rows, and the largest
        # |z| that :meth:`_bounded` lets through (room for rounding in the sums).
        self._x_bound = _largest([self.inputs, *held[:1]]) + 1.0
        self._y_bound = _largest([self.targets, *held[1:]])
        self._limit = float(np.finfo(dtype).max) / 1024
        self.status = "running"
        self.epochs_run = 0
        self.best_epoch: int | None = None
        self.stopped_at: tuple[int, int] | None = None  # (epoch, batches run in it)
        self._best: list[Array] | None = None
        self._saved: list[Array] | None = None  # the weights at the start of the epoch
        # Diverged although every batch's cost was finite: with the weights at the end of the
        # epoch, the forward pass (z, a) or the cost C0 of this row overflows (a ReLU turns
        # z = −inf into 0, a sigmoid saturates). ``example``: its index in ``inputs``, or in
        # the validation rows if ``forward_overflow_held``.
        self.forward_overflow: NumericalError | None = None
        self.forward_overflow_held = False

    @property
    def batch_count(self) -> int:
        return -(-len(self.inputs) // self.options.batch_size)

    def measure(self, x: Array, y: Array, labels: NDArray[np.intp] | None
                ) -> tuple[float, Metrics | None]:
        """(cost C, the metrics or None where a(L) is not finite) of the current weights on
        x, y (:func:`reports.train.measure`)."""
        net = self.model.as_network()
        with np.errstate(over="ignore", invalid="ignore"):
            zs, acts = engine_forward(net, x, self.model.dtype, check=False)
            c0 = cost0(net, zs[-1], acts[-1], y, check=False)
            a = acts[-1]
            if not np.isfinite(a).all():
                return mean_cost(c0), None
            return mean_cost(c0), measure(net, a.astype(np.float64), y, labels, self.classes,
                                          self.preprocessing)

    def run(
        self,
        stop: Callable[[], bool] | None = None,
        on_batch: Callable[[int, int, float], None] | None = None,
    ) -> Iterator[EpochRecord]:
        """Train epoch by epoch. ``stop()`` is asked after every batch (True: stop now, as
        after Ctrl-C); ``on_batch(epoch, batch, cost)`` is told every batch's cost."""
        yield from self._epochs(stop, on_batch)
        # A step can overflow the weights after its batch's cost was measured (the last one,
        # or one before a validation cost): keep the last finite weights, never inf or NaN.
        if self._saved is not None and not self.model.finite():
            self.model.restore(self._saved)
            if self.status != "diverged":
                self.status = "diverged"
                self.stopped_at = self.stopped_at or (max(self.epochs_run, 1),
                                                      self.batch_count - 1)

    def _epochs(
        self,
        stop: Callable[[], bool] | None,
        on_batch: Callable[[int, int, float], None] | None,
    ) -> Iterator[EpochRecord]:
        o = self.options
        model = self.model
        params, grads = model.params(), model.grads()
        optimizer = OPTIMIZER_CLASSES[o.optimizer](params, o)
        scale = optimizer.grad_scale
        rng = np.random.default_rng(o.seed)
        m, size = len(self.inputs), o.batch_size
        order: NDArray[np.intp] | None = None  # the epoch's rows, shuffled
        if o.shuffle:  # the shuffled epoch, rewritten in place every epoch
            x_all, y_all = np.empty_like(self._inputs1), np.empty_like(self.targets)
        else:
            x_all, y_all = self._inputs1, self.targets
        best_cost = math.inf
        waited = 0
        for epoch in range(1, o.epochs + 1):
            started = time.perf_counter()
            if model.finite():  # never snapshot inf/NaN: keep the last finite snapshot
                self._saved = model.snapshot()
            saved = self._saved
            assert saved is not None  # the initial weights were checked finite
            if o.shuffle:
                order = rng.permutation(m)
                np.take(self._inputs1, order, axis=0, out=x_all)
                np.take(self.targets, order, axis=0, out=y_all)
            total = 0.0
            batches = 0
            # Overflow is detected below as a non-finite cost, not reported by numpy.
            with np.errstate(over="ignore", invalid="ignore"):
                for start in range(0, m, size):
                    x, y = x_all[start:start + size], y_all[start:start + size]
                    cost = model.gradients(x, y, scale, with_ones=True)
                    if not math.isfinite(cost):
                        # Finite weights whose cost overflows are no better than inf ones.
                        model.restore(saved)
                        self.status = "diverged"
                        break
                    optimizer.step(params, grads)
                    total += cost * x.shape[0]
                    batches += 1
                    if on_batch is not None:
                        on_batch(epoch, batches, cost)
                    if stop is not None and stop():
                        self.status = "interrupted"
                        break
            if self.status != "diverged" and batches and not model.finite():
                # The last step overflowed after its batch's cost was measured (always so
                # with one batch per epoch): keep the weights from the start of this epoch.
                model.restore(saved)
                self.status = "diverged"
                self.stopped_at = (epoch, batches - 1)
            if self.status != "diverged" and batches:
                # Finite weights and costs can still overflow z: a ReLU turns −inf into 0. Once
                # per epoch (never per batch), and O(parameters) unless a bound says perhaps.
                found = self._forward_overflow()
                if found is not None:
                    model.restore(saved)
                    self.status = "diverged"
                    self.stopped_at = (epoch, batches)
                    self.forward_overflow, self.forward_overflow_held = found
            seen = min(batches * size, m)
            record = EpochRecord(
                epoch=epoch,
                epochs=o.epochs,
                batches=batches,
                batch_count=self.batch_count,
                train_cost=total / seen if seen else math.nan,
                val_cost=None,
                val_accuracy=None,
                seconds=0.0,
            )
            if self.status != "running":
                self.stopped_at = self.stopped_at or (epoch, batches)
                # A diverged epoch never completes: its weights are not the ones kept.
                self.epochs_run = epoch if batches and self.status != "diverged" else epoch - 1
                yield _timed(record, started)
                return
            self.epochs_run = epoch
            if self.val is not None:
                val_cost, val_metrics = self.measure(*self.val)
                record = _with_val(record, val_cost, val_metrics)
                if not math.isfinite(val_cost):
                    self.status = "diverged"
                    self.stopped_at = (epoch, batches)
                    yield _timed(record, started)
                    return
                if o.patience is not None:
                    if val_cost < best_cost:
                        best_cost, waited = val_cost, 0
                        self.best_epoch = epoch
                        self._best = model.snapshot()
                    else:
                        waited += 1
                    if waited >= o.patience:
                        self.status = "early_stopped"
                        if self._best is not None:
                            model.restore(self._best)
                        yield _timed(record, started)
                        return
            yield _timed(record, started)
        self.status = "completed"

    def _forward_overflow(self) -> tuple[NumericalError, bool] | None:
        """The first row whose forward pass (z, a) or cost C0 overflows with the current
        weights, as :func:`engine.costs` refuses it, ``example`` its index among the training
        rows (or the validation rows: True); None if none does. Costs O(parameters) when
        :meth:`_bounded` proves every row finite; a forward pass over the rows otherwise."""
        if self._bounded():
            return None
        net = self.model.network()
        sets = [(self.inputs, self.targets, False)]
        if self.val is not None:
            sets.append((self.val[0], self.val[1], True))
        for x, y, held in sets:
            for first in range(0, len(x), _CHUNK):
                try:
                    engine_costs(net, x[first:first + _CHUNK], y[first:first + _CHUNK],
                                 self.model.dtype)
                except NumericalError as exc:
                    row = None if exc.example is None else first + exc.example
                    return NumericalError(exc.message, example=row), held
        return None

    def _bounded(self) -> bool:
        """True when no training or validation row can make the forward pass or the cost
        overflow with the current weights, from bounds alone (a few µs a layer); False:
        perhaps. With A ≥ 1 and A ≥ |a(l−1)k| on every row, |z(l)j| ≤ Σk |w(l)jk|·A + |b(l)j|
        ≤ A·Σ|column j of p[l-1]|. Ignoring cancellation, the bound grows ~(0.8·√(2n))^L for
        He-initialized layers of n: float32 networks deeper than ~20 wide layers take the
        forward pass."""
        limit = self._limit
        a = z = self._x_bound
        with np.errstate(over="ignore", invalid="ignore"):
            for p in self.model.packed:
                z = a * float(np.abs(p).sum(axis=0, dtype=np.float64).max())
                if not z <= limit:  # inf and NaN too
                    return False
                a = z + 1.0  # every σ of activations.py has |σ(z)| ≤ |z| + 1: a test checks
        # Every cost of costs.py is at most n_L·b²·(1 + max|y|) with b = |a| + |z| + max|y| +
        # 1000: the squared error Σ(a − y)²; the cross-entropies' ln terms are ≤ 745 or
        # ≤ 2|z| + ln n_L, times |y| or |1 − y|.
        b = a + z + self._y_bound + 1e3
        return self.model.packed[-1].shape[1] * b * b * (1.0 + self._y_bound) <= limit

    def network(self) -> Network:
        return self.model.network()

    def summary(self, seconds: float) -> TrainSummary:
        """Cost and accuracy of the weights kept, on the training and validation rows."""
        train_cost, train_metrics = self.measure(self.inputs, self.targets, self.labels)
        val_cost, val_metrics = None, None
        if self.val is not None:
            val_cost, val_metrics = self.measure(*self.val)
        return TrainSummary(
            status=self.status,
            epochs_run=self.epochs_run,
            epochs=self.options.epochs,
            best_epoch=self.best_epoch,
            stopped_at=self.stopped_at,
            train_rows=len(self.inputs),
            val_rows=0 if self.val is None else len(self.val[0]),
            train_cost=finite_or_none(train_cost),
            train_accuracy=_accuracy(train_metrics),
            val_cost=finite_or_none(val_cost),
            val_accuracy=_accuracy(val_metrics),
            seconds=seconds,
            train_metrics=train_metrics,
            val_metrics=val_metrics,
        )


_CHUNK = 4096  # rows per forward pass of Trainer._forward_overflow


def _largest(arrays: list[Array]) -> float:
    """max|v| over the values of ``arrays`` (0 if there are none)."""
    return max((max(float(v.max()), -float(v.min())) for v in arrays if v.size), default=0.0)


def _timed(record: EpochRecord, started: float) -> EpochRecord:
    return EpochRecord(**{**asdict(record), "seconds": time.perf_counter() - started})


def _accuracy(metrics: Metrics | None) -> float | None:
    return metrics.accuracy if isinstance(metrics, ClassMetrics) else None


def _with_val(record: EpochRecord, cost: float, metrics: Metrics | None) -> EpochRecord:
    """``record`` with the validation cost and the cheap metrics: the accuracy, or the RMSE,
    MAE and R² (their mean over the outputs)."""
    regression = metrics if isinstance(metrics, RegressionMetrics) else None
    return EpochRecord(**{
        **asdict(record), "val_cost": cost, "val_accuracy": _accuracy(metrics),
        "val_rmse": None if regression is None else finite_or_none(regression.overall_rmse),
        "val_mae": None if regression is None else finite_or_none(regression.overall_mae),
        "val_r2": None if regression is None else finite_or_none(regression.overall_r2)})


# --- evaluation -----------------------------------------------------------------------------



def training_info(options: TrainOptions, summary: TrainSummary,
                  source: dict[str, Any]) -> TrainingInfo:
    """The ``training:`` block of the trained network file: where the data came from
    (``source``, TrainingData.info), the options (with the seed), how it ended, the final
    costs; the numpy and BLAS a rerun needs for the same bytes (``runtime``) are the caller's
    to add (:func:`io.blas.runtime`). No times, so that the same command on the same machine
    writes the same file."""
    return TrainingInfo(
        **source, options=options.to_dict(), status=summary.status,
        epochs_run=summary.epochs_run, best_epoch=summary.best_epoch,
        train_cost=summary.train_cost, train_accuracy=summary.train_accuracy,
        val_cost=summary.val_cost, val_accuracy=summary.val_accuracy)
