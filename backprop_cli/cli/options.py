"""The options the commands share (one Annotated alias each, help texts in one place) and the
choice enums typer offers; the checks of options that only mean something together."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from backprop_cli import __version__
from backprop_cli.choices import (
    CHECK_MAX_WORK,
    CHUNK_ROWS,
    DELIMITER,
    DTYPES,
    ENGINES,
    GRAPH_LABELS,
    LR_SCHEDULES,
    NORMALIZE,
    OPTIMIZERS,
    PARTITION_ROWS,
    SPLITS,
)
from backprop_cli.present import formats


class Choice(str, Enum):
    """A choice among names the core defines: ``Choice("Optimizer", OPTIMIZERS)`` is the enum
    typer offers (its members' values are the core's names)."""


if TYPE_CHECKING:  # mypy sees the base class; the members exist at run time
    Format: TypeAlias = Choice
    DocFormat: TypeAlias = Choice
    PredictFormat: TypeAlias = Choice
    GraphFormat: TypeAlias = Choice
    StepFormat: TypeAlias = Choice
    SensitivityFormat: TypeAlias = Choice
    Optimizer: TypeAlias = Choice
    Normalize: TypeAlias = Choice
    DType: TypeAlias = Choice
    Split: TypeAlias = Choice
    GraphLabels: TypeAlias = Choice
    LRSchedule: TypeAlias = Choice
    Engine: TypeAlias = Choice
else:
    def _enum(name: str, names: tuple[str, ...]) -> type[Choice]:
        return Choice(name, [(n, n) for n in names])

    Format = _enum("Format", formats("analyze"))
    # check, nudge, diagnose, train and evaluate (a test checks that they agree)
    DocFormat = _enum("DocFormat", formats("check"))
    PredictFormat = _enum("PredictFormat", formats("predict"))
    GraphFormat = _enum("GraphFormat", formats("graph"))
    StepFormat = _enum("StepFormat", formats("step"))
    SensitivityFormat = _enum("SensitivityFormat", formats("sensitivity"))
    Optimizer = _enum("Optimizer", OPTIMIZERS)
    Normalize = _enum("Normalize", NORMALIZE)
    DType = _enum("DType", DTYPES)
    Split = _enum("Split", SPLITS)
    GraphLabels = _enum("GraphLabels", GRAPH_LABELS)
    LRSchedule = _enum("LRSchedule", LR_SCHEDULES)
    Engine = _enum("Engine", ENGINES)

# --- options shared by several commands -----------------------------------------------------

DataOption = Annotated[  # text, not a Path: Path("s3://b/x") is "s3:/b/x"
    list[str] | None,
    typer.Option("--data", metavar="DATA.csv", show_default=False,
                 help="Use the rows of this CSV file (header row; the network's stored "
                      "preprocessing applied) instead of the network's examples. Repeat it, "
                      "or give a quoted glob pattern ('rows/part-*.csv'), to read several "
                      "files as one."),
]
ChunkRowsOption = Annotated[
    int, typer.Option(min=1, help="Rows read at a time with --data (bounds the memory).")
]
DataFile = Annotated[Path, typer.Argument(metavar="DATA.csv", show_default=False,
                                          help="The data: CSV with a header row.")]
DataFiles = Annotated[list[str], typer.Argument(
    metavar="DATA.csv", show_default=False,
    help="The data: CSV with a header row; several files or a quoted glob pattern "
         "('rows/part-*.csv') are read as one.")]
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

# --- options of one command each, named so that every signature reads alike -------------

AnalyzeFormatOption = Annotated[Format, typer.Option(
        "--format", "-f",
        help="Output format: table (every factor); json, ndjson, csv (for programs); the "
        "worked derivation as text (for the terminal, wrapped to COLUMNS), markdown (for a "
        "Markdown viewer with math, e.g. GitHub) or latex (a document for pdflatex).",
    )]
AnalyzePrecisionOption = Annotated[
        int | None,
        typer.Option(help="Significant digits [default: 6 in tables, exact in json/ndjson/csv].",
                     min=1, max=17, show_default=False),
    ]
ParamOption = Annotated[
        list[str] | None,
        typer.Option("--param", metavar="PARAM", show_default=False,
                     help=r"Show only this parameter (repeatable): w\<l>.\<j>.\<k> for w(l)jk "
                     r"or b\<l>.\<j> for b(l)j, as in `backprop nudge`."),
    ]
PredictFormatOption = Annotated[PredictFormat, typer.Option("--format", "-f", help="Output format.")
                   ]
GraphFormatOption = Annotated[GraphFormat, typer.Option("--format", "-f", help="Output format.")
                   ]
StepFormatOption = Annotated[StepFormat, typer.Option(
        "--format", "-f",
        help="Output format: table; json (for programs, with the cost per step); csv (one row "
        "per parameter); text (each parameter's step as a worked line, for the terminal).")]
SensitivityFormatOption = Annotated[SensitivityFormat, typer.Option(
        "--format", "-f",
        help="Output format: table (with a heatmap of block characters for --image); json, "
        "csv (for programs; every input, in rank order); svg (the --image heatmap).")]
LabelAsciiOption = Annotated[bool, typer.Option("--ascii", help="Label a(2)_0 instead of a⁽²⁾₀.")
                      ]
TreeOption = Annotated[
        str | None,
        typer.Option("--tree", metavar="PARAM", show_default=False,
                     help=r"Draw the chain rule of one parameter or neuron instead: "
                     r"w\<l>.\<j>.\<k>, b\<l>.\<j> (as in `backprop nudge`) or a\<l>.\<j> for "
                     r"the neuron a(l)j and its paths to the cost; every node with its value, "
                     r"every edge with its local derivative."),
    ]
# graph's and report's diagram: which example fills the neurons, the edge labels, the scale
ExampleOption = Annotated[int | None, typer.Option(
        metavar="N",
        help="The example (0-based) whose activations fill the neurons, with its cost C0 and "
             "targets y (the edges always show the full cost's ∂C/∂w); with graph --tree, the "
             "example whose numbers the tree shows [default: 0].",
        show_default=False)]
GraphLabelsOption = Annotated[GraphLabels, typer.Option(
        help="Numbers written on the edges: w near the source, ∂C/∂w near the target, "
             "where there is room.")]
ScaleOption = Annotated[str, typer.Option(
        metavar="auto|ABS",
        help="The |value| drawn at full width: auto (the largest of this network) or a "
             "number, so that two pictures share one scale (larger values: full width).")]
ImageOption = Annotated[str | None, typer.Option(
        metavar="HxW", show_default=False,
        help="The inputs are an H×W image (8x8, 28x28; H·W = n_0): also draw the sensitivity "
             "(the --sort column) as a heatmap (sensitivity: block characters, --format svg; "
             "report: an SVG in the page).")]
# train's weight decay, learning-rate schedule and --resume (train.TrainOptions checks them)
WeightDecayOption = Annotated[float, typer.Option(
    "--weight-decay", metavar="λ",
    help="L2 penalty: train on C + (λ/2)·Σw² over the weights (not the biases); "
         "train's costs include it, the network's (analyze, check, evaluate) do not.")]
LRScheduleOption = Annotated[LRSchedule, typer.Option(
    "--lr-schedule", metavar="SCHEDULE",
    help="η in epoch e = 1, 2, …: constant; step: η·γ^⌊(e−1)/N⌋; exponential: "
         "η·γ^(e−1); cosine: from η down to --lr-min over --lr-epochs.")]
LRStepEveryOption = Annotated[int | None, typer.Option(
    "--lr-step-every", metavar="N", show_default=False,
    help="step: multiply η by γ every N epochs [default: 10].")]
LRGammaOption = Annotated[float | None, typer.Option(
    "--lr-gamma", metavar="γ", show_default=False,
    help="step, exponential: the factor γ > 0 [default: 0.5 step, 0.95 exponential].")]
LRMinOption = Annotated[float | None, typer.Option(
    "--lr-min", metavar="η_MIN", show_default=False,
    help="cosine: the learning rate it ends at [default: 0].")]
LREpochsOption = Annotated[int | None, typer.Option(
    "--lr-epochs", metavar="E", show_default=False,
    help="cosine: epochs from --lr down to --lr-min, then --lr-min [default: the "
         "epochs trained, those before --resume included].")]
ResumeOption = Annotated[bool, typer.Option(
    "--resume",
    help="Continue the training stored in NET.yaml: its optimizer state, shuffle and "
         "schedule epoch; options not given again are the stored run's (not --epochs, "
         "--patience).")]

# What --data options are when not given (the signatures use the same constants).
DATA_DEFAULTS = {"--target": None, "--features": None, "--delimiter": DELIMITER,
                 "--chunk-rows": CHUNK_ROWS, "--rows": None, "--max-work": CHECK_MAX_WORK,
                 "--engine": "local", "--scheduler": None, "--partition-rows": PARTITION_ROWS}



# --engine dask: the dataset passes on Dask workers (io/dask_rows.py)
EngineOption = Annotated[Engine, typer.Option(
    "--engine", help="Where the pass over the rows runs: local (this process, streamed) or "
                     "dask (Dask workers: a LocalCluster of this machine's cores, or "
                     "--scheduler; needs the dask extra).")]
SchedulerOption = Annotated[str | None, typer.Option(
    "--scheduler", metavar="ADDRESS", show_default=False,
    help="--engine dask: the Dask scheduler to send the work to (tcp://host:8786) [default: "
         "a new LocalCluster, one worker process per core].")]
PartitionRowsOption = Annotated[int, typer.Option(
    "--partition-rows", metavar="N", min=1,
    help="--engine dask: about N rows per part a worker sums (a compressed file is one "
         "part).")]


def refuse_engine_options(engine: str, **given: object) -> None:
    """--scheduler and --partition-rows only mean something with --engine dask."""
    from backprop_cli.errors import UsageError

    names = [f"--{name.replace('_', '-')}" for name, value in given.items()
             if value != DATA_DEFAULTS[f"--{name.replace('_', '-')}"]]
    if engine != "dask" and names:
        raise UsageError(f"{', '.join(names)} only appl{'ies' if len(names) == 1 else 'y'} "
                         "with --engine dask")


NetFile = Annotated[Path, typer.Argument(metavar="NET.yaml", help="The network file.",
                                         show_default=False)]


def refuse_format_options(fmt: str, *, paths: bool, fragment: bool) -> None:
    """--paths and --fragment only mean something in some of analyze's formats."""
    from backprop_cli.errors import UsageError

    if paths and fmt not in ("table", "json"):
        raise UsageError(f"--paths: the paths are shown in --format table and json, not in "
                         f"--format {fmt}")
    if fragment and fmt != "latex":
        raise UsageError(f"--fragment only applies to --format latex, not --format {fmt}")


