"""What ONNX import and export share: the opset, the names export writes, the activation ops,
and the ``onnx`` package (the optional [onnx] extra), imported only by :func:`onnx`."""

from __future__ import annotations

from typing import Any

from backprop_cli.io.model_files import require

OPSET = 13  # every op export writes has had its present form since opset 13
DOMAIN = "backprop_cli"  # of the model-local functions export writes (float64 Softplus)
METADATA = "backprop."  # the prefix of the metadata keys export writes

# ONNX activation op → the tool's activation; Identity (and none) is "linear".
ACTIVATION_OPS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu",
                  "LeakyRelu": "leaky_relu", "Softplus": "softplus", "Softmax": "softmax"}


def onnx() -> Any:
    """The onnx package, or a UsageError naming the command that installs it."""
    return require("onnx", "reading or writing ONNX")
