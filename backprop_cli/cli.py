"""The command line: parse, call the core, pick a presenter, map errors to exit codes."""

from __future__ import annotations

import errno
import io
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO, TypeAlias, cast

import typer
from typer.core import TyperGroup

from backprop_cli import __version__
from backprop_cli.atomic import check_output, own_stream
from backprop_cli.choices import (
    CHECK_MAX_WORK,
    CHUNK_ROWS,
    DELIMITER,
    DTYPES,
    NORMALIZE,
    OPTIMIZERS,
    SPLITS,
)
from backprop_cli.errors import BackpropError, clip_quoted, plural, printable
from backprop_cli.present import formats
from backprop_cli.present.notation import to_ascii, unicode_ok

if TYPE_CHECKING:
    from backprop_cli.data import DataStream
    from backprop_cli.network import Array, Network
    from backprop_cli.report import AnalyzeReport


class _App(typer.Typer):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _safe_streams()
        return super().__call__(*args, **kwargs)


EXIT_CLOSED_PIPE = 128 + 13  # SIGPIPE's, what a shell reports for `… | head -1`


class _StdoutFailed(Exception):
    """Writing stdout failed with ``error``: told apart from any other OSError, and out of
    reach of click's handler of a closed pipe (exit 1, which is `check`'s "failed")."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _WholeWrites(io.RawIOBase):
    """The file descriptor of stdout, each write written whole or an error raised (a raw
    stream may write part of a long text and drop the rest: with PYTHONUNBUFFERED, a disk
    that fills up or a pipe whose reader leaves). After :meth:`drop`, writes are dropped."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.dropped = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        from backprop_cli.atomic import write_all

        return len(memoryview(data).cast("B")) if self.dropped else write_all(self.fd, data)

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def drop(self) -> None:
        self.dropped = True


def _whole_writes(real: TextIO) -> tuple[TextIO, _WholeWrites | None]:
    """``real`` (stdout) as a text stream of its own whose bytes all reach its file
    descriptor or raise; ``real`` itself where it has none (a test's capture)."""
    try:
        fd = real.fileno()
        real.flush()
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return real, None
    raw = _WholeWrites(fd)
    text = io.TextIOWrapper(io.BufferedWriter(raw), encoding=real.encoding,
                            errors=real.errors,
                            line_buffering=bool(real.line_buffering))
    return cast(TextIO, text), raw


class _Stdout:
    """sys.stdout while a command runs: a write error becomes :class:`_StdoutFailed`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            raise _StdoutFailed(exc) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            raise _StdoutFailed(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _Group(TyperGroup):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Every command, its help included, with stdout's write errors handled here: a
        closed pipe exits 141 silently; any other (a full disk) is one error, exit 2."""
        real = sys.stdout
        if real is None:  # pragma: no cover - pythonw
            return super().main(*args, **kwargs)
        given = kwargs.get("args", args[0] if args else None)
        if not (sys.argv[1:] if given is None else given):
            # No command: a usage error (exit 2), so the help goes to stderr with it; it is on
            # stdout when asked for (--help).
            sys.stdout = sys.stderr
            try:
                return super().main(*args, **kwargs)
            finally:
                sys.stdout = real
        whole, raw = _whole_writes(real)
        proxy = cast(TextIO, _Stdout(whole))
        sys.stdout = proxy
        try:
            try:
                return super().main(*args, **kwargs)
            except MemoryError:
                raise SystemExit(fail(_out_of_memory()).exit_code) from None
            finally:
                proxy.flush()
        except _StdoutFailed as failed:
            sys.stdout = io.StringIO()  # drop what is still buffered for the broken stream
            if raw is not None:
                raw.drop()
            if failed.error.errno == errno.EPIPE:
                raise SystemExit(EXIT_CLOSED_PIPE) from None
            from backprop_cli.errors import OutputError

            reason = failed.error.strerror or str(failed.error)
            raise SystemExit(fail(OutputError(f"cannot write the output: {reason}")).exit_code
                             ) from None
        finally:
            if sys.stdout is proxy:
                sys.stdout = real


def _out_of_memory() -> BackpropError:
    """MemoryError anywhere in a command: the network (or its output in this format) does
    not fit in memory; name what streams instead."""
    from backprop_cli.errors import OutputError

    return OutputError(
        "out of memory: the network or its output in this format does not fit in memory; "
        "use a streamed format (analyze --format ndjson or csv, --data with a smaller "
        "--chunk-rows), --limit, --top or --layer to show less, or a smaller network")


