"""A new network from its sizes, with drawn weights (``backprop init``). Pure.

The weights are drawn exactly as a file's ``init: {method, seed, scale}`` block draws them
(:func:`draw_parameters`, layer by layer from one generator), so ``backprop init --init
xavier --seed 0`` writes the numbers that such a block would give.

The template example (``example_input``) is an all-zero input with the one-hot target of
class 0 (1 for output neuron 0, 0 for the others), valid for every cost; edit both to taste.
"""

from __future__ import annotations

import itertools
import math
import shlex

import numpy as np

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.choices import MAX_LAYERS, MAX_PARAMETERS
from backprop_cli.costs import COSTS
from backprop_cli.errors import ConfigError, UsageError
from backprop_cli.network import Array, Examples, Layer, Network

INIT_METHODS = ("xavier", "he", "normal", "uniform", "zeros")


def parse_sizes(text: str) -> list[int]:
    """``"784,16,16,10"`` → [784, 16, 16, 10]: n_0 … n_L, at least two, each ≥ 1."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2 or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise UsageError(
            f"--sizes {text!r}: expected two or more whole numbers ≥ 1 separated by commas, "
            "input size first and output size last, e.g. 784,16,16,10"
        )
    sizes = [int(p) for p in parts]
    parameters = sum(n * (n_prev + 1) for n_prev, n in itertools.pairwise(sizes))
    if len(sizes) - 1 > MAX_LAYERS or parameters > MAX_PARAMETERS:
        raise UsageError(
            f"--sizes {text!r}: {len(sizes) - 1:,} layers and {parameters:,} weights and biases; "
            f"at most {MAX_LAYERS:,} layers and {MAX_PARAMETERS:,} parameters are allowed")
    return sizes


def _allowed(option: str, value: str, allowed: list[str] | tuple[str, ...]) -> str:
    if value not in allowed:
        raise UsageError(f"{option} {value!r}: expected one of: {', '.join(allowed)}")
    return value


def new_network(
    sizes: list[int],
    *,
    activation: str = "sigmoid",
    output_activation: str | None = None,
    cost: str = "squared_error",
    method: str = "xavier",
    seed: int = 0,
    scale: float | None = None,
    name: str | None = None,
    example_input: bool = True,
) -> Network:
    """Layers 1 … L with ``activation`` (``output_activation`` on layer L, default the same)."""
    _allowed("--activation", activation, [a for a, s in ACTIVATIONS.items() if not s.output_only])
    output = _allowed("--output-activation", output_activation or activation, list(ACTIVATIONS))
    _allowed("--cost", cost, list(COSTS))
    _allowed("--init", method, INIT_METHODS)
    if seed < 0:
        raise UsageError(f"--seed {seed}: expected a whole number ≥ 0")
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise UsageError(f"--scale {scale}: expected a number > 0")
    rng = np.random.default_rng(seed)
    layers = []
    for index, (n_prev, n) in enumerate(itertools.pairwise(sizes)):
        w, b = draw_parameters(method, scale, rng, n, n_prev)
        layers.append(Layer(output if index == len(sizes) - 2 else activation, w, b))
    examples = None
    if example_input:
        target = np.zeros((1, sizes[-1]))
        target[0, 0] = 1.0
        examples = Examples(np.zeros((1, sizes[0])), target)
    try:
        return Network(input_size=sizes[0], layers=tuple(layers), cost=cost, name=name,
                       examples=examples)
    except ConfigError as exc:
        raise UsageError(f"--cost {cost} with --output-activation {output}: {exc.message}"
                         ) from None


def written_by(net: Network, *, activation: str, method: str, seed: int,
               scale: float | None = None, name: str | None = None,
               example_input: bool = True) -> str:
    """The ``# Written by: backprop init …`` comment that writes ``net`` again (every option
    spelled out), one YAML comment line per line of the command."""
    command = (
        f"backprop init --sizes {','.join(map(str, net.sizes))} --activation {activation} "
        f"--output-activation {net.layers[-1].activation} --cost {net.cost} --init {method} "
        f"--seed {seed}" + (f" --scale {scale!r}" if scale is not None else "")
        + (f" --name {shlex.quote(name)}" if name is not None else "")
        + (" --example-input" if example_input else " --no-example-input")
    )
    # A quoted name may span lines: every line of the command stays a YAML comment.
    return "# Written by: " + "\n# ".join(command.splitlines()) + "\n"


def draw_parameters(
    method: str, scale: float | None, rng: np.random.Generator, n: int, n_prev: int
) -> tuple[Array, Array]:
    """Weights (n, n_prev) and biases (n,) for one layer, drawn from ``rng`` by ``method``
    (one of INIT_METHODS). Layers are drawn in order from one generator seeded with the init
    seed, whether or not the file gives their values, so that a layer's values do not depend
    on what the other layers give explicitly."""
    if method == "xavier":  # Glorot uniform
        limit = (scale or 1.0) * math.sqrt(6.0 / (n_prev + n))
        w = rng.uniform(-limit, limit, size=(n, n_prev))
        b = np.zeros(n)
    elif method == "he":
        w = rng.normal(0.0, (scale or 1.0) * math.sqrt(2.0 / n_prev), size=(n, n_prev))
        b = np.zeros(n)
    elif method == "normal":
        w = rng.normal(0.0, scale or 1.0, size=(n, n_prev))
        b = rng.normal(0.0, scale or 1.0, size=n)
    elif method == "uniform":
        w = rng.uniform(-(scale or 1.0), scale or 1.0, size=(n, n_prev))
        b = rng.uniform(-(scale or 1.0), scale or 1.0, size=n)
    else:
        w = np.zeros((n, n_prev))
        b = np.zeros(n)
    return w, b
