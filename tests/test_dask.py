"""Several files as one (--data, evaluate/predict's DATA) and --engine dask: the same numbers
as one file read in one process, over data split into 1, 3 and 17 files; errors keep their
file and line; a dead worker is exit 1, not a hang. One LocalCluster (2 worker processes) is
shared by the module: it takes seconds to start."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONFIGS, ROOT, invoke

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

# One worker of pytest-xdist runs this whole module (--dist loadgroup), so one cluster starts.
pytestmark = pytest.mark.xdist_group("dask")

ROWS = 340
CLASSES = ("emu", "cat", "dog")  # sorted: cat, dog, emu


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                     dashboard_address=None, silence_logs=50) as cluster:
        yield cluster.scheduler_address


def _split(directory: Path, text: str, parts: int) -> Path | str:
    """``text`` (a CSV) as ``parts`` files part-1.csv … in ``directory``: the file, or the
    glob pattern of the parts."""
    directory.mkdir()
    header, *rows = text.splitlines(keepends=True)
    if parts == 1:
        (directory / "all.csv").write_text(header + "".join(rows))
        return directory / "all.csv"
    for i in range(parts):
        chunk = rows[i * len(rows) // parts:(i + 1) * len(rows) // parts]
        (directory / f"part-{i + 1}.csv").write_text(header + "".join(chunk))
    return f"{directory}/part-*.csv"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Regression rows for two-layer.yaml and class labels (three texts, the first files
    without "cat") for a softmax network, each as 1, 3 and 17 files."""
    root = tmp_path_factory.mktemp("dask")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(ROWS, 2))
    y = rng.uniform(size=(ROWS, 2))
    regression = "x1,x2,y1,y2\n" + "".join(
        f"{a!r},{b!r},{c!r},{d!r}\n" for (a, b), (c, d) in zip(x.tolist(), y.tolist(), strict=True))
    labels = [CLASSES[0] if i < ROWS // 2 else CLASSES[i % 3] for i in range(ROWS)]
    x3 = rng.normal(size=(ROWS, 3))
    classes = "f1,f2,f3,label\n" + "".join(
        f"{a!r},{b!r},{c!r},{label}\n"
        for (a, b, c), label in zip(x3.tolist(), labels, strict=True))
    net = root / "softmax.yaml"
    made = invoke("init", "--sizes", "3,4,3", "--output-activation", "softmax", "--cost",
                  "categorical_cross_entropy", "--seed", "1", "-o", net)
    assert made.exit_code == 0, made.output
    return {"regression": {n: _split(root / f"r{n}", regression, n) for n in (1, 3, 17)},
            "classes": {n: _split(root / f"c{n}", classes, n) for n in (1, 3, 17)},
            "net": net}


def _numbers(document: Any) -> list[float]:
    """Every number of a JSON document but its "data" block (file names, chunk counts)."""
    if isinstance(document, dict):
        return [v for k, value in document.items() if k != "data" for v in _numbers(value)]
    if isinstance(document, list):
        return [v for value in document for v in _numbers(value)]
    if isinstance(document, int | float) and not isinstance(document, bool):
        return [float(document)]
    return []


def _json(*args: str | Path) -> Any:
    result = invoke(*args, "-f", "json")
    assert result.exit_code in (0, 1) and result.stdout, result.output  # check: 1 on a failure
    return json.loads(result.stdout)


def _same(a: Any, b: Any) -> None:
    x, y = np.array(_numbers(a)), np.array(_numbers(b))
    assert x.shape == y.shape and x.size > 10
    # 1e-12 relative to each number's size, or to the document's where signs cancel to ~0
    np.testing.assert_allclose(y, x, rtol=1e-12, atol=1e-14 * np.abs(x).max())


COMMANDS = [
    ("analyze",), ("diagnose",), ("sensitivity",), ("check", "--sample", "5"),
    ("step", "--lr", "0.5", "--steps", "2"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_every_pass_gives_the_single_process_numbers(command: tuple[str, ...],
                                                     data: dict[str, Any],
                                                     scheduler: str) -> None:
    net = CONFIGS / "two-layer.yaml"
    files = data["regression"]
    args = (*command[1:], "--target", "y1,y2")
    one = _json(command[0], net, *args, "--data", files[1])
    for n in (3, 17):
        _same(one, _json(command[0], net, *args, "--data", files[n]))
    dasked = _json(command[0], net, *args, "--data", files[17], "--engine", "dask",
                   "--scheduler", scheduler, "--partition-rows", "7")
    _same(one, dasked)
    assert one["data"]["rows"] == dasked["data"]["rows"] == ROWS


def _page_data(page: Path) -> list[Any]:
    """The JSON documents a report page carries (the analysis, the sensitivity …)."""
    found = re.findall(r'<script type="application/json" id="[^"]*">(.*?)</script>',
                       page.read_text(encoding="utf-8"), flags=re.S)
    return [json.loads(text) for text in found]


def test_report_sums_on_dask_as_in_one_process(tmp_path: Path, data: dict[str, Any],
                                               scheduler: str) -> None:
    net, files = CONFIGS / "two-layer.yaml", data["regression"]
    one, dasked = tmp_path / "one.html", tmp_path / "dask.html"
    made = invoke("report", net, "--target", "y1,y2", "--data", files[1], "-o", one)
    assert made.exit_code == 0, made.output
    made = invoke("report", net, "--target", "y1,y2", "--data", files[17], "-o", dasked,
                  "--engine", "dask", "--scheduler", scheduler, "--partition-rows", "7")
    assert made.exit_code == 0, made.output
    local, remote = _page_data(one), _page_data(dasked)
    assert len(local) == len(remote) >= 2
    _same(local, remote)
    assert local[0]["data"]["rows"] == remote[0]["data"]["rows"] == ROWS


def test_labels_are_found_over_every_file(data: dict[str, Any], scheduler: str) -> None:
    """The first files hold only "emu": the classes come from all of them, sorted."""
    files = data["classes"]
    one = _json("analyze", data["net"], "--data", files[1])
    assert one["data"]["classes"] == ["cat", "dog", "emu"]
    for n in (3, 17):
        many = _json("analyze", data["net"], "--data", files[n])
        assert many["data"]["classes"] == ["cat", "dog", "emu"]
        _same(one, many)
    dasked = _json("analyze", data["net"], "--data", files[17], "--engine", "dask",
                   "--scheduler", scheduler)
    assert dasked["data"]["classes"] == ["cat", "dog", "emu"]
    _same(one, dasked)


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_evaluate_and_predict_read_the_files_as_one(command: str, data: dict[str, Any],
                                                    scheduler: str) -> None:
    files = data["classes"]
    args = ["-f", "json"] if command == "evaluate" else ["-f", "csv"]
    dask = ["--engine", "dask", "--scheduler", scheduler, "--partition-rows", "5"]
    one = invoke(command, data["net"], files[1], *args)
    assert one.exit_code == 0, one.output
    for n, more in ((3, []), (17, []), (3, dask), (1, dask)):
        many = invoke(command, data["net"], files[n], *args, *more)
        assert many.exit_code == 0, many.output
        if command == "predict":  # every row, in the files' order
            assert many.stdout == one.stdout
            assert len(many.stdout.splitlines()) == ROWS + 1
        else:
            _same(json.loads(one.stdout), json.loads(many.stdout))


def _bad_part(tmp_path: Path, data: dict[str, Any]) -> str:
    """The 17 parts with a bad cell in part 9 (its line 4)."""
    source = Path(str(data["regression"][17])).parent
    for part in source.iterdir():
        (tmp_path / part.name).write_text(part.read_text())
    lines = (tmp_path / "part-9.csv").read_text().splitlines(keepends=True)
    lines[3] = "0.5,oops,0.1,0.2\n"
    (tmp_path / "part-9.csv").write_text("".join(lines))
    return f"{tmp_path}/part-*.csv"


def test_a_bad_row_in_a_late_part_is_named_by_its_file_and_line(
        tmp_path: Path, data: dict[str, Any], scheduler: str) -> None:
    pattern = _bad_part(tmp_path, data)
    where = f"{tmp_path}/part-9.csv:4:2: feature column 'x2': expected a number, got 'oops'"
    local = invoke("analyze", CONFIGS / "two-layer.yaml", "--data", pattern,
                   "--target", "y1,y2")
    assert local.exit_code == 2
    assert where in local.stderr
    for rows in ("1000", "3"):  # one part per file; several parts per file
        dasked = invoke("analyze", CONFIGS / "two-layer.yaml", "--data", pattern, "--engine",
                        "dask", "--scheduler", scheduler, "--partition-rows", rows,
                        "--target", "y1,y2")
        assert dasked.exit_code == 2, dasked.output
        assert where in dasked.stderr
        assert "Traceback" not in dasked.output
    dasked = invoke("evaluate", CONFIGS / "two-layer.yaml", pattern, "--target", "y1,y2",
                    "--engine", "dask", "--scheduler", scheduler, "--partition-rows", "3")
    assert dasked.exit_code == 2, dasked.output
    assert where in dasked.stderr


def test_a_file_with_other_columns_is_refused(tmp_path: Path, data: dict[str, Any]) -> None:
    first = Path(str(data["regression"][1]))
    other = tmp_path / "other.csv"
    other.write_text("x1,x3,y1,y2\n1,2,0.5,0.5\n")
    result = invoke("analyze", CONFIGS / "two-layer.yaml", "--data", first, "--data", other,
                    "--target", "y1,y2")
    assert result.exit_code == 2
    assert f"{other}:1:2: the header differs from that of {first}" in result.stderr


def test_a_pattern_that_matches_nothing(tmp_path: Path) -> None:
    result = invoke("analyze", CONFIGS / "two-layer.yaml", "--data", f"{tmp_path}/*.csv")
    assert result.exit_code == 2
    assert "no file matches this pattern" in result.stderr


def test_without_dask_the_engine_names_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                 data: dict[str, Any]) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = invoke("analyze", CONFIGS / "two-layer.yaml", "--data", data["regression"][1],
                    "--engine", "dask", "--target", "y1,y2")
    assert result.exit_code == 2
    assert "pip install '.[dask]'" in result.stderr


def test_scheduler_needs_the_dask_engine(data: dict[str, Any]) -> None:
    result = invoke("analyze", CONFIGS / "two-layer.yaml", "--data", data["regression"][1],
                    "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 2
    assert "--scheduler only applies with --engine dask" in result.stderr


def test_no_other_command_imports_dask(data: dict[str, Any]) -> None:
    code = ("import sys\nfrom backprop_cli.cli import app\ntry:\n    app(sys.argv[1:])\n"
            "except SystemExit:\n    pass\nsys.stderr.write(' '.join(sys.modules))")
    run = subprocess.run([sys.executable, "-c", code, "analyze", str(CONFIGS / "two-layer.yaml"),
                          "--data", str(data["regression"][17]), "--target", "y1,y2",
                          "-f", "json"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(run.stderr.split())
    assert "backprop_cli.io.datasets" in loaded  # the check sees the --data path's modules
    assert not {m for m in loaded if m.split(".")[0] in ("dask", "distributed", "fsspec")}


def test_compressed_parts_and_urls_are_read_as_the_others(tmp_path: Path, data: dict[str, Any],
                                                          scheduler: str) -> None:
    """A gzip part is one Dask part; a memory:// URL (fsspec) is read like a local file."""
    import gzip

    import fsspec

    net = CONFIGS / "two-layer.yaml"
    source = Path(str(data["regression"][3])).parent
    memory = fsspec.filesystem("memory")
    for i in (1, 2, 3):
        text = (source / f"part-{i}.csv").read_bytes()
        name = f"part-{i}.csv" + (".gz" if i == 2 else "")
        (tmp_path / name).write_bytes(gzip.compress(text) if i == 2 else text)
        memory.pipe(f"/dask-test/{name}", gzip.compress(text) if i == 2 else text)
    one = _json("analyze", net, "--data", data["regression"][1], "--target", "y1,y2")
    _same(one, _json("analyze", net, "--data", f"{tmp_path}/part-*", "--target", "y1,y2",
                     "--engine", "dask", "--scheduler", scheduler, "--partition-rows", "9"))
    _same(one, _json("analyze", net, "--data", "memory://dask-test/part-*", "--target",
                     "y1,y2"))


# Last: a killed worker is restarted by its nanny while the next tests would run.
class _Dies:
    """Sums whose ``add`` ends the worker process (a crash, not an exception)."""

    def add(self, inputs: Any, targets: Any) -> None:
        os._exit(3)

    def merge(self, other: Any) -> Any:
        return self


class _Fails(_Dies):
    def add(self, inputs: Any, targets: Any) -> None:
        raise RuntimeError("a bug, not the data")


@pytest.mark.parametrize("make", [_Fails, _Dies], ids=["exception", "killed"])
def test_a_failing_worker_is_exit_1_with_a_message(make: type, data: dict[str, Any],
                                                   scheduler: str) -> None:
    import cloudpickle

    from backprop_cli.io.config import load_network
    from backprop_cli.io.dask_rows import DaskRows, EngineError
    from backprop_cli.io.datasets import stream_for_network
    from backprop_cli.io.inputs import data_input

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    net = load_network(CONFIGS / "two-layer.yaml")
    stream = stream_for_network(net, data_input([str(data["regression"][3])]),
                                target="y1,y2")
    rows = DaskRows(stream, net, scheduler)
    try:
        with pytest.raises(EngineError) as failed:
            rows.fold(make)
    finally:
        rows.close()
    assert failed.value.exit_code == 1
    assert ("a bug, not the data" if make is _Fails else "died") in str(failed.value)
