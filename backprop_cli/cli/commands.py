"""The commands: each parses its options, calls the core, and hands the report to a presenter.
Errors propagate to runtime.Group.invoke, which prints them once. Commands register in the
order help lists them; the modules that load numpy are imported inside each command, so that
--help stays lean. (Over 500 lines: the commands' signatures and help texts are the CLI's
reference, and each stays next to its body.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from backprop_cli.choices import CHECK_MAX_WORK, CHUNK_ROWS, DELIMITER, PARTITION_ROWS
from backprop_cli.cli.options import (
    AnalyzeFormatOption,
    AnalyzePrecisionOption,
    AsciiOption,
    ChunkRowsOption,
    DataFile,
    DataFiles,
    DataOption,
    DelimiterOption,
    DocFormat,
    DocFormatOption,
    DType,
    Engine,
    EngineOption,
    ExampleOption,
    ExportFormat,
    FeaturesOption,
    ForceOption,
    Format,
    GraphFormat,
    GraphFormatOption,
    GraphLabels,
    GraphLabelsOption,
    ImageOption,
    LabelAsciiOption,
    LimitOption,
    LREpochsOption,
    LRGammaOption,
    LRMinOption,
    LRSchedule,
    LRScheduleOption,
    LRStepEveryOption,
    NetFile,
    Normalize,
    Optimizer,
    OutputOption,
    ParamOption,
    PartitionRowsOption,
    PrecisionOption,
    PredictFormat,
    PredictFormatOption,
    ResumeOption,
    ScaleOption,
    SchedulerOption,
    SchemaKind,
    SensitivityFormat,
    SensitivityFormatOption,
    Show,
    Split,
    StepFormat,
    StepFormatOption,
    TargetOption,
    TreeOption,
    VersionOption,
    WeightDecayOption,
    explicit_options,
    refuse_data_options,
    refuse_engine_options,
    refuse_format_options,
)
from backprop_cli.cli.runtime import app as app
from backprop_cli.cli.runtime import present, readable, say, write_text
from backprop_cli.errors import name_row_errors, plural
from backprop_cli.io.atomic import check_output
from backprop_cli.present.notation import unicode_ok

if TYPE_CHECKING:
    from backprop_cli.io.datasets import DataStream
    from backprop_cli.network import Array, Network
    from backprop_cli.reports.analyze import AnalyzeReport



@app.callback(epilog="Example: backprop analyze configs/chain.yaml")
def main(
    version: VersionOption = False,
) -> None:
    """Make backpropagation visible: every chain-rule factor of every weight and bias.

    Example: backprop analyze configs/chain.yaml
    """


@app.command(
    epilog="Example: backprop analyze configs/chain.yaml --format json | jq '.gradient'",
)
def analyze(
    ctx: typer.Context,
    net_file: NetFile,
    fmt: AnalyzeFormatOption = Format("table"),
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
    limit: LimitOption = 25,
    precision: AnalyzePrecisionOption = None,
    ascii_: AsciiOption = False,
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
    engine: EngineOption = Engine("local"),
    scheduler: SchedulerOption = None,
    partition_rows: PartitionRowsOption = PARTITION_ROWS,
    param: ParamOption = None,
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
    from backprop_cli.errors import UsageError
    from backprop_cli.io.config import load_network
    from backprop_cli.reports.analyze import analyze as build

    refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                         chunk_rows=chunk_rows, engine=engine.value, scheduler=scheduler,
                        partition_rows=partition_rows)
    refuse_format_options(fmt.value, paths=paths, fragment=fragment)
    net = load_network(net_file)
    report: AnalyzeReport
    if data is None:
        report = build(net, example=example, layer=layer, top=top, paths=paths,
                       file=str(net_file))
    else:
        from backprop_cli.reports.dataset import analyze_data

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
                                    chunk_rows, engine.value, scheduler, partition_rows, ctx)
        report = analyze_data(net, chunks, info, layer=layer, top=top, paths=paths)
    if param:
        report = _choose(report, param)
    from backprop_cli.present.budget import check_size

    check_size(report, fmt.value, None if limit == 0 else limit)
    present("analyze", fmt.value, report, limit=limit, precision=precision, ascii_=ascii_,
             fragment=fragment)


def _data_chunks(net: Network, net_file: Path, data: list[str], target: str | None,
                 features: str | None, delimiter: str, chunk_rows: int,
                 engine: str = "local", scheduler: str | None = None,
                 partition_rows: int = PARTITION_ROWS, ctx: typer.Context | None = None,
                 ) -> tuple[DataStream, dict[str, object]]:
    """The rows of --data in chunks (each iteration reads the files), and what the report
    says about them; with --engine dask, summed on Dask workers where a pass is a sum."""
    from backprop_cli.io.datasets import stream_for_network
    from backprop_cli.io.inputs import data_input

    refuse_engine_options(engine, scheduler=scheduler, partition_rows=partition_rows)
    if engine == "dask":
        from backprop_cli.io.dask_rows import require_dask

        require_dask()
    stream = stream_for_network(net, data_input(data), target=target, features=features,
                                delimiter=delimiter, net_file=str(net_file),
                                chunk_rows=chunk_rows)
    info = {**stream.describe(), "chunk_rows": chunk_rows}
    if engine == "dask":
        from backprop_cli.io.dask_rows import DaskRows

        rows = DaskRows(stream, net, scheduler, partition_rows)
        if ctx is not None:
            ctx.call_on_close(rows.close)
        return rows, info  # type: ignore[return-value]  # a DataStream whose sums are Dask's
    return stream, info


def _data_source(data: list[str], engine: str, scheduler: str | None, partition_rows: int,
                 ctx: typer.Context) -> str | os.PathLike[str]:
    """evaluate's and predict's DATA: one file, several (:class:`io.inputs.Files`), or with
    --engine dask files whose rows Dask workers read."""
    from backprop_cli.io.inputs import data_input

    refuse_engine_options(engine, scheduler=scheduler, partition_rows=partition_rows)
    source = data_input(data)
    if engine != "dask":
        return source
    from backprop_cli.io.dask_rows import DaskFiles, require_dask

    require_dask()
    files = DaskFiles(source, scheduler, partition_rows)
    ctx.call_on_close(files.close)
    return files


def _data_files(data: list[str] | None) -> list[Path]:
    """The local files --data names (its patterns expanded), to check before any work."""
    from backprop_cli.io.datasets import members
    from backprop_cli.io.inputs import data_input, is_remote

    if data is None:
        return []
    return [Path(f) for f in members(data_input(data)) if not is_remote(str(f))]


def _choose(report: AnalyzeReport, names: list[str]) -> AnalyzeReport:
    """The report restricted to --param's parameters (in the selected layers)."""
    from dataclasses import replace

    from backprop_cli.errors import UsageError
    from backprop_cli.reports.nudge import parse_param

    parsed = [parse_param(name, report.network) for name in names]
    for name, p in zip(names, parsed, strict=True):
        if p.layer not in report.layers:
            raise UsageError(f"--param {name} is not in the selected --layer {report.layers[0]}")
    return replace(report, chosen=tuple(dict.fromkeys(parsed)))


