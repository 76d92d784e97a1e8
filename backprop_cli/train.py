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
from backprop_cli.engine import OVERFLOW_ADVICE, mean_cost
from backprop_cli.engine import costs as engine_costs
from backprop_cli.engine import forward as engine_forward
from backprop_cli.errors import BackpropError, Diverged, Interrupted, NumericalError, UsageError
from backprop_cli.fastpath import KERNELS, Scratch, output_delta
from backprop_cli.io.blas import runtime
from backprop_cli.io.config import dump_network
from backprop_cli.io.datasets import Label, TrainingData, named_row, preprocessing_of
from backprop_cli.network import Array, Examples, Network

DTYPES: dict[str, type[np.floating]] = {name: getattr(np, name) for name in DTYPE_NAMES}
STATUSES = ("completed", "early_stopped", "interrupted", "diverged")


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


@dataclass(frozen=True)
class EpochRecord:
    """One epoch. ``train_cost``: the mean of C0 over the rows it trained on (each at the
    weights of its batch); ``val_cost``/``val_accuracy`` at the weights after the epoch
    (None without validation rows, or accuracy without class labels). ``batches`` run of
    ``batch_count``; fewer when the epoch was interrupted or diverged."""

    epoch: int
    epochs: int
    batches: int
    batch_count: int
    train_cost: float
    val_cost: float | None
    val_accuracy: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Without ``seconds``: times vary from run to run, so they go to stderr only and the
        --log records of the same command are byte-identical."""
        out = asdict(self)
        del out["seconds"]
        return out


# --- the lean model -----------------------------------------------------------------------

# Per batch size m, all in row order: z(l) (m, n_l); a(l) (m, n_l); δ(l) (m, n_l); the scratch
# buffers of every layer; [x 1] (m, n_0 + 1) for unaugmented x; a row of m ones (1, m).
_Buffers = tuple[list[Array], list[Array], list[Array], list[Scratch], Array]


class Model:
    """A network's parameters in one dtype, with the gradient buffers preallocated.

    ``w[l-1]`` (n_l, n_(l−1)) and ``b[l-1]`` (n_l,) are layer l's parameters; :meth:`grads`
    holds the gradient of the last batch's cost. Unlike :func:`engine.backprop` this keeps
    none of the per-example factors.

    Layout (for the matrix products, not the math): layer l's weights and bias live in one
    contiguous ``p[l-1]`` = [w(l)ᵀ; b(l)ᵀ] of shape (n_(l−1) + 1, n_l), and ``w``/``b`` are
    views of it; ``g[l-1]`` likewise holds their gradients. The first layer sees its inputs as
    [x 1] (a column of ones), so [x 1] @ p = x w(1)ᵀ + b(1) = z(1) and [x 1]ᵀ δ(1) = [∂C/∂w(1)ᵀ;
    ∂C/∂b(1)ᵀ] are one matrix product each, without transposing copies. Later layers take
    a(l−1) @ p[:-1] plus the bias rows, and ∂C/∂b(l) = 1ᵀ δ(l): their activations stay plain
    row-order (m, n) arrays, the layout in which OpenBLAS writes z(1) fastest.
    """

    def __init__(self, net: Network, dtype: type[np.floating] = np.float64) -> None:
        self.net = net
        self.dtype = dtype
        self.packed = [np.vstack([np.asarray(layer.weights, dtype=dtype).T,
                             np.asarray(layer.biases, dtype=dtype)[None, :]])
                  for layer in net.layers]
        self.packed_grads = [np.zeros_like(p) for p in self.packed]
        self.w = [p[:-1].T for p in self.packed]
        self.b = [p[-1] for p in self.packed]
        self.sigmas = [layer.sigma for layer in net.layers]
        self._forward = [KERNELS[layer.activation][0] for layer in net.layers]
        self._backward = [KERNELS[layer.activation][1] for layer in net.layers]
        self._output_delta = output_delta(net.cost, net.layers[-1].activation)
        self._buffers: dict[int, _Buffers] = {}
        self._ones: dict[int, Array] = {}

    def forward(self, x: Array) -> tuple[list[Array], list[Array]]:
        """x (m, n_0) → (zs, activations) with ``activations[0] = x``."""
        acts = [x]
        zs = []
        a = x
        for p, sigma in zip(self.packed, self.sigmas, strict=True):
            z = a @ p[:-1]
            z += p[-1]
            a = sigma.fn(z)
            zs.append(z)
            acts.append(a)
        return zs, acts

    def costs(self, x: Array, y: Array) -> tuple[Array, Array]:
        """(C0 per example (m,), a(L) (m, n_L))."""
        zs, acts = self.forward(x)
        return _cost0(self.net, zs[-1], acts[-1], y), acts[-1]

    def gradients(self, x: Array, y: Array, scale: float = 1.0, *,
                  with_ones: bool = False) -> float:
        """Fill :meth:`grads` with scale·∂C/∂w, scale·∂C/∂b of C = mean of C0 over the batch
        x (m, n_0), y (m, n_L) (both in the model's dtype); return C. ``with_ones``: x is
        [x 1] (m, n_0 + 1), its last column all ones (as :class:`Trainer` keeps its rows),
        which saves copying x into a buffer that has the column.

        The hot path: every intermediate lives in buffers kept per batch size, so that a
        steady-state step allocates no arrays. δ(L) is multiplied by scale/m once; backprop is
        linear in δ, so every layer's gradient comes out already averaged and scaled.
        """
        m = x.shape[0]
        buffers = self._buffers.get(m)
        if buffers is None:
            buffers = self._allocate(m)
        zs, acts, deltas, scratch, x1 = buffers
        ones = self._ones[m]
        if not with_ones:
            np.copyto(x1[:, :-1], x)
            x = x1
        p, g = self.packed, self.packed_grads
        np.matmul(x, p[0], out=zs[0])
        self._forward[0](zs[0], acts[0], scratch[0])
        for i in range(1, len(p)):
            # scratch.t holds the bias rows only until the kernels, which overwrite it
            # before reading it (z += b would broadcast through numpy's ufunc buffers).
            bias_rows = scratch[i].t
            np.copyto(bias_rows, p[i][-1])
            np.matmul(acts[i - 1], p[i][:-1], out=zs[i])
            zs[i] += bias_rows
            self._forward[i](zs[i], acts[i], scratch[i])
        d = deltas[-1]
        total = self._output_delta(zs[-1], acts[-1], y, d, scratch[-1])
        d *= scale / m
        for i in range(len(p) - 1, 0, -1):
            np.matmul(acts[i - 1].T, d, out=g[i][:-1])
            np.matmul(ones, d, out=g[i][-1:])
            np.matmul(d, p[i][:-1].T, out=deltas[i - 1])
            d = deltas[i - 1]
            self._backward[i - 1](zs[i - 1], acts[i - 1], d, scratch[i - 1])
        np.matmul(x.T, d, out=g[0])
        return total / m

    def _allocate(self, m: int) -> _Buffers:
        if len(self._buffers) >= 4:  # a trainer uses two sizes: the batch and the last one
            self._buffers.clear()
            self._ones.clear()
        # One order for every (m, n) buffer of a layer: element-wise loops on mixed or
        # strided layouts go through numpy's ufunc buffers (allocating, and 2–5× slower).
        sizes = [p.shape[1] for p in self.packed]
        buffers = (
            [np.empty((m, n), self.dtype) for n in sizes],
            [np.empty((m, n), self.dtype) for n in sizes],
            [np.empty((m, n), self.dtype) for n in sizes],
            [Scratch.empty(m, n, self.dtype) for n in sizes],
            np.ones((m, self.packed[0].shape[0]), self.dtype),
        )
        self._buffers[m] = buffers
        self._ones[m] = np.ones((1, m), self.dtype)
        return buffers

    def params(self) -> list[Array]:
        """[w(l)ᵀ; b(l)ᵀ] per layer: every parameter once, in contiguous arrays."""
        return self.packed

    def grads(self) -> list[Array]:
        """The gradients in the layout of :meth:`params`."""
        return self.packed_grads

    def snapshot(self) -> list[Array]:
        return [p.copy() for p in self.params()]

    def restore(self, saved: list[Array]) -> None:
        for p, s in zip(self.params(), saved, strict=True):
            p[...] = s

    def finite(self) -> bool:
        return all(np.isfinite(p).all() for p in self.params())

    def network(self) -> Network:
        """The parameters as a float64 :class:`Network` (copies)."""
        return self.net.with_parameters(
            [w.astype(np.float64) for w in self.w], [b.astype(np.float64) for b in self.b]
        )


def _cost0(net: Network, z: Array, a: Array, y: Array) -> Array:
    """C0 per example (m,) from z(L), a(L) and y (m, n_L): the fused form where there is one."""
    fused = net.cost_fn.fused.get(net.layers[-1].activation)
    return fused.cost(z, y) if fused is not None else net.cost_fn.fn(a, y)


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

def predicted_classes(outputs: Array) -> NDArray[np.intp]:
    """outputs (m, n_L) → (m,): the class of each row's largest output."""
    return np.argmax(outputs, axis=1)


def accuracy(outputs: Array, labels: NDArray[np.intp]) -> float:
    """The fraction of rows whose largest output is the labelled class."""
    return float(np.mean(predicted_classes(outputs) == labels))


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

    @classmethod
    def for_data(cls, net: Network, data: TrainingData, options: TrainOptions) -> Trainer:
        """A trainer on ``data``'s training rows that validates on its held-out rows. Starting
        weights whose forward pass or cost overflows on a row are refused as ``analyze``
        refuses them (NumericalError naming the row's file and line): no --lr would help."""
        train, held = data.train, data.val
        assert train.targets is not None
        trainer = cls(net, train.inputs, train.targets, options, labels=train.labels,
                      val=None if held is None or held.targets is None
                      else (held.inputs, held.targets, held.labels))
        found = trainer._forward_overflow()
        if found is not None:
            exc, in_held = found
            raise named_row(NumericalError(f"the network's starting weights: {exc.message}",
                                           example=exc.example, advice=OVERFLOW_ADVICE),
                            held if in_held and held is not None else train)
        return trainer

    @property
    def batch_count(self) -> int:
        return -(-len(self.inputs) // self.options.batch_size)

    def measure(self, x: Array, y: Array, labels: NDArray[np.intp] | None
                ) -> tuple[float, float | None]:
        """(cost C, accuracy or None) of the current weights on x, y."""
        with np.errstate(over="ignore", invalid="ignore"):
            c0, a = self.model.costs(x, y)
        return mean_cost(c0), None if labels is None else accuracy(a, labels)

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
                val_cost, val_accuracy = self.measure(*self.val)
                record = _with_val(record, val_cost, val_accuracy)
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
        train_cost, train_accuracy = self.measure(self.inputs, self.targets, self.labels)
        val_cost = val_accuracy = None
        if self.val is not None:
            val_cost, val_accuracy = self.measure(*self.val)
        return TrainSummary(
            status=self.status,
            epochs_run=self.epochs_run,
            epochs=self.options.epochs,
            best_epoch=self.best_epoch,
            stopped_at=self.stopped_at,
            train_rows=len(self.inputs),
            val_rows=0 if self.val is None else len(self.val[0]),
            train_cost=_finite(train_cost),
            train_accuracy=train_accuracy,
            val_cost=_finite(val_cost),
            val_accuracy=val_accuracy,
            seconds=seconds,
        )


_CHUNK = 4096  # rows per forward pass of Trainer._forward_overflow


def _largest(arrays: list[Array]) -> float:
    """max|v| over the values of ``arrays`` (0 if there are none)."""
    return max((max(float(v.max()), -float(v.min())) for v in arrays if v.size), default=0.0)


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


@dataclass(frozen=True)
class TrainSummary:
    """How training ended (``status``, one of :data:`STATUSES`) and the cost C and accuracy of
    the weights kept; None where not finite or not applicable. ``stopped_at`` = (epoch,
    batches run in it) when interrupted or diverged."""

    status: str
    epochs_run: int
    epochs: int
    best_epoch: int | None
    stopped_at: tuple[int, int] | None
    train_rows: int
    val_rows: int
    train_cost: float | None
    train_accuracy: float | None
    val_cost: float | None
    val_accuracy: float | None
    seconds: float

    def __post_init__(self) -> None:
        if self.status not in STATUSES:  # the JSON summary's "status" is one of these
            raise ValueError(f"status {self.status!r}: expected one of {STATUSES}")

    def to_dict(self) -> dict[str, Any]:
        """Without ``seconds`` (shown in the table only), so that the JSON is reproducible."""
        out = asdict(self)
        del out["seconds"]
        out["stopped_at"] = None if self.stopped_at is None else {
            "epoch": self.stopped_at[0], "batches": self.stopped_at[1]}
        return out


def _timed(record: EpochRecord, started: float) -> EpochRecord:
    return EpochRecord(**{**asdict(record), "seconds": time.perf_counter() - started})


def _with_val(record: EpochRecord, cost: float, acc: float | None) -> EpochRecord:
    return EpochRecord(**{**asdict(record), "val_cost": cost, "val_accuracy": acc})


# --- evaluation -----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Evaluation:
    """The cost C (mean of C0) of ``net`` on m rows; for classifiers the accuracy (0–1) and
    ``confusion`` (K, K) with ``[i, j]`` = rows of class i predicted as class j, ``correct``
    the rows predicted right and ``recall`` (K,) per class the share of its rows predicted
    right (None for a class without rows)."""

    rows: int
    cost: float
    accuracy: float | None
    confusion: NDArray[np.int64] | None
    correct: int | None = None
    recall: tuple[float | None, ...] | None = None


def first_overflow(c0: Array, a: Array) -> int | None:
    """The first row whose cost C0 (m,) or output a(L) (m, n_L) is not finite; None if none."""
    if np.isfinite(c0).all() and np.isfinite(a).all():
        return None
    return int(np.flatnonzero(~np.isfinite(c0) | ~np.isfinite(a).all(axis=1))[0])


def evaluate(net: Network, inputs: Array, targets: Array,
             labels: NDArray[np.intp] | None = None) -> Evaluation:
    """Evaluate in float64: inputs (m, n_0), targets (m, n_L), labels (m,) class indices. A
    forward pass that overflows is refused as ``analyze`` refuses it (:class:`NumericalError`
    naming the layer, the neuron and the row), even where the cost would stay finite."""
    zs, acts = engine_forward(net, inputs)
    a = acts[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        c0 = _cost0(net, zs[-1], a, np.asarray(targets, dtype=np.float64))
    e = first_overflow(c0, a)
    if e is not None:
        raise NumericalError("the cost C0 overflows float64", example=e,
                             advice=OVERFLOW_ADVICE)
    if labels is None:
        return Evaluation(len(c0), mean_cost(c0), None, None)
    k = net.output_size
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (labels, predicted_classes(a)), 1)
    correct = int(np.trace(confusion))
    recall = tuple(None if total == 0 else right / total
                   for right, total in zip(np.diagonal(confusion).tolist(),
                                           confusion.sum(axis=1).tolist(), strict=True))
    return Evaluation(len(c0), mean_cost(c0), correct / len(c0), confusion, correct,
                      recall)


# --- what train, evaluate and predict show --------------------------------------------------

SCHEMA_VERSION = 1  # of their JSON documents: a contract, keys are kept and new ones only added


@dataclass(frozen=True)
class TrainReport:
    """``train``'s report: how training ended, the cost function and where the weights went."""

    summary: TrainSummary
    cost_function: str
    out: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"version": SCHEMA_VERSION, **self.summary.to_dict(),
                "cost_function": self.cost_function, "out": self.out}


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """``evaluate``'s report: ``evaluation`` of the network file ``network`` on the CSV file
    ``data``; ``classes`` the labels in the confusion matrix's order (None: numeric targets)."""

    evaluation: Evaluation
    classes: tuple[Label, ...] | None
    network: str
    data: str
    cost_function: str

    def to_dict(self) -> dict[str, Any]:
        """``accuracy`` is a fraction 0–1; ``confusion[i][j]`` counts rows of class i predicted
        as class j (classes in ``classes`` order); both None for numeric targets."""
        ev = self.evaluation
        return {
            "version": SCHEMA_VERSION,
            "network": self.network,
            "data": self.data,
            "rows": ev.rows,
            "cost_function": self.cost_function,
            "cost": ev.cost,
            "accuracy": ev.accuracy,
            "classes": None if self.classes is None else list(self.classes),
            "confusion": None if ev.confusion is None else ev.confusion.tolist(),
        }


@dataclass(frozen=True, eq=False)
class Predictions:
    """``predict``'s report: ``outputs`` (m, n_L) a(L) per row, in the data's row order; with
    ``classes``, also each row's predicted label (the class of its largest output)."""

    outputs: Array
    classes: tuple[Label, ...] | None

    @property
    def labels(self) -> list[Label] | None:
        if self.classes is None:
            return None
        return [self.classes[j] for j in predicted_classes(self.outputs).tolist()]

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "classes": None if self.classes is None else list(self.classes),
            "outputs": self.outputs.tolist(),
        }
        labels = self.labels
        if labels is not None:
            doc["labels"] = labels
        return doc


