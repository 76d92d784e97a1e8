"""The network description: frozen dataclasses and their shape checks. No I/O.

Indices follow the seed: layers 0 (input) … L (output); ``layers[l-1]`` is layer l;
``weights[j][k] = w(l)jk`` connects neuron k of layer l−1 to neuron j of layer l.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.activations import ACTIVATIONS, Activation
from backprop_cli.costs import COSTS, Cost
from backprop_cli.errors import ConfigError, DataError, UsageError, plural

Array = NDArray[np.floating]

# The output activation of a binary classifier with one output neuron.
BINARY_ACTIVATION = "sigmoid"


@dataclass(frozen=True, eq=False)
class Layer:
    """Layer l: ``weights`` (n_l, n_(l−1)), ``biases`` (n_l,)."""

    activation: str
    weights: Array
    biases: Array

    @property
    def size(self) -> int:
        return int(self.weights.shape[0])

    @property
    def sigma(self) -> Activation:
        return ACTIVATIONS[self.activation]


@dataclass(frozen=True, eq=False)
class Examples:
    """Training examples in matrix form: ``inputs`` (m, n_0), ``targets`` (m, n_L)."""

    inputs: Array
    targets: Array

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


@dataclass(frozen=True, eq=False)
class Network:
    """A fully-connected network. ``layers[0]`` is layer 1; ``sizes`` includes layer 0."""

    input_size: int
    layers: tuple[Layer, ...]
    cost: str = "squared_error"
    name: str | None = None
    examples: Examples | None = None
    # the blocks a trained network file carries (train writes both; config checks them)
    training: TrainingInfo | None = None
    preprocessing: Preprocessing | None = None

    def __post_init__(self) -> None:
        validate(self)

    @property
    def sizes(self) -> list[int]:
        return [self.input_size, *(layer.size for layer in self.layers)]

    @property
    def depth(self) -> int:
        """L, the index of the output layer."""
        return len(self.layers)

    @property
    def output_size(self) -> int:
        return self.layers[-1].size

    @property
    def binary_output(self) -> bool:
        """One sigmoid output: a(L) is the probability of the second of two classes."""
        return self.output_size == 1 and self.layers[-1].activation == BINARY_ACTIVATION

    @property
    def class_count(self) -> int:
        """K, the classes a label column must hold: 2 for :attr:`binary_output`, else n_L."""
        return 2 if self.binary_output else self.output_size

    @property
    def cost_fn(self) -> Cost:
        return COSTS[self.cost]

    @property
    def parameter_count(self) -> int:
        return sum(layer.weights.size + layer.biases.size for layer in self.layers)

    def with_parameters(self, weights: list[Array], biases: list[Array]) -> Network:
        layers = tuple(
            replace(layer, weights=w, biases=b)
            for layer, w, b in zip(self.layers, weights, biases, strict=True)
        )
        return replace(self, layers=layers)

    def with_examples(self, examples: Examples | None) -> Network:
        return replace(self, examples=examples)

    def require_examples(self, file: str | None = None) -> Examples:
        """The examples, or a UsageError naming ``file`` (the network file) if there are none."""
        if self.examples is None:
            raise UsageError(
                f"{file + ': ' if file else ''}the network has no 'examples:' to compute the "
                "cost on; add some, e.g.\nexamples:\n  - input: [...]\n    target: [...]")
        return self.examples


def _check_finite(values: Array, path: str) -> None:
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        index = "".join(f"[{int(i)}]" for i in bad[0])
        raise ConfigError(
            f"expected a finite number, got {float(values[tuple(bad[0])])!r}",
            path=f"{path}{index}",
        )


def validate(net: Network) -> None:
    """Raise :class:`ConfigError` (with the field path) if the pieces do not fit together."""
    if net.input_size < 1:
        raise ConfigError(f"expected a whole number ≥ 1, got {net.input_size}", path="input_size")
    if not net.layers:
        raise ConfigError("expected at least one layer (the last one is the output layer)",
                          path="layers")
    if net.cost not in COSTS:
        raise ConfigError(f"unknown cost {net.cost!r}; expected one of: {', '.join(COSTS)}",
                          path="cost")
    previous = net.input_size
    for index, layer in enumerate(net.layers):
        path = f"layers[{index}]"
        l = index + 1  # noqa: E741 - the seed's layer index
        if layer.activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {layer.activation!r}; expected one of: "
                f"{', '.join(ACTIVATIONS)}",
                path=f"{path}.activation",
            )
        if layer.sigma.output_only and index != len(net.layers) - 1:
            raise ConfigError(
                f"{layer.activation} is only allowed on the output layer (layer "
                f"{len(net.layers)}), but this is layer {l}",
                path=f"{path}.activation",
            )
        n = layer.weights.shape[0] if layer.weights.ndim == 2 else -1
        if layer.weights.ndim != 2 or layer.weights.shape[1] != previous:
            raise ConfigError(
                f"expected a {n} × {previous} matrix (layer {l} has {plural(n, 'neuron')}, "
                f"layer {l - 1} has {previous}), got shape {layer.weights.shape}",
                path=f"{path}.weights",
            )
        if layer.biases.shape != (n,):
            raise ConfigError(
                f"expected {plural(n, 'value')} (layer {l} has {plural(n, 'neuron')}), "
                f"got {layer.biases.size}",
                path=f"{path}.biases",
            )
        _check_finite(layer.weights, f"{path}.weights")
        _check_finite(layer.biases, f"{path}.biases")
        previous = n
    output = net.layers[-1].activation
    if net.cost_fn.probability_targets and output not in PROBABILITY_ACTIVATIONS:
        raise ConfigError(
            f"cost {net.cost} takes ln a(L), so the output layer needs activations in (0, 1): "
            f"use {' or '.join(PROBABILITY_ACTIVATIONS)} on layer {len(net.layers)}, "
            f"not {output}",
            path="cost",
        )
    if net.examples is not None:
        validate_examples(net, net.examples)


def validate_examples(net: Network, examples: Examples, path: str = "examples") -> None:
    if len(examples) == 0:
        raise ConfigError("expected at least one example", path=path)
    if examples.inputs.shape[1] != net.input_size:
        raise ConfigError(
            f"expected {plural(net.input_size, 'value')} per input (input_size), "
            f"got {examples.inputs.shape[1]}",
            path=f"{path}[0].input",
        )
    if examples.targets.shape[1] != net.output_size:
        raise ConfigError(
            f"expected {plural(net.output_size, 'value')} per target (the output layer, layer "
            f"{net.depth}, has {plural(net.output_size, 'neuron')}), "
            f"got {examples.targets.shape[1]}",
            path=f"{path}[0].target",
        )
    for name, values in (("input", examples.inputs), ("target", examples.targets)):
        bad = np.argwhere(~np.isfinite(values))
        if bad.size:
            i, j = (int(v) for v in bad[0])
            raise ConfigError(f"expected a finite number, got {float(values[i, j])!r}",
                              path=f"{path}[{i}].{name}[{j}]")
    if net.cost_fn.probability_targets:
        bad = np.argwhere((examples.targets < 0) | (examples.targets > 1))
        if bad.size:
            i, j = (int(v) for v in bad[0])
            raise ConfigError(
                f"{net.cost} needs targets between 0 and 1 (probabilities), "
                f"got {float(examples.targets[i, j])!r}",
                path=f"{path}[{i}].target[{j}]",
            )


@dataclass(frozen=True)
class Param:
    """One parameter: w(l)jk (``kind`` "w") or b(l)j (``kind`` "b", ``k`` None)."""

    layer: int
    kind: str
    j: int
    k: int | None


Label = str | int | float


def label_key(label: Label) -> Label:
    """A class label as compared: the number 1 and 1.0 are one label, the text "1" another."""
    return float(label) if isinstance(label, int | float) else label


@dataclass(frozen=True, eq=False)
class Preprocessing:
    """What is done to a CSV row before the network sees it, stored in the trained YAML.

    Inputs become (x − shift) / scale, per feature column (n_0,); for ``standard`` shift is
    the mean and scale the standard deviation, for ``minmax`` the minimum and max − min (a
    constant column, whose spread is within rounding of zero, gets scale 1). ``classes``: the
    labels behind the K output neurons (two for one sigmoid output: a(L) is the probability
    of the second). Numeric targets become (y − target_shift) / target_scale per target
    column (n_L,), fitted as the features by ``normalize_target``; the network's outputs are
    in those units, and :meth:`unscale_outputs` brings them back to the target's.
    """

    features: tuple[str, ...]
    targets: tuple[str, ...]
    normalize: str = "none"
    shift: Array | None = None
    scale: Array | None = None
    classes: tuple[Label, ...] | None = None
    normalize_target: str = "none"
    target_shift: Array | None = None
    target_scale: Array | None = None

    def apply(self, inputs: Array, *, file: str | None = None,
              lines: NDArray[np.intp] | None = None) -> Array:
        """(m, n_0) raw features → (m, n_0) network inputs, in the inputs' dtype. ``file``
        and ``lines`` (m,): where the rows came from, for the message when one overflows."""
        if self.shift is None or self.scale is None:
            return inputs
        shift = self.shift.astype(inputs.dtype, copy=False)
        scale = self.scale.astype(inputs.dtype, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            out = (inputs - shift) / scale
        if not np.isfinite(out).all():
            i, k = (int(v) for v in np.argwhere(~np.isfinite(out))[0])
            name = repr(self.features[k]) if k < len(self.features) else str(k)
            what = (f"(x − shift) / scale overflows {out.dtype}"
                    f" (shift {float(self.shift[k]):g}, scale {float(self.scale[k]):g})")
            if file is None:
                raise ConfigError(f"{what} for feature {name}", path="preprocessing.scale")
            raise DataError(
                f"feature {name} = {float(inputs[i, k])!r}: {what} of the network's "
                "preprocessing: the value is far outside the range the network was trained on",
                file=file, row=None if lines is None else int(lines[i]))
        return out

    def undo(self, inputs: Array) -> Array:
        """(m, n_0) network inputs → the raw features x = x′ · scale + shift they came from."""
        if self.shift is None or self.scale is None:
            return inputs
        return inputs * self.scale + self.shift

    def scale_targets(self, targets: Array) -> Array:
        """(m, n_L) targets in their units → as the network is trained to output them."""
        if self.target_shift is None or self.target_scale is None:
            return targets
        return ((targets - self.target_shift.astype(targets.dtype, copy=False))
                / self.target_scale.astype(targets.dtype, copy=False))

    def unscale_outputs(self, outputs: Array) -> Array:
        """(m, n_L) outputs a(L) → in the target's units, a · target_scale + target_shift."""
        if self.target_shift is None or self.target_scale is None:
            return outputs
        return outputs * self.target_scale + self.target_shift

    def same_target_scaling(self, other: Preprocessing) -> bool:
        """True if ``other`` scales the targets as this one does, bit for bit."""
        return (self.normalize_target == other.normalize_target
                and _same(self.target_shift, other.target_shift)
                and _same(self.target_scale, other.target_scale))

    def same_scaling(self, other: Preprocessing) -> bool:
        """True if ``other`` turns every row into the same network inputs (same method and
        the same shift and scale, bit for bit)."""
        return (self.normalize == other.normalize and _same(self.shift, other.shift)
                and _same(self.scale, other.scale))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "features": list(self.features),
            "targets": list(self.targets),
            "normalize": self.normalize,
        }
        if self.shift is not None and self.scale is not None:
            out["shift"] = self.shift.tolist()
            out["scale"] = self.scale.tolist()
        if self.classes is not None:
            out["classes"] = list(self.classes)
        if self.target_shift is not None and self.target_scale is not None:
            out["normalize_target"] = self.normalize_target
            out["target_shift"] = self.target_shift.tolist()
            out["target_scale"] = self.target_scale.tolist()
        return out


