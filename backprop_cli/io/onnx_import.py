"""ONNX → network. Reads a chain of fully-connected layers: ``Gemm`` (or ``MatMul`` then
``Add``) each followed by at most one activation; ``Cast``/``Flatten``/``Reshape`` and the
scaling ``Sub``/``Div`` of the features before the first layer; ``Identity`` and
inference-mode ``Dropout`` anywhere; ``Mul``/``Add`` of the targets' scaling after the last.
Nodes that only post-process the output (skl2onnx's label and probability map) are left out,
with a note. Anything else is refused naming the node, its op type and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from backprop_cli.activations import LEAKY_SLOPE
from backprop_cli.errors import ConfigError
from backprop_cli.io.model_files import Imported, default_cost, read_model_bytes
from backprop_cli.io.onnx_io import ACTIVATION_OPS, DOMAIN, METADATA, OPSET
from backprop_cli.io.onnx_io import onnx as _onnx
from backprop_cli.network import Array, Layer, Network, Preprocessing

# Ops that only turn the output into labels or a probability map (skl2onnx writes them).
POST_OPS = frozenset({"ArgMax", "ArrayFeatureExtractor", "ZipMap", "Cast", "Reshape", "Identity",
                      "Concat", "Sub", "Flatten", "Squeeze", "Unsqueeze", "Shape", "Gather",
                      "TopK"})
PASS_OPS = frozenset({"Identity", "Dropout"})  # y = x at inference
INPUT_OPS = frozenset({"Cast", "Flatten", "Reshape"})  # before the first layer only
_WHY = {
    "Conv": "a convolution cannot be represented: the tool analyses fully-connected layers",
    "ConvTranspose": "a convolution cannot be represented: the tool analyses fully-connected "
                     "layers",
    "BatchNormalization": "batch normalization cannot be represented: fold it into the weights "
                          "of the layer before it, then export",
    "LogSoftmax": "log-softmax is not one of the tool's activations (use Softmax; the "
                  "categorical cross-entropy cost takes its logarithm)",
    "MaxPool": "pooling cannot be represented: the tool analyses fully-connected layers",
    "AveragePool": "pooling cannot be represented: the tool analyses fully-connected layers",
    "LSTM": "a recurrent layer cannot be represented: the tool analyses fully-connected layers",
    "GRU": "a recurrent layer cannot be represented: the tool analyses fully-connected layers",
    "RNN": "a recurrent layer cannot be represented: the tool analyses fully-connected layers",
}
_ACTIVATIONS_TEXT = ("Sigmoid, Tanh, Relu, LeakyRelu (alpha = 0.01), Softplus, Softmax (last "
                     "layer) or Identity")


@dataclass
class _Layer:
    node: str  # the name of the node that computes z
    weights: Array
    biases: Array
    activation: str = "linear"
    activation_node: str | None = None
    bias_open: bool = False  # a MatMul (or Gemm without C) whose Add may follow


@dataclass
class _Walk:
    """The chain read so far: the input's scaling, the layers, the targets' scaling."""

    layers: list[_Layer] = field(default_factory=list)
    shift: Array | None = None
    scale: Array | None = None
    target_scale: Array | None = None
    target_shift: Array | None = None
    stage: str = "input"  # input, z (a layer's z, no activation yet), a (after σ), target
    tensors: list[str] = field(default_factory=list)  # the chain's tensors, input first


def _node_name(node: Any, index: int) -> str:
    return node.name or f"#{index} (unnamed)"


class _Model:
    """The graph's constants and consumers, and the errors that name a node."""

    def __init__(self, model: Any, file: str) -> None:
        onnx = _onnx()
        from onnx import numpy_helper

        self.file = file
        self.opset = max((o.version for o in model.opset_import
                          if o.domain in ("", "ai.onnx")), default=OPSET)
        self.graph = model.graph
        self.nodes = list(model.graph.node)
        self.names = {id(n): _node_name(n, i) for i, n in enumerate(self.nodes)}
        self.values: dict[str, np.ndarray] = {}
        for tensor in model.graph.initializer:
            self.values[tensor.name] = numpy_helper.to_array(tensor)
        for node in self.nodes:
            if node.op_type == "Constant" and node.output:
                for attr in node.attribute:
                    if attr.name == "value":
                        self.values[node.output[0]] = numpy_helper.to_array(attr.t)
                    elif attr.name in ("value_float", "value_floats", "value_int",
                                       "value_ints"):
                        self.values[node.output[0]] = np.asarray(
                            onnx.helper.get_attribute_value(attr))
        self.consumers: dict[str, list[Any]] = {}
        for node in self.nodes:
            if node.op_type == "Constant":
                continue
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def error(self, node: Any, why: str) -> ConfigError:
        return ConfigError(why, path=f"node {self.names[id(node)]!r} ({node.op_type})",
                           file=self.file)

    def attr(self, node: Any, name: str, default: Any) -> Any:
        for attr in node.attribute:
            if attr.name == name:
                return _onnx().helper.get_attribute_value(attr)
        return default

    def const(self, name: str) -> bool:
        return name in self.values

    def number(self, node: Any, name: str, what: str) -> Array:
        """The constant ``name`` (an input of ``node``) as float64, checked finite."""
        value = self.values[name]
        if value.dtype.kind not in "fiu":
            raise self.error(node, f"{what} {name!r} holds {value.dtype} values, not numbers")
        out = np.asarray(value, dtype=np.float64)
        bad = np.argwhere(~np.isfinite(out))
        if bad.size:
            index = "".join(f"[{int(i)}]" for i in bad[0])
            raise self.error(node, f"{what} {name!r} holds {float(out[tuple(bad[0])])!r} at "
                                   f"{index}: "
                                   "every weight, bias and scaling value must be finite")
        return out


