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
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.choices import DTYPES as DTYPE_NAMES
from backprop_cli.choices import LR_SCHEDULES, OPTIMIZER_SLOTS, OPTIMIZERS
from backprop_cli.engine import cost0, mean_cost
from backprop_cli.engine import costs as engine_costs
from backprop_cli.engine import forward as engine_forward
from backprop_cli.errors import NumericalError, UsageError
from backprop_cli.fastpath import Model, with_ones
from backprop_cli.network import Array, Label, Network, OptimizerState, Preprocessing, TrainingInfo
from backprop_cli.reports import finite_or_none
from backprop_cli.reports.metrics import ClassMetrics, Metrics, RegressionMetrics
from backprop_cli.reports.train import EpochRecord, TrainSummary, measure

DTYPES: dict[str, type[np.floating]] = {name: getattr(np, name) for name in DTYPE_NAMES}


@dataclass(frozen=True)
class TrainOptions:
    """``lr`` is η; ``momentum`` is μ (v ← μv − η∂C/∂w, w ← w + v); ``beta1``, ``beta2``,
    ``eps`` are Adam's β1, β2, ε; ``patience``: stop when the validation cost has not improved
    for that many epochs (and keep the best weights).

    ``weight_decay`` is λ of the L2 penalty: training minimises C + (λ/2)·Σw² over every
    weight w(l)jk (not the biases), so each step adds λ·w to ∂C/∂w. ``lr_schedule`` sets η per
    epoch (:func:`learning_rate`) from ``lr_step_every``, ``lr_gamma``, ``lr_min`` and
    ``lr_epochs``; None: the schedule's default (see :meth:`resolved`)."""

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
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    lr_step_every: int | None = None
    lr_gamma: float | None = None
    lr_min: float | None = None
    lr_epochs: int | None = None

    def resolved(self, horizon: int) -> TrainOptions:
        """The schedule's parameters filled in: step every 10 epochs, γ 0.5 (step) or 0.95
        (exponential), η_min 0 and, for cosine, ``horizon`` epochs (the epochs to train,
        counting those of earlier runs)."""
        s = self.lr_schedule
        return replace(
            self,
            lr_step_every=self.lr_step_every or (10 if s == "step" else None),
            lr_gamma=self.lr_gamma or {"step": 0.5, "exponential": 0.95}.get(s),
            lr_min=(self.lr_min or 0.0) if s == "cosine" else self.lr_min,
            lr_epochs=(self.lr_epochs or horizon) if s == "cosine" else self.lr_epochs)

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
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise UsageError(f"--weight-decay {self.weight_decay}: expected a number ≥ 0 "
                             "(λ of the L2 penalty; 0: none)")
        if self.lr_schedule not in LR_SCHEDULES:
            raise UsageError(f"--lr-schedule {self.lr_schedule!r}: expected one of: "
                             f"{', '.join(LR_SCHEDULES)}")
        if self.lr_step_every is not None and self.lr_step_every < 1:
            raise UsageError(f"--lr-step-every {self.lr_step_every}: expected a whole number "
                             "≥ 1")
        if self.lr_gamma is not None and not (math.isfinite(self.lr_gamma)
                                              and self.lr_gamma > 0):
            raise UsageError(f"--lr-gamma {self.lr_gamma}: expected a number > 0 (the factor "
                             "η is multiplied by)")
        if self.lr_min is not None and not (math.isfinite(self.lr_min)
                                            and 0 <= self.lr_min <= self.lr):
            raise UsageError(f"--lr-min {self.lr_min}: expected a number from 0 up to --lr "
                             f"({self.lr:g})")
        if self.lr_epochs is not None and self.lr_epochs < 1:
            raise UsageError(f"--lr-epochs {self.lr_epochs}: expected a whole number ≥ 1")
        uses = {"lr_step_every": ("step",), "lr_gamma": ("step", "exponential"),
                "lr_min": ("cosine",), "lr_epochs": ("cosine",)}
        for name, schedules in uses.items():
            if getattr(self, name) is not None and self.lr_schedule not in schedules:
                raise UsageError(
                    f"--{name.replace('_', '-')} only applies to --lr-schedule "
                    f"{' or '.join(schedules)}, not {self.lr_schedule}")

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
        for key in ("lr_step_every", "lr_gamma", "lr_min", "lr_epochs"):
            if out[key] is None:
                del out[key]
        return out


def learning_rate(options: TrainOptions, epoch: int) -> float:
    """η in ``epoch`` (1, 2, …, counted over every run) for ``options`` as
    :meth:`TrainOptions.resolved` fills them in. With e = epoch − 1: constant η; step
    η·γ^⌊e/N⌋ (N = lr_step_every); exponential η·γ^e; cosine η_min + (η − η_min)·(1 +
    cos(π·min(e, E)/E))/2 over E = lr_epochs epochs, then η_min."""
    e, schedule = epoch - 1, options.lr_schedule
    if schedule == "constant":
        return options.lr
    if schedule == "cosine":
        assert options.lr_min is not None and options.lr_epochs is not None
        low, span = options.lr_min, options.lr_epochs
        return low + (options.lr - low) * (1.0 + math.cos(math.pi * min(e, span) / span)) / 2
    assert options.lr_gamma is not None
    if schedule == "step":
        assert options.lr_step_every is not None
        e //= options.lr_step_every
    return options.lr * options.lr_gamma ** e