def _same(a: Array | None, b: Array | None) -> bool:
    return a is b or (a is not None and b is not None and np.array_equal(a, b))


@dataclass(frozen=True, eq=False)
class OptimizerState:
    """What ``train --resume`` continues from (the ``state:`` of the ``training:`` block).

    ``slots``: the optimizer's arrays by name (momentum: ``velocity``; adam: ``m`` and ``v``;
    sgd: none), one (weights (n_l, n_(l−1)), biases (n_l,)) pair per layer, shaped like the
    layer's parameters; ``steps``: the steps taken (Adam's t); ``epochs``: the epochs trained
    over every run (the learning-rate schedule's position); ``rng``: the shuffle's generator
    state (numpy's ``bit_generator.state``, a mapping of text and ints); ``dtype``: the
    training's (every value is written exactly, float32 ones as their float64 value).
    """

    optimizer: str
    dtype: str
    epochs: int
    steps: int
    rng: Mapping[str, Any] | None
    slots: Mapping[str, tuple[tuple[Array, Array], ...]]

    def to_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "dtype": self.dtype, "epochs": self.epochs,
                "steps": self.steps, "rng": self.rng,
                "slots": {name: [{"weights": w, "biases": b} for w, b in layers]
                          for name, layers in self.slots.items()}}


