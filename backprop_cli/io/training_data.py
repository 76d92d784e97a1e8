"""What train, evaluate and predict read: the training and validation rows (a --val-split
recomputed from a trained network's ``training:`` block), normalized by the stored or a
newly fitted preprocessing."""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from backprop_cli.choices import DELIMITER, NORMALIZE, SPLITS
from backprop_cli.errors import DataError, UsageError, plural
from backprop_cli.io.csv_fast import workers
from backprop_cli.io.csv_reader import Columns
from backprop_cli.io.datasets import Dataset, load_dataset
from backprop_cli.io.inputs import (
    FileName,
    as_input,
)
from backprop_cli.network import Array, Label, Network, Preprocessing

_ROWS = 1024  # rows per step of the column sums and of the scaling in place
_PART_COLUMNS = 64  # columns a thread takes at least
_PART_BLOCKS = 8  # steps of _ROWS rows a thread takes at least
_T = TypeVar("_T")


def _on_threads(work: Callable[[slice], _T], n: int, least: int) -> list[_T]:
    """``work`` of [0, n) cut into consecutive ranges of at least ``least``, one per core
    (:func:`csv_fast.workers`; numpy releases the GIL), the results in order. Each column's
    (or row's) arithmetic is what one pass over them all does: the same bits."""
    count = max(1, min(workers(), n // least))
    parts = [slice(n * i // count, n * (i + 1) // count) for i in range(count)]
    if count == 1:
        return [work(parts[0])]
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(work, parts))


def _column_sum(x: Array, center: Array | None = None) -> Array:
    """Σ over the rows of x (m, n) — of (x − center)² with ``center`` — in float64, a few rows
    at a time, adding row after row as numpy's ``x.sum(axis=0)`` does for a float64 array: bit
    for bit the sums of ``np.asarray(x, np.float64)``, without that copy or the (m, n)
    temporary of x − center."""
    m, n = x.shape
    rows = np.empty((min(m, _ROWS) + 1, n), np.float64)  # row 0: the sum so far
    total = np.zeros(n, np.float64)
    for start in range(0, m, _ROWS):
        block = rows[:min(m - start, _ROWS) + 1]
        block[0] = total
        if center is None:
            block[1:] = x[start:start + _ROWS]
        else:
            np.subtract(x[start:start + _ROWS], center, out=block[1:])
            np.multiply(block[1:], block[1:], out=block[1:])
        total = np.add.reduce(block, axis=0)
    return total


def _mean_std(x: Array) -> tuple[Array, Array]:
    """Column means and standard deviations (n_0,) of x (m, n_0), as numpy's x.mean(axis=0)
    and x.std(axis=0) of x in float64. A column whose sum or squares overflow float64 (values
    near 1e308) is first divided by a power of two, which is exact, so that its statistics,
    which do fit, are still found."""
    with np.errstate(over="ignore", invalid="ignore"):
        m = max(len(x), 1)
        mean = _column_sum(x) / m
        std = np.sqrt(_column_sum(x, mean) / m)
    big = ~(np.isfinite(mean) & np.isfinite(std))
    if big.any():
        s = np.exp2(np.floor(np.log2(np.abs(x[:, big]).max(axis=0))))
        y = x[:, big] / s
        mean[big], std[big] = y.mean(axis=0) * s, y.std(axis=0) * s
    return mean, std


def _on_columns(stats: Callable[[Array], tuple[Array, Array]], x: Array) -> tuple[Array, Array]:
    """``stats`` (two arrays of one value per column) of x (m, n), on every core: of each
    range of at least _PART_COLUMNS columns (for a sum, each column still adds row after row,
    as in one pass over them all), joined."""
    found = _on_threads(lambda cols: stats(x[:, cols]), x.shape[1], _PART_COLUMNS)
    return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


# The standard deviation of seven rows of 0.1 is 1.4e-17, not 0: the mean is rounded. A spread
# below this fraction of the column's largest |x| is rounding, and the column constant.
_ROUNDING = 64 * float(np.finfo(np.float64).eps)


def _fit_scaling(values: Array, method: str, names: tuple[str, ...], index: tuple[int, ...],
                 file: str | None, what: str, option: str
                 ) -> tuple[Array | None, Array | None]:
    """(shift, scale) per column of ``values`` (m, n) for ``method``; ``names`` and
    ``index`` (0-based) the columns' names and places in ``file``, for the message when a
    range max − min is beyond float64."""
    x = values  # float64, or float32 holding exact values (not copied: the sums are float64)
    shift: Array | None = None
    scale: Array | None = None
    low: Array = np.zeros(x.shape[1])
    high: Array = np.zeros(x.shape[1])
    if method == "standard":
        shift, scale = _on_columns(_mean_std, x)
        # max|x| tells a spread that is rounding only where the spread is that small: every
        # |x − mean| ≤ √m·std, so max|x| ≤ |mean| + √m·std; twice that leaves room for the
        # rounding of mean and std (relative m·ε). Elsewhere it is left 0: any std > 0 stays.
        with np.errstate(over="ignore"):  # inf: unsure
            bound = np.abs(shift) + math.sqrt(len(x)) * scale
        unsure = np.flatnonzero((scale > 0) & ~(scale > 2 * _ROUNDING * bound))
        if len(unsure):
            part = x[:, unsure]
            low[unsure], high[unsure] = part.min(axis=0), part.max(axis=0)
    elif method == "minmax":
        if len(x):
            low, high = _on_columns(lambda part: (part.min(axis=0).astype(np.float64),
                                                  part.max(axis=0).astype(np.float64)), x)
        with np.errstate(over="ignore"):
            shift, scale = low, high - low
        if not np.isfinite(scale).all():
            k = int(np.flatnonzero(~np.isfinite(scale))[0])
            raise DataError(
                f"{what} column {names[k]!r}: its range max − min "
                f"({float(x[:, k].max()):g} − ({float(shift[k]):g})) overflows float64, so "
                f"{option} minmax cannot scale it; use {option} standard, or scale the "
                "column down", file=file, row=1, column=index[k] + 1)
    if scale is not None:  # a spread within rounding of zero: a constant column, scale 1
        largest = np.maximum(np.maximum(high, -low), 0.0)  # max|x| (0 for no rows, or unsure)
        scale = np.where(scale > _ROUNDING * largest, scale, 1.0)
    return shift, scale


def fit_preprocessing(
    inputs: Array, method: str, columns: Columns, classes: tuple[Label, ...] | None,
    file: str | None = None,
) -> Preprocessing:
    """Normalization statistics from the training rows ``inputs`` (m, n_0) of ``file``, in
    float64; a range max − min beyond float64 is refused naming the column."""
    if method not in NORMALIZE:
        raise UsageError(f"--normalize {method!r}: expected one of: {', '.join(NORMALIZE)}")
    shift, scale = _fit_scaling(inputs, method, columns.feature_names, columns.features, file,
                                "feature", "--normalize")
    return Preprocessing(columns.feature_names, columns.target_names, method, shift, scale,
                         classes)


def split_rows(m: int, fraction: float, seed: int, shuffle: bool) -> tuple[
    NDArray[np.intp], NDArray[np.intp]
]:
    """(training rows, validation rows) for ``--val-split``: ⌊fraction·m⌉ rows held out,
    drawn at random from ``seed`` (the last rows of the file with ``shuffle`` off)."""
    if not 0 <= fraction < 1:
        raise UsageError(f"--val-split {fraction}: expected a fraction from 0 up to (not "
                         "including) 1")
    n_val = round(fraction * m)
    if fraction > 0 and not 1 <= n_val < m:
        raise UsageError(
            f"--val-split {fraction} of {plural(m, 'row')} leaves {n_val} for validation and "
            f"{m - n_val} for training; both need at least one")
    order = (np.random.default_rng([seed, 1]).permutation(m) if shuffle
             else np.arange(m, dtype=np.intp))
    train, val = order[: m - n_val], order[m - n_val:]
    return np.sort(train), np.sort(val)


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Training and validation rows, normalized by ``preprocessing`` (a network trained
    before: its stored one, else fitted on the training rows); ``info`` describes where they
    came from, for the ``training:`` block. ``replaced``: the stored normalization that
    ``--normalize`` replaced by other statistics (None: none was stored, or it was kept);
    ``replaced_target`` likewise for ``--normalize-target``."""

    train: Dataset
    val: Dataset | None
    preprocessing: Preprocessing
    info: dict[str, Any]
    replaced: Preprocessing | None = None
    replaced_target: Preprocessing | None = None
    head: Array | None = None  # the first training rows' scaled features in float64, if
    # ``train.inputs`` are in another dtype: see :meth:`first_inputs`

    def first_inputs(self, count: int) -> Array:
        """The first ``count`` training rows' features as the network sees them, scaled in
        float64 (what the trained file's examples hold, whatever dtype training used)."""
        if self.head is not None and len(self.head) >= min(count, len(self.train)):
            return self.head[:count]
        return np.asarray(self.train.inputs[:count], np.float64)


def _scaled(x: Array, pre: Preprocessing, file: str, lines: NDArray[np.intp] | None) -> Array:
    """``pre.apply(x)`` written over ``x``: (x − shift) / scale in float64 a few rows at a
    time, then in x's dtype — bit for bit the float64 result rounded to that dtype, without a
    float64 copy of the data set. A row that overflows is named as ``pre.apply`` names it."""
    shift, scale = pre.shift, pre.scale
    if shift is None or scale is None:
        return x

    def scaled(blocks: slice) -> int | None:
        """Scale the rows of ``blocks`` (of _ROWS rows); the first row of a block that
        overflows in float64, which is left as it was (None: every block was scaled)."""
        rows = np.empty((min(len(x), _ROWS), x.shape[1]), np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(blocks.start * _ROWS, min(blocks.stop * _ROWS, len(x)), _ROWS):
                raw = x[start:start + _ROWS]
                block = rows[:len(raw)]
                np.subtract(raw, shift, out=block)
                np.divide(block, scale, out=block)
                if not np.isfinite(block).all():
                    return start
                raw[...] = block  # inf where the dtype cannot hold it: train refuses that
        return None

    for start in _on_threads(scaled, -(-len(x) // _ROWS), _PART_BLOCKS):
        if start is not None:  # the first such block: its raw values name the row
            pre.apply(np.asarray(x[start:start + _ROWS], np.float64), file=file,
                      lines=None if lines is None else lines[start:start + _ROWS])
            raise AssertionError("pre.apply does the same arithmetic, so it raises")
    return x


def _normalized(ds: Dataset, pre: Preprocessing, targets: bool = True) -> Dataset:
    """``ds`` with its features scaled (in place: ``ds`` is read for this and nothing else),
    and with ``targets`` its targets too where ``pre`` scales them."""
    scaled = ds.targets if ds.targets is None or not targets else pre.scale_targets(ds.targets)
    return replace(ds, inputs=_scaled(ds.inputs, pre, ds.file, ds.lines), targets=scaled)


def target_method(net: Network, normalize_target: str | None, classes: object) -> str:
    """The target scaling train fits: ``--normalize-target``, by default standard for a
    linear output layer and none otherwise; class labels are never scaled, nor targets that
    a cost needs between 0 and 1 (standard would move them outside)."""
    if normalize_target is not None and normalize_target not in NORMALIZE:
        raise UsageError(f"--normalize-target {normalize_target!r}: expected one of: "
                         f"{', '.join(NORMALIZE)}")
    if normalize_target is None:
        linear = net.layers[-1].activation == "linear"
        return "standard" if linear and classes is None else "none"
    if normalize_target != "none" and classes is not None:
        raise UsageError(f"--normalize-target {normalize_target}: the target column holds "
                         "class labels, which are not scaled; leave the option out")
    if normalize_target == "standard" and net.cost_fn.probability_targets:
        raise UsageError(f"--normalize-target standard: cost {net.cost} needs targets between "
                         "0 and 1, which standard scaling does not keep; use minmax or none")
    return normalize_target


def load_training_data(
    net: Network,
    data: FileName,
    *,
    target: str | None = None,
    features: str | None = None,
    delimiter: str = DELIMITER,
    val: FileName | None = None,
    val_split: float = 0.0,
    seed: int = 0,
    shuffle: bool = True,
    normalize: str | None = None,
    normalize_target: str | None = None,
    net_file: str | None = None,
    dtype: type[np.floating] = np.float64,
    head: int = 2,
) -> TrainingData:
    """Read ``data`` (and ``val``), hold out ``val_split`` of the rows, scale the features.
    The features are read in ``dtype`` where that holds them exactly (see
    :func:`~backprop_cli.io.datasets.load_dataset`), else in float64; the first ``head``
    training rows are also kept scaled in float64 (:meth:`TrainingData.first_inputs`).

    A network trained before (a ``preprocessing:`` block in ``net_file``) is trained again on
    the columns it was trained on, matched by name, and on its stored class list. Its weights
    were learned on inputs scaled by its stored normalization, so that is kept exactly (the
    same shift and scale, not refitted) unless ``normalize`` names a method, which is then
    fitted anew on the training rows (``replaced`` holds the stored one if that changed
    it). Without a stored block the normalization is fitted: ``normalize``, by default
    standard. Numeric targets likewise: the stored target scaling is kept unless
    ``normalize_target`` is given; else fitted by :func:`target_method`."""
    if val is not None and val_split:
        raise UsageError("give either --val FILE or --val-split F, not both")
    if normalize is not None and normalize not in NORMALIZE:
        raise UsageError(f"--normalize {normalize!r}: expected one of: {', '.join(NORMALIZE)}")
    stored = net.preprocessing
    data = as_input(data)
    full = load_dataset(data, net, target=target, features=features, delimiter=delimiter,
                        preprocessing=stored, net_file=net_file, dtype=dtype)
    info: dict[str, Any] = {"data": str(data), "rows": len(full)}
    if full.targets is None:  # pragma: no cover - load_dataset reads targets by default
        raise DataError("no target column", file=str(data))
    train, held = full, None
    if val_split:
        train_rows, val_rows = split_rows(len(full), val_split, seed, shuffle)
        train, held = full.subset(train_rows), full.subset(val_rows)
        info["val_split"] = val_split
    elif val is not None:
        known = Preprocessing(full.columns.feature_names, full.columns.target_names,
                              classes=full.classes)
        held = load_dataset(val, net, target=target, features=features, delimiter=delimiter,
                            preprocessing=known,
                            net_file=net_file if stored and stored.features else None)
        info["val"] = str(val)
    replaced = replaced_target = None
    method = target_method(net, normalize_target, full.classes)
    if stored is not None and normalize is None:
        pre = replace(stored, features=full.columns.feature_names,
                      targets=full.columns.target_names, classes=full.classes)
    else:
        pre = fit_preprocessing(train.inputs, normalize or "standard", full.columns,
                                full.classes, str(data))
        if stored is not None and not pre.same_scaling(stored):
            replaced = stored
    if full.classes is not None:  # labels: never scaled (an explicit option was refused)
        pre = replace(pre, normalize_target="none", target_shift=None, target_scale=None)
    elif stored is not None and normalize_target is None:  # the weights learned on it
        pre = replace(pre, normalize_target=stored.normalize_target,
                      target_shift=stored.target_shift, target_scale=stored.target_scale)
    else:
        assert train.targets is not None
        shift, scale = _fit_scaling(train.targets, method, full.columns.target_names,
                                    full.columns.targets, str(data), "target",
                                    "--normalize-target")
        pre = replace(pre, normalize_target=method if shift is not None else "none",
                      target_shift=shift, target_scale=scale)
        if stored is not None and not pre.same_target_scaling(stored):
            replaced_target = stored
    info["train_rows"] = len(train)
    info["val_rows"] = 0 if held is None else len(held)
    first = None if train.inputs.dtype == np.float64 else pre.apply(
        np.asarray(train.inputs[:head], np.float64), file=train.file, lines=train.lines)
    return TrainingData(_normalized(train, pre), None if held is None else _normalized(held, pre),
                        pre, info, replaced, replaced_target, first)


def load_for_network(
    net: Network,
    data: FileName,
    *,
    target: str | None = None,
    features: str | None = None,
    delimiter: str = DELIMITER,
    need_target: bool = True,
    split: str = "all",
    net_file: str | None = None,
) -> tuple[Dataset, Preprocessing | None]:
    """Rows of ``data`` as ``net`` sees them (its stored feature scaling applied; the targets
    are left in their units), for predict and evaluate. ``split`` train or val: only the
    rows ``--val-split`` gave that side when
    the network was trained (recomputed from its ``training:`` block)."""
    pre = net.preprocessing
    ds = load_dataset(data, net, target=target, features=features, delimiter=delimiter,
                      preprocessing=pre, need_target=need_target, net_file=net_file)
    if split != "all":
        ds = ds.subset(split_of(net, len(ds), split, str(data), net_file))
    return (_normalized(ds, pre, targets=False) if pre is not None else ds), pre


def split_of(net: Network, m: int, split: str, file: str, net_file: str | None
             ) -> NDArray[np.intp]:
    """The rows (of ``m`` in ``file``) that ``--val-split`` gave side ``split`` when ``net``
    was trained, recomputed from its ``training:`` block (checked when it was read)."""
    if split not in SPLITS:
        raise UsageError(f"--split {split!r}: expected one of: {', '.join(SPLITS)}")
    training = net.training
    if training is None or training.options is None or not training.val_split:
        raise UsageError(
            f"--split {split}: {net_file or 'the network'} was not trained with --val-split "
            "(its training: block has no val_split)")
    options = training.options
    seed, shuffle = options.get("seed", 0), options.get("shuffle", True)
    if training.rows != m:
        raise DataError(
            f"--split {split}: this file has {m} data rows, but the network was trained on "
            f"{training.rows}; the split can only be recomputed on the same file", file=file)
    train, val = split_rows(m, float(training.val_split), int(seed), shuffle)
    return train if split == "train" else val