# --- the sensitivity toolkit: check, nudge, diagnose, init, schema ------------------------

def _examples_of(net_file: Path) -> tuple[Network, Array, Array]:
    """The network and its examples' inputs and targets, or a UsageError."""
    from backprop_cli.io.config import load_network

    net = load_network(net_file)
    examples = net.require_examples(str(net_file))
    return net, examples.inputs, examples.targets


@app.command(
    epilog="Example: backprop check configs/two-layer.yaml --all  (in CI: exit 1 on a mismatch)",
)
def check(
    ctx: typer.Context,
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
    engine: EngineOption = Engine("local"),
    scheduler: SchedulerOption = None,
    partition_rows: PartitionRowsOption = PARTITION_ROWS,
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
    from backprop_cli.reports.check import CheckReport, check_data, check_gradients

    refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                         chunk_rows=chunk_rows, engine=engine.value, scheduler=scheduler,
                        partition_rows=partition_rows, rows=rows, max_work=max_work)
    report: CheckReport
    if data is None:
        net, x, y = _examples_of(net_file)
        report = check_gradients(net, x, y, eps=eps, tolerance=tolerance,
                                 sample=sample, seed=seed, show_all=all_)
    else:
        from backprop_cli.io.config import load_network

        net = load_network(net_file)
        stream, info = _data_chunks(net, net_file, data, target, features, delimiter,
                                    chunk_rows, engine.value, scheduler, partition_rows, ctx)
        report = check_data(net, stream, info, eps=eps, tolerance=tolerance,
                            sample=sample, seed=seed, show_all=all_, max_rows=rows,
                            max_work=max_work)
    present("check", fmt.value, report, limit=limit, precision=precision, ascii_=ascii_)
    if not report.passed:
        from backprop_cli.errors import CheckFailed

        worst = max(report.failed, key=lambda c: c.max_rel)
        raise CheckFailed(
            f"gradient check failed: {len(report.failed)} of {len(report.params)} parameters "
            f"above tolerance {tolerance:g} (worst relative error {worst.max_rel:.3g})")


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
    from backprop_cli.reports.nudge import nudge as run
    from backprop_cli.reports.nudge import parse_param

    net, x, y = _examples_of(net_file)
    report = run(net, x, y, parse_param(param, net), by, example, str(net_file))
    present("nudge", fmt.value, report, limit=limit, precision=precision, ascii_=ascii_)