def _safe_streams() -> None:
    """On a stdout or stderr that is not UTF-8 (PYTHONIOENCODING=ascii, a latin-1 locale), a
    character the presenters did not already write as ASCII (a class label, a file name, the
    help) becomes a backslash escape instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if not unicode_ok(stream) and isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


app = _App(
    name="backprop",
    cls=_Group,
    help="Make backpropagation visible: every chain-rule factor of every weight and bias.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    # markdown: help paragraphs are re-wrapped, and "[default: …]" is text, not rich markup.
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Choice(str, Enum):
    """A choice among names the core defines: ``Choice("Optimizer", OPTIMIZERS)`` is the enum
    typer offers (its members' values are the core's names)."""


if TYPE_CHECKING:  # mypy sees the base class; the members exist at run time
    Format: TypeAlias = Choice
    DocFormat: TypeAlias = Choice
    PredictFormat: TypeAlias = Choice
    GraphFormat: TypeAlias = Choice
    Optimizer: TypeAlias = Choice
    Normalize: TypeAlias = Choice
    DType: TypeAlias = Choice
    Split: TypeAlias = Choice
else:
    def _choice(name: str, names: tuple[str, ...]) -> type[Choice]:
        return Choice(name, [(n, n) for n in names])

    Format = _choice("Format", formats("analyze"))
    # check, nudge, diagnose, train and evaluate (a test checks that they agree)
    DocFormat = _choice("DocFormat", formats("check"))
    PredictFormat = _choice("PredictFormat", formats("predict"))
    GraphFormat = _choice("GraphFormat", formats("graph"))
    Optimizer = _choice("Optimizer", OPTIMIZERS)
    Normalize = _choice("Normalize", NORMALIZE)
    DType = _choice("DType", DTYPES)
    Split = _choice("Split", SPLITS)

# --- options shared by several commands -----------------------------------------------------

DataOption = Annotated[
    Path | None,
    typer.Option("--data", metavar="DATA.csv", show_default=False,
                 help="Use the rows of this CSV file (header row; the network's stored "
                      "preprocessing applied) instead of the network's examples."),
]
ChunkRowsOption = Annotated[
    int, typer.Option(min=1, help="Rows read at a time with --data (bounds the memory).")
]
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
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to FILE (atomically) instead of stdout.",
                 show_default=False),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Overwrite an existing --output file (an input file is "
                                       "never overwritten).")
]
# What --data options are when not given (the signatures use the same constants).
DATA_DEFAULTS = {"--target": None, "--features": None, "--delimiter": DELIMITER,
                 "--chunk-rows": CHUNK_ROWS, "--rows": None, "--max-work": CHECK_MAX_WORK}


def fail(error: BackpropError) -> typer.Exit:
    """Print the error once, to stderr, and return the exit to raise."""
    say(f"backprop: {error.heading}{error}")
    return typer.Exit(error.exit_code)


def say(message: str) -> None:
    """One line on stderr; its symbols in ASCII where stderr is not UTF-8, control characters
    from the input as escapes (``\\x1b``) and long quoted values cut (errors.clip_quoted)."""
    message = clip_quoted(printable(message))
    sys.stderr.write((message if unicode_ok(sys.stderr) else to_ascii(message)) + "\n")


def _present(kind: str, fmt: str, report: object, *, limit: int = 25,
             precision: int | None = None, ascii_: bool = False, fragment: bool = False,
             compact: bool = False, output: Path | None = None, force: bool = False) -> None:
    """``report`` drawn by the presenter of ``kind`` in ``fmt`` (present.PRESENTERS) on stdout,
    or atomically into ``output``. --limit 0 shows every row; ASCII also on a stdout that is
    not UTF-8."""
    from backprop_cli.present import Options, presenter

    options = Options(precision=precision, limit=None if limit == 0 else limit,
                      ascii=ascii_ or (output is None and not unicode_ok(sys.stdout)),
                      width=_table_width(), fragment=fragment, compact=compact)
    render = presenter(kind, fmt)
    if output is None and fmt not in _TEXT_DOCUMENTS:
        render(report, sys.stdout, options)
        return
    text = io.StringIO()
    render(report, text, options)
    document = text.getvalue()
    _write_text(printable(document) if fmt in _TEXT_DOCUMENTS else document, output,
                force=force)


# Formats whose text from the files (a name, a label) is escaped here: tables escape it in
# their console, JSON escapes it itself; CSV and NDJSON keep it exact, as data.
_TEXT_DOCUMENTS = ("markdown", "latex", "text")


def _refuse_format_options(fmt: str, *, paths: bool, fragment: bool) -> None:
    """--paths and --fragment only mean something in some of analyze's formats."""
    from backprop_cli.errors import UsageError

    if paths and fmt not in ("table", "json"):
        raise UsageError(f"--paths: the paths are shown in --format table and json, not in "
                         f"--format {fmt}")
    if fragment and fmt != "latex":
        raise UsageError(f"--fragment only applies to --format latex, not --format {fmt}")


def _refuse_data_options(data: Path | None, **given: object) -> None:
    """--target, --features, --delimiter and --chunk-rows only mean something with --data."""
    from backprop_cli.errors import UsageError

    if data is not None:
        return
    names = [f"--{name.replace('_', '-')}" for name, value in given.items()
             if value != DATA_DEFAULTS[f"--{name.replace('_', '-')}"]]
    if names:
        one = len(names) == 1
        raise UsageError(f"{', '.join(names)} only appl{'ies' if one else 'y'} to the rows of "
                         f"--data DATA.csv; add --data or leave {'it' if one else 'them'} out")


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


MIN_COLUMNS = 20  # a narrower COLUMNS (0, negative, tiny) would print nothing: ignored


