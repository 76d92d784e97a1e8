"""The train command (:func:`run_train`) and its pieces that know files: the
trainer on a CSV's rows (naming a row that
overflows by its file and line), the trained network's YAML document with its examples, and
the error a stopped training ends with."""

from __future__ import annotations

import sys
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from backprop_cli.cli.runtime import (
    StopSignals,
    TrainLog,
    created_meanwhile,
    present,
    readable,
    say,
    write_text,
)
from backprop_cli.errors import (
    OVERFLOW_ADVICE,
    BackpropError,
    ConfigError,
    Diverged,
    Interrupted,
    NumericalError,
    UsageError,
)
from backprop_cli.io.atomic import check_output, own_stream
from backprop_cli.io.blas import runtime
from backprop_cli.io.config import MAX_FILE_BYTES, MAX_NODES, dump_network, load_network
from backprop_cli.io.datasets import named_row
from backprop_cli.io.training_data import TrainingData, load_training_data
from backprop_cli.network import Examples, Network, OptimizerState
from backprop_cli.present.notation import unicode_ok
from backprop_cli.reports.train import TrainSummary
from backprop_cli.train import DTYPES, Trainer, TrainOptions, training_info

if TYPE_CHECKING:
    from backprop_cli.cli.options import Choice


def start_trainer(net: Network, data: TrainingData, options: TrainOptions,
                  state: OptimizerState | None = None) -> Trainer:
    """A trainer on ``data``'s training rows that validates on its held-out rows. Starting
    weights whose forward pass or cost overflows on a row are refused as ``analyze``
    refuses them (NumericalError naming the row's file and line): no --lr would help."""
    train, held = data.train, data.val
    assert train.targets is not None
    trainer = Trainer(net, train.inputs, train.targets, options, labels=train.labels,
                      val=None if held is None or held.targets is None
                      else (held.inputs, held.targets, held.labels), state=state,
                      classes=train.classes, preprocessing=data.preprocessing)
    found = trainer._forward_overflow()
    if found is not None:
        exc, in_held = found
        raise named_row(NumericalError(f"the network's starting weights: {exc.message}",
                                       example=exc.example, advice=OVERFLOW_ADVICE),
                        held if in_held and held is not None else train)
    return trainer


def trained_document(net: Network, trainer: Trainer, summary: TrainSummary,
                     data: TrainingData, examples: int | None, net_file: str | None = None
                     ) -> str:
    """The text of the trained network file: the weights ``trainer`` kept, the ``training:``
    and ``preprocessing:`` blocks, and examples as the trained network sees its inputs: the
    first ``examples`` training rows (None: ``net``'s own examples, else the first 2 rows)."""
    trained = trainer.network().with_examples(
        stored_examples(net, data, examples, net_file))
    # The weights' last bits depend on the runtime too (the BLAS's threads split products)
    info = training_info(trainer.options, summary, data.info)
    before = net.training
    info = replace(
        info, runtime=runtime(), state=trainer.optimizer_state(),
        # the runs that trained the starting weights, oldest first
        history=None if before is None else tuple(
            run for run in (*(before.history or ()), before.run()) if run),
        options={**(info.options or {}), **({"resume": True} if trainer.resumed else {})})
    text = dump_network(replace(trained, training=info, preprocessing=data.preprocessing))
    if info.state is not None and (len(text.encode()) > MAX_FILE_BYTES
                                   or _values(trained, info.state) > MAX_NODES):
        # a file every command would refuse: keep the weights, leave the state out
        say(f"backprop: note: with the optimizer state the trained file would be over the "
            f"{MAX_FILE_BYTES // 2**20} MiB or {MAX_NODES:,} values every command reads; "
            "written without it, so --resume cannot continue it")
        text = dump_network(replace(trained, training=replace(info, state=None),
                                    preprocessing=data.preprocessing))
    return text


