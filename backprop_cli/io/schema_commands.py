"""JSON Schemas (draft 2020-12) of the documents ``train``, ``train --log``, ``evaluate``,
``predict``, ``check``, ``nudge`` and ``diagnose`` write (the network file's, analyze's, step's
and sensitivity's are in :mod:`backprop_cli.io.schema`). No I/O.

Every document's objects stay open: keys are a contract, kept, and new ones only added. A
non-finite number is written as null, so numbers that can overflow are number-or-null.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.costs import COSTS
from backprop_cli.reports import SCHEMA_VERSION
from backprop_cli.reports.train import STATUSES, EpochRecord, TrainSummary

DRAFT = "https://json-schema.org/draft/2020-12/schema"
CONTRACT = "Keys are a contract: they are kept, new ones only added (optional)."

_NUMBER: dict[str, Any] = {"type": "number"}
_VALUE: dict[str, Any] = {"type": ["number", "null"]}
_VALUES: dict[str, Any] = {"type": "array", "items": _VALUE}
_WHOLE: dict[str, Any] = {"type": "integer", "minimum": 0}
_LAYER: dict[str, Any] = {"type": "integer", "minimum": 1}
_NAME: dict[str, Any] = {"type": ["string", "number", "null"],
                         "description": "the network's name (null: none given)"}
_SIZES: dict[str, Any] = {"type": "array", "items": {"type": "integer", "minimum": 1}}
_LABEL: dict[str, Any] = {"type": ["string", "number", "boolean"],
                          "description": "a class label as the data spells it"}
_DATA: dict[str, Any] = {"type": "object", "required": ["file"],
                         "properties": {"file": {"type": "string"},
                                        "rows": {"type": "integer", "minimum": 0}},
                         "description": "with --data: the CSV file the costs are over"}


def _open(properties: dict[str, Any], required: list[str] | tuple[str, ...] | None = None,
          **more: Any) -> dict[str, Any]:
    """An object with these keys, all required unless ``required`` says otherwise; others
    may be added."""
    return {"type": "object", "properties": properties,
            "required": list(properties if required is None else required), **more}


def _document(title: str, description: str, properties: dict[str, Any],
              required: list[str] | tuple[str, ...] | None = None) -> dict[str, Any]:
    return {"$schema": DRAFT, "title": title, "description": f"{description} {CONTRACT}",
            **_open(properties, required)}


def _param() -> dict[str, Any]:
    return {"layer": _LAYER, "kind": {"enum": ["w", "b"]}, "j": _WHOLE,
            "k": {"type": ["integer", "null"], "minimum": 0,
                  "description": "null for a bias"}}


def metrics_schema() -> dict[str, Any]:
    """evaluate's ``metrics`` (and the train summary's ``train_metrics``/``val_metrics``):
    regression or classification (``kind``)."""
    regression = _open({
        "kind": {"const": "regression"}, "rmse": _VALUE, "mae": _VALUE, "r2": _VALUE,
        "outputs": {"type": "array", "items": _open(
            {"name": {"type": "string", "description": "the target column (a0 … unnamed)"},
             "rmse": _VALUE, "mae": _VALUE, "r2": _VALUE})},
    }, description="in the target's units; rmse/mae/r2 at the top: the mean over outputs")
    averages = _open({"precision": _VALUE, "recall": _VALUE, "f1": _VALUE})
    classification = _open({
        "kind": {"const": "classification"},
        "accuracy": {"type": "number", "minimum": 0, "maximum": 1},
        "classes": {"type": "array", "items": _open(
            {"class": _LABEL, "support": _WHOLE, "precision": _VALUE, "recall": _VALUE,
             "f1": _VALUE})},
        "macro": averages, "weighted": averages,
        "roc_auc": {**_VALUE, "description": "two classes only (else null)"},
        "confusion": {"type": "array", "items": {"type": "array", "items": _WHOLE}},
    })
    return {"oneOf": [regression, classification]}


def _metrics_or_null() -> dict[str, Any]:
    return {"oneOf": [{"type": "null"}, metrics_schema()]}


def _summary_properties() -> dict[str, Any]:
    """The train summary's keys (TrainSummary's fields but ``seconds``)."""
    described: dict[str, Any] = {
        "status": {"enum": list(STATUSES)},
        "epochs_run": _WHOLE,
        "epochs": _WHOLE,
        "best_epoch": {"type": ["integer", "null"], "minimum": 1},
        "stopped_at": {"oneOf": [{"type": "null"}, _open(
            {"epoch": _LAYER, "batches": _WHOLE})],
            "description": "when interrupted or diverged: the epoch and its batches run"},
        "train_rows": _WHOLE,
        "val_rows": _WHOLE,
        "train_cost": {**_VALUE, "description": "C over the training rows at the weights "
                                                "kept (not an epoch record's running cost)"},
        "train_accuracy": _VALUE,
        "val_cost": {**_VALUE, "description": "C over the validation rows at the weights kept"},
        "val_accuracy": _VALUE,
        "train_metrics": _metrics_or_null(),
        "val_metrics": _metrics_or_null(),
    }
    names = [f.name for f in fields(TrainSummary) if f.name != "seconds"]
    assert set(names) == set(described), "TrainSummary gained a field: describe it here"
    return {name: described[name] for name in names}


def train_schema() -> dict[str, Any]:
    """``backprop train … --format json``'s summary (also the last line of ``--log -``)."""
    properties = {"version": {"const": SCHEMA_VERSION}, "type": {"const": "summary"},
                  **_summary_properties(), "cost_function": {"enum": list(COSTS)},
                  "out": {"type": ["string", "null"],
                          "description": "where the trained network was written"}}
    return _document("backprop train --format json",
                     "How training ended and the cost and metrics of the weights kept.",
                     properties)


