"""Diagnostics of a network on a set of examples: what would make it learn badly. Pure.

Per layer l, from one forward and backward pass over inputs (m, n_0) and targets (m, n_L):

- ``grad_norm`` ‖∂C/∂W(l)‖ (Frobenius norm of the full cost's gradient) and ``grad_ratio``,
  its ratio to the output layer's: far below 1 the gradient vanishes on its way back, far
  above 1 it explodes;
- ``saturated``: the share of (example, neuron) pairs with σ'(z) < 1% of max σ' (for softmax
  the diagonal ∂a_j/∂z_j); nudges to such a neuron's weights hardly move the cost — except in
  an output layer whose cost cancels σ' (cross-entropy after sigmoid or softmax: δ = a − y), so
  there it is shown and explained by an "ok" finding (``saturated_output``), not warned of;
- ``dead``: ReLU neurons with z ≤ 0 on every example (their gradient is 0 everywhere);
- ``zero_inputs``: a(l−1) is 0 on every example, so ∂C/∂W(l) = δ · a(l−1) is 0 (this is
  reported in place of a vanishing gradient);
- statistics of the weights and of the activations a(l).

Every :class:`Finding` carries a one-line explanation and a suggestion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.engine import Accumulator
from backprop_cli.errors import plural
from backprop_cli.network import Array, Network
from backprop_cli.reports import SCHEMA_VERSION

SATURATION = 0.01  # σ'(z) below this share of max σ' counts as saturated
VANISHING = 1e-2  # grad_ratio below this: vanishing
EXPLODING = 1e2  # grad_ratio above this: exploding
SATURATED_SHARE = 0.25  # a layer with at least this share saturated is reported
LARGE_WEIGHTS = 10.0  # weight std above this many times the Xavier std is reported


def _norm(values: Array) -> float:
    """The Frobenius norm, scaled so that it overflows only when the result does."""
    scale = float(np.max(np.abs(values), initial=0.0)) or 1.0
    return scale * float(np.linalg.norm(values / scale))


@dataclass(frozen=True)
class Stats:
    mean: float
    std: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Array) -> Stats:
        # Scaled by the largest |value|, so weights near 1e300 do not overflow the squares.
        scale = float(np.max(np.abs(values))) or 1.0
        unit = values / scale
        return cls(scale * float(np.mean(unit)), scale * float(np.std(unit)),
                   float(np.min(values)), float(np.max(values)))

    @property
    def absmax(self) -> float:
        return max(abs(self.min), abs(self.max))

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std, "min": self.min, "max": self.max}


@dataclass(frozen=True)
class LayerDiagnosis:
    """Layer l. ``dead`` lists the neurons j that are dead ReLUs (None: not a ReLU layer)."""

    layer: int
    activation: str
    size: int
    grad_norm: float
    grad_ratio: float | None
    saturated: float
    dead: tuple[int, ...] | None
    weights: Stats
    biases: Stats
    activations: Stats
    zero_inputs: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "activation": self.activation,
            "size": self.size,
            "grad_norm": self.grad_norm,
            "grad_ratio": self.grad_ratio,
            "saturated": self.saturated,
            "dead": None if self.dead is None else list(self.dead),
            "weights": self.weights.as_dict(),
            "biases": self.biases.as_dict(),
            "activations": self.activations.as_dict(),
            "zero_inputs": self.zero_inputs,
        }


@dataclass(frozen=True)
class Finding:
    """``severity`` "warning" or "ok"; ``code`` a stable key; ``layer`` None for the network."""

    severity: str
    code: str
    layer: int | None
    message: str
    suggestion: str

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "layer": self.layer,
                "message": self.message, "suggestion": self.suggestion}


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """``data``: where the rows came from with ``diagnose --data`` (file, rows, …), else None."""

    network: Network
    example_count: int
    cost: float
    layers: tuple[LayerDiagnosis, ...]
    findings: tuple[Finding, ...]
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "network": self.network.name,
            "sizes": self.network.sizes,
            "examples": self.example_count,
            "cost": self.cost,
            "thresholds": {"saturation": SATURATION, "vanishing": VANISHING,
                           "exploding": EXPLODING, "saturated_share": SATURATED_SHARE,
                           "large_weights": LARGE_WEIGHTS},
            "layers": [d.as_dict() for d in self.layers],
            "findings": [f.as_dict() for f in self.findings],
            **({"data": self.data} if self.data is not None else {}),
        }


@dataclass(frozen=True, eq=False)
class LayerMeasures:
    """What the diagnosis needs of layer l over m examples: ``grad_w`` (n_l, n_(l−1)) the full
    cost's gradient; ``saturated`` the share of saturated (example, neuron) pairs; ``alive``
    (n_l,) z > 0 on some example; ``activations`` the statistics of a(l); ``zero_inputs``
    a(l−1) is 0 on every example."""

    grad_w: Array
    saturated: float
    alive: NDArray[np.bool_]
    activations: Stats
    zero_inputs: bool


def diagnose(net: Network, inputs: Array, targets: Array) -> Diagnosis:
    """Diagnose ``net`` on inputs (m, n_0) and targets (m, n_L): the streamed diagnosis of
    ``diagnose --data`` over one chunk."""
    acc = Accumulator(net, SATURATION)
    acc.add(np.asarray(inputs, dtype=np.float64), np.asarray(targets, dtype=np.float64))
    return diagnosis_from(acc)


def diagnosis_from(acc: Accumulator, data: dict[str, Any] | None = None) -> Diagnosis:
    """The diagnosis over every row ``acc`` added (an :class:`~backprop_cli.engine.Accumulator`
    made with :data:`SATURATION`); ``data``: where the rows came from."""
    n = acc.rows
    measures = []
    for s, layer in zip(acc.sums(), acc.net.layers, strict=True):
        assert s.alive is not None
        m = s.activations
        measures.append(LayerMeasures(
            grad_w=s.grad_w / n,
            saturated=s.saturated / (n * layer.size),
            alive=s.alive,
            activations=Stats(m.mean, m.std, m.min, m.max),
            zero_inputs=not s.inputs_nonzero,
        ))
    return diagnosis_of(acc.net, n, acc.cost, measures, data)


def diagnosis_of(net: Network, m: int, cost: float, measures: Sequence[LayerMeasures],
                 data: dict[str, Any] | None = None) -> Diagnosis:
    """The diagnosis from each layer's measures over m examples with full cost ``cost``."""
    output_norm = _norm(measures[-1].grad_w)
    layers: list[LayerDiagnosis] = []
    for index, (layer, lm) in enumerate(zip(net.layers, measures, strict=True)):
        norm = _norm(lm.grad_w)
        dead = None
        if layer.sigma.dies:
            dead = tuple(int(j) for j in np.flatnonzero(~lm.alive))
        layers.append(LayerDiagnosis(
            layer=index + 1,
            activation=layer.activation,
            size=layer.size,
            grad_norm=norm,
            grad_ratio=norm / output_norm if output_norm > 0 else None,
            saturated=lm.saturated,
            dead=dead,
            weights=Stats.of(layer.weights),
            biases=Stats.of(layer.biases),
            activations=lm.activations,
            zero_inputs=lm.zero_inputs,
        ))
    findings = _findings(net, layers, m, "example" if data is None else "row")
    return Diagnosis(net, m, cost, tuple(layers), tuple(findings), data)