def _table_width() -> int | None:
    """None: rich asks the terminal; else COLUMNS, or 80 when stdout is not a terminal."""
    try:
        columns: int | None = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = None
    if columns is not None and columns < MIN_COLUMNS:
        if not sys.stdout.isatty():
            return 80
        try:  # rich would take COLUMNS as it is: ask the terminal instead
            size = os.get_terminal_size(sys.stdout.fileno()).columns
        except (OSError, ValueError):
            size = 0
        return size if size >= MIN_COLUMNS else 80
    if sys.stdout.isatty():
        return None
    return 80 if columns is None else columns


NetFile = Annotated[Path, typer.Argument(metavar="NET.yaml", help="The network file.",
                                         show_default=False)]


@app.command(
    epilog="Example: backprop analyze configs/chain.yaml --format json | jq '.gradient'",
)
def analyze(
    net_file: NetFile,
    fmt: Annotated[Format, typer.Option(
        "--format", "-f",
        help="Output format: table (every factor); json, ndjson, csv (for programs); the "
        "worked derivation as text (for the terminal, wrapped to COLUMNS), markdown (for a "
        "Markdown viewer with math, e.g. GitHub) or latex (a document for pdflatex).",
    )] = Format("table"),
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
    data: DataOption = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    chunk_rows: ChunkRowsOption = CHUNK_ROWS,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", metavar="PARAM", show_default=False,
                     help=r"Show only this parameter (repeatable): w\<l>.\<j>.\<k> for w(l)jk "
                     r"or b\<l>.\<j> for b(l)j, as in `backprop nudge`."),
    ] = None,
    fragment: Annotated[
        bool, typer.Option("--fragment", help="latex: the body only, without the document.")
    ] = False,
) -> None:
    """Run the forward and backward passes and show every chain-rule factor.

    For every weight: ∂C0/∂w(l)jk = ∂C0/∂a(l)j · ∂a(l)j/∂z(l)j · ∂z(l)j/∂w(l)jk, with
    ∂z/∂w = a(l-1)k and ∂z/∂b = 1; then ∂C0/∂a(l-1)k summed over the paths, and the gradient
    of the full cost C (the mean of C0 over the examples).

    With --data: over the rows of a CSV file instead, read in chunks (memory does not grow
    with the rows): the mean of every factor and ∂C/∂w, the mean of ∂C0/∂w over the rows,
    e.g. backprop analyze configs/digits.yaml --data configs/digits.csv --top 5
    """
    from backprop_cli.config import load_network
    from backprop_cli.errors import UsageError
    from backprop_cli.report import analyze as build

    try:
        _refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                             chunk_rows=chunk_rows)
        _refuse_format_options(fmt.value, paths=paths, fragment=fragment)
        net = load_network(net_file)
        report: AnalyzeReport
        if data is None:
            report = build(net, example=example, layer=layer, top=top, paths=paths,
                           file=str(net_file))
        else:
            from backprop_cli.dataset_report import analyze_data

            if example is not None:
                raise UsageError("--example picks one of the network's examples; with --data "
                                 "the analysis is the mean over every row (leave --example out)")
            if fmt.value in ("text", "markdown", "latex"):
                raise UsageError(
                    f"--format {fmt.value} with --data: a worked derivation substitutes one "
                    "example's numbers, and the means over the rows do not satisfy its "
                    "equations (the mean of σ(z) is not σ of the mean z, nor the mean of a "
                    "product the product of the means); with --data use --format table, json, "
                    "ndjson or csv")
            chunks, info = _data_chunks(net, net_file, data, target, features, delimiter,
                                        chunk_rows)
            report = analyze_data(net, chunks, info, layer=layer, top=top, paths=paths)
        if param:
            report = _choose(report, param)
    except BackpropError as exc:
        raise fail(exc) from None
    _present("analyze", fmt.value, report, limit=limit, precision=precision, ascii_=ascii_,
             fragment=fragment)


def _data_chunks(net: Network, net_file: Path, data: Path, target: str | None,
                 features: str | None, delimiter: str, chunk_rows: int
                 ) -> tuple[DataStream, dict[str, object]]:
    """The rows of --data in chunks (each iteration reads the file), and what the report
    says about them."""
    from backprop_cli.data import stream_for_network

    stream = stream_for_network(net, data, target=target, features=features,
                                delimiter=delimiter, net_file=str(net_file),
                                chunk_rows=chunk_rows)
    return stream, {**stream.describe(), "chunk_rows": chunk_rows}


def _choose(report: AnalyzeReport, names: list[str]) -> AnalyzeReport:
    """The report restricted to --param's parameters (in the selected layers)."""
    from dataclasses import replace

    from backprop_cli.errors import UsageError
    from backprop_cli.nudge import parse_param

    parsed = [parse_param(name, report.network) for name in names]
    for name, p in zip(names, parsed, strict=True):
        if p.layer not in report.layers:
            raise UsageError(f"--param {name} is not in the selected --layer {report.layers[0]}")
    return replace(report, chosen=tuple(dict.fromkeys(parsed)))


# --- the sensitivity toolkit: check, nudge, diagnose, init, schema ------------------------

def _examples_of(net_file: Path) -> tuple[Network, Array, Array]:
    """The network and its examples' inputs and targets, or a UsageError."""
    from backprop_cli.config import load_network

    net = load_network(net_file)
    examples = net.require_examples(str(net_file))
    return net, examples.inputs, examples.targets