def _vector(m: _Model, node: Any, name: str, what: str, n: int | None) -> Array:
    """A constant that broadcasts to one value per neuron (n of them; None: as many as it
    holds), as a vector."""
    value = m.number(node, name, what)
    width = n if n is not None else (value.shape[-1] if value.ndim else 1)
    try:
        return np.broadcast_to(value, (1, width)).reshape(width).copy()
    except ValueError:
        raise m.error(node, f"{what} {name!r} has shape {list(value.shape)}, which does not "
                            f"give one value per neuron ({width}): mismatched shapes") from None


def _weights(m: _Model, node: Any, w: _Walk, weights: Array, name: str) -> Array:
    """(n_l, n_(l−1)) weights, checked against the layer before."""
    if weights.ndim != 2:
        raise m.error(node, f"weights {name!r} have shape {list(weights.shape)}; a "
                            "fully-connected layer has a matrix")
    previous = w.layers[-1].weights.shape[0] if w.layers else None
    if previous is not None and weights.shape[1] != previous:
        raise m.error(node, f"weights {name!r} take {weights.shape[1]} inputs, but layer "
                            f"{len(w.layers)} has {previous} neurons: mismatched shapes")
    return weights


def _affine(m: _Model, node: Any, w: _Walk, tensor: str) -> str | None:
    """Why ``node`` (Gemm or MatMul taking ``tensor``) is not a layer, or None after adding it."""
    op = node.op_type
    inputs = list(node.input)
    if inputs[0] != tensor:
        return (f"takes the examples ({tensor!r}) as its second operand, i.e. one example per "
                "column; the tool takes one example per row")
    if len(inputs) < 2 or not m.const(inputs[1]):
        return "its weights are computed, not stored: not an affine layer"
    if op == "Gemm":
        if m.attr(node, "transA", 0):
            return ("transA = 1 takes the examples as columns; the tool takes one example "
                    "per row")
        alpha = float(m.attr(node, "alpha", 1.0))
        beta = float(m.attr(node, "beta", 1.0))
        b = m.number(node, inputs[1], "weights")
        if b.ndim != 2:
            return f"weights {inputs[1]!r} have shape {list(b.shape)}, not a matrix"
        weights = _weights(m, node, w, (b if m.attr(node, "transB", 0) else b.T) * alpha,
                           inputs[1])
        n = weights.shape[0]
        if len(inputs) > 2 and inputs[2]:
            if not m.const(inputs[2]):
                return "its bias C is computed, not stored: not an affine layer"
            biases = _vector(m, node, inputs[2], "bias", n) * beta
            w.layers.append(_Layer(m.names[id(node)], weights, biases))
        else:
            w.layers.append(_Layer(m.names[id(node)], weights, np.zeros(n), bias_open=True))
        return None
    weights = _weights(m, node, w, m.number(node, inputs[1], "weights").T, inputs[1])
    w.layers.append(_Layer(m.names[id(node)], weights, np.zeros(weights.shape[0]),
                           bias_open=True))
    return None