def _values(net: Network, state: OptimizerState) -> int:
    """The numbers of ``net``'s file with ``state``, as io.config counts them (MAX_NODES): the
    parameters, the state's arrays, the examples, and 10,000 for the other fields."""
    examples = 0 if net.examples is None else net.examples.inputs.size + net.examples.targets.size
    slots = sum(array.size for pairs in state.slots.values() for pair in pairs for array in pair)
    return net.parameter_count + slots + examples + 10_000


def stored_examples(net: Network, data: TrainingData, examples: int | None,
                    net_file: str | None = None) -> Examples | None:
    """The examples of the trained network file, in ``data.preprocessing`` (see
    :func:`trained_document`); None for ``examples`` 0."""
    if examples is None and net.examples is not None:
        # The network's own examples hold raw features (or, for a network trained before,
        # features in its stored preprocessing): store them as the trained network sees its
        # inputs, like the rows of --examples. Undoing one and applying the other by position
        # is right because a network trained before is trained again on its stored feature
        # columns, in their order (data.select_columns matches them by name).
        old, new = net.preprocessing, data.preprocessing
        assert old is None or not old.features or old.features == new.features
        inputs, targets = net.examples.inputs, net.examples.targets
        if old is None or not old.same_scaling(new):  # kept, else undo then apply: rounded
            inputs = new.apply(inputs if old is None else old.undo(inputs))
        if old is None or not old.same_target_scaling(new):  # the targets likewise
            targets = new.scale_targets(targets if old is None
                                        else old.unscale_outputs(targets))
        return Examples(inputs, targets)
    first = 2 if examples is None else examples
    assert data.train.targets is not None
    return Examples(data.first_inputs(first), data.train.targets[:first]) if first else None


# The options --resume takes from the stored run unless given again.
RESUMED = ("batch_size", "lr", "optimizer", "momentum", "beta1", "beta2", "eps", "shuffle",
           "seed", "dtype", "weight_decay", "lr_schedule", "lr_step_every", "lr_gamma",
           "lr_min", "lr_epochs")
SCHEDULE_PARAMETERS = ("lr_step_every", "lr_gamma", "lr_min", "lr_epochs")


def resumed(net: Network, net_file: str, options: TrainOptions, explicit: frozenset[str]
            ) -> tuple[TrainOptions, OptimizerState]:
    """``options`` for train --resume: those not in ``explicit`` (given on the command line)
    taken from ``net``'s stored run, and the optimizer state to continue from."""
    info = net.training
    if info is None or info.state is None:
        why = ("it has no training: block" if info is None
               else "its training diverged, so its weights are older than the optimizer's"
               if info.status == "diverged"
               else "it was trained without storing it (by an older backprop)")
        raise UsageError(f"--resume: {net_file} has no optimizer state to continue from "
                         f"({why}); train without --resume to start the optimizer afresh")
    stored = {"optimizer": info.state.optimizer, "dtype": info.state.dtype,
              **(info.options or {})}
    skip = set(explicit) | (set(SCHEDULE_PARAMETERS) if "lr_schedule" in explicit else set())
    taken = {key: stored[key] for key in RESUMED if key in stored and key not in skip}
    kinds = {f.name: str(f.type).split(" |")[0] for f in fields(TrainOptions)}
    accepted: dict[str, type | tuple[type, ...]] = {
        "float": (int, float), "int": int, "str": str, "bool": bool}
    for key, value in taken.items():
        kind = kinds[key]
        if isinstance(value, bool) != (kind == "bool") or not isinstance(value, accepted[kind]):
            raise ConfigError(f"expected {'a number' if kind == 'float' else kind}, got "
                              f"{value!r}; give --{key.replace('_', '-')} on the command line",
                              path=f"training.options.{key}", file=net_file)
    return replace(options, **taken), info.state