# --- the lean model -----------------------------------------------------------------------



# --- optimizers -----------------------------------------------------------------------------

class Optimizer:
    """Plain SGD, w ← w − η·∂C/∂w: updates the parameters in place from the gradients (which
    it may overwrite). The gradients arrive multiplied by ``grad_scale`` (η here, so that the
    step is one subtraction per parameter). ``lr`` is η of the coming steps (the schedule
    sets it every epoch); ``slots`` names the state arrays kept per parameter array, ``t``
    counts the steps."""

    slots: tuple[str, ...] = ()

    def __init__(self, params: list[Array], options: TrainOptions) -> None:
        self.options = options
        self.lr = options.lr
        self.t = 0

    @property
    def grad_scale(self) -> float:
        return self.lr

    def step(self, params: list[Array], grads: list[Array]) -> None:
        self.t += 1
        for p, g in zip(params, grads, strict=True):
            p -= g

    def state(self) -> dict[str, list[Array]]:
        """The state arrays by slot name, in the layout of the parameters (not copies)."""
        return {name: getattr(self, name) for name in self.slots}


class Momentum(Optimizer):
    """v ← μ·v − η·∂C/∂w;  w ← w + v (the gradients arrive multiplied by η)."""

    slots = OPTIMIZER_SLOTS["momentum"]

    def __init__(self, params: list[Array], options: TrainOptions) -> None:
        super().__init__(params, options)
        self.velocity = [np.zeros_like(p) for p in params]

    def step(self, params: list[Array], grads: list[Array]) -> None:
        self.t += 1
        mu = self.options.momentum
        for p, g, v in zip(params, grads, self.velocity, strict=True):
            v *= mu
            v -= g
            p += v