@app.command(
    epilog="Example: backprop check configs/two-layer.yaml --all  (in CI: exit 1 on a mismatch)",
)
def check(
    net_file: NetFile,
    fmt: DocFormatOption = DocFormat("table"),
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
    data: DataOption = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    chunk_rows: ChunkRowsOption = CHUNK_ROWS,
    rows: Annotated[
        int | None,
        typer.Option(show_default=False,
                     help="With --data: check on the first N rows only [default: every row]."),
    ] = None,
    max_work: Annotated[
        float,
        typer.Option(metavar="MACS", show_default=False,
                     help="With --data: refuse a check whose forward passes take more "
                          "multiply-adds (2 × checked parameters × rows × weights) [default: "
                          f"{CHECK_MAX_WORK:.0e}, about a minute]; 0: no limit."),
    ] = CHECK_MAX_WORK,
) -> None:
    """Check every gradient against central finite differences (float64).

    For each parameter θ: numeric = (C0(θ+ε) − C0(θ−ε)) / 2ε for every example and for the
    full cost C; rel error = |analytic − numeric| / max(|analytic|, |numeric|, 1e-3 ·
    max(1, |C0|)). Exit 0 when every rel error ≤ --tolerance, 1 otherwise.

    With --data: the full cost C over the rows of a CSV file instead (no per-example columns;
    |C| in place of |C0| in the floor). The file is read twice, in chunks (memory does not grow
    with the rows): once for ∂C/∂θ, once for C(θ ± ε). Each checked parameter costs 2 forward
    passes over every row; a check of more than --max-work multiply-adds is refused at once
    (exit 2): add --sample N or --rows N, e.g.
    backprop check configs/digits.yaml --data configs/digits.csv --sample 200
    """
    from backprop_cli.check import CheckReport, check_data, check_gradients

    try:
        _refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                             chunk_rows=chunk_rows, rows=rows, max_work=max_work)
        report: CheckReport
        if data is None:
            net, x, y = _examples_of(net_file)
            report = check_gradients(net, x, y, eps=eps, tolerance=tolerance,
                                     sample=sample, seed=seed, show_all=all_)
        else:
            from backprop_cli.config import load_network

            net = load_network(net_file)
            stream, info = _data_chunks(net, net_file, data, target, features, delimiter,
                                        chunk_rows)
            report = check_data(net, stream, info, eps=eps, tolerance=tolerance,
                                sample=sample, seed=seed, show_all=all_, max_rows=rows,
                                max_work=max_work)
    except BackpropError as exc:
        raise fail(exc) from None
    _present("check", fmt.value, report, limit=limit, precision=precision, ascii_=ascii_)
    if not report.passed:
        from backprop_cli.errors import CheckFailed

        worst = max(report.failed, key=lambda c: c.max_rel)
        raise fail(CheckFailed(
            f"gradient check failed: {len(report.failed)} of {len(report.params)} parameters "
            f"above tolerance {tolerance:g} (worst relative error {worst.max_rel:.3g})"))