def training_block(options: TrainOptions, summary: TrainSummary,
                   info: dict[str, Any]) -> dict[str, Any]:
    """The ``training:`` block of the trained network file: where the data came from, the
    options (with the seed), how it ended, the final costs and the numpy and BLAS a rerun needs
    for the same bytes (:func:`runtime.runtime`). No times, so that the same command on the same
    machine writes the same file."""
    block: dict[str, Any] = {**info, "options": options.to_dict()}
    block["status"] = summary.status
    block["epochs_run"] = summary.epochs_run
    if summary.best_epoch is not None:
        block["best_epoch"] = summary.best_epoch
    for key in ("train_cost", "train_accuracy", "val_cost", "val_accuracy"):
        value = getattr(summary, key)
        if value is not None:
            block[key] = value
    # The weights' last bits depend on these too (the BLAS's threads split its products)
    block["runtime"] = dict(runtime())
    return block


def trained_document(net: Network, trainer: Trainer, summary: TrainSummary,
                     data: TrainingData, examples: int | None, net_file: str | None = None
                     ) -> str:
    """The text of the trained network file: the weights ``trainer`` kept, the ``training:``
    and ``preprocessing:`` blocks, and examples as the trained network sees its inputs: the
    first ``examples`` training rows (None: ``net``'s own examples, else the first 2 rows)."""
    trained = trainer.network().with_examples(
        stored_examples(net, data, examples, net_file))
    return dump_network(trained, {
        "training": training_block(trainer.options, summary, data.info),
        "preprocessing": data.preprocessing.to_dict(),
    })