def _step(m: _Model, node: Any, w: _Walk, tensor: str) -> str | None:
    """Take ``node`` (a consumer of the chain's ``tensor``) into the chain: None, or why it
    cannot be (in this place)."""
    op = node.op_type
    inputs = list(node.input)
    others = [name for name in inputs if name and name != tensor]
    if op in PASS_OPS:
        if op == "Dropout" and len(inputs) > 2 and inputs[2]:
            mode = m.values.get(inputs[2])
            if mode is None or bool(np.asarray(mode).reshape(-1)[0]):
                return ("dropout in training mode changes the output at random; export the "
                        "model in inference mode (model.eval())")
        return None
    if op in ("Gemm", "MatMul") and w.stage != "target":
        why = _affine(m, node, w, tensor)
        if why is None:
            w.stage = "z"
        return why
    if w.stage == "input" and op in INPUT_OPS:
        if op == "Cast" and m.attr(node, "to", 1) not in (1, 10, 11, 16):  # float types
            return "casts the features to a type that is not floating-point"
        return None
    if w.stage == "input" and op in ("Sub", "Div") and inputs[0] == tensor and others \
            and all(m.const(name) for name in others):
        value = m.number(node, others[0], "scaling")
        if op == "Sub" and w.shift is None and w.scale is None:
            w.shift = value
            return None
        if op == "Div" and w.scale is None:
            if (value == 0).any():
                return "divides by a scale of 0"
            w.scale = value
            return None
    if w.stage == "z" and op == "Add" and len(others) == 1 and m.const(others[0]) \
            and w.layers[-1].bias_open:
        layer = w.layers[-1]
        layer.biases = _vector(m, node, others[0], "bias", layer.weights.shape[0])
        layer.bias_open = False
        return None
    standard = node.domain in ("", "ai.onnx")
    if w.stage == "z" and ((op in ACTIVATION_OPS and standard) or
                           (op == "Softplus" and node.domain == DOMAIN)):
        return _activation(m, node, w)
    if w.stage in ("z", "a", "target") and op in ("Mul", "Add") and len(others) == 1 \
            and m.const(others[0]):
        if op == "Mul" and w.target_scale is None and w.target_shift is None:
            w.target_scale, w.stage = m.number(node, others[0], "target scale"), "target"
            return None
        if op == "Add" and w.target_shift is None:
            w.target_shift, w.stage = m.number(node, others[0], "target shift"), "target"
            return None
    return _why(m, node, w, tensor)


def _activation(m: _Model, node: Any, w: _Walk) -> str | None:
    op = node.op_type
    if op == "LeakyRelu":
        alpha = float(m.attr(node, "alpha", 0.01))
        if np.float32(alpha) != np.float32(LEAKY_SLOPE):
            return (f"LeakyRelu with alpha = {alpha:g}: the tool's leaky_relu has alpha = "
                    f"{LEAKY_SLOPE:g}")
    if op == "Softmax":
        axis = int(m.attr(node, "axis", -1 if m.opset >= 13 else 1))
        if axis not in (-1, 1):
            return (f"softmax over axis {axis}: the tool's softmax is over the outputs of one "
                    "example (axis -1)")
    layer = w.layers[-1]
    layer.activation, layer.activation_node = ACTIVATION_OPS[op], m.names[id(node)]
    w.stage = "a"
    return None