@app.command(
    epilog="Example: backprop nudge configs/chain.yaml w1.0.0 --by 0.01",
)
def nudge(
    net_file: NetFile,
    param: Annotated[
        str,
        typer.Argument(metavar="PARAM", show_default=False,
                       help=r"w\<l>.\<j>.\<k> for w(l)jk or b\<l>.\<j> for b(l)j: w2.0.1 is "
                       "w(2)01, b3.0 is b(3)0."),
    ],
    by: Annotated[float, typer.Option("--by", help="The nudge Δ added to PARAM.")] = 0.001,
    example: Annotated[
        int | None,
        typer.Option(help="Follow only example N and its cost C0 [default: every example, and "
                     "C, the mean of C0].", show_default=False),
    ] = None,
    fmt: DocFormatOption = DocFormat("table"),
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
        report = run(net, x, y, parse_param(param, net), by, example, str(net_file))
    except BackpropError as exc:
        raise fail(exc) from None
    _present("nudge", fmt.value, report, limit=limit, precision=precision, ascii_=ascii_)


@app.command(
    epilog="Example: backprop diagnose configs/mnist-784-16-16-10.yaml --format json",
)
def diagnose(
    net_file: NetFile,
    fmt: DocFormatOption = DocFormat("table"),
    precision: PrecisionOption = None,
    ascii_: AsciiOption = False,
    data: DataOption = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    chunk_rows: ChunkRowsOption = CHUNK_ROWS,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 1 when there is a warning (for CI); the output is the same.")
    ] = False,
) -> None:
    """Look for what makes a network learn badly, on its examples (or --data's rows).

    Per layer: ‖∂C/∂W(l)‖ and its ratio to the output layer's (vanishing/exploding), the share
    of saturated neurons (σ'(z) < 1% of max σ'), dead ReLUs (z ≤ 0 on every example), weight
    and activation statistics; each finding with an explanation and a suggestion. --data reads
    the CSV in chunks, so memory does not grow with the rows, e.g.
    backprop diagnose configs/digits.yaml --data configs/digits.csv
    """
    from backprop_cli.diagnose import Diagnosis
    from backprop_cli.diagnose import diagnose as run

    try:
        _refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                             chunk_rows=chunk_rows)
        report: Diagnosis
        if data is None:
            net, x, y = _examples_of(net_file)
            report = run(net, x, y)
        else:
            from backprop_cli.config import load_network
            from backprop_cli.dataset_report import diagnose_data

            net = load_network(net_file)
            chunks, info = _data_chunks(net, net_file, data, target, features, delimiter,
                                        chunk_rows)
            report = diagnose_data(net, chunks, info)
    except BackpropError as exc:
        raise fail(exc) from None
    _present("diagnose", fmt.value, report, limit=0, precision=precision, ascii_=ascii_)
    warnings = [f for f in report.findings if f.severity == "warning"]
    if strict and warnings:
        from backprop_cli.errors import Findings

        raise fail(Findings(
            f"diagnose --strict: {plural(len(warnings), 'warning')} "
            f"({', '.join(dict.fromkeys(f.code for f in warnings))})"))


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
        typer.Option("--example-input/--no-example-input",
                     help="Add a template example (all-zero input, one-hot target of class 0) "
                     "so that `backprop analyze` runs on the file at once; edit it."),
    ] = True,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Write a new network file with explicit weights drawn like an init: block would.

    The result is a complete network file that `backprop analyze` reads as it is: it has a
    template example to analyze (--no-example-input leaves it out).
    """
    from backprop_cli.config import dump_network
    from backprop_cli.scaffold import new_network, parse_sizes, written_by

    try:
        check_output(output, [], force=force)
        net = new_network(parse_sizes(sizes), activation=activation,
                          output_activation=output_activation, cost=cost, method=method,
                          seed=seed, scale=scale, name=name, example_input=example_input)
    except BackpropError as exc:
        raise fail(exc) from None
    comment = written_by(net, activation=activation, method=method, seed=seed, scale=scale,
                         name=name, example_input=example_input)
    _write_text(comment + dump_network(net), output, force=force)


def _readable(net_file: Path, *csv_files: Path | None) -> None:
    """Name an input that cannot be read (no such file, permission, a symlink loop …) as an
    input, before the outputs are compared with the inputs."""
    from backprop_cli.inputs import csv_stat, network_stat

    network_stat(net_file)
    for path in csv_files:
        if path is not None:
            csv_stat(path)


def _write_text(text: str, output: Path | None, *, force: bool,
                option: str = "--output") -> None:
    """To stdout, or to ``output`` atomically (see :mod:`backprop_cli.atomic`); without
    ``force`` a file that another process created at ``output`` meanwhile is kept."""
    if output is None:
        sys.stdout.write(text)
        return
    from backprop_cli.atomic import write_atomic
    from backprop_cli.errors import OutputError

    try:
        write_atomic(output, text, replace=force)
    except FileExistsError:
        raise fail(_created_meanwhile(option, output)) from None
    except OSError as exc:
        if exc.errno == errno.EPIPE and own_stream(output) is not None:  # -o /dev/stdout | head
            raise SystemExit(EXIT_CLOSED_PIPE) from None
        raise fail(OutputError(f"{output}: cannot write: {exc.strerror}")) from None


def _created_meanwhile(option: str, output: object) -> BackpropError:
    """An output that another process created after the checks (without --force)."""
    from backprop_cli.errors import OutputError

    return OutputError(f"{option} {output} was created by another process while this one "
                       "ran; it was kept, and nothing was written: add --force to overwrite it")


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
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the network file or of analyze's JSON.

    Editors with the YAML language server validate and complete a network file that begins
    with: # yaml-language-server: $schema=<path or URL of network.schema.json>
    """
    from backprop_cli.schema import schema_text

    try:
        check_output(output, [], force=force)
    except BackpropError as exc:
        raise fail(exc) from None
    _write_text(schema_text(kind.value, ascii=output is None and not unicode_ok(sys.stdout)),
                output, force=force)