@app.command(
    epilog="Example: backprop step configs/chain.yaml --lr 0.5 -o chain-stepped.yaml",
)
def step(
    ctx: typer.Context,
    net_file: NetFile,
    lr: Annotated[float, typer.Option("--lr", metavar="η", show_default=False,
                                      help="The learning rate η (a number > 0).")],
    steps: Annotated[int, typer.Option(
        "--steps", help="Take N steps, showing the cost C before and after each.")] = 1,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", metavar="STEPPED.yaml", show_default=False,
        help="Also write the network after the last step (atomically, as `train --out`).")
    ] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Overwrite an existing --out file (an input file is never overwritten).")
    ] = False,
    data: DataOption = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    chunk_rows: ChunkRowsOption = CHUNK_ROWS,
    engine: EngineOption = Engine("local"),
    scheduler: SchedulerOption = None,
    partition_rows: PartitionRowsOption = PARTITION_ROWS,
    fmt: StepFormatOption = StepFormat("table"),
    limit: LimitOption = 25,
    precision: PrecisionOption = None,
    ascii_: AsciiOption = False,
) -> None:
    """One step of gradient descent, every number shown: θ ← θ − η·∂C/∂θ.

    For every weight and bias θ: its value, ∂C/∂θ (C: the mean of C0 over the examples, or
    over --data's rows), the desired nudge −η·∂C/∂θ and the new value; the cost C before and
    after, with the first-order prediction ΔC ≈ −η‖∇C‖² beside the actual ΔC (a note says
    when η is too large for it: the cost went up, or missed the prediction by more than half).
    --steps N repeats the step (what `train --optimizer sgd --batch-size <all rows>
    --no-shuffle --normalize none` does in N epochs); the per-parameter rows then show θ
    before step 1, that step's nudge and θ after step N, e.g.
    backprop step configs/two-layer.yaml --lr 2 --steps 10 --format text
    """
    from backprop_cli.io.blas import runtime
    from backprop_cli.io.config import dump_network
    from backprop_cli.reports import step as stepping

    refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                        chunk_rows=chunk_rows, engine=engine.value, scheduler=scheduler,
                        partition_rows=partition_rows)
    stepping.check_step_options(lr, steps)
    readable(net_file, *_data_files(data))
    check_output(out, [net_file, *_data_files(data)], "--out", force=force)
    if data is None:
        net, x, y = _examples_of(net_file)
        report = stepping.step(net, stepping.over_examples(x, y), lr, steps)
    else:
        from backprop_cli.io.config import load_network

        net = load_network(net_file)
        chunks, info = _data_chunks(net, net_file, data, target, features, delimiter,
                                    chunk_rows, engine.value, scheduler, partition_rows, ctx)
        report = stepping.step(net, stepping.over_rows(chunks), lr, steps, data=info)
    if out is not None:
        write_text(dump_network(stepping.stepped_network(report, runtime())), out,
                   force=force, option="--out")
    present("step", fmt.value, report, limit=limit, precision=precision, ascii_=ascii_)


@app.command(
    epilog="Example: backprop diagnose configs/mnist-784-16-16-10.yaml --format json",
)
def diagnose(
    ctx: typer.Context,
    net_file: NetFile,
    fmt: DocFormatOption = DocFormat("table"),
    precision: PrecisionOption = None,
    ascii_: AsciiOption = False,
    data: DataOption = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    chunk_rows: ChunkRowsOption = CHUNK_ROWS,
    engine: EngineOption = Engine("local"),
    scheduler: SchedulerOption = None,
    partition_rows: PartitionRowsOption = PARTITION_ROWS,
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
    from backprop_cli.reports.diagnose import Diagnosis
    from backprop_cli.reports.diagnose import diagnose as run

    refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                         chunk_rows=chunk_rows, engine=engine.value, scheduler=scheduler,
                        partition_rows=partition_rows)
    report: Diagnosis
    if data is None:
        net, x, y = _examples_of(net_file)
        report = run(net, x, y)
    else:
        from backprop_cli.io.config import load_network
        from backprop_cli.reports.dataset import diagnose_data

        net = load_network(net_file)
        chunks, info = _data_chunks(net, net_file, data, target, features, delimiter,
                                    chunk_rows, engine.value, scheduler, partition_rows, ctx)
        report = diagnose_data(net, chunks, info)
    present("diagnose", fmt.value, report, limit=0, precision=precision, ascii_=ascii_)
    warnings = [f for f in report.findings if f.severity == "warning"]
    if strict and warnings:
        from backprop_cli.errors import WarningsFound

        raise WarningsFound(
            f"diagnose --strict: {plural(len(warnings), 'warning')} "
            f"({', '.join(dict.fromkeys(f.code for f in warnings))})")


