"""What training, evaluation and prediction report: the per-epoch records, the summary, the
evaluation of a trained network on rows and the predicted classes; the cost per epoch as a
series (from the records or a ``train --log`` file). No printing, no files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from backprop_cli.engine import cost0, mean_cost, predict
from backprop_cli.engine import forward as engine_forward
from backprop_cli.network import Array, Label, Network, Preprocessing
from backprop_cli.reports import SCHEMA_VERSION, finite_or_none
from backprop_cli.reports.metrics import (
    ClassMetrics,
    ClassTally,
    Metrics,
    RegressionTally,
    predicted_classes,
)

STATUSES = ("completed", "early_stopped", "interrupted", "diverged")


@dataclass(frozen=True)
class EpochRecord:
    """One epoch. ``train_cost``: the mean of C0 over the rows it trained on (each at the
    weights of its batch); ``val_cost``/``val_accuracy`` at the weights after the epoch
    (None without validation rows, or accuracy without class labels), and for numeric
    targets ``val_rmse``/``val_mae``/``val_r2`` in the target's units (the mean over the
    outputs; None otherwise). ``batches`` run of ``batch_count``; fewer when the epoch was
    interrupted or diverged. ``lr``: the learning rate η of the epoch (train --lr-schedule);
    the costs include train --weight-decay's (λ/2)·Σw²."""

    epoch: int
    epochs: int
    batches: int
    batch_count: int
    train_cost: float
    val_cost: float | None
    val_accuracy: float | None
    seconds: float
    lr: float | None = None
    val_rmse: float | None = None
    val_mae: float | None = None
    val_r2: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Without ``seconds``: times vary from run to run, so they go to stderr only and the
        --log records of the same command are byte-identical. ``"type": "epoch"`` tells the
        record from the summary (``"type": "summary"``) on ``train --log -``'s stdout.
        ``running_train_cost`` is ``train_cost`` under the name that says what it is (the
        summary's ``train_cost`` is the cost at the weights kept); ``train_cost`` stays, the
        same number, for the readers of older logs."""
        out = {"type": "epoch", **asdict(self)}
        del out["seconds"]
        out["running_train_cost"] = self.train_cost
        return out


def measure(net: Network, a: Array, targets: Array, labels: NDArray[np.intp] | None,
            classes: tuple[Label, ...] | None = None,
            preprocessing: Preprocessing | None = None, scaled: bool = True) -> Metrics:
    """The metrics of outputs a(L) ``a`` (m, n_L) of ``net``: against ``labels`` (m,) with
    ``classes`` (default: 0 … K−1) for a classifier, else against ``targets`` (m, n_L) in
    the target's units: a(L) is brought back to them by ``preprocessing``, and ``targets``
    too when ``scaled`` (as the network sees them)."""
    if labels is not None:
        tally = ClassTally(classes or tuple(range(net.class_count)))
        tally.add(a, labels)
        return tally.result()
    pre = preprocessing
    names = pre.targets if pre is not None and len(pre.targets) == a.shape[1] else tuple(
        f"a{j}" for j in range(a.shape[1]))
    regression = RegressionTally(names)
    if pre is None:
        regression.add(a, targets)
    else:
        regression.add(pre.unscale_outputs(a),
                       pre.unscale_outputs(targets) if scaled else targets)
    return regression.result()


def _metric_dict(metrics: Metrics | None) -> dict[str, Any] | None:
    return None if metrics is None else metrics.to_dict()


@dataclass(frozen=True)
class TrainSummary:
    """How training ended (``status``, one of :data:`STATUSES`) and the cost C and accuracy of
    the weights kept; None where not finite or not applicable. ``stopped_at`` = (epoch,
    batches run in it) when interrupted or diverged."""

    status: str
    epochs_run: int
    epochs: int
    best_epoch: int | None
    stopped_at: tuple[int, int] | None
    train_rows: int
    val_rows: int
    train_cost: float | None
    train_accuracy: float | None
    val_cost: float | None
    val_accuracy: float | None
    seconds: float
    train_metrics: Metrics | None = None
    val_metrics: Metrics | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:  # the JSON summary's "status" is one of these
            raise ValueError(f"status {self.status!r}: expected one of {STATUSES}")

    def to_dict(self) -> dict[str, Any]:
        """Without ``seconds`` (shown in the table only), so that the JSON is reproducible;
        ``train_metrics``/``val_metrics`` as evaluate's ``metrics``."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        del out["seconds"]
        out["stopped_at"] = None if self.stopped_at is None else {
            "epoch": self.stopped_at[0], "batches": self.stopped_at[1]}
        out["train_metrics"] = _metric_dict(self.train_metrics)
        out["val_metrics"] = _metric_dict(self.val_metrics)
        return out


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The cost C (mean of C0) of ``net`` on m rows; for classifiers the accuracy (0–1) and
    ``confusion`` (K, K) with ``[i, j]`` = rows of class i predicted as class j, ``correct``
    the rows predicted right and ``recall`` (K,) per class the share of its rows predicted
    right (None for a class without rows). ``metrics``: every metric
    (:mod:`~backprop_cli.reports.metrics`), in the target's units for numeric targets."""

    rows: int
    cost: float
    accuracy: float | None
    confusion: NDArray[np.int64] | None
    correct: int | None = None
    recall: tuple[float | None, ...] | None = None
    metrics: Metrics | None = None


def evaluate(net: Network, inputs: Array, targets: Array,
             labels: NDArray[np.intp] | None = None, *,
             classes: tuple[Label, ...] | None = None,
             preprocessing: Preprocessing | None = None) -> Evaluation:
    """Evaluate in float64: inputs (m, n_0) as the network sees them, targets (m, n_L) in
    their units, labels (m,) class indices into ``classes``. The cost compares a(L) with the
    targets as the network was trained on them (scaled by ``preprocessing``'s target
    scaling); the metrics compare predictions and targets in the target's units. A forward
    pass that overflows is refused as ``analyze`` refuses it (:class:`NumericalError` naming
    the layer, the neuron and the row), even where the cost would stay finite."""
    zs, acts = engine_forward(net, inputs)
    a = acts[-1]
    raw = np.asarray(targets, dtype=np.float64)
    y = raw if preprocessing is None else preprocessing.scale_targets(raw)
    c0 = cost0(net, zs[-1], a, y)
    metrics = measure(net, a, raw, labels, classes, preprocessing, scaled=False)
    if labels is None:
        return Evaluation(len(c0), mean_cost(c0), None, None, metrics=metrics)
    assert isinstance(metrics, ClassMetrics)
    confusion = metrics.confusion
    correct = int(np.trace(confusion))
    recall = tuple(None if total == 0 else right / total
                   for right, total in zip(np.diagonal(confusion).tolist(),
                                           confusion.sum(axis=1).tolist(), strict=True))
    return Evaluation(len(c0), mean_cost(c0), correct / len(c0), confusion, correct,
                      recall, metrics)


@dataclass(frozen=True)
class TrainReport:
    """``train``'s report: how training ended, the cost function and where the weights went."""

    summary: TrainSummary
    cost_function: str
    out: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"version": SCHEMA_VERSION, "type": "summary", **self.summary.to_dict(),
                "cost_function": self.cost_function, "out": self.out}


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """``evaluate``'s report: ``evaluation`` of the network file ``network`` on the CSV file
    ``data``; ``classes`` the labels in the confusion matrix's order (None: numeric targets)."""

    evaluation: Evaluation
    classes: tuple[Label, ...] | None
    network: str
    data: str
    cost_function: str
    target_scaling: str = "none"

    def to_dict(self) -> dict[str, Any]:
        """``accuracy`` is a fraction 0–1; ``confusion[i][j]`` counts rows of class i predicted
        as class j (classes in ``classes`` order); both None for numeric targets. ``cost`` is
        in the units the network was trained in (targets scaled by ``target_scaling``);
        ``metrics`` in the target's units."""
        ev = self.evaluation
        return {
            "version": SCHEMA_VERSION,
            "network": self.network,
            "data": self.data,
            "rows": ev.rows,
            "cost_function": self.cost_function,
            "cost": ev.cost,
            "target_scaling": self.target_scaling,
            "accuracy": ev.accuracy,
            "classes": None if self.classes is None else list(self.classes),
            "confusion": None if ev.confusion is None else ev.confusion.tolist(),
            "metrics": _metric_dict(ev.metrics),
        }


