"""network → ONNX opset :data:`~backprop_cli.io.onnx_io.OPSET`: input ``input`` (m, n_0)
takes the raw feature columns (the stored scaling is the first nodes), output ``output``
(m, n_L) is a(L) (in the target's units where the targets were scaled, as ``backprop predict``
writes it); one ``Gemm`` per layer with ``B`` = weights (n_l, n_(l−1)), ``transB`` 1, as
torch.onnx writes ``nn.Linear``. Feature, target and class names are in the metadata
(``backprop.*``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop_cli import __version__
from backprop_cli.activations import LEAKY_SLOPE
from backprop_cli.io.onnx_io import ACTIVATION_OPS, DOMAIN, METADATA, OPSET
from backprop_cli.io.onnx_io import onnx as _onnx
from backprop_cli.network import Array, Network

EXPORT_OPS = {name: op for op, name in ACTIVATION_OPS.items()}


def onnx_bytes(net: Network, dtype: str = "float32",
               outputs: Sequence[str] = ()) -> bytes:
    """``net`` as a serialized ONNX model (see the module's docstring) computing in ``dtype``
    (float32 or float64); ``outputs``: each output's name for the metadata."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    np_type = np.dtype(dtype)
    elem = TensorProto.FLOAT if np_type == np.float32 else TensorProto.DOUBLE
    nodes: list[Any] = []
    inits: list[Any] = []
    functions: list[Any] = []

    def const(name: str, value: Array) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np_type), name))
        return name

    tensor = "input"
    pre = net.preprocessing
    if pre is not None and pre.shift is not None and pre.scale is not None:
        nodes.append(helper.make_node("Sub", [tensor, const("shift", pre.shift)], ["centred"],
                                      name="preprocessing_shift"))
        nodes.append(helper.make_node("Div", ["centred", const("scale", pre.scale)],
                                      ["scaled"], name="preprocessing_scale"))
        tensor = "scaled"
    for l, layer in enumerate(net.layers, start=1):  # noqa: E741 - the seed's layer index
        z = f"z{l}"
        nodes.append(helper.make_node(
            "Gemm", [tensor, const(f"layer{l}.weight", layer.weights),
                     const(f"layer{l}.bias", layer.biases)], [z], name=f"layer{l}", transB=1))
        tensor = z
        if layer.activation == "leaky_relu" and np_type == np.float64:
            # max(z, 0.01 z) = leaky ReLU bit for bit; onnxruntime has no float64 LeakyRelu
            nodes.append(helper.make_node("Mul", [z, const(f"layer{l}.slope",
                                                                  np.array(LEAKY_SLOPE))],
                                          [f"slope_z{l}"], name=f"sigma{l}_slope"))
            nodes.append(helper.make_node("Max", [z, f"slope_z{l}"], [f"a{l}"],
                                          name=f"sigma{l}"))
            tensor = f"a{l}"
        elif layer.activation == "softplus" and np_type == np.float64:
            # onnxruntime has no float64 Softplus: a function of the same math, in our domain
            nodes.append(helper.make_node("Softplus", [z], [f"a{l}"], name=f"sigma{l}",
                                          domain=DOMAIN))
            functions = [_softplus_function(helper, np_type)]
            tensor = f"a{l}"
        elif layer.activation != "linear":
            op = EXPORT_OPS[layer.activation]
            extra: dict[str, Any] = {"alpha": LEAKY_SLOPE} if op == "LeakyRelu" else \
                {"axis": -1} if op == "Softmax" else {}
            nodes.append(helper.make_node(op, [z], [f"a{l}"], name=f"sigma{l}", **extra))
            tensor = f"a{l}"
    if pre is not None and pre.target_shift is not None and pre.target_scale is not None:
        nodes.append(helper.make_node("Mul", [tensor, const("target_scale", pre.target_scale)],
                                      ["unscaled"], name="target_scale"))
        nodes.append(helper.make_node("Add", ["unscaled", const("target_shift",
                                                                pre.target_shift)],
                                      ["shifted"], name="target_shift"))
        tensor = "shifted"
    nodes.append(helper.make_node("Identity", [tensor], ["output"], name="output"))
    graph = helper.make_graph(
        nodes, net.name if isinstance(net.name, str) and net.name else "backprop_network",
        [helper.make_tensor_value_info("input", elem, ["m", net.input_size])],
        [helper.make_tensor_value_info("output", elem, ["m", net.output_size])], inits)
    opsets = [helper.make_opsetid("", OPSET)]
    if functions:
        opsets.append(helper.make_opsetid(DOMAIN, 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="backprop_cli",
                              producer_version=__version__, functions=functions)
    # IR 7 is opset 13's; model-local functions came with IR 8
    model.ir_version = max(helper.find_min_ir_version_for(opsets[:1]), 8 if functions else 0)
    meta: dict[str, Any] = {"cost": net.cost, "activations": [la.activation for la in
                                                               net.layers]}
    if net.name is not None:
        meta["name"] = str(net.name)
    if outputs:
        meta["outputs"] = list(outputs)
    if pre is not None:
        meta.update(features=list(pre.features), targets=list(pre.targets),
                    normalize=pre.normalize, normalize_target=pre.normalize_target)
        if pre.classes is not None:
            meta["classes"] = list(pre.classes)
    helper.set_model_props(model, {METADATA + key: json.dumps(value, ensure_ascii=False)
                                   for key, value in meta.items()})
    onnx.checker.check_model(model, full_check=True)
    return bytes(model.SerializeToString())


def _softplus_function(helper: Any, np_type: np.dtype[Any]) -> Any:
    """softplus(z) = max(z, 0) + ln(1 + e^−|z|) as a model-local function (e^−|z| ≤ 1 never
    overflows; ln(1 + ·) instead of numpy's log1p differs by less than 1e-16 · (1 + |z|))."""
    one = helper.make_tensor("one", 1 if np_type == np.float32 else 11, [], [1.0])
    body = [helper.make_node("Constant", [], ["one"], value=one),
            helper.make_node("Abs", ["z"], ["abs"]),
            helper.make_node("Neg", ["abs"], ["neg"]),
            helper.make_node("Exp", ["neg"], ["exp"]),
            helper.make_node("Add", ["exp", "one"], ["sum"]),
            helper.make_node("Log", ["sum"], ["log"]),
            helper.make_node("Relu", ["z"], ["relu"]),
            helper.make_node("Add", ["relu", "log"], ["a"])]
    return helper.make_function(DOMAIN, "Softplus", ["z"], ["a"], body,
                                [helper.make_opsetid("", OPSET)])