def ending_error(trainer: Trainer, summary: TrainSummary, written: str, signum: int,
                 data: TrainingData | None = None) -> BackpropError | None:
    """How training ended, as the error the command exits with once ``written`` holds the
    weights kept: :class:`Interrupted` (by signal ``signum``) or :class:`Diverged`; None when
    it completed or stopped early. ``data``: the rows trained on, to name the file and line of
    a row whose forward pass overflows with the weights an epoch ended with."""
    if summary.status not in ("interrupted", "diverged"):
        return None
    assert summary.stopped_at is not None
    e, b = summary.stopped_at
    if summary.status == "interrupted":
        return Interrupted(f"interrupted in epoch {e} after batch {b} of {trainer.batch_count}; "
                           f"wrote the weights so far to {written}", signum)

    def named(exc: NumericalError, held: bool) -> NumericalError:
        rows = None if data is None else data.val if held else data.train
        return exc if rows is None else named_row(exc, rows)

    why = f"; try a smaller --lr (now {trainer.options.lr:g})"
    if trainer.forward_overflow is None and b == trainer.batch_count:
        # Every batch ran (a batch's cost or step stops before its count): the guard on the
        # validation cost after the epoch, whose weights are kept.
        return Diverged(
            f"training diverged: the validation cost became infinite or NaN after epoch {e}"
            f"{why}. Wrote the weights of epoch {e}, the last finite ones, to {written}")
    if trainer.forward_overflow is None:
        return Diverged(
            f"training diverged: the cost became infinite or NaN in epoch {e} (batch {b + 1})"
            f"{why}. Wrote the last finite weights to {written}")
    head = f"training diverged in epoch {e}: the cost of its batches stayed finite, but "
    kept = "the starting weights" if e == 1 else f"the weights of epoch {e - 1}"
    return Diverged(
        f"{head}the weights it ended with overflow: "
        f"{named(trainer.forward_overflow, trainer.forward_overflow_held)}{why}. Wrote {kept}, "
        f"the last whose forward pass is finite, to {written}")


