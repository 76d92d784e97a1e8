"""Training progress (stderr), and the tables of train's and evaluate's reports.

No math here: every number comes from :mod:`backprop_cli.train`. The reports' JSON is their
``to_dict()`` (:func:`present.json.render_document`).
"""

from __future__ import annotations

import math
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from rich import box
from rich.table import Table

from backprop_cli.errors import plural
from backprop_cli.present import Options
from backprop_cli.present.chart import wrap_parts
from backprop_cli.present.console import make_console, stream_width
from backprop_cli.present.notation import number, unicode_ok
from backprop_cli.reports.metrics import RegressionMetrics

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

    from backprop_cli.reports.metrics import Metrics
    from backprop_cli.reports.train import EpochRecord, TrainReport

REFRESH_SECONDS = 0.1
# Without --verbose, per-epoch lines for at most this many evenly spaced epochs (the first and
# the last among them), plus the best one.
SHOWN_EPOCHS = 20
def _pct(x: float | None) -> str:
    return number(None) if x is None else f"{100 * x:.2f}%"


# The labels of an epoch line, from the longest to the shortest form, with the significant
# digits of its costs: the first form that fits the width is used.
_FORMS = (
    ("epoch ", "  ", "train cost", "val cost", "val accuracy", 6),
    ("epoch ", " ", "train C", "val C", "val acc", 6),
    ("epoch ", " ", "train C", "val C", "val acc", 4),
    ("epoch ", " ", "train C", "val C", "acc", 4),
    ("", " ", "train C", "val C", "acc", 4),
)


def epoch_line(record: EpochRecord, width: int | None = None) -> str:
    """``epoch  3/30  train cost 0.1234  val cost 0.2345  val accuracy 95.28%  (0.12 s)``,
    in the longest form that fits ``width`` (shorter labels, then fewer digits); lines wrap
    between their parts rather than cut one."""
    digits = len(str(record.epochs))
    line = ""
    for epoch_word, gap, train, val, acc, precision in _FORMS:
        parts = [f"{epoch_word}{record.epoch:>{digits}}/{record.epochs}"]
        if record.batches < record.batch_count:
            parts.append(f"(batch {record.batches}/{record.batch_count})")
        parts.append(f"{train} {number(record.train_cost, precision)}")
        if record.val_cost is not None:
            parts.append(f"{val} {number(record.val_cost, precision)}")
        if record.val_accuracy is not None:
            parts.append(f"{acc} {_pct(record.val_accuracy)}")
        if record.val_rmse is not None:  # numeric targets: in the target's units
            rmse, r2 = ("val RMSE", "val R²") if val == "val cost" else ("RMSE", "R²")
            parts.append(f"{rmse} {number(record.val_rmse, precision)}")
            parts.append(f"{r2} {number(record.val_r2, precision)}")
        parts.append(f"({record.seconds:.2f} s)")
        line = gap.join(parts)
        if width is None or len(line) <= width:
            return line
    assert width is not None
    return wrap_parts(parts, width, indent=" " * (digits * 2 + 2), first="")


