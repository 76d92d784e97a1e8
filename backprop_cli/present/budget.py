"""What each format of ``analyze`` holds in memory, and the refusal when that is too much.

json, ndjson and csv are written as they are made (present/json.py): their memory is the
network, the engine's trace and one block of rows or floats, whatever the output's size. The
tables and the worked derivations (text, markdown, latex) are laid out whole before they are
written: a table's rows (≈ 9 KB each in rich's layout), a derivation's equations (≈ 1 KB
each). Above :data:`MAX_ROWS` rows in one table, or equations in one derivation, the command
stops before writing anything and says which format or option would do.
"""

from __future__ import annotations

from backprop_cli.errors import UsageError
from backprop_cli.reports.analyze import AnalyzeReport

MAX_ROWS = 50_000  # per table (≈ 0.5 GB) or derivation (≈ 50 MB; and minutes of writing)
STREAMED = ("json", "ndjson", "csv")
DERIVATIONS = ("text", "markdown", "latex")


def check_size(report: AnalyzeReport, fmt: str, limit: int | None) -> None:
    """A UsageError if ``fmt`` with ``limit`` rows per table (None: all) would lay out more
    than :data:`MAX_ROWS` rows in one table (``table``) or equations in all (derivations)."""
    if fmt in STREAMED:
        return
    net = report.network
    sizes = net.sizes

    def shown(total: int) -> int:
        return total if limit is None else min(total, limit)

    params = report.param_count()
    per_example = [
        shown(sum(sizes[n] for n in report.layers) + (sizes[0] if 1 in report.layers else 0)),
        shown(report.param_count(kind="w")),
        shown(report.param_count(kind="b")),
        shown(sum(sizes[n - 1] for n in report.layers)),
    ]
    if report.paths:
        per_example.append(shown(sum((sizes[n] + 1) * sizes[n - 1] for n in report.layers)))
    full = shown(params) if report.example_count > 1 else 0
    if fmt in DERIVATIONS:
        rows, what = len(report.examples) * sum(per_example) + full, "equations"
    else:
        rows, what = max([*per_example, full]), "rows in one table"
    if rows <= MAX_ROWS:
        return
    option = "--limit 0" if limit is None else f"--limit {limit}"
    raise UsageError(
        f"--format {fmt} {option} would lay out {rows:,} {what} in memory before writing "
        f"(at most {MAX_ROWS:,}): use --format ndjson or csv (every row, streamed) or json, "
        f"or show fewer rows with --limit N (≤ {MAX_ROWS:,}), --top K, --layer L or --param")
