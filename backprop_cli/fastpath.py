"""The training hot path: :class:`Model` (a network's parameters packed in one dtype, its
gradient buffers preallocated), put together from the in-place kernels that :mod:`activations`
and :mod:`costs` register with each entry. Pure numpy.

The same math as the engine (tests/test_hot_path.py checks every activation × cost against
:func:`engine.backprop`), written into preallocated buffers with ``out=`` so that a training
step allocates no arrays and never leaves the buffers' dtype.

Shapes: m examples, n neurons; every buffer is (m, n) except ``col`` (m, 1) and ``mask`` (m, n)
of bool.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from backprop_cli.activations import Activation, Backward, Forward, Scratch
from backprop_cli.costs import Cost
from backprop_cli.engine import forward as engine_forward
from backprop_cli.network import Array, Network

# d ← δ(L) = ∂C0/∂z(L) per example; returns Σ C0 over the batch
OutputDelta = Callable[[Array, Array, Array, Array, Scratch], float]


def kernels(sigma: Activation) -> tuple[Forward, Backward]:
    """σ's in-place kernels; for an activation registered without them, ones that call its
    ``fn`` and ``backward`` (allocating)."""
    def forward(z: Array, a: Array, s: Scratch) -> None:
        np.copyto(a, sigma.fn(z))

    def backward(z: Array, a: Array, d: Array, s: Scratch) -> None:
        np.copyto(d, sigma.backward(z, a, d))

    return sigma.forward_into or forward, sigma.backward_into or backward


def output_delta(cost: Cost, sigma: Activation) -> OutputDelta:
    """δ(L) and Σ C0 for ``cost`` after an output layer of ``sigma``: in place where the
    registries have the in-place forms (:attr:`costs.Fused.into`, :attr:`costs.Cost.into` then
    σ's backward kernel); otherwise (cross-entropy after softmax, whose stable δ needs an
    (m, n, n) array) through the allocating ``cost``/``delta`` or ``fn``/``dC_da``."""
    fused = cost.fused.get(sigma.name)
    if fused is not None and fused.into is not None:
        return fused.into
    dC_da_into = cost.into
    if fused is None and dC_da_into is not None:
        backward = kernels(sigma)[1]

        def composed(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
            total = dC_da_into(a, y, d, s)
            backward(z, a, d, s)
            return total

        return composed

    def general(z: Array, a: Array, y: Array, d: Array, s: Scratch) -> float:
        if fused is not None:
            d[...] = fused.delta(z, a, y)
            return float(np.sum(fused.cost(z, y)))
        d[...] = sigma.backward(z, a, cost.dC_da(a, y))
        return float(np.sum(cost.fn(a, y)))

    return general


# Per batch size m, all in row order: z(l) (m, n_l); a(l) (m, n_l); δ(l) (m, n_l); the scratch
# buffers of every layer; [x 1] (m, n_0 + 1) for unaugmented x; a row of m ones (1, m).
_Buffers = tuple[list[Array], list[Array], list[Array], list[Scratch], Array]


def with_ones(x: Array) -> Array | None:
    """[x 1] (m, n + 1) when ``x`` (m, n) is a view of it whose last column is all ones, as
    :func:`~backprop_cli.io.csv_fast.read_plain` reads a file: the rows :meth:`Model.gradients`
    takes ``with_ones``, without a copy; None for any other ``x``."""
    base = x.base
    if (not isinstance(base, np.ndarray) or x.ndim != 2 or base.ndim != 2
            or base.dtype != x.dtype or not base.flags.c_contiguous
            or base.shape[1] != x.shape[1] + 1 or base.shape[0] < x.shape[0]
            or x.strides != base.strides or x.ctypes.data != base.ctypes.data):
        return None
    full = base[:x.shape[0]]
    return full if bool((full[:, -1] == 1).all()) else None


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

    def __init__(self, net: Network, dtype: type[np.floating] = np.float64, *,
                 weight_decay: float = 0.0) -> None:
        self.net = net
        self.dtype = dtype
        self.weight_decay = weight_decay  # λ: :meth:`gradients` adds (λ/2)·Σw² to C
        self.packed = [np.vstack([np.asarray(layer.weights, dtype=dtype).T,
                             np.asarray(layer.biases, dtype=dtype)[None, :]])
                  for layer in net.layers]
        self.packed_grads = [np.zeros_like(p) for p in self.packed]
        self.w = [p[:-1].T for p in self.packed]
        self.b = [p[-1] for p in self.packed]
        self._decay_tmp = [np.empty_like(p[:-1]) for p in self.packed] if weight_decay else []
        self._forward = [kernels(layer.sigma)[0] for layer in net.layers]
        self._backward = [kernels(layer.sigma)[1] for layer in net.layers]
        self._output_delta = output_delta(net.cost_fn, net.layers[-1].sigma)
        self._buffers: dict[int, _Buffers] = {}
        self._ones: dict[int, Array] = {}

    def as_network(self) -> Network:
        """The current parameters as a :class:`Network` in the model's dtype, for the engine:
        ``w``/``b`` are views of :meth:`params`, nothing is copied. Not validated (mid-training
        they may have overflowed, which the engine must measure as an inf cost, not refuse)."""
        net = copy.copy(self.net)  # no __post_init__: no validation
        layers = tuple(replace(layer, weights=w, biases=b)
                       for layer, w, b in zip(self.net.layers, self.w, self.b, strict=True))
        object.__setattr__(net, "layers", layers)
        return net

    def forward(self, x: Array) -> tuple[list[Array], list[Array]]:
        """x (m, n_0) → (zs, activations) with ``activations[0] = x``: the engine's forward
        pass on :meth:`as_network`, overflow returned, not refused."""
        return engine_forward(self.as_network(), x, self.dtype, check=False)

    def gradients(self, x: Array, y: Array, scale: float = 1.0, *,
                  with_ones: bool = False) -> float:
        """Fill :meth:`grads` with scale·∂C/∂w, scale·∂C/∂b of C = mean of C0 over the batch
        x (m, n_0), y (m, n_L) (both in the model's dtype); return C. ``with_ones``: x is
        [x 1] (m, n_0 + 1), its last column all ones (as :class:`Trainer` keeps its rows),
        which saves copying x into a buffer that has the column. With ``weight_decay`` λ > 0,
        C is mean C0 + (λ/2)·Σw² over every weight (not the biases), and scale·λ·w is added
        to each weight's gradient.

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
        if self.weight_decay:  # one test of a float when λ = 0
            return total / m + self._decay(scale)
        return total / m

    def _decay(self, scale: float) -> float:
        """g_w ← g_w + scale·λ·w for every layer's weights (the bias row left alone); returns
        (λ/2)·Σw² at the weights before the step."""
        c = scale * self.weight_decay
        for p, g, tmp in zip(self.packed, self.packed_grads, self._decay_tmp, strict=True):
            np.multiply(p[:-1], c, out=tmp)
            g[:-1] += tmp
        return self.penalty()

    def penalty(self) -> float:
        """(λ/2)·Σw² over every weight w(l)jk (not the biases); 0 when λ = 0."""
        if not self.weight_decay:
            return 0.0
        return 0.5 * self.weight_decay * sum(float(np.vdot(p[:-1], p[:-1]))
                                             for p in self.packed)

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