# --- train, evaluate, predict ---------------------------------------------------------------

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
    delimiter: DelimiterOption = DELIMITER,
    epochs: Annotated[int, typer.Option(help="Passes over the training rows.")] = 10,
    batch_size: Annotated[int, typer.Option(help="Rows per batch (the last may be shorter).")
                          ] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate η.")] = 0.1,
    optimizer: Annotated[Optimizer, typer.Option(help="sgd: w ← w − η·∂C/∂w; momentum; adam."
                                                 )] = Optimizer("sgd"),
    momentum: Annotated[float, typer.Option(help="μ of --optimizer momentum.")] = 0.9,
    beta1: Annotated[float, typer.Option(help="Adam's β1.")] = 0.9,
    beta2: Annotated[float, typer.Option(help="Adam's β2.")] = 0.999,
    eps: Annotated[float, typer.Option("--eps", "--epsilon", help="Adam's ε.")] = 1e-8,
    shuffle: Annotated[bool, typer.Option("--shuffle/--no-shuffle",
                                          help="Shuffle the rows every epoch (from --seed).")
                       ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the shuffle and of --val-split.")] = 0,
    normalize: Annotated[Normalize | None, typer.Option(
        show_default=False,
        help="Feature scaling, fitted on the training rows and stored in --out [default: "
             "standard; a network trained before keeps its stored scaling, not refitted, as "
             "its weights were learned on it]. Given for a network trained before, it is "
             "fitted anew (a note on stderr says so).")
    ] = None,
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
                     ] = DType("float64"),
    log: Annotated[str | None, typer.Option(
        metavar="FILE", show_default=False,
        help="Write one JSON object per epoch to FILE ('-': stdout).")] = None,
    fmt: Annotated[DocFormat, typer.Option("--format", "-f",
                                               help="Format of the final summary on stdout.")
                   ] = DocFormat("table"),
    examples: Annotated[int | None, typer.Option(
        min=0, show_default=False,
        help="Store the first N training rows (preprocessed) as examples: in --out for "
             "`backprop analyze` [default: the network's own examples, else 2].")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress bar or per-epoch lines.")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="A line for every epoch on stderr [default: at most 20, evenly "
                                "spaced, and the best; --log FILE records every epoch].")
    ] = False,
    force: Annotated[bool, typer.Option(
        help="Overwrite existing --out, --log and --plot files (an input file is never "
             "overwritten).")] = False,
    plot: Annotated[Path | None, typer.Option(
        metavar="COST.png", show_default=False,
        help="Also write the cost per epoch as a PNG (needs the [plot] extra: matplotlib).")
    ] = None,
) -> None:
    """Fit the network to the CSV data by gradient descent and write the trained network.

    Each batch (consecutive rows after shuffling) has the cost C = mean of C0 over its rows;
    every weight moves against its gradient (sgd: w ← w − η·∂C/∂w). Progress goes to stderr,
    the summary to stdout. Ctrl-C (or SIGTERM) stops after the current batch and writes the
    weights so far (exit 130; 143 for SIGTERM); a non-finite cost, or weights whose forward
    pass overflows on a row (z = −inf through a ReLU), stops training and keeps the last
    finite weights (exit 1).
    """
    import time

    from backprop_cli.config import load_network
    from backprop_cli.data import load_training_data
    from backprop_cli.errors import Interrupted, OutputError
    from backprop_cli.log import series
    from backprop_cli.present.json import dumps
    from backprop_cli.present.train import TrainDisplay, stream_width
    from backprop_cli.train import (
        Trainer,
        TrainOptions,
        TrainReport,
        ending_error,
        trained_document,
    )

    options = TrainOptions(
        epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer.value,
        momentum=momentum, beta1=beta1, beta2=beta2, eps=eps, shuffle=shuffle, seed=seed,
        patience=patience, dtype=dtype.value,
    )
    from backprop_cli.present import chart

    try:
        if plot is not None and not chart.have_matplotlib():
            from backprop_cli.errors import UsageError

            raise UsageError(f"--plot {plot}: the PNG needs matplotlib, which is not "
                             f"installed; install it with: {chart.PLOT_HINT}")
        _readable(net_file, data_file, val)
        inputs = [net_file, data_file, *([val] if val else [])]
        check_output(out, inputs, "--out", force=force)
        log_file = None if log in (None, "-") else Path(str(log))
        # --log /dev/stdout is --log -: stdout is then NDJSON, the summary one more line
        on_stdout = log == "-" or (log_file is not None and own_stream(log_file) == 1)
        check_output(log_file, inputs, "--log", force=force, others={"--out": out})
        check_output(plot, inputs, "--plot", force=force,
                     others={"--out": out, **({"--log": log_file} if log_file else {})})
        net = load_network(net_file)
        data = load_training_data(
            net, data_file, target=target, features=features, delimiter=delimiter, val=val,
            val_split=val_split, seed=seed, shuffle=shuffle,
            normalize=None if normalize is None else normalize.value, net_file=str(net_file))
        if data.replaced is not None:
            say(f"backprop: note: --normalize {data.preprocessing.normalize}: replaced the "
                f"stored scaling of {net_file} ({data.replaced.normalize}) with one fitted on "
                f"the {data.info['train_rows']} training rows; its weights were learned on "
                "the stored one")
        trainer = Trainer.for_data(net, data, options)
        log_stream = _Log(log, force)
    except BackpropError as exc:
        raise fail(exc) from None

    started = time.perf_counter()
    display = TrainDisplay(sys.stderr, quiet=quiet, verbose=verbose, epochs=epochs,
                           batch_count=trainer.batch_count)
    records: list[dict[str, object]] = []
    # SIGINT (Ctrl-C) and SIGTERM: finish the batch, write the weights so far, exit 128 + the
    # signal's number; a second one stops at once without writing.
    with _StopSignals() as signals:
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
            raise fail(Interrupted(f"interrupted twice; stopped without writing {out}",
                                   signals.signum)) from None
        finally:
            log_stream.close()

        signals.writing = True  # from here on a second signal waits until --out is written
        try:
            summary = trainer.summary(time.perf_counter() - started)
            text = trained_document(net, trainer, summary, data, examples, str(net_file))
        except BackpropError as exc:
            signals.restore()
            raise fail(exc) from None
        _write_text(text, out, force=force, option="--out")
    costs = series(records) if records else None
    if plot is not None and costs is not None:  # before stdout, which may be a closed pipe
        try:
            chart.write_png(costs, plot, f"{net.name or net_file.stem}: cost per epoch",
                            replace=force)
        except FileExistsError:
            raise fail(_created_meanwhile("--plot", plot)) from None
        except OSError as exc:
            raise fail(OutputError(f"--plot {plot}: cannot write: {exc.strerror}")) from None
    # With --log - (or /dev/stdout), stdout is NDJSON: the summary is one more JSON line,
    # whatever --format.
    _present("train", "json" if on_stdout else fmt.value,
             TrainReport(summary, net.cost, str(out)), compact=on_stdout)
    if costs is not None and not quiet and sys.stderr.isatty():
        sys.stderr.write(chart.terminal_chart(costs, width=stream_width(sys.stderr),
                                              ascii=not unicode_ok(sys.stderr)))
    ending = ending_error(trainer, summary, str(out), signals.signum, data)
    if ending is not None:
        raise fail(ending)


