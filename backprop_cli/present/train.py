"""Training progress (stderr), and the tables of train's and evaluate's reports.

No math here: every number comes from :mod:`backprop_cli.train`. The reports' JSON is their
``to_dict()`` (:func:`present.json.render_document`).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from rich import box
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from backprop_cli.errors import plural
from backprop_cli.present import Options
from backprop_cli.present.console import make_console
from backprop_cli.present.notation import number, unicode_ok

if TYPE_CHECKING:
    from backprop_cli.train import EpochRecord, EvaluationReport, TrainReport

REFRESH_SECONDS = 0.1


def _pct(x: float | None) -> str:
    return number(None) if x is None else f"{100 * x:.2f}%"


def epoch_line(record: EpochRecord) -> str:
    """``epoch  3/30  train cost 0.1234  val cost 0.2345  val accuracy 95.28%  (0.12 s)``."""
    width = len(str(record.epochs))
    parts = [f"epoch {record.epoch:>{width}}/{record.epochs}"]
    if record.batches < record.batch_count:
        parts.append(f"(batch {record.batches}/{record.batch_count})")
    parts.append(f"train cost {number(record.train_cost)}")
    if record.val_cost is not None:
        parts.append(f"val cost {number(record.val_cost)}")
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
            console = make_console(stream, Options(ascii=not unicode_ok(stream), width=None))
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
            batch=batch, cost=number(cost, 4),
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

def render_summary(report: TrainReport, out: TextIO, options: Options) -> None:
    console = make_console(out, options)
    s = report.summary
    how = {
        "completed": f"completed {plural(s.epochs_run, 'epoch')}",
        "early_stopped": f"stopped early after {s.epochs_run} of {plural(s.epochs, 'epoch')} "
                         f"(best validation cost at epoch {s.best_epoch}, kept)",
        # epochs_run counts the epoch it stopped in, which is complete only after its last batch
        "interrupted": f"interrupted after {s.epochs_run} of {plural(s.epochs, 'epoch')}"
                       if s.stopped_at is None else
                       f"interrupted in epoch {s.stopped_at[0]} of {s.epochs} "
                       f"(after batch {s.stopped_at[1]})",
        "diverged": f"diverged after {s.epochs_run} complete of {plural(s.epochs, 'epoch')}",
    }.get(s.status, s.status)
    console.print(f"training {how} in {s.seconds:.2f} s; cost C = mean of C0 "
                  f"({report.cost_function})")
    table = Table(box=_box(options))
    table.add_column("split", justify="left")
    for name in ("rows", "cost", "accuracy"):
        table.add_column(name, justify="right")
    table.add_row("train", str(s.train_rows), number(s.train_cost, ascii=options.ascii),
                  _pct(s.train_accuracy))
    if s.val_rows:
        table.add_row("validation", str(s.val_rows), number(s.val_cost, ascii=options.ascii),
                      _pct(s.val_accuracy))
    console.print(table)
    if report.out:
        console.print(f"wrote {report.out}")


def _box(options: Options) -> box.Box:
    return box.ASCII2 if options.ascii else box.HEAVY_HEAD


# --- evaluate -------------------------------------------------------------------------------

def render_evaluation(report: EvaluationReport, out: TextIO, options: Options) -> None:
    ev, classes = report.evaluation, report.classes
    console = make_console(out, options)
    console.print(f"{report.network} on {report.data}: {plural(ev.rows, 'row')}")
    console.print(f"cost C = mean of C0 ({report.cost_function}): "
                  f"{number(ev.cost, ascii=options.ascii)}")
    if ev.accuracy is None or ev.confusion is None or ev.recall is None or classes is None:
        return
    console.print(f"accuracy: {_pct(ev.accuracy)} ({ev.correct} of {ev.rows})")
    table = Table(title="Confusion matrix: rows are the true class, columns the predicted one",
                  title_justify="left", box=_box(options))
    table.add_column("true \\ predicted", justify="left")
    names = [str(c) for c in classes]
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("recall", justify="right")
    for name, counts, recall in zip(names, ev.confusion.tolist(), ev.recall, strict=True):
        table.add_row(name, *(str(v) for v in counts), _pct(recall))
    console.print(table)