@app.command(
    epilog="Example: backprop sensitivity configs/digits.yaml --data configs/digits.csv "
    "--image 8x8",
)
def sensitivity(
    ctx: typer.Context,
    net_file: NetFile,
    data: DataOption = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    chunk_rows: ChunkRowsOption = CHUNK_ROWS,
    engine: EngineOption = Engine("local"),
    scheduler: SchedulerOption = None,
    partition_rows: PartitionRowsOption = PARTITION_ROWS,
    sort: Annotated[str, typer.Option(
        metavar="COLUMN",
        help="Rank the inputs by mean_abs_dC_dx (mean |∂C0/∂x|), mean_dC_dx (the size of "
             "mean ∂C0/∂x, whose signs may cancel) or mean_abs_dy_dx (mean |∂ŷ/∂x|).")
    ] = "mean_abs_dC_dx",
    output: Annotated[int | None, typer.Option(
        "--output", metavar="J", show_default=False,
        help="∂ŷ/∂x of output neuron J alone (0-based) [default: |∂a(L)j/∂x| summed over "
             "every output j].")] = None,
    image: ImageOption = None,
    fmt: SensitivityFormatOption = SensitivityFormat("table"),
    limit: LimitOption = 25,
    precision: PrecisionOption = None,
    ascii_: AsciiOption = False,
) -> None:
    """Rank the input features by how much the cost and the output move with each.

    Per input k, over the rows: mean ∂C0/∂xk (signed: rows of opposite sign cancel), mean
    |∂C0/∂xk|, and mean Σj |∂a(L)j/∂xk| (ŷ = a(L); --output J: that output alone), from the
    backward pass: ∂C0/∂x is layer 1's ∂C0/∂a(l-1), and ∂ŷj/∂x the same pass started from the
    unit vector at output j. x is the network's input: a feature after its stored scaling
    (the caption says which). Over the network's examples, or --data's rows read in chunks,
    e.g. backprop sensitivity trained.yaml --data diabetes.csv --limit 5
    """
    from backprop_cli.errors import UsageError
    from backprop_cli.io.config import load_network
    from backprop_cli.reports import sensitivity as sens

    refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                        chunk_rows=chunk_rows, engine=engine.value, scheduler=scheduler,
                        partition_rows=partition_rows)
    net = load_network(net_file)
    sens.check_sensitivity_options(net, sort, output)
    shape = sens.parse_image(image, net)
    if fmt.value == "svg" and shape is None:
        raise UsageError("--format svg draws the heatmap of an image: give its shape with "
                         "--image HxW (e.g. --image 8x8)")
    if data is None:
        examples = net.require_examples(str(net_file))
        report = sens.sensitivity(net, [(examples.inputs, examples.targets)], sort=sort,
                                  output=output, image=shape)
    else:
        stream, info = _data_chunks(net, net_file, data, target, features, delimiter,
                                    chunk_rows, engine.value, scheduler, partition_rows, ctx)
        report = sens.sensitivity(net, stream, sort=sort, output=output, image=shape,
                                  names=stream.columns.feature_names, data=info)
    present("sensitivity", fmt.value, report, limit=limit, precision=precision,
            ascii_=ascii_)


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
    from backprop_cli.errors import UsageError
    from backprop_cli.io import config
    from backprop_cli.io.config import dump_bytes_bound, dump_network, file_limit
    from backprop_cli.scaffold import new_network, parse_sizes, written_by

    check_output(output, [], force=force)
    layer_sizes = parse_sizes(sizes)  # at most MAX_LAYERS and MAX_PARAMETERS
    bound = dump_bytes_bound(layer_sizes, name, example_input)
    if bound > config.MAX_FILE_BYTES:  # no command would read it: say so before drawing
        raise UsageError(
            f"--sizes {sizes}: the file could take {bound / 2**20:.0f} MiB, and network files "
            f"are limited to {file_limit()}; choose smaller layers or a shorter --name")
    net = new_network(layer_sizes, activation=activation,
                      output_activation=output_activation, cost=cost, method=method,
                      seed=seed, scale=scale, name=name, example_input=example_input)
    comment = written_by(net, activation=activation, method=method, seed=seed, scale=scale,
                         name=name, example_input=example_input)
    write_text(comment + dump_network(net), output, force=force)