class _StopSignals:
    """SIGINT (Ctrl-C) and SIGTERM while training: the first asks to stop after the batch
    (``requested`` holds its number); a second one stops at once (KeyboardInterrupt), except
    while ``writing`` --out, when it waits, so that no temporary file is left behind. The
    previous handlers are back on leaving the ``with`` (or after :meth:`restore`)."""

    def __init__(self) -> None:
        self.requested = 0
        self.writing = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _StopSignals:
        import contextlib
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.requested and not self.writing:
            raise KeyboardInterrupt
        self.requested = self.requested or signum

    @property
    def signum(self) -> int:
        """The signal that asked to stop (SIGINT if none did: a KeyboardInterrupt)."""
        import signal

        return self.requested or signal.SIGINT

    def restore(self) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()


def _open_log(log: str | None, force: bool = False) -> TextIO | None:
    """None, stdout ('-'), or FILE opened for writing (streamed, not atomic: a log grows);
    without ``force`` a file that appeared since the checks is refused, not truncated."""
    if log is None:
        return None
    if log == "-":
        return sys.stdout
    from backprop_cli.atomic import open_stream
    from backprop_cli.errors import OutputError

    try:
        return open_stream(Path(log), exclusive=not force)  # /dev/stdout …: never truncated
    except FileExistsError:
        raise _created_meanwhile("--log", log) from None
    except OSError as exc:
        raise OutputError(f"--log {log}: cannot write: {exc.strerror}") from None


class _Log:
    """train's --log: one JSON object per epoch, to FILE or stdout ('-'). A write that fails
    (a full disk, a closed pipe) ends the log, not the training: one warning on stderr (none
    for a closed pipe, whose reader has gone) and --out is still written."""

    def __init__(self, log: str | None, force: bool = False) -> None:
        self.name = log
        self.stream = _open_log(log, force)

    def write(self, line: str) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(line)
            self.stream.flush()
        except (OSError, _StdoutFailed) as exc:
            error = exc.error if isinstance(exc, _StdoutFailed) else exc
            self.close()
            # on stdout, the summary after it fails too: that is the one message
            if error.errno != errno.EPIPE and not isinstance(exc, _StdoutFailed):
                say(f"backprop: warning: --log {self.name}: cannot write: {error.strerror}; "
                    "training goes on without the log")

    def close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None and stream is not sys.stdout:
            import contextlib

            with contextlib.suppress(OSError):  # a failed write was reported; its rest dropped
                stream.close()


@app.command(
    epilog="Example: backprop evaluate digits-trained.yaml configs/digits.csv --split val",
)
def evaluate(
    net_file: NetFile,
    data_file: DataFile,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    split: Annotated[Split, typer.Option(
        help="Only the rows that --val-split held out (val) or trained on (train) when the "
             "network was trained on this file.")] = Split("all"),
    fmt: Annotated[DocFormat, typer.Option("--format", "-f", help="Output format.")
                   ] = DocFormat("table"),
) -> None:
    """Cost, accuracy and confusion matrix of the network on CSV data.

    The cost C is the mean of C0 over the rows; for class labels also the accuracy (a fraction
    in JSON) and the confusion matrix. The network's stored preprocessing is applied.
    """
    from backprop_cli.config import load_network
    from backprop_cli.data import load_for_network, rows_named
    from backprop_cli.train import EvaluationReport
    from backprop_cli.train import evaluate as run

    try:
        net = load_network(net_file)
        ds, _ = load_for_network(net, data_file, target=target, features=features,
                                 delimiter=delimiter, split=split.value,
                                 net_file=str(net_file))
        assert ds.targets is not None
        with rows_named(ds):
            result = run(net, ds.inputs, ds.targets, ds.labels)
    except BackpropError as exc:
        raise fail(exc) from None
    _present("evaluate", fmt.value,
             EvaluationReport(result, ds.classes, str(net_file), str(data_file), net.cost))


