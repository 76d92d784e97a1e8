"""The command line: parse, call the core, pick a presenter, map errors to exit codes."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from backprop_cli import __version__
from backprop_cli.errors import BackpropError

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


@app.callback()
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
        report = build(load_network(net_file), example=example, layer=layer, top=top)
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