def _why(m: _Model, node: Any, w: _Walk, tensor: str) -> str:
    op = node.op_type
    if op in _WHY:
        return _WHY[op]
    computed = [name for name in node.input if name and name != tensor and not m.const(name)]
    if op in ("Add", "Sum", "Concat", "Mul") and computed:
        return (f"combines {tensor!r} with another computed tensor ({computed[0]!r}): a "
                "residual or skip connection cannot be represented; the tool analyses a plain "
                "chain of layers")
    if op in ACTIVATION_OPS:
        where = "before the first layer" if w.stage == "input" else "after another activation"
        return f"an activation {where}: each layer has one activation, after its Gemm or MatMul"
    if op in INPUT_OPS or op in ("Sub", "Div"):
        return (f"{op} is accepted only before the first layer (the features' "
                "preprocessing), not between layers")
    if op in ("Gemm", "MatMul"):
        return "a layer after the targets' scaling"
    if w.stage in ("z", "a"):
        return (f"{op} is not one of the activations the tool has ({_ACTIVATIONS_TEXT}), "
                "nor a fully-connected layer")
    return (f"{op} cannot be represented: the tool reads chains of fully-connected layers "
            f"(Gemm, or MatMul then Add), each followed by {_ACTIVATIONS_TEXT}")


def read_onnx(path: Path, *, cost: str | None = None) -> Imported:
    """The network in the ONNX model at ``path`` (see the module's docstring), with ``cost``
    (None: :func:`default_cost`, or the one the model's metadata names)."""
    onnx = _onnx()
    from google.protobuf.message import DecodeError  # onnx's dependency

    file = str(path)
    data = read_model_bytes(path)
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"not a readable ONNX model (truncated or not ONNX): {exc}",
                          file=file) from None
    _refuse_external(model, file)
    if not model.graph.node:
        raise ConfigError("the model has no nodes (not an ONNX model, or an empty graph)",
                          file=file)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ConfigError(f"the ONNX checker refuses the model: {_first_lines(exc)}",
                          file=file) from None
    m = _Model(model, file)
    inputs = [i.name for i in model.graph.input if i.name not in m.values]
    if len(inputs) != 1:
        raise ConfigError(f"expected one input (the features), got {len(inputs)}: "
                          f"{', '.join(repr(i) for i in inputs) or 'none'}", file=file)
    w = _Walk(tensors=[inputs[0]])
    used: set[int] = set()
    tensor = inputs[0]
    stopped: tuple[Any, str] | None = None
    notes: list[str] = []
    while True:
        nexts = m.consumers.get(tensor, [])
        taken, reasons = [], []
        fused = _leaky_max(m, nexts, w, tensor) or _torch_softplus(m, nexts, w, tensor, notes)
        if fused is not None:  # an activation written as several nodes
            used.update(id(node) for node in nexts)
            tensor = fused
            w.tensors.append(tensor)
            continue
        for node in nexts:
            trial = _copy(w)  # a refused node leaves the walk as it was
            why = _step(m, node, trial, tensor)
            if why is None:
                taken.append((node, trial))
            else:
                reasons.append((node, why))
        if len(taken) > 1:
            names = ", ".join(f"{m.names[id(n)]!r} ({n.op_type})" for n, _ in taken)
            raise m.error(taken[1][0], f"{tensor!r} feeds more than one layer ({names}): the "
                                       "tool represents a plain chain of layers")
        if not taken:
            stopped = reasons[0] if reasons else None
            break
        node, w = taken[0]
        used.add(id(node))
        tensor = node.output[0]
        w.tensors.append(tensor)
    if not w.layers:
        if stopped is not None:
            raise m.error(stopped[0], stopped[1])
        raise ConfigError("the model has no fully-connected layer (Gemm, or MatMul then Add)",
                          file=file)
    notes.extend(_post(m, w, used, tensor, stopped))
    for layer in w.layers[:-1]:
        if layer.activation == "softmax":
            raise ConfigError("softmax is only allowed on the output layer; this one is "
                              "followed by another layer",
                              path=f"node {layer.activation_node!r} (Softmax)", file=file)
    try:  # after the walk, whose messages name the node and say why
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except onnx.shape_inference.InferenceError as exc:
        raise ConfigError(f"the model's shapes do not fit together: {_first_lines(exc)}",
                          file=file) from None
    return _network(m, model, w, cost, notes)