@app.command(
    epilog="Example: backprop predict digits-trained.yaml configs/digits.csv --format ndjson "
    "| head -3",
)
def predict(
    net_file: NetFile,
    data_file: DataFile,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    fmt: Annotated[PredictFormat, typer.Option("--format", "-f", help="Output format.")
                   ] = PredictFormat("csv"),
) -> None:
    """Output activations a(L) (and the predicted label) for every row of CSV data.

    For classifiers the label is the class of the largest output, from the class list
    `evaluate` uses: the trained network's, else the data's labels in sorted order. The
    network's stored preprocessing is applied; target columns, if present, are ignored.
    """
    from backprop_cli.config import load_network
    from backprop_cli.data import classes_for_network, load_for_network, rows_named
    from backprop_cli.engine import predict as forward
    from backprop_cli.errors import DataError
    from backprop_cli.inputs import as_input
    from backprop_cli.train import Predictions

    try:
        net = load_network(net_file)
        source = as_input(data_file)  # read once: a pipe cannot be read twice, as below
        ds, _ = load_for_network(net, source, target=target, features=features,
                                 delimiter=delimiter, need_target=False,
                                 net_file=str(net_file))
        with rows_named(ds):
            outputs = forward(net, ds.inputs)
        try:
            classes = classes_for_network(net, source, target=target, features=features,
                                          delimiter=delimiter, net_file=str(net_file))
        except DataError as exc:  # predict needs no labels: the rows go out without one
            say(f"backprop: note: no label column: {exc}")
            classes = None
    except BackpropError as exc:
        raise fail(exc) from None
    _present("predict", fmt.value, Predictions(outputs, classes))


# --- show: graph, report ----------------------------------------------------------------------

class Show(str, Enum):
    gradient = "gradient"
    weight = "weight"


@app.command(
    epilog="Example: backprop graph configs/two-layer.yaml -o two-layer.svg",
)
def graph(
    net_file: NetFile,
    fmt: Annotated[GraphFormat, typer.Option("--format", "-f", help="Output format.")
                   ] = GraphFormat("svg"),
    show: Annotated[Show, typer.Option(
        help="What an edge's colour (sign) and width (magnitude) show: ∂C/∂w of the full cost "
             "over the examples, or the weight w.")] = Show.gradient,
    max_neurons: Annotated[int, typer.Option(
        min=3, help="Neurons drawn per layer; a larger layer shows its first and last ones "
                    "and '… n more'.")] = 12,
    output: OutputOption = None,
    force: ForceOption = False,
    ascii_: Annotated[bool, typer.Option("--ascii", help="Label a(2)_0 instead of a⁽²⁾₀.")
                      ] = False,
) -> None:
    """Draw the network: neurons a(l)j as circles, edges coloured by sign and sized by magnitude.

    SVG is drawn by backprop itself (no Graphviz needed); dot is for Graphviz, mermaid for
    Markdown renderers that support it. Each edge's tooltip names w(l)jk and its value.
    """
    from backprop_cli.config import load_network
    from backprop_cli.present.graph import layout
    from backprop_cli.report import analyze as build

    try:
        _readable(net_file)
        check_output(output, [net_file], force=force)
        net = load_network(net_file)
        if show is Show.gradient:
            values = build(net, file=str(net_file)).trace.grad_w
        else:
            values = tuple(layer.weights for layer in net.layers)
    except BackpropError as exc:
        raise fail(exc) from None
    _present("graph", fmt.value, layout(net, values, show.value, max_neurons), ascii_=ascii_,
             output=output, force=force)


@app.command(
    epilog="Example: backprop train configs/xor.yaml configs/xor.csv -o xor-trained.yaml --log "
    "xor.log && backprop report xor-trained.yaml --log xor.log -o report.html",
)
def report(
    net_file: NetFile,
    output: OutputOption = None,
    force: ForceOption = False,
    log: Annotated[Path | None, typer.Option(
        "--log", metavar="TRAIN_LOG", show_default=False,
        help="Add the training and validation cost per epoch from `backprop train --log`.")
    ] = None,
    data: DataOption = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    chunk_rows: ChunkRowsOption = CHUNK_ROWS,
    limit: Annotated[int, typer.Option(help="Rows per table (0: all); the rest is counted.",
                                       min=0)] = 200,
    max_neurons: Annotated[int, typer.Option(
        min=3, help="Neurons drawn per layer in the diagram.")] = 12,
) -> None:
    """Write one self-contained HTML page: diagram, chain-rule factors, tables, cost curves.

    Everything is inline (no request to any other host): open the file in a browser from
    disk. Clicking or hovering an edge shows that weight's chain-rule factors and gradient;
    the tables work without JavaScript.
    """
    from backprop_cli.config import load_network
    from backprop_cli.log import read_log
    from backprop_cli.present.html import render_html
    from backprop_cli.report import analyze as build

    try:
        _refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                             chunk_rows=chunk_rows)
        _readable(net_file, data)
        check_output(output, [net_file, *(p for p in (log, data) if p is not None)],
                     force=force)
        net = load_network(net_file)
        result: AnalyzeReport
        if data is None:
            result = build(net, file=str(net_file))
        else:
            from backprop_cli.dataset_report import analyze_data

            chunks, info = _data_chunks(net, net_file, data, target, features, delimiter,
                                        chunk_rows)
            result = analyze_data(net, chunks, info)
        costs = None if log is None else read_log(log)
    except BackpropError as exc:
        raise fail(exc) from None
    html = render_html(result, source=str(net_file), costs=costs,
                       limit=None if limit == 0 else limit, max_neurons=max_neurons)
    _write_text(html, output, force=force)