def train_log_schema() -> dict[str, Any]:
    """One line of ``backprop train --log FILE``: an epoch's record."""
    described: dict[str, Any] = {
        "epoch": _LAYER, "epochs": _WHOLE, "batches": _WHOLE, "batch_count": _WHOLE,
        "train_cost": {**_VALUE, "description": "the same number as running_train_cost "
                                                "(kept for older readers)",
                       "deprecated": True},
        "val_cost": {**_VALUE, "description": "C over the validation rows at the weights "
                                              "after the epoch"},
        "val_accuracy": _VALUE,
        "lr": {**_VALUE, "description": "the learning rate η of the epoch"},
        "val_rmse": _VALUE, "val_mae": _VALUE, "val_r2": _VALUE,
    }
    names = [f.name for f in fields(EpochRecord) if f.name != "seconds"]
    assert set(names) == set(described), "EpochRecord gained a field: describe it here"
    properties = {"type": {"const": "epoch"}, **{n: described[n] for n in names},
                  "running_train_cost": {
                      **_VALUE, "description": "the mean of C0 over the rows the epoch trained "
                                               "on, each at the weights of its batch"}}
    return _document("backprop train --log FILE: one line",
                     "One JSON object per epoch; `--log -` ends with the summary (type "
                     "summary, `backprop schema train`).",
                     properties, [k for k in properties if k not in ("lr", "val_rmse",
                                                                     "val_mae", "val_r2")])


def evaluate_schema() -> dict[str, Any]:
    """``backprop evaluate NET.yaml DATA.csv --format json``."""
    return _document(
        "backprop evaluate --format json",
        "The cost and metrics of a network on CSV data.",
        {"version": {"const": SCHEMA_VERSION}, "network": {"type": "string"},
         "data": {"type": "string"}, "rows": {"type": "integer", "minimum": 1},
         "cost_function": {"enum": list(COSTS)},
         "cost": {**_VALUE, "description": "C, in the units the network was trained in"},
         "target_scaling": {"type": "string"},
         "accuracy": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
         "classes": {"type": ["array", "null"], "items": _LABEL},
         "confusion": {"type": ["array", "null"],
                       "items": {"type": "array", "items": _WHOLE}},
         "metrics": _metrics_or_null()})


def predict_schema() -> dict[str, Any]:
    """``backprop predict NET.yaml DATA.csv --format json``."""
    return _document(
        "backprop predict --format json",
        "a(L) per row, in the data's row order (in the target's units when scaled).",
        {"version": {"const": SCHEMA_VERSION},
         "classes": {"type": ["array", "null"], "items": _LABEL},
         "columns": {"type": "array", "items": {"type": "string"},
                     "description": "the name of each output (as predict's CSV header)"},
         "outputs": {"type": "array", "items": _VALUES},
         "labels": {"type": "array", "items": _LABEL,
                    "description": "with classes: each row's predicted label"},
         "id": {"type": "string", "description": "with --id: the column passed through"},
         "ids": {"type": "array", "items": {"type": "string"},
                 "description": "with --id: each row's value of that column"}},
        ["version", "classes", "outputs"])