def stored_examples(net: Network, data: TrainingData, examples: int | None,
                    net_file: str | None = None) -> Examples | None:
    """The examples of the trained network file, in ``data.preprocessing`` (see
    :func:`trained_document`); None for ``examples`` 0."""
    if examples is None and net.examples is not None:
        # The network's own examples hold raw features (or, for a network trained before,
        # features in its stored preprocessing): store them as the trained network sees its
        # inputs, like the rows of --examples. Undoing one and applying the other by position
        # is right because a network trained before is trained again on its stored feature
        # columns, in their order (data.select_columns matches them by name).
        old = preprocessing_of(net, net_file)
        assert old is None or not old.features or old.features == data.preprocessing.features
        if old is not None and old.same_scaling(data.preprocessing):
            return net.examples  # kept as they are: undo then apply would round them
        raw = net.examples.inputs if old is None else old.undo(net.examples.inputs)
        return Examples(data.preprocessing.apply(raw), net.examples.targets)
    first = 2 if examples is None else examples
    assert data.train.targets is not None
    return Examples(data.train.inputs[:first], data.train.targets[:first]) if first else None


def ending_error(trainer: Trainer, summary: TrainSummary, written: str, signum: int,
                 data: TrainingData | None = None) -> BackpropError | None:
    """How training ended, as the error the command exits with once ``written`` holds the
    weights kept: :class:`Interrupted` (by signal ``signum``) or :class:`Diverged`; None when
    it completed or stopped early. ``data``: the rows trained on, to name the file and line of
    a row whose forward pass overflows with the weights an epoch ended with."""
    if summary.status not in ("interrupted", "diverged"):
        return None
    assert summary.stopped_at is not None
    e, b = summary.stopped_at
    if summary.status == "interrupted":
        return Interrupted(f"interrupted in epoch {e} after batch {b} of {trainer.batch_count}; "
                           f"wrote the weights so far to {written}", signum)

    def named(exc: NumericalError, held: bool) -> NumericalError:
        rows = None if data is None else data.val if held else data.train
        return exc if rows is None else named_row(exc, rows)

    why = f"; try a smaller --lr (now {trainer.options.lr:g})"
    if trainer.forward_overflow is None and b == trainer.batch_count:
        # Every batch ran (a batch's cost or step stops before its count): the guard on the
        # validation cost after the epoch, whose weights are kept.
        return Diverged(
            f"training diverged: the validation cost became infinite or NaN after epoch {e}"
            f"{why}. Wrote the weights of epoch {e}, the last finite ones, to {written}")
    if trainer.forward_overflow is None:
        return Diverged(
            f"training diverged: the cost became infinite or NaN in epoch {e} (batch {b + 1})"
            f"{why}. Wrote the last finite weights to {written}")
    head = f"training diverged in epoch {e}: the cost of its batches stayed finite, but "
    kept = "the starting weights" if e == 1 else f"the weights of epoch {e - 1}"
    return Diverged(
        f"{head}the weights it ended with overflow: "
        f"{named(trainer.forward_overflow, trainer.forward_overflow_held)}{why}. Wrote {kept}, "
        f"the last whose forward pass is finite, to {written}")