def _findings(net: Network, layers: list[LayerDiagnosis], m: int, unit: str) -> list[Finding]:
    """``unit``: what the m are ("example" or "row")."""
    found: list[Finding] = []
    notes: list[Finding] = []  # "ok" findings that explain a figure of the table
    L = net.depth
    # δ(L) of a fused cost is a − y (or a·Σy − y): no σ' in it, so a saturated output layer
    # still learns (a confident right answer is saturated and should be).
    fused = net.cost_fn.fused.get(net.layers[-1].activation)
    rows = plural(m, unit)
    if layers[-1].grad_norm == 0:
        found.append(Finding(
            "warning", "zero_gradient", L,
            f"‖∂C/∂W({L})‖ is 0: the cost does not change with any output weight, so gradient "
            "descent cannot move.",
            "check the targets (already met exactly?) and whether the output layer is "
            "saturated or dead.",
        ))
    for d in layers:
        l = d.layer  # noqa: E741
        if d.zero_inputs:
            found.append(Finding(
                "warning", "zero_inputs", l,
                f"every input to layer {l}, a({l - 1}), is 0 on the {rows}: "
                f"∂C/∂w({l})jk = δ({l})j · a({l - 1})k is 0, so its weights cannot learn "
                "from them.",
                "diagnose on real examples (a template's all-zero input says little)."
                if l == 1 else
                f"layer {l - 1} outputs 0 on every {unit}: see its findings (dead ReLUs, or "
                "weights and biases that are all 0).",
            ))
        elif d.grad_ratio is not None and l < L:
            if d.grad_ratio < VANISHING:
                found.append(Finding(
                    "warning", "vanishing_gradient", l,
                    f"‖∂C/∂W({l})‖ is {d.grad_ratio:.2g} × the output layer's: the gradient "
                    f"shrinks on its way back, so layer {l} learns far slower than layer {L}.",
                    "use relu/leaky_relu (or tanh) in hidden layers, xavier/he init, or fewer "
                    "layers.",
                ))
            elif d.grad_ratio > EXPLODING:
                found.append(Finding(
                    "warning", "exploding_gradient", l,
                    f"‖∂C/∂W({l})‖ is {d.grad_ratio:.3g} × the output layer's: the gradient "
                    f"grows on its way back, so steps that suit layer {L} are far too big for "
                    f"layer {l}.",
                    "use smaller initial weights (init: {method: xavier}) or a smaller "
                    "learning rate.",
                ))
        sigma = net.layers[l - 1].sigma
        # σ' of relu, leaky_relu, linear only vanishes where they are off (dead units, below)
        if (sigma.saturates and d.saturated >= SATURATED_SHARE
                and l == L and fused is not None):
            notes.append(Finding(
                "ok", "saturated_output", l,
                f"{d.saturated:.0%} of layer {l}'s outputs are saturated on the {rows}, which "
                f"is no finding: with {net.cost} after {d.activation}, δ(L)j = "
                f"{fused.text} has no σ' in it, so a saturated output that is wrong "
                "is not stuck: its δ is as large as its error.",
                "nothing to change.",
            ))
        elif sigma.saturates and d.saturated >= SATURATED_SHARE:
            found.append(Finding(
                "warning", "saturated", l,
                f"{d.saturated:.0%} of layer {l}'s neurons are saturated on the {rows} "
                f"(σ'(z) < {SATURATION:.0%} of its maximum): nudging their weights hardly "
                "changes the cost.",
                "scale the inputs to about [-1, 1], shrink large weights, or use xavier init.",
            ))
        if d.dead:
            found.append(Finding(
                "warning", "dead_relu", l,
                f"{len(d.dead)} of {d.size} ReLU neurons in layer {l} are dead (z ≤ 0 on all "
                f"{rows}; neurons {', '.join(map(str, d.dead[:10]))}"
                f"{', …' if len(d.dead) > 10 else ''}): their weights get no gradient.",
                "use leaky_relu, he init, small positive biases (e.g. 0.01), or a smaller "
                "learning rate.",
            ))
        n, n_prev = net.layers[l - 1].weights.shape
        # ReLUs keep half their inputs' variance, so their init (He's) is √2× wider per input.
        he = sigma.init == "he"
        init_std = math.sqrt(2.0 / n_prev) if he else math.sqrt(2.0 / (n + n_prev))
        harm = "blows up a and the gradients layer by layer" if he else "saturates sigmoid/tanh"
        if d.weights.std > LARGE_WEIGHTS * init_std:
            found.append(Finding(
                "warning", "large_weights", l,
                f"the weights of layer {l} spread {d.weights.std / init_std:.3g} × wider "
                f"than {'He' if he else 'Xavier'} init for {n_prev} → {n} (std "
                f"{d.weights.std:.3g}): z gets large, which {harm} and makes steps erratic.",
                f"re-initialise with init: {{method: {'he' if he else 'xavier'}}} or lower the "
                "learning rate.",
            ))
        if n > 1 and d.weights.max == d.weights.min:
            found.append(Finding(
                "warning", "symmetric_weights", l,
                f"every weight of layer {l} is {d.weights.max:g}: its {plural(n, 'neuron')} "
                "compute the same thing and get the same gradient, so they stay identical.",
                "initialise the weights randomly (init: {method: xavier, seed: 0}).",
            ))
    if not found:
        found.append(Finding(
            "ok", "healthy", None,
            f"no vanishing or exploding gradient, saturation or dead neurons on the {rows}"
            + (" (the saturated output below is no finding)." if notes else "."),
            "nothing to change; diagnose again on more data to be surer.",
        ))
    return found + notes