def _leaky_max(m: _Model, nexts: list[Any], w: _Walk, z: str) -> str | None:
    """The output of max(z, 0.01 z) (leaky ReLU as export writes it in float64,
    where onnxruntime has no LeakyRelu) if ``nexts`` are its Mul and Max, else None."""
    if w.stage != "z" or len(nexts) != 2:
        return None
    mul, top = sorted(nexts, key=lambda node: node.op_type != "Mul")
    if mul.op_type != "Mul" or top.op_type != "Max" or len(mul.input) != 2 \
            or sorted(top.input) != sorted([z, mul.output[0]]):
        return None
    alpha = [name for name in mul.input if name != z]
    if len(alpha) != 1 or not m.const(alpha[0]) or m.values[alpha[0]].size != 1 \
            or float(m.values[alpha[0]].reshape(-1)[0]) != LEAKY_SLOPE:
        return None
    layer = w.layers[-1]
    layer.activation, layer.activation_node = "leaky_relu", m.names[id(top)]
    w.stage = "a"
    return str(top.output[0])


def _torch_softplus(m: _Model, nexts: list[Any], w: _Walk, z: str, notes: list[str]
                    ) -> str | None:
    """The output of where(z > t, z, softplus(z)) (torch's nn.Softplus, threshold t = 20, as
    torch.export writes it) if ``nexts`` are its Softplus, Greater and Where, else None."""
    ops = {node.op_type: node for node in nexts}
    if w.stage != "z" or len(nexts) != 3 or set(ops) != {"Softplus", "Greater", "Where"}:
        return None
    softplus, greater, where = ops["Softplus"], ops["Greater"], ops["Where"]
    if list(where.input) != [greater.output[0], z, softplus.output[0]] \
            or len(greater.input) != 2 or greater.input[0] != z \
            or not m.const(greater.input[1]) or m.values[greater.input[1]].size != 1:
        return None
    threshold = float(m.values[greater.input[1]].reshape(-1)[0])
    if threshold < 15:  # ln(1 + e^z) − z < e^−15 ≈ 3e-7 beyond it
        return None
    layer = w.layers[-1]
    layer.activation, layer.activation_node = "softplus", m.names[id(where)]
    w.stage = "a"
    notes.append(f"node {m.names[id(where)]!r}: torch's Softplus gives z itself for z > "
                 f"{threshold:g}; the tool's ln(1 + e^z) differs from it there by less than "
                 f"e^-{threshold:g} = {np.exp(-threshold):.1g}")
    return str(where.output[0])


def _copy(w: _Walk) -> _Walk:
    """The walk with its own lists and layers (their arrays are replaced, never changed)."""
    return replace(w, layers=[replace(layer) for layer in w.layers], tensors=list(w.tensors))


def _post(m: _Model, w: _Walk, used: set[int], output: str,
          stopped: tuple[Any, str] | None) -> list[str]:
    """Notes on the nodes after the network's ``output`` that only post-process it; refuses
    any other node the chain did not take."""
    known = {output, *m.values}
    left: list[str] = []
    for node in m.nodes:
        if id(node) in used or node.op_type == "Constant":
            continue
        inputs = [name for name in node.input if name]
        if node.op_type in POST_OPS and all(name in known for name in inputs):
            known.update(node.output)
            name = m.names[id(node)]
            left.append(node.op_type if name == node.op_type else f"{name} ({node.op_type})")
            continue
        intermediate = [name for name in inputs if name in w.tensors and name != output]
        if stopped is not None and (not intermediate or node is stopped[0]):
            raise m.error(stopped[0], stopped[1])
        raise m.error(node, _why(m, node, w, intermediate[0] if intermediate else output))
    if not left:
        return []
    return [f"left out the post-processing after the network's output {output!r}: "
            f"{', '.join(left)}; the imported network's output a(L) is what they take "
            "(predict adds the label)"]