def run_train(*, net_file: Path, data_file: Path, out: Path, target: str | None,
              features: str | None, delimiter: str, epochs: int, batch_size: int, lr: float,
              optimizer: Choice, momentum: float, beta1: float, beta2: float, eps: float,
              shuffle: bool, seed: int, normalize: Choice | None,
              normalize_target: Choice | None, val_split: float,
              val: Path | None, patience: int | None, dtype: Choice, log: str | None,
              fmt: Choice, examples: int | None, quiet: bool, verbose: bool, force: bool,
              plot: Path | None, weight_decay: float, lr_schedule: Choice,
              lr_step_every: int | None, lr_gamma: float | None, lr_min: float | None,
              lr_epochs: int | None, resume: bool, explicit: frozenset[str]) -> None:
    """The train command (its options as cli.commands.train declares them): read, check the
    outputs, train with the display, the log and the signals, write --out, then the summary.
    A BackpropError propagates to the command line's one boundary (runtime.Group.invoke)."""
    import time

    from backprop_cli.errors import Interrupted, OutputError
    from backprop_cli.present.console import stream_width
    from backprop_cli.present.json import dumps
    from backprop_cli.present.train import TrainDisplay
    from backprop_cli.reports.train import TrainReport, series

    options = TrainOptions(
        epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer.value,
        momentum=momentum, beta1=beta1, beta2=beta2, eps=eps, shuffle=shuffle, seed=seed,
        patience=patience, dtype=dtype.value, weight_decay=weight_decay,
        lr_schedule=lr_schedule.value, lr_step_every=lr_step_every, lr_gamma=lr_gamma,
        lr_min=lr_min, lr_epochs=lr_epochs,
    )
    from backprop_cli.io import plot as png
    from backprop_cli.present import chart

    if plot is not None and not png.have_matplotlib():
        from backprop_cli.errors import UsageError

        raise UsageError(f"--plot {plot}: the PNG needs matplotlib, which is not "
                         f"installed; install it with: {png.PLOT_HINT}")
    readable(net_file, data_file, val)
    inputs = [net_file, data_file, *([val] if val else [])]
    check_output(out, inputs, "--out", force=force)
    log_file = None if log in (None, "-") else Path(str(log))
    # --log /dev/stdout is --log -: stdout is then NDJSON, the summary one more line
    on_stdout = log == "-" or (log_file is not None and own_stream(log_file) == 1)
    check_output(log_file, inputs, "--log", force=force, others={"--out": out})
    check_output(plot, inputs, "--plot", force=force,
                 others={"--out": out, **({"--log": log_file} if log_file else {})})
    net = load_network(net_file)
    state = None
    if resume:
        options, state = resumed(net, str(net_file), options, explicit)
        stored_split = None if net.training is None else net.training.val_split
        if "val_split" not in explicit and val is None and stored_split is not None:
            val_split = float(stored_split)  # the same rows as the stored run
    options.check()  # before reading the data
    data = load_training_data(
        net, data_file, target=target, features=features, delimiter=delimiter, val=val,
        val_split=val_split, seed=options.seed, shuffle=options.shuffle,
        normalize=None if normalize is None else normalize.value,
        normalize_target=None if normalize_target is None else normalize_target.value,
        net_file=str(net_file), dtype=DTYPES[options.dtype],
        head=2 if examples is None else examples)
    if data.replaced is not None:
        say(f"backprop: note: --normalize {data.preprocessing.normalize}: replaced the "
            f"stored scaling of {net_file} ({data.replaced.normalize}) with one fitted on "
            f"the {data.info['train_rows']} training rows; its weights were learned on "
            "the stored one")
    if data.replaced_target is not None:
        say(f"backprop: note: --normalize-target {data.preprocessing.normalize_target}: "
            f"replaced the stored target scaling of {net_file} "
            f"({data.replaced_target.normalize_target}) with one fitted on the "
            f"{data.info['train_rows']} training rows; its weights were learned on the "
            "stored one")
    trainer = start_trainer(net, data, options, state)
    log_stream = TrainLog(log, force)

    started = time.perf_counter()
    display = TrainDisplay(sys.stderr, quiet=quiet, verbose=verbose, epochs=epochs,
                           batch_count=trainer.batch_count)
    records: list[dict[str, object]] = []
    # SIGINT (Ctrl-C) and SIGTERM: finish the batch, write the weights so far, exit 128 + the
    # signal's number; a second one stops at once without writing.
    with StopSignals() as signals:
        try:
            with display:
                for record in trainer.run(
                    stop=lambda: bool(signals.requested),
                    on_batch=display.batch if display.wants_batches else None,
                ):
                    display.epoch(record)
                    records.append(record.to_dict())
                    log_stream.write(dumps(record.to_dict(), indent=None) + "\n")  # NaN: null
        except KeyboardInterrupt:
            signals.restore()
            raise Interrupted(f"interrupted twice; stopped without writing {out}",
                              signals.signum) from None
        finally:
            log_stream.close()

        signals.writing = True  # from here on a second signal waits until --out is written
        # a BackpropError here leaves the with (its handlers restored), then is printed
        summary = trainer.summary(time.perf_counter() - started)
        text = trained_document(net, trainer, summary, data, examples, str(net_file))
        write_text(text, out, force=force, option="--out")
    costs = series(records) if records else None
    if plot is not None and costs is not None:  # before stdout, which may be a closed pipe
        try:
            png.write_png(costs, plot, f"{net.name or net_file.stem}: cost per epoch",
                            replace=force)
        except FileExistsError:
            raise created_meanwhile("--plot", plot) from None
        except OSError as exc:
            raise OutputError(f"--plot {plot}: cannot write: {exc.strerror}") from None
    # With --log - (or /dev/stdout), stdout is NDJSON: the summary is one more JSON line,
    # whatever --format.
    present("train", "json" if on_stdout else fmt.value,
            TrainReport(summary, net.cost, str(out)), compact=on_stdout)
    if costs is not None and not quiet and sys.stderr.isatty():
        sys.stderr.write(chart.terminal_chart(costs, width=stream_width(sys.stderr),
                                              ascii=not unicode_ok(sys.stderr)))
    ending = ending_error(trainer, summary, str(out), signals.signum, data)
    if ending is not None:
        raise ending
