"""Training progress (stderr), the training summary, evaluate's report and predict's rows.

No math here: every number comes from :mod:`backprop_cli.train`.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from backprop_cli.present.json import dumps
from backprop_cli.train import EpochRecord, Evaluation, TrainSummary

REFRESH_SECONDS = 0.1
SCHEMA_VERSION = 1


def _num(x: float | None, digits: int = 6) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def epoch_line(record: EpochRecord) -> str:
    """``epoch  3/30  train cost 0.1234  val cost 0.2345  val accuracy 95.28%  (0.12 s)``."""
    width = len(str(record.epochs))
    parts = [f"epoch {record.epoch:>{width}}/{record.epochs}"]
    if record.batches < record.batch_count:
        parts.append(f"(batch {record.batches}/{record.batch_count})")
    parts.append(f"train cost {_num(record.train_cost)}")
    if record.val_cost is not None:
        parts.append(f"val cost {_num(record.val_cost)}")
    if record.val_accuracy is not None:
        parts.append(f"val accuracy {_pct(record.val_accuracy)}")
    parts.append(f"({record.seconds:.2f} s)")
    return "  ".join(parts)


class TrainDisplay:
    """Per-epoch lines on ``stream`` and, when it is a terminal, a progress bar (epoch, batch,
    current cost, ETA). Nothing at all when ``quiet``."""

    def __init__(self, stream: TextIO, *, quiet: bool, epochs: int, batch_count: int) -> None:
        self.stream = stream
        self.quiet = quiet
        self.epochs = epochs
        self.batch_count = batch_count
        self.progress: Progress | None = None
        self.task: Any = None
        self._last = 0.0
        if not quiet and stream.isatty():
            console = Console(file=stream, highlight=False, emoji=False)
            self.progress = Progress(
                TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
                TextColumn("batch {task.fields[batch]}/{task.fields[batches]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("cost {task.fields[cost]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )

    @property
    def wants_batches(self) -> bool:
        return self.progress is not None

    def __enter__(self) -> TrainDisplay:
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task(
                "train", total=self.epochs * self.batch_count, epoch=1, epochs=self.epochs,
                batch=0, batches=self.batch_count, cost="—",
            )
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.progress is not None:
            self.progress.stop()

    def batch(self, epoch: int, batch: int, cost: float) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if now - self._last < REFRESH_SECONDS and batch != self.batch_count:
            return
        self._last = now
        self.progress.update(
            self.task, completed=(epoch - 1) * self.batch_count + batch, epoch=epoch,
            batch=batch, cost=_num(cost, 4),
        )

    def epoch(self, record: EpochRecord) -> None:
        if self.quiet:
            return
        line = epoch_line(record)
        if self.progress is not None:
            self.progress.console.print(line, markup=False)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    def say(self, message: str) -> None:
        """A message that is shown even with --quiet (interruption, divergence)."""
        if self.progress is not None:
            self.progress.console.print(message, markup=False)
        else:
            self.stream.write(message + "\n")
            self.stream.flush()


# --- the training summary -------------------------------------------------------------------

def render_summary(summary: TrainSummary, out: TextIO, fmt: str, *, cost_name: str,
                   written: str | None, width: int | None = None, compact: bool = False
                   ) -> None:
    """``fmt`` table or json; ``compact``: the JSON on one line (when it follows a --log -)."""
    doc = {"version": SCHEMA_VERSION, **summary.to_dict(), "cost_function": cost_name,
           "out": written}
    if fmt == "json":
        out.write(dumps(doc, indent=None if compact else 2) + "\n")
        return
    console = Console(file=out, width=width, highlight=False, emoji=False)
    s = summary
    how = {
        "completed": f"completed {s.epochs_run} epoch{'s' if s.epochs_run != 1 else ''}",
        "early_stopped": f"stopped early after {s.epochs_run} of {s.epochs} epochs "
                         f"(best validation cost at epoch {s.best_epoch}, kept)",
        "interrupted": f"interrupted after {s.epochs_run} complete of {s.epochs} epochs",
        "diverged": f"diverged after {s.epochs_run} complete of {s.epochs} epochs",
    }.get(s.status, s.status)
    console.print(f"training {how} in {s.seconds:.2f} s; cost C = mean of C0 ({cost_name})",
                  markup=False)
    table = Table()
    table.add_column("split", justify="left")
    for name in ("rows", "cost", "accuracy"):
        table.add_column(name, justify="right")
    table.add_row("train", str(s.train_rows), _num(s.train_cost), _pct(s.train_accuracy))
    if s.val_rows:
        table.add_row("validation", str(s.val_rows), _num(s.val_cost), _pct(s.val_accuracy))
    console.print(table)
    if written:
        console.print(f"wrote {written}", markup=False)


# --- evaluate -------------------------------------------------------------------------------

def evaluation_dict(ev: Evaluation, classes: Sequence[Any] | None, *, network: str,
                    data: str, cost_name: str) -> dict[str, Any]:
    """The JSON document of ``evaluate`` (a contract: keys are kept, new ones only added).

    ``accuracy`` is a fraction 0–1; ``confusion[i][j]`` counts rows of class i predicted as
    class j (classes in ``classes`` order); both None for numeric targets."""
    return {
        "version": SCHEMA_VERSION,
        "network": network,
        "data": data,
        "rows": ev.rows,
        "cost_function": cost_name,
        "cost": ev.cost,
        "accuracy": ev.accuracy,
        "classes": None if classes is None else list(classes),
        "confusion": None if ev.confusion is None else ev.confusion.tolist(),
    }


def render_evaluation(doc: dict[str, Any], out: TextIO, fmt: str,
                      width: int | None = None) -> None:
    if fmt == "json":
        out.write(dumps(doc) + "\n")
        return
    console = Console(file=out, width=width, highlight=False, emoji=False)
    console.print(f"{doc['network']} on {doc['data']}: {doc['rows']} rows", markup=False)
    console.print(f"cost C = mean of C0 ({doc['cost_function']}): {_num(doc['cost'])}",
                  markup=False)
    confusion = doc["confusion"]
    if doc["accuracy"] is None or confusion is None:
        return
    correct = sum(confusion[i][i] for i in range(len(confusion)))
    console.print(f"accuracy: {_pct(doc['accuracy'])} ({correct} of {doc['rows']})",
                  markup=False)
    classes = [str(c) for c in doc["classes"]]
    table = Table(title="Confusion matrix: rows are the true class, columns the predicted one",
                  title_justify="left")
    table.add_column("true \\ predicted", justify="left")
    for name in classes:
        table.add_column(name, justify="right")
    table.add_column("recall", justify="right")
    for i, name in enumerate(classes):
        total = sum(confusion[i])
        recall = confusion[i][i] / total if total else None
        table.add_row(name, *(str(v) for v in confusion[i]), _pct(recall))
    console.print(table)


# --- predict --------------------------------------------------------------------------------

def render_predictions(outputs: Any, classes: Sequence[Any] | None, out: TextIO,
                       fmt: str) -> None:
    """``outputs`` (m, n_L) a(L) per row, in the data's row order; with ``classes`` also the
    predicted label (the class of the largest output). CSV columns a0 … a(n_L−1)[, label]."""
    rows = outputs.tolist()
    labels = None
    if classes is not None:
        labels = [classes[j] for j in outputs.argmax(axis=1).tolist()]
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        n = outputs.shape[1]
        writer.writerow([f"a{j}" for j in range(n)] + (["label"] if labels is not None else []))
        for i, row in enumerate(rows):
            writer.writerow([repr(v) for v in row] + ([labels[i]] if labels is not None else []))
    elif fmt == "ndjson":
        for i, row in enumerate(rows):
            item: dict[str, Any] = {"row": i, "output": row}
            if labels is not None:
                item["label"] = labels[i]
            out.write(dumps(item, indent=None) + "\n")
    else:
        doc: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "classes": None if classes is None else list(classes),
            "outputs": rows,
        }
        if labels is not None:
            doc["labels"] = labels
        out.write(dumps(doc) + "\n")