@app.command(
    epilog="Example: backprop schema > schema/network.schema.json; "
    "backprop schema output > schema/output.schema.json",
)
def schema(
    kind: Annotated[
        SchemaKind,
        typer.Argument(help="network: the network file; train-log: a line of train --log; "
                            "any other: that command's --format json (output: analyze's, "
                            "its older name)."),
    ] = SchemaKind.network,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the network file, or of a command's JSON.

    Editors with the YAML language server validate and complete a network file that begins
    with: # yaml-language-server: $schema=<path or URL of network.schema.json>
    """
    from backprop_cli.io.schema import schema_text

    check_output(output, [], force=force)
    write_text(schema_text(kind.value, ascii=output is None and not unicode_ok(sys.stdout)),
                output, force=force)


# --- train, evaluate, predict ---------------------------------------------------------------

@app.command(
    epilog="Example: backprop train configs/digits.yaml configs/digits.csv --out "
    "digits-trained.yaml --optimizer adam --lr 0.01 --epochs 40 --normalize minmax --val-split 0.2",
)
def train(
    ctx: typer.Context,
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
    normalize_target: Annotated[Normalize | None, typer.Option(
        show_default=False,
        help="Scaling of numeric targets, fitted on the training rows and stored in --out; "
             "predict and evaluate undo it [default: standard for a linear output layer, "
             "else none; a network trained before keeps its stored one]. Class labels are "
             "never scaled.")
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
    weight_decay: WeightDecayOption = 0.0,
    lr_schedule: LRScheduleOption = LRSchedule("constant"),
    lr_step_every: LRStepEveryOption = None,
    lr_gamma: LRGammaOption = None,
    lr_min: LRMinOption = None,
    lr_epochs: LREpochsOption = None,
    resume: ResumeOption = False,
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
    given = dict(locals())
    del given["ctx"]
    from backprop_cli.cli.training import run_train

    run_train(**given, explicit=explicit_options(ctx))

@app.command(
    epilog="Example: backprop evaluate digits-trained.yaml configs/digits.csv --split val",
)
def evaluate(
    ctx: typer.Context,
    net_file: NetFile,
    data_file: DataFiles,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    engine: EngineOption = Engine("local"),
    scheduler: SchedulerOption = None,
    partition_rows: PartitionRowsOption = PARTITION_ROWS,
    split: Annotated[Split, typer.Option(
        help="Only the rows that --val-split held out (val) or trained on (train) when the "
             "network was trained on this file.")] = Split("all"),
    fmt: DocFormatOption = DocFormat("table"),
) -> None:
    """Cost and metrics of the network on CSV data.

    The cost C is the mean of C0 over the rows, on the targets as the network was trained on
    them (scaled, if train scaled them). Numeric targets: RMSE, MAE and R² per output and
    overall, in the target's units. Class labels: accuracy (a fraction in JSON), precision,
    recall and F1 per class, macro and weighted, the confusion matrix, and for two classes
    the ROC-AUC. The network's stored preprocessing is applied.
    """
    from backprop_cli.io.config import load_network
    from backprop_cli.io.training_data import load_for_network
    from backprop_cli.reports.train import EvaluationReport
    from backprop_cli.reports.train import evaluate as run

    net = load_network(net_file)
    source = _data_source(data_file, engine.value, scheduler, partition_rows, ctx)
    ds, pre = load_for_network(net, source, target=target, features=features,
                               delimiter=delimiter, split=split.value,
                               net_file=str(net_file))
    assert ds.targets is not None
    with name_row_errors(ds):
        result = run(net, ds.inputs, ds.targets, ds.labels, classes=ds.classes,
                     preprocessing=pre)
    present("evaluate", fmt.value,
            EvaluationReport(result, ds.classes, str(net_file), ds.file, net.cost,
                             pre.normalize_target if pre is not None else "none"))


@app.command(
    epilog="Example: backprop predict digits-trained.yaml configs/digits.csv --format ndjson "
    "| head -3",
)
def predict(
    ctx: typer.Context,
    net_file: NetFile,
    data_file: DataFiles,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
    engine: EngineOption = Engine("local"),
    scheduler: SchedulerOption = None,
    partition_rows: PartitionRowsOption = PARTITION_ROWS,
    fmt: PredictFormatOption = PredictFormat("csv"),
    id_: Annotated[str | None, typer.Option(
        "--id", metavar="COLUMN", show_default=False,
        help="Pass this column through: the first column of the output (not a default feature).")
    ] = None,
) -> None:
    """Output activations a(L) (and the predicted label) for every row of CSV data.

    For classifiers the label is the class of the largest output, from the class list
    `evaluate` uses: the trained network's, else the data's labels in sorted order. The
    outputs are named p_<class> (a classifier's probability of each class; one sigmoid
    output: of the second class), else after the target column(s) the network was trained
    on, else a0 … The network's stored preprocessing is applied; target columns, if present,
    are ignored.
    """
    from backprop_cli.errors import DataError
    from backprop_cli.io.config import load_network
    from backprop_cli.io.datasets import classes_for_network, header_of, id_column
    from backprop_cli.io.inputs import Files, as_input
    from backprop_cli.io.training_data import load_for_network
    from backprop_cli.reports.train import Predictions, output_names, predict_rows

    net = load_network(net_file)
    source = _data_source(data_file, engine.value, scheduler, partition_rows, ctx)
    if not isinstance(source, Files):
        source = as_input(source)  # read once: a pipe cannot be read twice, as below
    ids = None
    if id_ is not None:
        header = header_of(source, delimiter)
        if id_ not in header:
            raise DataError(f"--id {id_!r}: no such column; the columns are: "
                            f"{', '.join(header)}", file=str(source))
        pre = net.preprocessing
        if features is None and (pre is None or not pre.features):  # the id is no feature
            rest = [name for name in header if name != id_]
            if len(rest) != net.input_size:  # less the target, as predict reads it
                targets = (target.split(",") if target else list(pre.targets) if pre
                           and pre.targets else rest[-1:])
                rest = [name for name in rest if name not in targets]
            features = ",".join(rest)
    ds, _ = load_for_network(net, source, target=target, features=features,
                             delimiter=delimiter, need_target=False,
                             net_file=str(net_file))
    if id_ is not None:
        ids = id_column(source, id_, delimiter=delimiter, lines=ds.lines)
    with name_row_errors(ds):
        outputs = predict_rows(net, ds.inputs)
    try:
        classes = classes_for_network(net, source, target=target, features=features,
                                      delimiter=delimiter, net_file=str(net_file))
    except DataError as exc:  # predict needs no labels: the rows go out without one
        say(f"backprop: note: no label column: {exc}")
        classes = None
    present("predict", fmt.value,
            Predictions(outputs, classes, output_names(
                net, classes, tuple(n.strip() for n in target.split(",")) if target else ()),
                id_, ids))


# --- show: graph, report ----------------------------------------------------------------------

@app.command(
    epilog="Example: backprop graph configs/two-layer.yaml -o two-layer.svg",
)
def graph(
    net_file: NetFile,
    fmt: GraphFormatOption = GraphFormat("svg"),
    show: Annotated[Show, typer.Option(
        help="What an edge's colour (sign) and width (magnitude) show: ∂C/∂w of the full cost "
             "over the examples, or the weight w.")] = Show.gradient,
    max_neurons: Annotated[int, typer.Option(
        min=3, help="Neurons drawn per layer; a larger layer shows its first and last ones "
                    "and '… n more'.")] = 12,
    output: OutputOption = None,
    force: ForceOption = False,
    ascii_: LabelAsciiOption = False,
    tree: TreeOption = None,
    example: ExampleOption = None,
    labels: GraphLabelsOption = GraphLabels("both"),
    scale: ScaleOption = "auto",
) -> None:
    """Draw the network with its numbers: neurons lit by their activation, edges coloured by
    sign and sized by magnitude, labelled with w and ∂C/∂w, and the cost node C0 with the
    targets y.

    SVG is drawn by backprop itself (no Graphviz needed); dot is for Graphviz, mermaid for
    Markdown renderers that support it. Each edge's tooltip names w(l)jk and its value; the
    legend says what colour, width and grey mean, and the scale used. --tree PARAM draws the
    chain rule of one parameter or neuron instead (see --tree).
    """
    from backprop_cli.io.config import load_network
    from backprop_cli.present.graph import parse_scale, picture
    from backprop_cli.reports.analyze import analyze as build
    from backprop_cli.reports.analyze import check_example

    full_width = parse_scale(scale)
    readable(net_file)
    check_output(output, [net_file], force=force)
    net = load_network(net_file)
    if tree is not None:
        _tree(net, str(net_file), tree, example, max_neurons, fmt.value, ascii_, output, force)
        return
    result = None
    if show is Show.gradient or example is not None or net.examples is not None:
        result = build(net, file=str(net_file))
        check_example(example, result.example_count)
    present("graph", fmt.value,
            picture(result, net, show.value, max_neurons, example=example or 0,
                    scale=full_width, labels=labels.value),
            ascii_=ascii_, output=output, force=force)


def _tree(net: Network, net_file: str, name: str, example: int | None,
          max_neurons: int, fmt: str, ascii_: bool, output: Path | None, force: bool) -> None:
    """graph --tree NAME [--example N]: the dependency tree of one parameter or neuron."""
    from backprop_cli.present.tree import view
    from backprop_cli.reports.analyze import analyze as build
    from backprop_cli.reports.tree import parse_target, tree

    target = parse_target(name, net)
    result = build(net, example=example, file=net_file)
    present("tree", fmt, view(tree(result, target, example or 0), max_neurons),
            ascii_=ascii_, output=output, force=force)


@app.command(
    epilog="Example: backprop train configs/xor.yaml configs/xor.csv -o xor-trained.yaml --log "
    "xor.log && backprop report xor-trained.yaml --log xor.log -o report.html",
)
def report(
    ctx: typer.Context,
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
    engine: EngineOption = Engine("local"),
    scheduler: SchedulerOption = None,
    partition_rows: PartitionRowsOption = PARTITION_ROWS,
    limit: LimitOption = 200,
    max_neurons: Annotated[int, typer.Option(
        min=3, help="Neurons drawn per layer in the diagram.")] = 12,
    example: ExampleOption = None,
    labels: GraphLabelsOption = GraphLabels("both"),
    scale: ScaleOption = "auto",
    image: ImageOption = None,
) -> None:
    """Write one self-contained HTML page: diagram, chain-rule factors, tables, cost curves,
    and the inputs ranked by sensitivity (with its heatmap for --image HxW).

    Everything is inline (no request to any other host): open the file in a browser from
    disk. Clicking or hovering an edge shows that weight's chain-rule factors and gradient;
    the tables work without JavaScript. The diagram takes graph's --example, --labels and
    --scale, e.g. backprop report digits.yaml --data digits.csv --image 8x8 -o page.html
    """
    from backprop_cli.errors import UsageError
    from backprop_cli.io.config import load_network
    from backprop_cli.io.logs import read_log
    from backprop_cli.present.graph import parse_scale
    from backprop_cli.present.html import LIVE_ROWS, render_html
    from backprop_cli.reports import sensitivity as sens
    from backprop_cli.reports.analyze import analyze as build
    from backprop_cli.reports.analyze import check_example

    full_width = parse_scale(scale)
    refuse_data_options(data, target=target, features=features, delimiter=delimiter,
                        chunk_rows=chunk_rows, engine=engine.value, scheduler=scheduler,
                        partition_rows=partition_rows)
    readable(net_file, *_data_files(data))
    check_output(output, [net_file, *([log] if log else []), *_data_files(data)],
                 force=force)
    net = load_network(net_file)
    shape = sens.parse_image(image, net)
    result: AnalyzeReport
    rows = None
    sensitivity = None
    if data is None:
        result = build(net, file=str(net_file))
        check_example(example, result.example_count)
        examples = net.require_examples(str(net_file))
        sensitivity = sens.sensitivity(net, [(examples.inputs, examples.targets)],
                                       image=shape)
    else:
        import numpy as np

        from backprop_cli.reports.dataset import analyze_data

        chunks, info = _data_chunks(net, net_file, data, target, features, delimiter,
                                    chunk_rows, engine.value, scheduler, partition_rows, ctx)
        if example is not None:
            raise UsageError("--example picks one of the network's examples; with --data "
                             "the diagram shows the mean over every row (leave --example "
                             "out)")
        result = analyze_data(net, chunks, info)
        sensitivity = sens.sensitivity(net, chunks, image=shape,
                                       names=chunks.columns.feature_names, data=info)
        if result.over is not None and result.over.rows <= LIVE_ROWS:  # the page keeps them
            read = list(chunks)
            rows = (np.concatenate([x for x, _ in read]), np.concatenate([y for _, y in read]))
    costs = None if log is None else read_log(log)
    html = render_html(result, source=str(net_file), costs=costs,
                       limit=None if limit == 0 else limit, max_neurons=max_neurons,
                       data_rows=rows, example=example or 0, scale=full_width,
                       labels=labels.value, sensitivity=sensitivity)
    write_text(html, output, force=force)


# --- import, export: other formats ------------------------------------------------------------

@app.command(
    name="import",
    epilog="Example: backprop import model.onnx --examples data.csv -o net.yaml && "
    "backprop analyze net.yaml",
)
def import_(
    model: Annotated[Path, typer.Argument(
        metavar="MODEL", show_default=False,
        help="An ONNX model (.onnx), or a safetensors file (.safetensors) of weights.")],
    output: OutputOption = None,
    force: ForceOption = False,
    activations: Annotated[str | None, typer.Option(
        metavar="σ1,σ2,…", show_default=False,
        help="safetensors: each layer's activation, first to last, e.g. relu,relu,softmax "
             "[default: the file's, as backprop export writes it].")] = None,
    names: Annotated[str | None, typer.Option(
        "--names", metavar="PATTERN", show_default=False,
        help="safetensors: the arrays' names, {} for the layer's number [default: {}, "
             "torch.nn.Sequential's 0.weight, 0.bias, 2.weight …].")] = None,
    cost: Annotated[str | None, typer.Option(
        show_default=False,
        help="The cost C0 [default: from the output activation: softmax → "
             "categorical_cross_entropy, sigmoid → cross_entropy, else squared_error].")
    ] = None,
    examples: Annotated[Path | None, typer.Option(
        "--examples", "--data", metavar="DATA.csv", show_default=False,
        help="Store the rows of this CSV file as the network's examples, so that "
             "`backprop analyze` runs on the written file at once.")] = None,
    target: TargetOption = None,
    features: FeaturesOption = None,
    delimiter: DelimiterOption = DELIMITER,
) -> None:
    """Write a network file from a model made elsewhere (PyTorch, scikit-learn, Keras …).

    ONNX: a chain of fully-connected layers (Gemm, or MatMul then Add), each followed by
    Sigmoid, Tanh, Relu, LeakyRelu (alpha = 0.01), Softplus, Softmax (last layer) or nothing;
    Flatten, Reshape, Cast and a Sub/Div scaling before the first layer. Label and probability
    post-processing after the network (skl2onnx's) is left out with a note; anything else is
    refused naming the node. safetensors: weights [out, in] and biases per layer, named as
    torch.nn.Sequential's state_dict names them. Pickled PyTorch files (.pt, .pth) are never
    loaded: convert them with safetensors.
    """
    from backprop_cli.errors import UsageError
    from backprop_cli.io import config
    from backprop_cli.io.config import dump_network, file_limit, loads_network
    from backprop_cli.io.model_files import check_cost, refuse_pickle, with_examples

    if examples is None and (target is not None or features is not None
                             or delimiter != DELIMITER):
        raise UsageError("--target, --features and --delimiter only apply to the rows of "
                         "--examples DATA.csv; add --examples or leave them out")
    check_cost(cost)
    readable(model, examples)
    check_output(output, [model, *([examples] if examples is not None else [])], force=force)
    refuse_pickle(model)
    if _is_safetensors(model):
        from backprop_cli.io.safetensors_io import SEQUENTIAL, parse_activations
        from backprop_cli.io.safetensors_io import read_safetensors as read

        imported = read(model, activations=None if activations is None
                        else parse_activations(activations), names=names or SEQUENTIAL,
                        cost=cost)
    else:
        if activations is not None or names is not None:
            raise UsageError("--activations and --names apply to a safetensors file; an "
                             "ONNX model names its own activations")
        from backprop_cli.io.onnx_import import read_onnx

        imported = read_onnx(model, cost=cost)
    net = imported.network
    if examples is not None:
        net = with_examples(net, examples, target=target, features=features,
                            delimiter=delimiter)
    text = f"# imported from {model.name} by backprop import\n" + dump_network(net)
    if len(text.encode()) > config.MAX_FILE_BYTES:
        raise UsageError(f"the network file would be {len(text.encode()) / 2**20:.0f} MiB; "
                         f"network files are limited to {file_limit()} (fewer --examples rows, "
                         "or a smaller model)")
    loads_network(text, str(output or "<stdout>"))  # what every command will read
    for note in imported.notes:
        say(f"backprop: note: {note}")
    say(f"backprop: imported {plural(net.depth, 'layer')} (sizes "
        f"{','.join(map(str, net.sizes))}; activations "
        f"{','.join(layer.activation for layer in net.layers)}; cost {net.cost})"
        + ("" if net.examples is not None else
           "; add --examples DATA.csv, or run analyze with --data DATA.csv"))
    write_text(text, output, force=force)


def _is_safetensors(path: Path) -> bool:
    """A .safetensors name, or a file that begins as one does (8 bytes of length, then the
    JSON header's "{")."""
    if path.suffix.lower() == ".safetensors":
        return True
    if path.suffix.lower() == ".onnx":
        return False
    try:
        with open(path, "rb") as stream:
            return stream.read(9)[8:] == b"{"
    except OSError:
        return False


@app.command(
    epilog="Example: backprop export digits-trained.yaml --format onnx -o digits.onnx",
)
def export(
    net_file: NetFile,
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", "-f", help="onnx: the model (opset 13), its preprocessing included; "
                               "safetensors: the weights, named as torch.nn.Sequential's.")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="FILE", show_default=False,
        help="Where to write the model (atomically).")],
    dtype: Annotated[DType, typer.Option(
        help="Floating-point type of the weights and the arithmetic (float64: the file's "
             "numbers exactly).")] = DType("float32"),
    force: ForceOption = False,
) -> None:
    """Write the network as an ONNX model or a safetensors file of weights.

    ONNX: input `input` (m, n_0) takes the raw feature columns (the stored scaling is the
    first nodes); output `output` (m, n_L) is a(L), in the targets' units as `backprop
    predict` writes it; the feature, target and class names are in the model's metadata.
    safetensors: 0.weight, 0.bias, 2.weight … as torch.nn.Sequential(Linear, activation, …)
    names them; the activations, cost and preprocessing are in the file's metadata.
    """
    from backprop_cli.io.config import load_network

    readable(net_file)
    check_output(output, [net_file], force=force)
    net = load_network(net_file)
    if fmt.value == "onnx":
        from backprop_cli.io.onnx_export import onnx_bytes
        from backprop_cli.reports.train import output_names

        pre = net.preprocessing
        data = onnx_bytes(net, dtype.value,
                          output_names(net, pre.classes if pre is not None else None))
    else:
        from backprop_cli.io.safetensors_io import safetensors_bytes, sequential_code

        data = safetensors_bytes(net, dtype.value)
        say(f"backprop: note: in PyTorch: model = {sequential_code(net)}.to(torch."
            f"{dtype.value}); model.load_state_dict(safetensors.torch.load_file("
            f"{str(output)!r}))")
        if net.preprocessing is not None and net.preprocessing.shift is not None:
            say("backprop: note: the features' scaling (x − shift) / scale is in the file's "
                "metadata (backprop.preprocessing), not in its weights: apply it before "
                "the model")
    write_text(data, output, force=force)