def check_schema() -> dict[str, Any]:
    """``backprop check NET.yaml --format json``."""
    param = _open({**_param(), "value": _VALUE, "analytic": _VALUES, "numeric": _VALUES,
                   "full_analytic": _VALUE, "full_numeric": _VALUE,
                   "max_abs_error": _VALUE, "max_rel_error": _VALUE})
    worst = {"oneOf": [{"type": "null"}, {
        **param, "properties": {**param["properties"],
                                "example": {"type": ["integer", "null"], "minimum": 0}}}]}
    layer = _open({"layer": _LAYER, "checked": _WHOLE, "total": _WHOLE, "failed": _WHOLE,
                   "max_abs_error": _VALUE, "max_rel_error": _VALUE, "worst": worst})
    return _document(
        "backprop check --format json",
        "Backprop's gradients against central finite differences.",
        {"version": {"const": SCHEMA_VERSION}, "network": _NAME, "sizes": _SIZES,
         "examples": _WHOLE, "eps": {"type": "number", "exclusiveMinimum": 0},
         "tolerance": _NUMBER, "gradient_floor": _NUMBER, "rel_error": {"type": "string"},
         "sample": {"type": ["integer", "null"]}, "seed": {"type": "integer"},
         "checked": _WHOLE, "failed": _WHOLE, "passed": {"type": "boolean"},
         "layers": {"type": "array", "items": layer},
         "parameters": {"type": "array", "items": param,
                        "description": "with --all: every checked parameter"},
         "data": _DATA},
        ["version", "network", "sizes", "examples", "eps", "tolerance", "gradient_floor",
         "rel_error", "sample", "seed", "checked", "failed", "passed", "layers"])


def nudge_schema() -> dict[str, Any]:
    """``backprop nudge NET.yaml PARAM DELTA --format json``."""
    cost = _open({"before": _VALUE, "after": _VALUE, "actual": _VALUE, "gradient": _VALUE,
                  "predicted": _VALUE, "ratio": _VALUE})
    change = _open({"quantity": {"enum": ["z", "a"]}, "layer": _LAYER, "j": _WHOLE,
                    "before": _VALUE, "after": _VALUE, "actual": _VALUE,
                    "predicted": _VALUE})
    return _document(
        "backprop nudge --format json",
        "A parameter moved by Δ: every z, a and the cost before and after, against the "
        "first-order prediction.",
        {"version": {"const": SCHEMA_VERSION}, "network": _NAME,
         "param": _open({"name": {"type": "string"}, **_param()}),
         "value": _VALUE, "delta": _NUMBER, "after": _VALUE,
         "example": {"type": ["integer", "null"], "minimum": 0},
         "cost": {**cost, "properties": {**cost["properties"],
                                         "name": {"enum": ["C", "C0"]}}},
         "examples": {"type": "array", "items": _open(
             {"index": _WHOLE, "cost": cost, "chain": {"type": "array", "items": change}})}})


def diagnose_schema() -> dict[str, Any]:
    """``backprop diagnose NET.yaml --format json``."""
    stats = _open({"mean": _VALUE, "std": _VALUE, "min": _VALUE, "max": _VALUE})
    layer = _open({"layer": _LAYER, "activation": {"enum": list(ACTIVATIONS)},
                   "size": {"type": "integer", "minimum": 1}, "grad_norm": _VALUE,
                   "grad_ratio": _VALUE, "saturated": _VALUE,
                   "dead": {"type": ["array", "null"], "items": _WHOLE},
                   "weights": stats, "biases": stats, "activations": stats,
                   "zero_inputs": {"type": "boolean"}})
    finding = _open({"severity": {"enum": ["warning", "ok"]}, "code": {"type": "string"},
                     "layer": {"type": ["integer", "null"], "minimum": 1},
                     "message": {"type": "string"}, "suggestion": {"type": "string"}})
    return _document(
        "backprop diagnose --format json",
        "Per-layer statistics and findings (vanishing or exploding gradients, saturation, "
        "dead ReLUs, large weights).",
        {"version": {"const": SCHEMA_VERSION}, "network": _NAME, "sizes": _SIZES,
         "examples": _WHOLE, "cost": _VALUE,
         "thresholds": _open({k: _NUMBER for k in ("saturation", "vanishing", "exploding",
                                                   "saturated_share", "large_weights")}),
         "layers": {"type": "array", "items": layer},
         "findings": {"type": "array", "items": finding},
         "data": _DATA},
        ["version", "network", "sizes", "examples", "cost", "thresholds", "layers",
         "findings"])
