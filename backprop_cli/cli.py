"""The command line: parse, call the core, pick a presenter, map errors to exit codes."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from backprop_cli import __version__
from backprop_cli.errors import BackpropError

if TYPE_CHECKING:
    from backprop_cli.network import Array, Network

app = typer.Typer(
    name="backprop",
    help="Make backpropagation visible: every chain-rule factor of every weight and bias.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, Enum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"


def fail(error: BackpropError) -> typer.Exit:
    """Print the error once, to stderr, and return the exit to raise."""
    sys.stderr.write(f"backprop: error: {error}\n")
    return typer.Exit(error.exit_code)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"backprop {__version__}\n")
        raise typer.Exit()


@app.callback(epilog="Example: backprop analyze configs/chain.yaml")
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Make backpropagation visible: every chain-rule factor of every weight and bias.

    Example: backprop analyze configs/chain.yaml
    """


def _table_width() -> int | None:
    if sys.stdout.isatty():
        return None
    try:
        return int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return 200


NetFile = Annotated[Path, typer.Argument(metavar="NET.yaml", help="The network file.",
                                         show_default=False)]


@app.command(
    epilog="Example: backprop analyze configs/chain.yaml --format json | jq '.gradient'",
)
def analyze(
    net_file: NetFile,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    example: Annotated[
        int | None,
        typer.Option(help="Show only example N (0-based); the full-cost gradient is always shown.",
                     show_default=False),
    ] = None,
    layer: Annotated[
        int | None, typer.Option(help="Show only layer L (1 … L; 0 is the input).",
                                 show_default=False)
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(help="Show only the K parameters with the largest |∂C/∂w| (full cost).",
                     show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option(help="Rows per table (0: all); the rest is counted.", min=0)
    ] = 25,
    precision: Annotated[
        int | None,
        typer.Option(help="Significant digits [default: 6 in tables, exact in json/ndjson/csv].",
                     min=1, max=17, show_default=False),
    ] = None,
    ascii_: Annotated[
        bool, typer.Option("--ascii", help="Write w(2)_01 instead of w⁽²⁾₀₁.")
    ] = False,
    paths: Annotated[
        bool,
        typer.Option("--paths", help="Split each ∂C0/∂a(l-1)k into its paths' terms "
                     "w(l)jk · ∂a(l)j/∂z(l)j · ∂C0/∂a(l)j, largest first (json: key 'paths')."),
    ] = False,
) -> None:
    """Run the forward and backward passes and show every chain-rule factor.

    For every weight: ∂C0/∂w(l)jk = ∂C0/∂a(l)j · ∂a(l)j/∂z(l)j · ∂z(l)j/∂w(l)jk, with
    ∂z/∂w = a(l-1)k and ∂z/∂b = 1; then ∂C0/∂a(l-1)k summed over the paths, and the gradient
    of the full cost C (the mean of C0 over the examples).
    """
    from backprop_cli.config import load_network
    from backprop_cli.present import Options, presenter
    from backprop_cli.report import analyze as build

    try:
        report = build(load_network(net_file), example=example, layer=layer, top=top,
                       paths=paths)
    except BackpropError as exc:
        raise fail(exc) from None
    options = Options(
        precision=precision,
        limit=None if limit == 0 else limit,
        ascii=ascii_ or not _unicode_ok(),
        width=_table_width(),
    )
    presenter(fmt.value)(report, sys.stdout, options)


def _unicode_ok() -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or ""
    return encoding.lower().replace("-", "").startswith("utf")


# --- the sensitivity toolkit: check, nudge, diagnose, init, schema ------------------------

class DocFormat(str, Enum):
    table = "table"
    json = "json"


DocFormatOption = Annotated[
    DocFormat, typer.Option("--format", "-f", help="Output format.")
]
LimitOption = Annotated[
    int, typer.Option(help="Rows per table (0: all); the rest is counted.", min=0)
]
PrecisionOption = Annotated[
    int | None,
    typer.Option(help="Significant digits [default: 6 in tables, exact in json].",
                 min=1, max=17, show_default=False),
]
AsciiOption = Annotated[bool, typer.Option("--ascii", help="Write w(2)_01 instead of w⁽²⁾₀₁.")]


def _render(report: object, kind: str, fmt: DocFormat, limit: int, precision: int | None,
            ascii_: bool) -> None:
    from backprop_cli.present import Options, toolkit

    options = Options(precision=precision, limit=None if limit == 0 else limit,
                      ascii=ascii_ or not _unicode_ok(), width=_table_width())
    render = toolkit.render_json if fmt is DocFormat.json else getattr(toolkit, f"render_{kind}")
    render(report, sys.stdout, options)


def _examples_of(net_file: Path) -> tuple[Network, Array, Array]:
    """The network and its examples' inputs and targets, or a UsageError."""
    from backprop_cli.config import load_network
    from backprop_cli.errors import UsageError

    net = load_network(net_file)
    if net.examples is None:
        raise UsageError(
            f"{net_file}: the network has no 'examples:' to compute the cost on; add some, "
            "e.g.\nexamples:\n  - input: [...]\n    target: [...]"
        )
    return net, net.examples.inputs, net.examples.targets


@app.command(
    epilog="Example: backprop check configs/two-layer.yaml --all  (in CI: exit 1 on a mismatch)",
)
def check(
    net_file: NetFile,
    fmt: DocFormatOption = DocFormat.table,
    eps: Annotated[float, typer.Option(help="Finite-difference step ε.")] = 1e-6,
    tolerance: Annotated[
        float, typer.Option(help="Largest relative error that passes.")
    ] = 1e-6,
    all_: Annotated[bool, typer.Option("--all", help="List every checked parameter.")] = False,
    sample: Annotated[
        int | None,
        typer.Option(help="Check only N parameters drawn at random (with --seed).",
                     show_default=False),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample's draw.", min=0)] = 0,
    limit: LimitOption = 25,
    precision: PrecisionOption = None,
    ascii_: AsciiOption = False,
) -> None:
    """Check every gradient against central finite differences (float64).

    For each parameter θ: numeric = (C0(θ+ε) − C0(θ−ε)) / 2ε for every example and for the
    full cost C; rel error = |analytic − numeric| / max(|analytic|, |numeric|, 1e-3 ·
    max(1, |C0|)). Exit 0 when every rel error ≤ --tolerance, 1 otherwise.
    """
    from backprop_cli.check import check_gradients

    try:
        net, x, y = _examples_of(net_file)
        report = check_gradients(net, x, y, eps=eps, tolerance=tolerance,
                                 sample=sample, seed=seed, show_all=all_)
    except BackpropError as exc:
        raise fail(exc) from None
    _render(report, "check", fmt, limit, precision, ascii_)
    if not report.passed:
        worst = max(report.failed, key=lambda c: c.max_rel)
        sys.stderr.write(
            f"backprop: gradient check failed: {len(report.failed)} of {len(report.params)} "
            f"parameters above tolerance {tolerance:g} (worst relative error "
            f"{worst.max_rel:.3g})\n"
        )
        raise typer.Exit(1)


@app.command(
    epilog="Example: backprop nudge configs/chain.yaml w1.0.0 --by 0.01",
)
def nudge(
    net_file: NetFile,
    param: Annotated[
        str,
        typer.Argument(metavar="PARAM", show_default=False,
                       help="w<l>.<j>.<k> for w(l)jk or b<l>.<j> for b(l)j: w2.0.1 is w(2)01, "
                       "b3.0 is b(3)0."),
    ],
    by: Annotated[float, typer.Option("--by", help="The nudge Δ added to PARAM.")] = 0.001,
    example: Annotated[
        int | None,
        typer.Option(help="Follow only example N and its cost C0 [default: every example, and "
                     "C, the mean of C0].", show_default=False),
    ] = None,
    fmt: DocFormatOption = DocFormat.table,
    limit: LimitOption = 25,
    precision: PrecisionOption = None,
    ascii_: AsciiOption = False,
) -> None:
    """Nudge one weight or bias and follow the change along the chain to the cost.

    Shows Δw → Δz → Δa → … → ΔC: for the nudged neuron and every neuron downstream, the
    actual change (a second forward pass) next to the first-order prediction, and for the cost
    the actual ΔC against ∂C/∂w · Δ with their ratio (→ 1 as Δ → 0).
    """
    from backprop_cli.nudge import nudge as run
    from backprop_cli.nudge import parse_param

    try:
        net, x, y = _examples_of(net_file)
        report = run(net, x, y, parse_param(param, net), by, example)
    except BackpropError as exc:
        raise fail(exc) from None
    _render(report, "nudge", fmt, limit, precision, ascii_)


@app.command(
    epilog="Example: backprop diagnose configs/mnist-784-16-16-10.yaml --format json",
)
def diagnose(
    net_file: NetFile,
    fmt: DocFormatOption = DocFormat.table,
    precision: PrecisionOption = None,
    ascii_: AsciiOption = False,
) -> None:
    """Look for what makes a network learn badly, on its examples.

    Per layer: ‖∂C/∂W(l)‖ and its ratio to the output layer's (vanishing/exploding), the share
    of saturated neurons (σ'(z) < 1% of max σ'), dead ReLUs (z ≤ 0 on every example), weight
    and activation statistics; each finding with an explanation and a suggestion.
    """
    from backprop_cli.diagnose import diagnose as run

    try:
        net, x, y = _examples_of(net_file)
        report = run(net, x, y)
    except BackpropError as exc:
        raise fail(exc) from None
    _render(report, "diagnose", fmt, 0, precision, ascii_)


@app.command(
    name="init",
    epilog="Example: backprop init --sizes 784,16,16,10 --activation sigmoid "
    "--output-activation softmax --cost categorical_cross_entropy --init xavier --seed 0 "
    "> net.yaml",
)
def init_(
    sizes: Annotated[
        str, typer.Option(help="Neurons per layer, input first: n_0,n_1,…,n_L.",
                          show_default=False)
    ],
    activation: Annotated[str, typer.Option(help="σ of the hidden layers.")] = "sigmoid",
    output_activation: Annotated[
        str | None,
        typer.Option(help="σ of the output layer [default: --activation].", show_default=False),
    ] = None,
    cost: Annotated[str, typer.Option(help="The cost C0.")] = "squared_error",
    method: Annotated[
        str, typer.Option("--init", help="xavier, he, normal, uniform or zeros.")
    ] = "xavier",
    seed: Annotated[int, typer.Option(help="Seed of the draw.")] = 0,
    scale: Annotated[
        float | None, typer.Option(help="Multiplies the method's spread.", show_default=False)
    ] = None,
    name: Annotated[str | None, typer.Option(help="The network's name.",
                                             show_default=False)] = None,
    example_input: Annotated[
        bool,
        typer.Option("--example-input",
                     help="Add a template example: all-zero input, one-hot target of class 0."),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to FILE (atomically) instead of stdout.",
                     show_default=False),
    ] = None,
) -> None:
    """Write a new network file with explicit weights drawn like an init: block would.

    The result is a complete network file: `backprop analyze` reads it (with --example-input
    it has an example to analyze).
    """
    from backprop_cli.config import dump_network
    from backprop_cli.scaffold import new_network, parse_sizes

    try:
        net = new_network(parse_sizes(sizes), activation=activation,
                          output_activation=output_activation, cost=cost, method=method,
                          seed=seed, scale=scale, name=name, example_input=example_input)
    except BackpropError as exc:
        raise fail(exc) from None
    command = (
        f"backprop init --sizes {','.join(map(str, net.sizes))} --activation {activation} "
        f"--output-activation {net.layers[-1].activation} --cost {net.cost} --init {method} "
        f"--seed {seed}" + (f" --scale {scale!r}" if scale is not None else "")
        + (f" --name {name!r}" if name is not None else "")
        + (" --example-input" if example_input else "")
    )
    _write_text(f"# Written by: {command}\n" + dump_network(net), output)


def _write_text(text: str, output: Path | None) -> None:
    """To stdout, or to ``output`` through a temporary file in its directory and os.replace."""
    if output is None:
        sys.stdout.write(text)
        return
    import tempfile

    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, output)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        sys.stderr.write(f"backprop: error: {output}: cannot write: {exc.strerror}\n")
        raise typer.Exit(2) from None