class Adam(Optimizer):
    """m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  w ← w − η·m̂/(√v̂ + ε), with the bias
    corrections m̂ = m/(1−β1^t), v̂ = v/(1−β2^t) after t steps."""

    slots = OPTIMIZER_SLOTS["adam"]

    def __init__(self, params: list[Array], options: TrainOptions) -> None:
        super().__init__(params, options)
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]

    @property
    def grad_scale(self) -> float:
        return 1.0

    def step(self, params: list[Array], grads: list[Array]) -> None:
        o = self.options
        self.t += 1
        step = self.lr / (1.0 - o.beta1**self.t)
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
    early stopping, the last finite ones after divergence); :meth:`optimizer_state` what
    ``state=`` takes to continue from there (train --resume). Every epoch ends by checking that
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
        state: OptimizerState | None = None,
        classes: tuple[Label, ...] | None = None,
        preprocessing: Preprocessing | None = None,
    ) -> None:
        options.check()
        if options.patience is not None and val is None:
            raise UsageError("--patience needs validation rows: add --val-split F or --val FILE")
        if state is not None and state.optimizer != options.optimizer:
            raise UsageError(
                f"--resume: the stored optimizer state is {state.optimizer}'s, not "
                f"{options.optimizer}'s; resume with --optimizer {state.optimizer}, or train "
                "without --resume to start the optimizer afresh")
        dtype = DTYPES[options.dtype]
        # epochs trained before this run: the schedule's position
        self.resumed = state is not None
        self.start_epoch = 0 if state is None else state.epochs
        options = options.resolved(self.start_epoch + options.epochs)
        self.options = options
        with np.errstate(over="ignore"):  # a float32 cast overflows to inf: refused below
            self.model = Model(net, dtype, weight_decay=options.weight_decay)
            x = np.asarray(inputs, dtype=dtype)
            # [x 1] (m, n_0 + 1), the rows as Model.gradients(..., with_ones=True) takes them
            # (read straight into that layout from a plain CSV file: not copied)
            inputs1 = with_ones(x)
            if inputs1 is None:
                inputs1 = np.ones((x.shape[0], x.shape[1] + 1), dtype)
                inputs1[:, :-1] = x
            self._inputs1 = inputs1
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
        # max|v| of each (two reductions each: every pass over the rows counts)
        x_max, y_max = _largest([self.inputs, *held[:1]]), _largest([self.targets, *held[1:]])
        for what, largest in (("network's weights and biases",
                               [_largest([p]) for p in self.model.params()]),
                              ("inputs and targets", [x_max, y_max])):
            if not all(math.isfinite(v) for v in largest):  # NaN or inf in some array
                raise UsageError(
                    f"--dtype {options.dtype}: the {what} do not fit in "
                    f"{options.dtype} (largest {np.finfo(dtype).max:.3g}); use --dtype float64 "
                    "or scale them down")
        # max(1, max|x|) and max|y| over the training and validation rows, and the largest
        # |z| that :meth:`_bounded` lets through (room for rounding in the sums).
        self._x_bound = x_max + 1.0
        self._y_bound = y_max
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
        self.optimizer = OPTIMIZER_CLASSES[options.optimizer](self.model.params(), options)
        self.rng = np.random.default_rng(options.seed)
        if state is not None:
            self._load_state(state)
        self._best_state: OptimizerState | None = None

    def _load_state(self, state: OptimizerState) -> None:
        """Continue from ``state``: the optimizer's arrays (shaped like each layer's weights
        and biases) into the parameters' packed layout [wᵀ; b], its step count, the shuffle."""
        for name, arrays in self.optimizer.state().items():
            for packed, (w, b) in zip(arrays, state.slots[name], strict=True):
                packed[:-1] = w.T
                packed[-1] = b
        self.optimizer.t = state.steps
        if state.rng is not None:
            self.rng.bit_generator.state = dict(state.rng)

    def _state_now(self) -> OptimizerState:
        def shaped(arrays: list[Array]) -> tuple[tuple[Array, Array], ...]:
            return tuple((p[:-1].T.astype(np.float64), p[-1].astype(np.float64))
                         for p in arrays)

        return OptimizerState(
            optimizer=self.options.optimizer, dtype=self.options.dtype,
            epochs=self.start_epoch + self.epochs_run, steps=self.optimizer.t,
            rng=self.rng.bit_generator.state,
            slots={name: shaped(arrays) for name, arrays in self.optimizer.state().items()})

    def optimizer_state(self) -> OptimizerState | None:
        """What ``state=`` takes to continue training the weights kept: the state after the
        last step (after the best epoch's when stopped early); None after divergence, whose
        weights are older than the optimizer's state."""
        if self.status == "diverged":
            return None
        if self.status == "early_stopped" and self._best_state is not None:
            return self._best_state
        return self._state_now()

    @property
    def batch_count(self) -> int:
        return -(-len(self.inputs) // self.options.batch_size)

    def measure(self, x: Array, y: Array, labels: NDArray[np.intp] | None
                ) -> tuple[float, Metrics | None]:
        """(cost C, the metrics or None where a(L) is not finite) of the current weights on
        x, y (:func:`reports.train.measure`); C includes the weight decay's (λ/2)·Σw², as
        every cost train reports."""
        net = self.model.as_network()
        with np.errstate(over="ignore", invalid="ignore"):
            zs, acts = engine_forward(net, x, self.model.dtype, check=False)
            c0 = cost0(net, zs[-1], acts[-1], y, check=False)
            a = acts[-1]
            cost = mean_cost(c0) + self.model.penalty()
            if not np.isfinite(a).all():
                return cost, None
            return cost, measure(net, a.astype(np.float64), y, labels, self.classes,
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
        optimizer, rng = self.optimizer, self.rng
        m, size = len(self.inputs), o.batch_size
        order: NDArray[np.intp] | None = None  # the epoch's rows, shuffled
        x_all, y_all = self._inputs1, self.targets
        if o.shuffle:  # each batch's rows gathered into these, where they stay in the cache
            x_rows = np.empty((size, x_all.shape[1]), x_all.dtype)
            y_rows = np.empty((size, y_all.shape[1]), y_all.dtype)
        best_cost = math.inf
        waited = 0
        for epoch in range(1, o.epochs + 1):
            started = time.perf_counter()
            if model.finite():  # never snapshot inf/NaN: keep the last finite snapshot
                self._saved = model.snapshot()
            saved = self._saved
            assert saved is not None  # the initial weights were checked finite
            optimizer.lr = lr = learning_rate(o, self.start_epoch + epoch)
            scale = optimizer.grad_scale
            if o.shuffle:
                order = rng.permutation(m)
            total = 0.0
            batches = 0
            # Overflow is detected below as a non-finite cost, not reported by numpy.
            with np.errstate(over="ignore", invalid="ignore"):
                for start in range(0, m, size):
                    if order is None:
                        x, y = x_all[start:start + size], y_all[start:start + size]
                    else:
                        rows = order[start:start + size]
                        x = np.take(x_all, rows, axis=0, out=x_rows[:len(rows)], mode="clip")
                        y = np.take(y_all, rows, axis=0, out=y_rows[:len(rows)], mode="clip")
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
                lr=lr,
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
                        self._best_state = self._state_now()
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
    """max|v| over the values of ``arrays`` (0 if there are none; NaN or inf if a value is
    not finite: numpy's max and min return NaN when one is NaN). Two reductions, which
    allocate nothing (np.abs would copy the data set)."""
    found = [max(float(v.max()), -float(v.min())) for v in arrays if v.size]
    return math.nan if any(map(math.isnan, found)) else max(found, default=0.0)


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
