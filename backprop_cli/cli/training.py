"""The train command's pieces that know files: the trainer on a CSV's rows (naming a row that
overflows by its file and line), the trained network's YAML document with its examples, and
the error a stopped training ends with."""

from __future__ import annotations

from backprop_cli.errors import (
    OVERFLOW_ADVICE,
    BackpropError,
    Diverged,
    Interrupted,
    NumericalError,
)
from backprop_cli.io.blas import runtime
from backprop_cli.io.config import dump_network
from backprop_cli.io.datasets import TrainingData, named_row, preprocessing_of
from backprop_cli.network import Examples, Network
from backprop_cli.reports.train import TrainSummary
from backprop_cli.train import Trainer, TrainOptions, training_block


def start_trainer(net: Network, data: TrainingData, options: TrainOptions) -> Trainer:
    """A trainer on ``data``'s training rows that validates on its held-out rows. Starting
    weights whose forward pass or cost overflows on a row are refused as ``analyze``
    refuses them (NumericalError naming the row's file and line): no --lr would help."""
    train, held = data.train, data.val
    assert train.targets is not None
    trainer = Trainer(net, train.inputs, train.targets, options, labels=train.labels,
                      val=None if held is None or held.targets is None
                      else (held.inputs, held.targets, held.labels))
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
    return dump_network(trained, {
        # The weights' last bits depend on the runtime too (the BLAS's threads split products)
        "training": {**training_block(trainer.options, summary, data.info),
                     "runtime": dict(runtime())},
        "preprocessing": data.preprocessing.to_dict(),
    })


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
        old = preprocessing_of(net, net_file)
        assert old is None or not old.features or old.features == data.preprocessing.features
        if old is not None and old.same_scaling(data.preprocessing):
            return net.examples  # kept as they are: undo then apply would round them
        raw = net.examples.inputs if old is None else old.undo(net.examples.inputs)
        return Examples(data.preprocessing.apply(raw), net.examples.targets)
    first = 2 if examples is None else examples
    assert data.train.targets is not None
    return Examples(data.train.inputs[:first], data.train.targets[:first]) if first else None


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