class SchemaKind(str, Enum):
    network = "network"
    output = "output"


@app.command(
    epilog="Example: backprop schema > schema/network.schema.json; "
    "backprop schema output > schema/output.schema.json",
)
def schema(
    kind: Annotated[
        SchemaKind,
        typer.Argument(help="network: the network file; output: analyze --format json."),
    ] = SchemaKind.network,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to FILE (atomically) instead of stdout.",
                     show_default=False),
    ] = None,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the network file or of analyze's JSON.

    Editors with the YAML language server validate and complete a network file that begins
    with: # yaml-language-server: $schema=<path or URL of network.schema.json>
    """
    from backprop_cli.schema import schema_text

    _write_text(schema_text(kind.value), output)


# --- train, evaluate, predict ---------------------------------------------------------------

class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


class Normalize(str, Enum):
    standard = "standard"
    minmax = "minmax"
    none = "none"


class DType(str, Enum):
    float64 = "float64"
    float32 = "float32"


class PredictFormat(str, Enum):
    csv = "csv"
    json = "json"
    ndjson = "ndjson"


class Split(str, Enum):
    all = "all"
    train = "train"
    val = "val"


DataFile = Annotated[Path, typer.Argument(metavar="DATA.csv", show_default=False,
                                          help="The data: CSV with a header row.")]
TargetOption = Annotated[
    str | None,
    typer.Option("--target", metavar="COL[,COL…]", show_default=False,
                 help="Target column(s) [default: the trained network's, else the last "
                      "column]. One column with n_L > 1 output neurons holds class labels."),
]
FeaturesOption = Annotated[
    str | None,
    typer.Option("--features", metavar="COL,…", show_default=False,
                 help="Feature columns, in input order [default: the trained network's, else "
                      "every other column]."),
]
DelimiterOption = Annotated[
    str, typer.Option("--delimiter", help="The CSV delimiter ('tab' for a tab).")
]


@app.command(
    epilog="Example: backprop train configs/digits.yaml configs/digits.csv --out "
    "digits-trained.yaml --optimizer adam --lr 0.01 --epochs 40 --normalize minmax --val-split 0.2",
)
def train(
    net_file: NetFile,
    data_file: DataFile,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="TRAINED.yaml", show_default=False,
                                      help="Where to write the trained network (atomically).")],
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = ",",
    epochs: Annotated[int, typer.Option(help="Passes over the training rows.")] = 10,
    batch_size: Annotated[int, typer.Option(help="Rows per batch (the last may be shorter).")
                          ] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate η.")] = 0.1,
    optimizer: Annotated[Optimizer, typer.Option(help="sgd: w ← w − η·∂C/∂w; momentum; adam."
                                                 )] = Optimizer.sgd,
    momentum: Annotated[float, typer.Option(help="μ of --optimizer momentum.")] = 0.9,
    beta1: Annotated[float, typer.Option(help="Adam's β1.")] = 0.9,
    beta2: Annotated[float, typer.Option(help="Adam's β2.")] = 0.999,
    eps: Annotated[float, typer.Option("--eps", "--epsilon", help="Adam's ε.")] = 1e-8,
    shuffle: Annotated[bool, typer.Option("--shuffle/--no-shuffle",
                                          help="Shuffle the rows every epoch (from --seed).")
                       ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the shuffle and of --val-split.")] = 0,
    normalize: Annotated[Normalize, typer.Option(
        help="Feature scaling, fitted on the training rows and stored in --out.")
    ] = Normalize.standard,
    val_split: Annotated[float, typer.Option(
        help="Hold out this fraction of the rows for validation (at random from --seed; the "
             "last rows with --no-shuffle).")] = 0.0,
    val: Annotated[Path | None, typer.Option(metavar="FILE", show_default=False,
                                             help="Validation rows from another CSV file.")
                   ] = None,
    patience: Annotated[int | None, typer.Option(
        show_default=False, help="Stop when the validation cost has not improved for N epochs "
                                 "(the best epoch's weights are kept).")] = None,
    dtype: Annotated[DType, typer.Option(help="Floating-point type of the training.")
                     ] = DType.float64,
    log: Annotated[str | None, typer.Option(
        metavar="FILE", show_default=False,
        help="Write one JSON object per epoch to FILE ('-': stdout).")] = None,
    fmt: Annotated[DocFormat, typer.Option("--format", "-f",
                                               help="Format of the final summary on stdout.")
                   ] = DocFormat.table,
    examples: Annotated[int | None, typer.Option(
        min=0, show_default=False,
        help="Store the first N training rows (preprocessed) as examples: in --out for "
             "`backprop analyze` [default: the network's own examples, else 2].")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress bar or per-epoch lines.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --out.")] = False,
) -> None:
    """Fit the network to the CSV data by gradient descent and write the trained network.

    Each batch (consecutive rows after shuffling) has the cost C = mean of C0 over its rows;
    every weight moves against its gradient (sgd: w ← w − η·∂C/∂w). Progress goes to stderr,
    the summary to stdout. Ctrl-C stops after the current batch and writes the weights so far
    (exit 130); a non-finite cost stops training and keeps the last finite weights (exit 1).
    """
    import signal
    import time

    from backprop_cli.config import dump_network, load_network
    from backprop_cli.data import load_training_data
    from backprop_cli.network import Examples
    from backprop_cli.present.json import dumps
    from backprop_cli.present.train import TrainDisplay, render_summary
    from backprop_cli.train import Trainer, TrainOptions, training_block

    options = TrainOptions(
        epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer.value,
        momentum=momentum, beta1=beta1, beta2=beta2, eps=eps, shuffle=shuffle, seed=seed,
        patience=patience, dtype=dtype.value,
    )
    try:
        _check_out(out, force, [net_file, data_file, *([val] if val else [])])
        net = load_network(net_file)
        data = load_training_data(
            net, data_file, target=target, features=features, delimiter=delimiter, val=val,
            val_split=val_split, seed=seed, shuffle=shuffle, normalize=normalize.value)
        assert data.train.targets is not None
        held = data.val
        trainer = Trainer(
            net, data.train.inputs, data.train.targets, options, labels=data.train.labels,
            val=None if held is None or held.targets is None
            else (held.inputs, held.targets, held.labels),
        )
    except BackpropError as exc:
        raise fail(exc) from None

    log_stream = _open_log(log)
    stop = {"requested": False}

    def on_sigint(signum: int, frame: object) -> None:
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        previous = None
    started = time.perf_counter()
    display = TrainDisplay(sys.stderr, quiet=quiet, epochs=epochs,
                           batch_count=trainer.batch_count)
    try:
        with display:
            for record in trainer.run(
                stop=lambda: stop["requested"],
                on_batch=display.batch if display.wants_batches else None,
            ):
                display.epoch(record)
                if log_stream is not None:
                    log_stream.write(dumps(_finite_dict(record.to_dict()), indent=None) + "\n")
                    log_stream.flush()
    except KeyboardInterrupt:
        sys.stderr.write("backprop: interrupted twice; stopped without writing "
                         f"{out}\n")
        raise typer.Exit(130) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if log_stream is not None and log_stream is not sys.stdout:
            log_stream.close()

    summary = trainer.summary(time.perf_counter() - started)
    trained = trainer.network()
    first = examples if examples is not None else (0 if net.examples is not None else 2)
    if first:
        assert data.train.targets is not None
        trained = trained.with_examples(
            Examples(data.train.inputs[:first], data.train.targets[:first]))
    text = dump_network(trained, {
        "training": training_block(options, summary, data.info),
        "preprocessing": data.preprocessing.to_dict(),
    })
    _write_text(text, out)
    render_summary(summary, sys.stdout, fmt.value, cost_name=net.cost, written=str(out),
                   width=_table_width(), compact=log == "-")
    if summary.status == "interrupted":
        assert summary.stopped_at is not None
        e, b = summary.stopped_at
        display.say(f"backprop: interrupted in epoch {e} after batch {b} of "
                    f"{trainer.batch_count}; wrote the weights so far to {out}")
        raise typer.Exit(130)
    if summary.status == "diverged":
        assert summary.stopped_at is not None
        e, b = summary.stopped_at
        sys.stderr.write(
            f"backprop: error: training diverged: the cost became infinite or NaN in epoch {e} "
            f"(batch {b + 1}); try a smaller --lr (now {lr:g}). Wrote the last finite weights "
            f"to {out}\n")
        raise typer.Exit(1)


def _check_out(out: Path, force: bool, inputs: list[Path]) -> None:
    from backprop_cli.errors import UsageError

    for source in inputs:
        same = (out.exists() and source.exists() and os.path.samefile(out, source)) or (
            out.resolve() == source.resolve())
        if same:
            raise UsageError(f"--out {out} is the input file {source}; the input is never "
                             "overwritten: choose another --out")
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; expected a file name")
    if out.exists() and not force:
        raise UsageError(f"--out {out} exists; add --force to overwrite it")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: the directory {out.parent} does not exist")


def _open_log(log: str | None) -> TextIO | None:
    if log is None:
        return None
    if log == "-":
        return sys.stdout
    try:
        return open(log, "w", encoding="utf-8")
    except OSError as exc:
        sys.stderr.write(f"backprop: error: --log {log}: cannot write: {exc.strerror}\n")
        raise typer.Exit(2) from None


def _finite_dict(values: dict[str, object]) -> dict[str, object]:
    """NaN and ±inf (a diverged epoch) as JSON null."""
    import math

    return {k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in values.items()}


@app.command(
    epilog="Example: backprop evaluate digits-trained.yaml configs/digits.csv --split val",
)
def evaluate(
    net_file: NetFile,
    data_file: DataFile,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = ",",
    split: Annotated[Split, typer.Option(
        help="Only the rows that --val-split held out (val) or trained on (train) when the "
             "network was trained on this file.")] = Split.all,
    fmt: Annotated[DocFormat, typer.Option("--format", "-f", help="Output format.")
                   ] = DocFormat.table,
) -> None:
    """Cost, accuracy and confusion matrix of the network on CSV data.

    The cost C is the mean of C0 over the rows; for class labels also the accuracy (a fraction
    in JSON) and the confusion matrix. The network's stored preprocessing is applied.
    """
    from backprop_cli.config import load_network
    from backprop_cli.data import load_for_network
    from backprop_cli.present.train import evaluation_dict, render_evaluation
    from backprop_cli.train import evaluate as run

    try:
        net = load_network(net_file)
        ds, _ = load_for_network(net, data_file, target=target, features=features,
                                 delimiter=delimiter, split=split.value,
                                 net_file=str(net_file))
        assert ds.targets is not None
        result = run(net, ds.inputs, ds.targets, ds.labels)
    except BackpropError as exc:
        raise fail(exc) from None
    doc = evaluation_dict(result, ds.classes, network=str(net_file), data=str(data_file),
                          cost_name=net.cost)
    render_evaluation(doc, sys.stdout, fmt.value, width=_table_width())


@app.command(
    epilog="Example: backprop predict digits-trained.yaml configs/digits.csv --format ndjson "
    "| head -3",
)
def predict(
    net_file: NetFile,
    data_file: DataFile,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = ",",
    fmt: Annotated[PredictFormat, typer.Option("--format", "-f", help="Output format.")
                   ] = PredictFormat.csv,
) -> None:
    """Output activations a(L) (and the predicted label) for every row of CSV data.

    For classifiers the label is the class of the largest output. The network's stored
    preprocessing is applied; target columns, if present, are ignored.
    """
    from backprop_cli.config import load_network
    from backprop_cli.data import load_for_network
    from backprop_cli.engine import predict as forward
    from backprop_cli.present.train import render_predictions

    try:
        net = load_network(net_file)
        ds, pre = load_for_network(net, data_file, target=target, features=features,
                                   delimiter=delimiter, need_target=False,
                                   net_file=str(net_file))
    except BackpropError as exc:
        raise fail(exc) from None
    outputs = forward(net, ds.inputs)
    classes = pre.classes if pre is not None else None
    render_predictions(outputs, classes, sys.stdout, fmt.value)
