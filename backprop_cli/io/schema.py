"""JSON Schemas (draft 2020-12) of the network file and of the JSON that ``analyze``,
``step`` and ``sensitivity`` write (``--format json``); the other commands' documents are in
:mod:`backprop_cli.io.schema_commands`, and :func:`schema` gives any of :data:`KINDS`. No I/O.

The enumerations (activations, costs, init methods) come from the registries, so a new
activation is in the schema as soon as it is registered. ``schema/*.schema.json`` in the
repository are these documents as ``schema_text`` writes them (a test keeps them in step).
"""

from __future__ import annotations

import json
from typing import Any

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.choices import NORMALIZE
from backprop_cli.costs import COSTS
from backprop_cli.errors import UsageError
from backprop_cli.io.config import EXAMPLE_KEYS
from backprop_cli.reports import SCHEMA_VERSION
from backprop_cli.reports.rows import ROW_FIELDS
from backprop_cli.reports.sensitivity import FEATURE_FIELDS, SORTS
from backprop_cli.reports.step import PARAM_FIELDS
from backprop_cli.scaffold import INIT_METHODS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# every JSON document the tool writes; "output" is "analyze"'s older name
KINDS = ("network", "analyze", "output", "train", "train-log", "evaluate", "predict", "check",
         "nudge", "diagnose", "step", "sensitivity")

_NUMBER: dict[str, Any] = {"type": "number"}
_VECTOR: dict[str, Any] = {"type": "array", "items": _NUMBER}
# analyze writes a non-finite value as null
_VALUE: dict[str, Any] = {"type": ["number", "null"]}
_VALUES: dict[str, Any] = {"type": "array", "items": _VALUE}
_MATRIX: dict[str, Any] = {"type": "array", "items": _VALUES}
_WHOLE: dict[str, Any] = {"type": "integer", "minimum": 0}


def _object(properties: dict[str, Any], required: list[str], closed: bool = True,
            **more: Any) -> dict[str, Any]:
    """An object with these keys; ``closed``: no others (the network file refuses unknown
    keys; analyze's output may gain keys in later versions, so its objects stay open)."""
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": not closed, **more}


def network_schema() -> dict[str, Any]:
    """The network file (``backprop analyze NET.yaml``)."""
    layer = _object(
        {
            "size": {"type": "integer", "minimum": 1,
                     "description": "n_l, the number of neurons in this layer"},
            "activation": {"enum": list(ACTIVATIONS), "default": "sigmoid",
                           "description": "σ; softmax only on the output layer"},
            "weights": {"type": "array", "items": _VECTOR,
                        "description": "n_l rows × n_(l−1) columns: weights[j][k] = w(l)jk"},
            "biases": {**_VECTOR, "description": "n_l values: biases[j] = b(l)j"},
        },
        ["size"],
    )
    example = _object(
        {"input": {**_VECTOR, "description": "input_size values: a(0)"},
         "target": {**_VECTOR, "description": "one value per output neuron: y"}},
        list(EXAMPLE_KEYS),
    )
    init = _object(
        {"method": {"enum": list(INIT_METHODS), "default": "xavier"},
         "seed": {**_WHOLE, "default": 0},
         "scale": {**_NUMBER, "description": "multiplies the method's spread"}},
        [],
        description="draws the weights and biases a layer does not give",
    )
    properties: dict[str, Any] = {
        "name": {"type": ["string", "number"]},
        "input_size": {"type": "integer", "minimum": 1,
                       "description": "n_0, the number of inputs (layer 0)"},
        "cost": {"enum": list(COSTS), "default": "squared_error"},
        "layers": {"type": "array", "minItems": 1, "items": layer,
                   "description": "layers 1 … L in order; the last one is the output layer"},
        "examples": {"type": "array", "minItems": 1, "items": example},
        "init": init,
        "training": {"type": "object", "description": "written by backprop train"},
        "preprocessing": {"type": "object", "description": "written by backprop train"},
    }
    return {
        "$schema": DRAFT,
        "title": "backprop_cli network file",
        "description": "A fully-connected network: sizes, activations, weights, biases and "
        "examples. Weights and biases may be left out of a layer when an init block is given.",
        **_object(properties, ["input_size", "layers"]),
        "if": {"not": {"required": ["init"]}},
        "then": {"properties": {"layers": {"items": {"required": ["weights", "biases"]}}}},
    }