def _metadata(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for prop in model.metadata_props:
        if prop.key.startswith(METADATA):
            try:
                out[prop.key.removeprefix(METADATA)] = json.loads(prop.value)
            except ValueError:
                continue
    return out


def _classes(m: _Model) -> tuple[Any, ...] | None:
    """The class labels skl2onnx writes (ZipMap's labels, or ArrayFeatureExtractor's table)."""
    for node in m.nodes:
        if node.op_type == "ZipMap":
            for name in ("classlabels_int64s", "classlabels_strings"):
                labels = m.attr(node, name, None)
                if labels:
                    return tuple(x.decode() if isinstance(x, bytes) else int(x)
                                 for x in labels)
        if node.op_type == "ArrayFeatureExtractor" and node.input[0] in m.values:
            table = m.values[node.input[0]].reshape(-1)
            return tuple(x.decode() if isinstance(x, bytes) else
                         str(x) if isinstance(x, str) else x.item() for x in table)
    return None


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


def _network(m: _Model, model: Any, w: _Walk, cost: str | None, notes: list[str]
             ) -> Imported:
    meta = _metadata(model)
    layers = tuple(Layer(layer.activation, layer.weights, layer.biases) for layer in w.layers)
    n0, n_out = layers[0].weights.shape[1], layers[-1].size
    pre: Preprocessing | None = None
    classes = meta.get("classes") if isinstance(meta.get("classes"), list) else _classes(m)
    binary = n_out == 1 and layers[-1].activation == "sigmoid"
    if classes is not None and len(classes) != (2 if binary else n_out):
        notes.append(f"left out the class labels {classes}: the output layer has "
                     f"{n_out} neurons")
        classes = None
    shift = scale = target_shift = target_scale = None
    if w.shift is not None or w.scale is not None:
        node = m.nodes[0]
        shift = np.zeros(n0) if w.shift is None else _broadcast(m, node, w.shift, n0, "shift")
        scale = np.ones(n0) if w.scale is None else _broadcast(m, node, w.scale, n0, "scale")
    if w.target_shift is not None or w.target_scale is not None:
        node = m.nodes[-1]
        target_shift = (np.zeros(n_out) if w.target_shift is None
                        else _broadcast(m, node, w.target_shift, n_out, "target shift"))
        target_scale = (np.ones(n_out) if w.target_scale is None
                        else _broadcast(m, node, w.target_scale, n_out, "target scale"))
    features, targets = _names(meta.get("features")), _names(meta.get("targets"))
    if features and len(features) != n0:
        features = ()
    if shift is not None or target_shift is not None or classes or features or targets:
        normalize = _method(meta.get("normalize"))
        normalize_target = _method(meta.get("normalize_target"))
        pre = Preprocessing(features, targets, normalize if shift is not None else "none",
                            shift, scale, None if classes is None else tuple(classes),
                            normalize_target if target_shift is not None else "none",
                            target_shift, target_scale)
    chosen = cost or (meta.get("cost") if isinstance(meta.get("cost"), str) else None) \
        or default_cost(layers[-1].activation)
    name = meta.get("name") if isinstance(meta.get("name"), str) else None
    try:
        net = Network(n0, layers, chosen, name=name, preprocessing=pre)
    except ConfigError as exc:
        raise exc.located(file=m.file) from None
    return Imported(net, tuple(notes))


def _method(value: Any) -> str:
    """The scaling's name in the metadata export writes; "standard" for another model's."""
    return value if value in ("standard", "minmax") else "standard"


def _broadcast(m: _Model, node: Any, value: Array, n: int, what: str) -> Array:
    try:
        return np.broadcast_to(value, (1, n)).reshape(n).copy()
    except ValueError:
        raise ConfigError(f"the {what} has shape {list(value.shape)}, which does not give one "
                          f"value per column ({n}): mismatched shapes", file=m.file) from None


def _refuse_external(model: Any, file: str) -> None:
    """Weights in another file are never read (the model must hold its network)."""
    onnx = _onnx()
    tensors = list(model.graph.initializer) + [
        attr.t for node in model.graph.node for attr in node.attribute if attr.name == "value"]
    for tensor in tensors:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            info = {entry.key: entry.value for entry in tensor.external_data}
            size = f", {int(info['length']):,} bytes" if info.get("length", "").isdigit() \
                else ""
            raise ConfigError(
                f"initializer {tensor.name!r} keeps its values in the external file "
                f"{info.get('location', '?')!r}{size}; import reads only models that hold "
                "their weights (onnx.save_model(model, path, save_as_external_data=False))",
                file=file)


def _first_lines(exc: Exception, limit: int = 3) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return " ".join(lines[:limit])