def predict_rows(net: Network, inputs: Array) -> Array:
    """The outputs (m, n_L) of ``net`` for the rows ``inputs`` (m, n_0): a(L), brought back
    to the target's units where the network's preprocessing scaled its targets."""
    outputs = predict(net, inputs)
    pre = net.preprocessing
    return outputs if pre is None else pre.unscale_outputs(outputs)


def output_names(net: Network, classes: tuple[Label, ...] | None,
                 targets: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The name of each output of ``net`` in predict's output: ``p_<class>`` (the probability
    of that class) for a classifier (one sigmoid output: the second class's), else the numeric
    target columns' names (``targets``, as --target names them, else those the network was
    trained on), else ``a0`` … ``a(n_L−1)``."""
    n = net.output_size
    if classes is not None and n == len(classes):
        return tuple(f"p_{c}" for c in classes)
    if classes is not None and n == 1 and len(classes) == 2:
        return (f"p_{classes[1]}",)
    pre = net.preprocessing
    named = targets or (pre.targets if pre is not None else ())
    if classes is None and len(named) == n:
        return tuple(named)
    return tuple(f"a{j}" for j in range(n))


@dataclass(frozen=True, eq=False)
class Predictions:
    """``predict``'s report: ``outputs`` (m, n_L) a(L) per row (in the target's units when
    the targets were scaled), in the data's row order; with ``classes``, also each row's
    predicted label (the class of its largest output; with one sigmoid output, the second
    class where a(L) > 0.5). ``names``: each output's name (:func:`output_names`; None:
    ``a0`` …); ``ids``: predict --id's column ``id`` (its name), one value per row."""

    outputs: Array
    classes: tuple[Label, ...] | None
    names: tuple[str, ...] | None = None
    id: str | None = None
    ids: list[str] | None = None

    @property
    def labels(self) -> list[Label] | None:
        if self.classes is None:
            return None
        return [self.classes[j] for j in predicted_classes(self.outputs).tolist()]

    @property
    def columns(self) -> list[str]:
        """The outputs' names, as the CSV header writes them."""
        return list(self.names or (f"a{j}" for j in range(self.outputs.shape[1])))

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "classes": None if self.classes is None else list(self.classes),
            "columns": self.columns,
            "outputs": self.outputs.tolist(),
        }
        labels = self.labels
        if labels is not None:
            doc["labels"] = labels
        if self.ids is not None:
            doc["id"] = self.id
            doc["ids"] = self.ids
        return doc


@dataclass(frozen=True)
class CostSeries:
    """``train[i]``/``val[i]``: the costs after epoch ``epochs[i]`` (None: not measured or not
    finite)."""

    epochs: tuple[int, ...]
    train: tuple[float | None, ...]
    val: tuple[float | None, ...]

    @property
    def has_val(self) -> bool:
        return any(v is not None for v in self.val)

    def values(self) -> list[float]:
        return [v for v in (*self.train, *self.val) if v is not None]


def series(records: Iterable[Mapping[str, Any]]) -> CostSeries:
    """From per-epoch dicts with "epoch", "train_cost" and "val_cost" (EpochRecord.to_dict);
    a summary (``"type": "summary"``, as ``train --log -`` ends with) is skipped."""
    rows = [r for r in records if r.get("type", "epoch") == "epoch"]
    return CostSeries(tuple(int(r["epoch"]) for r in rows),
                      tuple(finite_or_none(r.get("train_cost")) for r in rows),
                      tuple(finite_or_none(r.get("val_cost")) for r in rows))