@dataclass(frozen=True)
class TrainingInfo:
    """The ``training:`` block train writes: where the rows came from, the options, how it
    ended, the runtime a rerun needs for the same bytes. Every field optional (older or
    hand-written files have fewer); ``options`` None: the block has none. ``history``: the
    earlier runs that trained these weights (oldest first, each a mapping of this block's
    fields but ``history``, ``state`` and ``runtime``); ``state``: the optimizer's, for
    ``train --resume``."""

    data: str | None = None
    rows: int | None = None
    val_split: float | None = None
    val: str | None = None
    train_rows: int | None = None
    val_rows: int | None = None
    options: Mapping[str, Any] | None = None
    status: str | None = None
    epochs_run: int | None = None
    best_epoch: int | None = None
    train_cost: float | None = None
    train_accuracy: float | None = None
    val_cost: float | None = None
    val_accuracy: float | None = None
    runtime: Mapping[str, Any] | None = None
    history: tuple[Mapping[str, Any], ...] | None = None
    state: OptimizerState | None = None

    def to_dict(self) -> dict[str, Any]:
        """The block's keys in the order train has always written them, None left out."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, OptimizerState):
                out[name] = value.to_dict()
            elif isinstance(value, tuple):
                out[name] = [dict(run) for run in value]
            elif value is not None:
                out[name] = dict(value) if isinstance(value, Mapping) else value
        return out

    def run(self) -> dict[str, Any]:
        """This run's entry in the ``history`` of a later run."""
        out = self.to_dict()
        for key in ("history", "state", "runtime"):
            out.pop(key, None)
        return out


# The activations that keep a(L) inside (0, 1): costs that take ln a(L) need one of them.
PROBABILITY_ACTIVATIONS = tuple(name for name, a in ACTIVATIONS.items() if a.probability)