def _open(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return _object(properties, required, closed=False)


def output_schema() -> dict[str, Any]:
    """The document ``backprop analyze NET.yaml --format json`` writes."""
    layer_example = _open(
        {
            "layer": {"type": "integer", "minimum": 1},
            "activation": {"enum": list(ACTIVATIONS)},
            "z": _VALUES, "a": _VALUES, "dC_da": _VALUES,
            "da_dz": {"type": "array",
                      "description": "∂a/∂z per neuron, or the Jacobian rows for softmax"},
            "dC_dz": _VALUES, "dz_dw": _VALUES, "dC_dw": _MATRIX, "dC_db": _VALUES,
            "dC_da_prev": _VALUES,
        },
        ["layer", "activation", "z", "a", "dC_da", "da_dz", "dC_dz", "dz_dw", "dC_dw", "dC_db",
         "dC_da_prev"],
    )
    which = {"anyOf": [_WHOLE, {"const": "mean"}],
             "description": "the example's index, or \"mean\": the mean over --data's rows"}
    example = _open(
        {"index": which, "input": _VALUES, "target": _VALUES, "output": _VALUES,
         "cost": _VALUE, "layers": {"type": "array", "items": layer_example},
         "rows": {"type": "integer", "minimum": 1,
                  "description": "with --data: how many rows the mean is over"}},
        ["index", "input", "target", "output", "cost", "layers"],
    )
    network = _open(
        {
            "name": {"type": ["string", "null"]},
            "input_size": {"type": "integer", "minimum": 1},
            "sizes": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "cost": {"enum": list(COSTS)},
            "layers": {"type": "array", "items": _open(
                {"layer": {"type": "integer", "minimum": 1},
                 "size": {"type": "integer", "minimum": 1},
                 "activation": {"enum": list(ACTIVATIONS)},
                 "weights": _MATRIX, "biases": _VALUES},
                ["layer", "size", "activation", "weights", "biases"],
            )},
        },
        ["name", "input_size", "sizes", "cost", "layers"],
    )
    gradient = _open(
        {"layers": {"type": "array", "items": _open(
            {"layer": {"type": "integer", "minimum": 1}, "dC_dw": _MATRIX, "dC_db": _VALUES},
            ["layer", "dC_dw", "dC_db"],
        )}},
        ["layers"],
    )
    top = {"type": "array", "items": _open(
        {"layer": {"type": "integer", "minimum": 1}, "kind": {"enum": ["w", "b"]}, "j": _WHOLE,
         "k": {"type": ["integer", "null"], "minimum": 0}, "gradient": _VALUE},
        ["layer", "kind", "j", "k", "gradient"],
    )}
    paths = {"type": "array", "items": _open(
        {"example": which, "layer": {"type": "integer", "minimum": 1}, "k": _WHOLE,
         "sum": _VALUE,
         "terms": {"type": "array", "items": _open(
             {"j": _WHOLE, "w": _VALUE, "da_dz": _VALUE, "dC_da": _VALUE, "dC_dz": _VALUE,
              "term": _VALUE},
             ["j", "w", "da_dz", "dC_da", "dC_dz", "term"],
         )}},
        ["example", "layer", "k", "sum", "terms"],
    ), "description": "with --paths: ∂C0/∂a(l−1)k split into its terms w(l)jk · ∂C0/∂z(l)j"}
    return {
        "$schema": DRAFT,
        "title": "backprop analyze --format json",
        "description": "Keys are a contract: they are kept, new ones only added (optional).",
        "type": "object",
        "properties": {
            "version": {"const": SCHEMA_VERSION},
            "network": network,
            "cost": _VALUE,
            "examples": {"type": "array", "items": example},
            "gradient": gradient,
            "top": top,
            "paths": paths,
            "params": {"type": "array", "items": _open(
                {"example": which, "layer": {"type": "integer", "minimum": 1},
                 "kind": {"enum": ["w", "b"]}, "j": _WHOLE,
                 "k": {"type": ["integer", "null"], "minimum": 0}, "value": _VALUE,
                 "dC_da": _VALUE, "da_dz": _VALUE, "dC_dz": _VALUE, "dz_dw": _VALUE,
                 "gradient": _VALUE, "mean_gradient": _VALUE},
                list(ROW_FIELDS),
            ), "description": "with --param: the chosen parameters' rows (as in --format csv), "
                              "per example"},
            "data": _open(
                {"file": {"type": "string"}, "rows": {"type": "integer", "minimum": 1},
                 "features": {"type": "array", "items": {"type": "string"}},
                 "targets": {"type": "array", "items": {"type": "string"}},
                 "normalize": {"enum": list(NORMALIZE)},
                 "classes": {"type": "array"},
                 "chunk_rows": {"type": "integer", "minimum": 1,
                                "description": "rows read at a time (--chunk-rows)"},
                 "chunks": {"type": "integer", "minimum": 1,
                            "description": "how many chunks the rows were read in"}},
                ["file", "rows"],
            ) | {"description": "with --data: the CSV file the means are over"},
        },
        "required": ["version", "network", "cost", "examples", "gradient"],
    }


def step_schema() -> dict[str, Any]:
    """The document ``backprop step NET.yaml --lr η --format json`` writes."""
    cost_step = _open(
        {"step": {"type": "integer", "minimum": 1}, "before": _VALUE, "after": _VALUE,
         "actual": _VALUE, "predicted": _VALUE, "ratio": _VALUE,
         "gradient_norm": {**_VALUE, "description": "‖∇C‖ before the step"},
         "holds": {"type": "boolean",
                   "description": "whether the first-order prediction held: the cost did "
                                  "not go up, and |actual − predicted| ≤ 50% of |predicted|"}},
        ["step", "before", "after", "actual", "predicted", "ratio", "gradient_norm", "holds"],
    )
    parameter = _open(
        {"name": {"type": "string", "description": "w2.0.1 for w(2)01, b3.0 for b(3)0"},
         "layer": {"type": "integer", "minimum": 1}, "kind": {"enum": ["w", "b"]},
         "j": _WHOLE, "k": {"type": ["integer", "null"], "minimum": 0},
         "value": {**_VALUE, "description": "θ before the first step"},
         "gradient": {**_VALUE, "description": "∂C/∂θ before the first step"},
         "nudge": {**_VALUE, "description": "−η·∂C/∂θ: the first step's change of θ"},
         "after": {**_VALUE, "description": "θ after the last step"}},
        list(PARAM_FIELDS),
    )
    return {
        "$schema": DRAFT,
        "title": "backprop step --format json",
        "description": "Gradient descent θ ← θ − η·∂C/∂θ. Keys are a contract: they are kept, "
                       "new ones only added (optional).",
        "type": "object",
        "properties": {
            "version": {"const": SCHEMA_VERSION},
            "network": {"type": ["string", "null"]},
            "lr": {"type": "number", "exclusiveMinimum": 0, "description": "η"},
            "steps": {"type": "integer", "minimum": 1},
            "rows": {"type": "integer", "minimum": 1,
                     "description": "how many examples (or --data rows) C is the mean over"},
            "cost": _open({"name": {"const": "C"}, "before": _VALUE, "after": _VALUE,
                           "actual": _VALUE,
                           "predicted": {**_VALUE, "description": "−η‖∇C‖² (one step only)"}},
                          ["name", "before", "after", "actual", "predicted"]),
            "prediction_holds": {"type": "boolean"},
            "note": {"type": ["string", "null"],
                     "description": "why η is too large for the first-order prediction"},
            "per_step": {"type": "array", "items": cost_step},
            "parameters": {"type": "array", "items": parameter},
            "data": _open({"file": {"type": "string"}, "rows": {"type": "integer"}}, ["file"])
            | {"description": "with --data: the CSV file C is the mean over"},
        },
        "required": ["version", "network", "lr", "steps", "rows", "cost", "prediction_holds",
                     "note", "per_step", "parameters"],
    }


def sensitivity_schema() -> dict[str, Any]:
    """The document ``backprop sensitivity NET.yaml --format json`` writes."""
    feature = _open(
        {"rank": {"type": "integer", "minimum": 1, "description": "1: the largest --sort value"},
         "index": {**_WHOLE, "description": "k: the input a(0)k this feature feeds"},
         "name": {"type": ["string", "null"],
                  "description": "the feature column's name (null: the network knows none)"},
         "mean_dC_dx": {**_VALUE, "description": "mean over the rows of ∂C0/∂xk (signed)"},
         "mean_abs_dC_dx": {**_VALUE, "description": "mean over the rows of |∂C0/∂xk|"},
         "mean_abs_dy_dx": {**_VALUE, "description": "mean over the rows of Σj |∂a(L)j/∂xk| "
                                                     "(j = output alone when given)"},
         "scale": {**_VALUE, "description": "the stored scaling's divisor of this feature: "
                                            "per raw unit, ∂C0/∂raw = ∂C0/∂x / scale (null: "
                                            "x is the raw feature)"}},
        list(FEATURE_FIELDS),
    )
    return {
        "$schema": DRAFT,
        "title": "backprop sensitivity --format json",
        "description": "Each input feature's effect on the cost and the output, over the rows. "
                       "Keys are a contract: they are kept, new ones only added (optional).",
        "type": "object",
        "properties": {
            "version": {"const": SCHEMA_VERSION},
            "network": {"type": ["string", "number", "null"]},
            "sizes": {"type": "array", "items": {"type": "integer", "minimum": 1}},
            "cost": {**_VALUE, "description": "C, the mean of C0 over the rows"},
            "rows": {"type": "integer", "minimum": 1},
            "sort": {"enum": list(SORTS), "description": "the column the features are ranked "
                                                          "by (mean_dC_dx: by its size)"},
            "output": {"type": ["integer", "null"], "minimum": 0,
                       "description": "--output j, or null: summed over the outputs"},
            "x": {"enum": ["normalized", "raw"],
                  "description": "normalized: x is the feature after the stored scaling"},
            "normalize": {"enum": list(NORMALIZE)},
            "image": {"oneOf": [{"type": "null"}, _open(
                {"height": {"type": "integer", "minimum": 1},
                 "width": {"type": "integer", "minimum": 1}}, ["height", "width"])]},
            "features": {"type": "array", "items": feature,
                         "description": "every input, in rank order"},
            "data": _open({"file": {"type": "string"}, "rows": {"type": "integer"}}, ["file"])
            | {"description": "with --data: the CSV file the means are over"},
        },
        "required": ["version", "network", "sizes", "cost", "rows", "sort", "output", "x",
                     "normalize", "image", "features"],
    }


def schema(kind: str = "network") -> dict[str, Any]:
    """The schema of ``kind``, one of :data:`KINDS`."""
    from backprop_cli.io import schema_commands as c

    if kind not in KINDS:
        raise UsageError(f"schema {kind!r}: expected one of: {', '.join(KINDS)}")
    return {"network": network_schema, "analyze": output_schema, "output": output_schema,
            "train": c.train_schema, "train-log": c.train_log_schema,
            "evaluate": c.evaluate_schema, "predict": c.predict_schema,
            "check": c.check_schema, "nudge": c.nudge_schema, "diagnose": c.diagnose_schema,
            "step": step_schema, "sensitivity": sensitivity_schema}[kind]()


def schema_text(kind: str = "network", ascii: bool = False) -> str:
    """The schema as the committed ``schema/<kind>.schema.json`` holds it (``ascii``: the
    same JSON with \\u escapes, for a stream that is not UTF-8)."""
    return json.dumps(schema(kind), indent=2, ensure_ascii=ascii) + "\n"
