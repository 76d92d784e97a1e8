"""What ONNX and safetensors import share: the result (a network and what was left out), the
cost that fits the output layer, the size-limited read, the missing extra's message and the
refusal of pickled PyTorch files. The formats themselves are in onnx_io and safetensors_io."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from backprop_cli.choices import MAX_PARAMETERS
from backprop_cli.errors import ConfigError, UsageError
from backprop_cli.network import Network

# A model file is read whole; a network holds MAX_PARAMETERS at most, which float64 weights
# fit in 80 MB (with room for the names, shapes and graph).
MAX_MODEL_BYTES = 8 * MAX_PARAMETERS + 16 * 2**20

# The extra that installs each optional package (pyproject.toml, [project.optional-dependencies])
EXTRAS = {"onnx": "onnx", "safetensors": "safetensors"}

PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl")
PICKLE_RECIPE = (
    "convert the weights in Python (pip install safetensors):\n"
    "  import torch; from safetensors.torch import save_file\n"
    "  save_file(torch.load('{name}', weights_only=True), '{stem}.safetensors')")


@dataclass(frozen=True, eq=False)
class Imported:
    """A network read from another format, and one note per thing of the file that is not in
    it (post-processing left out, biases taken as 0 …) for stderr."""

    network: Network
    notes: tuple[str, ...] = ()


def default_cost(output_activation: str) -> str:
    """The cost a network with this output activation is usually trained with: softmax →
    categorical cross-entropy, sigmoid → cross-entropy, else squared error."""
    return {"softmax": "categorical_cross_entropy",
            "sigmoid": "cross_entropy"}.get(output_activation, "squared_error")


def check_cost(cost: str | None) -> None:
    """--cost, if given, names a cost."""
    from backprop_cli.costs import COSTS

    if cost is not None and cost not in COSTS:
        raise UsageError(f"--cost {cost!r}: expected one of: {', '.join(COSTS)}")


def require(module: str, purpose: str) -> ModuleType:
    """The optional package ``module`` (its extra in :data:`EXTRAS`), or one UsageError naming
    the command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS[module.split(".")[0]]
        raise UsageError(
            f"{purpose} needs the optional package {extra}: install it with "
            f"pip install '.[{extra}]' in the backprop_cli checkout (or pip install {extra})"
        ) from None


def refuse_pickle(path: Path) -> None:
    """A pickled PyTorch file is never loaded (unpickling runs code): refuse it with the recipe
    that converts it to safetensors."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ConfigError(
            "a pickled PyTorch file is never loaded (loading it can run any code); "
            + PICKLE_RECIPE.format(name=path.name, stem=path.stem), file=str(path))


def read_model_bytes(path: Path) -> bytes:
    """The file's bytes, or a ConfigError saying why not (missing, a directory, too large)."""
    name = str(path)
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_MODEL_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if len(data) > MAX_MODEL_BYTES:
        raise ConfigError(
            f"the file is more than {MAX_MODEL_BYTES // 2**20} MiB: larger than any network "
            f"a network file can hold ({MAX_PARAMETERS:,} parameters)", file=name)
    if not data:
        raise ConfigError("the file is empty", file=name)
    return data


def with_examples(net: Network, data: Path, *, target: str | None, features: str | None,
                  delimiter: str) -> Network:
    """``net`` with the rows of ``data`` as its examples (as the network sees them: its
    stored scaling applied), and the data's feature, target and class names stored in its
    preprocessing where the model had none."""
    from dataclasses import replace

    from backprop_cli.io.training_data import load_for_network
    from backprop_cli.network import Examples, Preprocessing

    ds, pre = load_for_network(net, data, target=target, features=features,
                               delimiter=delimiter)
    assert ds.targets is not None
    targets = ds.targets if pre is None else pre.scale_targets(ds.targets)
    pre = pre or Preprocessing((), ())
    names = replace(
        pre, features=pre.features or ds.columns.feature_names,
        targets=pre.targets or tuple(ds.columns.header[i] for i in ds.columns.targets),
        classes=pre.classes if pre.classes is not None else ds.classes)
    return replace(net, examples=Examples(ds.inputs, targets), preprocessing=names)
