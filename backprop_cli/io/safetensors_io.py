"""safetensors ⇄ network, with the ``safetensors`` package (the optional [safetensors] extra,
imported only here). A safetensors file holds named arrays and no code, so it is safe to load.

Names follow ``torch.nn.Sequential``: ``{i}.weight`` (n_l, n_(l−1)) — PyTorch's ``[out, in]``,
our ``weights[j][k]`` — and ``{i}.bias`` (n_l,), where ``i`` counts the Sequential's modules (the
activations take indices too: Linear 0, ReLU 1, Linear 2 …). ``--names`` gives another pattern,
``{}`` standing for the number (``fc{}`` reads ``fc1.weight``, ``fc2.weight`` …). The layers
are in the order of their numbers. Export writes the metadata (activations, cost, names,
preprocessing) that import reads back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.errors import ConfigError, UsageError
from backprop_cli.io.model_files import Imported, default_cost, read_model_bytes, require
from backprop_cli.network import Array, Layer, Network, Preprocessing

SEQUENTIAL = "{}"  # the default --names pattern: 0.weight, 0.bias, 2.weight …
METADATA = "backprop."

# torch.nn modules of the activations (Softmax over the outputs of one example)
TORCH_MODULES = {"sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()", "relu": "nn.ReLU()",
                 "leaky_relu": "nn.LeakyReLU(0.01)", "softplus": "nn.Softplus()",
                 "softmax": "nn.Softmax(dim=-1)"}


def _numpy() -> Any:
    return require("safetensors.numpy", "reading or writing safetensors")


def parse_activations(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in ACTIVATIONS:
            raise UsageError(f"--activations: unknown activation {name!r}; expected one of: "
                             f"{', '.join(ACTIVATIONS)}")
    return names


def _pattern(names: str) -> re.Pattern[str]:
    if names.count("{}") != 1:
        raise UsageError(f"--names {names!r}: expected one {{}} where the layer's number "
                         "stands, e.g. --names 'model.{}' for model.0.weight, model.2.weight")
    before, after = names.split("{}")
    return re.compile(f"{re.escape(before)}(\\d+){re.escape(after)}\\.(weight|bias)")


def read_safetensors(path: Path, *, activations: list[str] | None = None,
                     names: str = SEQUENTIAL, cost: str | None = None) -> Imported:
    """The network whose weights and biases ``path`` holds under ``names`` (a pattern with
    ``{}`` for each layer's number), with one activation per layer (None: the file's metadata,
    as export writes it) and ``cost`` (None: the metadata's, else :func:`default_cost`)."""
    st = _numpy()
    file = str(path)
    data = read_model_bytes(path)
    try:
        arrays: dict[str, np.ndarray] = st.load(data)
        meta = _header_metadata(data)
    except Exception as exc:  # safetensors raises its own SafetensorError, and others
        raise ConfigError(f"not a readable safetensors file: {exc}", file=file) from None
    pattern = _pattern(names)
    found: dict[int, dict[str, np.ndarray]] = {}
    for key, value in sorted(arrays.items()):
        match = pattern.fullmatch(key)
        if match is None:
            raise ConfigError(
                f"{key!r} is not a layer's weight or bias under the names "
                f"{names.replace('{}', '<n>')}.weight/.bias; the tool represents fully-"
                "connected layers only (give --names PATTERN for other names)", file=file)
        found.setdefault(int(match[1]), {})[match[2]] = value
    if not found:
        raise ConfigError("the file holds no arrays", file=file)
    numbers = sorted(found)
    stored = meta.get("activations")
    if activations is None:
        if not (isinstance(stored, list) and all(isinstance(a, str) for a in stored)):
            raise UsageError(
                f"{file}: give one activation per layer with --activations (the file has "
                f"{len(numbers)} layers, e.g. --activations "
                f"{','.join(['relu'] * (len(numbers) - 1) + ['softmax'])})")
        activations = parse_activations(",".join(stored))
    if len(activations) != len(numbers):
        raise UsageError(f"--activations names {len(activations)} activations, but {file} has "
                         f"{len(numbers)} layers ({', '.join(pattern_names(names, numbers))})")
    layers: list[Layer] = []
    notes: list[str] = []
    for number, activation in zip(numbers, activations, strict=True):
        arrays_of = found[number]
        name = names.replace("{}", str(number))
        if "weight" not in arrays_of:
            raise ConfigError(f"{name}.bias has no {name}.weight", file=file)
        weights = _finite(arrays_of["weight"], f"{name}.weight", file)
        if weights.ndim != 2:
            raise ConfigError(f"{name}.weight has shape {list(weights.shape)}; a fully-"
                              "connected layer has an [out, in] matrix", file=file)
        if layers and weights.shape[1] != layers[-1].size:
            raise ConfigError(
                f"{name}.weight takes {weights.shape[1]} inputs, but the layer before has "
                f"{layers[-1].size} neurons: mismatched shapes", file=file)
        if "bias" in arrays_of:
            biases = _finite(arrays_of["bias"], f"{name}.bias", file)
            if biases.shape != (weights.shape[0],):
                raise ConfigError(f"{name}.bias has shape {list(biases.shape)}, expected "
                                  f"[{weights.shape[0]}]", file=file)
        else:
            biases = np.zeros(weights.shape[0])
            notes.append(f"{name} has no bias (nn.Linear(bias=False)): its biases are 0")
        layers.append(Layer(activation, weights, biases))
    pre = _preprocessing(meta.get("preprocessing"))
    chosen = cost or (meta.get("cost") if isinstance(meta.get("cost"), str) else None) \
        or default_cost(layers[-1].activation)
    title = meta.get("name") if isinstance(meta.get("name"), str) else None
    try:
        net = Network(int(layers[0].weights.shape[1]), tuple(layers), chosen, name=title,
                      preprocessing=pre)
    except ConfigError as exc:
        raise exc.located(file=file) from None
    return Imported(net, tuple(notes))


def pattern_names(names: str, numbers: list[int]) -> list[str]:
    return [names.replace("{}", str(n)) for n in numbers]


def _finite(value: np.ndarray, name: str, file: str) -> Array:
    if value.dtype.kind != "f":
        raise ConfigError(f"{name} holds {value.dtype} values, not floating-point numbers",
                          file=file)
    out = np.asarray(value, dtype=np.float64)
    bad = np.argwhere(~np.isfinite(out))
    if bad.size:
        index = "".join(f"[{int(i)}]" for i in bad[0])
        raise ConfigError(f"{name}{index} is {float(out[tuple(bad[0])])!r}: every weight and bias "
                          "must be finite", file=file)
    return out


def _header_metadata(data: bytes) -> dict[str, Any]:
    """The ``backprop.*`` entries of the header's ``__metadata__`` (JSON values), read from
    the header as safetensors lays it out: 8 bytes of length, then JSON."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    out: dict[str, Any] = {}
    for key, value in (header.get("__metadata__") or {}).items():
        if key.startswith(METADATA):
            try:
                out[key.removeprefix(METADATA)] = json.loads(value)
            except ValueError:
                continue
    return out


def _preprocessing(raw: Any) -> Preprocessing | None:
    if not isinstance(raw, dict):
        return None

    def array(key: str) -> Array | None:
        value = raw.get(key)
        return None if value is None else np.asarray(value, dtype=np.float64)

    classes = raw.get("classes")
    return Preprocessing(tuple(raw.get("features", ())), tuple(raw.get("targets", ())),
                         raw.get("normalize", "none"), array("shift"), array("scale"),
                         None if classes is None else tuple(classes),
                         raw.get("normalize_target", "none"), array("target_shift"),
                         array("target_scale"))


def sequential_names(net: Network) -> list[int]:
    """The nn.Sequential index of each layer's Linear: an activation takes the next index
    (a linear layer has none)."""
    out, index = [], 0
    for layer in net.layers:
        out.append(index)
        index += 1 if layer.activation == "linear" else 2
    return out


def sequential_code(net: Network) -> str:
    """The ``torch.nn.Sequential`` whose ``load_state_dict`` takes the exported file."""
    modules = []
    for layer in net.layers:
        modules.append(f"nn.Linear({layer.weights.shape[1]}, {layer.size})")
        if layer.activation != "linear":
            modules.append(TORCH_MODULES[layer.activation])
    return f"nn.Sequential({', '.join(modules)})"


def safetensors_bytes(net: Network, dtype: str = "float32") -> bytes:
    """``net``'s weights and biases as a safetensors file, with nn.Sequential names and the
    metadata import reads back (activations, cost, name, preprocessing)."""
    st = _numpy()
    np_type = np.dtype(dtype)
    tensors: dict[str, np.ndarray] = {}
    for index, layer in zip(sequential_names(net), net.layers, strict=True):
        tensors[f"{index}.weight"] = np.ascontiguousarray(layer.weights, dtype=np_type)
        tensors[f"{index}.bias"] = np.ascontiguousarray(layer.biases, dtype=np_type)
    meta: dict[str, Any] = {"activations": [layer.activation for layer in net.layers],
                            "cost": net.cost, "sequential": sequential_code(net)}
    if net.name is not None:
        meta["name"] = str(net.name)
    if net.preprocessing is not None:
        meta["preprocessing"] = net.preprocessing.to_dict()
    return bytes(st.save(tensors, metadata={METADATA + key: json.dumps(value, ensure_ascii=False)
                                            for key, value in meta.items()}))