def refuse_data_options(data: list[str] | None, **given: object) -> None:
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


def explicit_options(ctx: typer.Context) -> frozenset[str]:
    """The names of the parameters given on the command line (or from the environment), as
    opposed to left at their defaults (train --resume takes the others from the file)."""
    given = ("COMMANDLINE", "ENVIRONMENT")  # click's ParameterSource members
    return frozenset(name for name in ctx.params
                     if getattr(ctx.get_parameter_source(name), "name", None) in given)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"backprop {__version__}\n")
        raise typer.Exit()


VersionOption = Annotated[
    bool,
    typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
]


class SchemaKind(str, Enum):
    """io.schema.KINDS (a test keeps them equal)."""

    network = "network"
    analyze = "analyze"
    output = "output"
    train = "train"
    train_log = "train-log"
    evaluate = "evaluate"
    predict = "predict"
    check = "check"
    nudge = "nudge"
    diagnose = "diagnose"
    step = "step"
    sensitivity = "sensitivity"


class Show(str, Enum):
    gradient = "gradient"
    weight = "weight"

if TYPE_CHECKING:
    ExportFormat: TypeAlias = Choice
else:
    from backprop_cli.choices import EXPORT_FORMATS

    ExportFormat = _enum("ExportFormat", EXPORT_FORMATS)