def _progress_columns(width: int, epochs: int, batch_count: int) -> list[ProgressColumn]:
    """The progress bar's columns for a line of ``width``: epoch, batch, the bar, the current
    cost, the time so far and the ETA; the time so far, then the cost left out where the line
    would not fit with a bar of 10 cells."""
    from rich.progress import (  # only for a terminal: --quiet and pipes skip its import
        BarColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    texts: list[tuple[str, ProgressColumn]] = [
        ("epoch " + "9" * (2 * len(str(epochs)) + 1),
         TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}")),
        ("batch " + "9" * (2 * len(str(batch_count)) + 1),
         TextColumn("batch {task.fields[batch]}/{task.fields[batches]}")),
        ("cost -9.999e-99", TextColumn("cost {task.fields[cost]}")),
        ("99:59:59", TimeElapsedColumn()),
        ("ETA 99:59:59", TextColumn("ETA")),
    ]
    for leave_out in ((), (3,), (2, 3)):
        kept = [t for i, t in enumerate(texts) if i not in leave_out]
        # one blank between columns; the ETA is two columns, "ETA" and the time
        room = width - sum(len(text) + 1 for text, _ in kept) - 2
        if room >= 10 or leave_out == (2, 3):
            break
    columns = [column for _, column in kept]
    columns.insert(2, BarColumn(bar_width=max(1, min(40, room))))
    columns.append(TimeRemainingColumn())
    return columns


def _step(epochs: int) -> int:
    """Without --verbose, the lines show epoch 1 and every ``_step``-th epoch."""
    return max(1, math.ceil(epochs / (SHOWN_EPOCHS - 1))) if epochs > SHOWN_EPOCHS else 1


def _cost_of(record: EpochRecord) -> float:
    """What "best" means: the lowest validation cost, else the lowest training cost."""
    cost = record.val_cost if record.val_cost is not None else record.train_cost
    return cost if math.isfinite(cost) else math.inf


class TrainDisplay:
    """Per-epoch lines on ``stream`` and, when it is a terminal, a progress bar (epoch, batch,
    current cost, ETA). Nothing at all when ``quiet``. Without ``verbose``, at most
    :data:`SHOWN_EPOCHS` evenly spaced epochs (the first and the last among them) and the best
    one (lowest validation cost, else training cost) get a line; ``--log`` keeps every epoch."""

    def __init__(self, stream: TextIO, *, quiet: bool, epochs: int, batch_count: int,
                 verbose: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.epochs = epochs
        self.batch_count = batch_count
        self.step = 1 if verbose else _step(epochs)
        self.progress: Progress | None = None
        self.task: Any = None
        self._last = 0.0
        self._shown: set[int] = set()  # the epochs that got a line
        self._latest: tuple[EpochRecord, bool] | None = None  # the last record, and if shown
        self._best: EpochRecord | None = None  # lowest validation (else training) cost
        self._lost = False  # the stream could not be written: nothing more is shown
        if not quiet and stream.isatty():
            from rich.progress import Progress

            width = stream_width(stream)
            console = make_console(stream, Options(ascii=not unicode_ok(stream), width=width))
            self.progress = Progress(*_progress_columns(width, epochs, batch_count),
                                     console=console, transient=True)

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
        try:
            if kind is None:
                self._finish()
        finally:
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
        shown = self.step == 1 or record.epoch == 1 or record.epoch % self.step == 0
        if shown:
            self._line(record)
        self._latest = (record, shown)
        if self._best is None or _cost_of(record) < _cost_of(self._best):
            self._best = record

    def _finish(self) -> None:
        """The last epoch's line, where the spacing left it out, and the best one's."""
        if self.quiet or self._latest is None or self.step == 1:
            return
        latest, shown = self._latest
        if not shown:
            self._line(latest)
        if self._best is not None and self._best is not latest:  # shown again if it was
            self._line(self._best, "best ")
        self.say(f"({len(self._shown)} of {plural(latest.epoch, 'epoch')} shown; --verbose "
                 "shows all)")

    def _line(self, record: EpochRecord, prefix: str = "") -> None:
        width = self.progress.console.width if self.progress is not None \
            else stream_width(self.stream)
        self._shown.add(record.epoch)
        self.say(prefix + epoch_line(record, width - len(prefix)))

    def say(self, message: str) -> None:
        """A message that is shown even with --quiet (interruption, divergence). Progress is
        not the output: where the stream cannot be written (closed, a full disk) the display
        stops and training goes on."""
        if self._lost:
            return
        try:
            if self.progress is not None:
                self.progress.console.print(message, markup=False)
            else:
                self.stream.write(message + "\n")
                self.stream.flush()
        except (OSError, ValueError):
            self._lost = True


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
    regression = isinstance(s.train_metrics, RegressionMetrics)
    metrics = ("RMSE", "R²") if regression else ("accuracy",)
    for name in ("rows", "cost", *metrics):
        table.add_column(name, justify="right")

    def cells(m: Metrics | None, acc: float | None) -> list[str]:
        if not regression:
            return [_pct(acc)]
        if not isinstance(m, RegressionMetrics):
            return [number(None, ascii=options.ascii)] * 2
        return [number(m.overall_rmse, 4, ascii=options.ascii),
                number(m.overall_r2, 4, ascii=options.ascii)]

    table.add_row("train", str(s.train_rows), number(s.train_cost, ascii=options.ascii),
                  *cells(s.train_metrics, s.train_accuracy))
    if s.val_rows:
        table.add_row("validation", str(s.val_rows), number(s.val_cost, ascii=options.ascii),
                      *cells(s.val_metrics, s.val_accuracy))
    console.print(table)
    if regression:
        console.print("RMSE and R² in the target's units (the mean over the outputs)")
    if report.out:
        console.print(f"wrote {report.out}")


def _box(options: Options) -> box.Box:
    return box.ASCII2 if options.ascii else box.HEAVY_HEAD
