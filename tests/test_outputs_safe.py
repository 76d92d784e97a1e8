"""Outputs: never an input file, a directory or an unwritable place (refused before any work),
written atomically, and byte-identical for the same inputs and seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from backprop_cli.cli import app

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
UNWRITABLE = Path("/proc/backprop-cannot-write-here.yaml")  # not even root creates files here


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "120",
                                                                 "NO_COLOR": "1"})


def _inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A valid network and CSV, and a malformed network: an output check that runs first
    reports the output, not the malformed file, so it ran before any work."""
    net, data, broken = tmp_path / "xor.yaml", tmp_path / "xor.csv", tmp_path / "broken.yaml"
    net.write_bytes((CONFIGS / "xor.yaml").read_bytes())
    data.write_bytes((CONFIGS / "xor.csv").read_bytes())
    broken.write_text("input_size: [\n")
    return net, data, broken


def _commands(net: Path, data: Path, broken: Path, output: Path) -> dict[str, list[str | Path]]:
    return {
        "train --out": ["train", broken, data, "--out", output, "--force", "-q"],
        "train --log": ["train", broken, data, "--out", net.parent / "t.yaml", "--log",
                        output, "-q"],
        "init -o": ["init", "--sizes", "2,1", "-o", output],
        "schema -o": ["schema", "-o", output],
        "graph -o": ["graph", broken, "-o", output],
        "report -o": ["report", broken, "-o", output],
        "export -o": ["export", broken, "-f", "onnx", "-o", output],
        "import -o": ["import", broken, "-o", output],
    }


@pytest.mark.parametrize("where", ["input", "directory", "unwritable", "missing-directory"])
def test_bad_outputs_are_refused_before_any_work(where: str, tmp_path: Path) -> None:
    net, data, broken = _inputs(tmp_path)
    before = {p: p.read_bytes() for p in (net, data, broken)}
    for name in _commands(net, data, broken, tmp_path / "x"):
        output = {"input": data if name.startswith(("init", "schema")) else broken,
                  "directory": tmp_path, "unwritable": UNWRITABLE,
                  "missing-directory": tmp_path / "nowhere" / "out.yaml"}[where]
        if where == "input" and name.startswith(("init", "schema")):
            continue  # they read no input
        result = invoke(*_commands(net, data, broken, output)[name])
        message = {"input": "is the input file", "directory": "is a directory",
                   "unwritable": "cannot write in /proc",
                   "missing-directory": "does not exist"}[where]
        assert result.exit_code == 2, (name, result.stderr)
        assert message in result.stderr, (name, result.stderr)
        assert "invalid YAML" not in result.stderr  # refused before the network was read
        assert result.stdout == ""
    assert {p: p.read_bytes() for p in (net, data, broken)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml", "xor.csv", "xor.yaml"]


def test_write_failure_leaves_no_temporary_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "net.yaml"
    out.write_text("old\n")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    result = invoke("init", "--sizes", "2,1", "-o", out, "--force")
    assert result.exit_code == 130  # click turns the KeyboardInterrupt into exit 130
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["net.yaml"]


def _run(*args: str | Path) -> bytes:
    done = subprocess.run([sys.executable, "-m", "backprop_cli", *map(str, args)],
                          capture_output=True, timeout=120, check=True,
                          env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"})
    return done.stdout


def test_same_inputs_and_seed_give_byte_identical_outputs(tmp_path: Path) -> None:
    """Across processes (each with its own hash seed): analyze json/csv, train's YAML,
    predict's CSV and evaluate's JSON."""
    net, data = CONFIGS / "xor.yaml", CONFIGS / "xor.csv"
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for out in (first, second):
        _run("train", net, data, "--out", out, "--epochs", "30", "--batch-size", "2",
             "--optimizer", "adam", "--lr", "0.05", "--seed", "3", "--val-split", "0.25", "-q")
    assert first.read_bytes() == second.read_bytes()
    assert b"status: \"completed\"" in first.read_bytes()
    outputs = [
        ("analyze", CONFIGS / "two-layer.yaml", "--format", "json"),
        ("analyze", CONFIGS / "softmax.yaml", "--format", "csv"),
        ("predict", first, data),
        ("evaluate", first, data, "--format", "json"),
    ]
    for args in outputs:
        once, again = _run(*args), _run(*args)
        assert once and once == again, args


def test_train_log_and_json_summary_are_byte_identical(tmp_path: Path) -> None:
    """Times vary from run to run: they go to stderr only, never into --log or the JSON."""
    runs = []
    for name in ("a", "b"):
        log = tmp_path / f"{name}.ndjson"
        result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out",
                        tmp_path / "net.yaml", "--epochs", "3", "--log", log, "--format",
                        "json", "--force", "-q")
        assert result.exit_code == 0, result.output
        runs.append((log.read_bytes(), result.stdout))
    assert runs[0] == runs[1]
    assert b"seconds" not in runs[0][0] and "seconds" not in runs[0][1]


@pytest.mark.parametrize("data", ["text\n", b"\x89PNG\r\n"])
def test_write_atomic_gives_the_usual_mode_to_text_and_bytes(
        tmp_path: Path, data: str | bytes) -> None:
    from backprop_cli.io.atomic import write_atomic

    out = tmp_path / "out"
    umask = os.umask(0o022)
    try:
        write_atomic(out, data)
    finally:
        os.umask(umask)
    assert out.read_bytes() == (data.encode() if isinstance(data, str) else data)
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_write_png_gets_the_usual_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for matplotlib (not a test dependency) whose figure saves fixed bytes."""
    import types

    from backprop_cli.io import plot as chart

    def savefig(target: Any, format: str) -> None:
        if isinstance(target, str | Path):
            Path(target).write_bytes(b"\x89PNG fake")
        else:
            target.write(b"\x89PNG fake")

    nothing = lambda *args, **kwargs: None  # noqa: E731
    fig = types.SimpleNamespace(savefig=savefig, tight_layout=nothing)
    ax = types.SimpleNamespace(plot=nothing, set_xlabel=nothing, set_ylabel=nothing,
                               set_title=nothing, legend=nothing)
    pyplot = types.SimpleNamespace(subplots=lambda *a, **k: (fig, ax), close=nothing)
    matplotlib = types.SimpleNamespace(use=nothing, pyplot=pyplot)
    monkeypatch.setitem(sys.modules, "matplotlib", matplotlib)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", pyplot)
    out = tmp_path / "c.png"
    umask = os.umask(0o022)
    try:
        chart.write_png(chart.CostSeries(epochs=(1, 2), train=(1.0, 0.5), val=(None, None)),
                        out, "cost")
    finally:
        os.umask(umask)
    assert out.read_bytes() == b"\x89PNG fake"
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]


# --- symlinks, FIFOs, --force, modes -------------------------------------------------------

def _writers(net: Path, data: Path, output: Path) -> dict[str, list[str | Path]]:
    """Every option that writes a file, with valid inputs."""
    return {
        "train --out": ["train", net, data, "--out", output, "--epochs", "2", "-q"],
        "train --log": ["train", net, data, "--out", net.parent / "t.yaml", "--log", output,
                        "--epochs", "2", "-q"],
        "init -o": ["init", "--sizes", "2,1", "-o", output],
        "schema -o": ["schema", "-o", output],
        "graph -o": ["graph", net, "-o", output],
        "report -o": ["report", net, "-o", output],
    }


def _clean(tmp_path: Path) -> None:
    for leftover in ("t.yaml",):
        (tmp_path / leftover).unlink(missing_ok=True)


@pytest.mark.parametrize("name", list(_writers(Path("n"), Path("d"), Path("o"))))
def test_every_output_needs_force_to_replace_a_file(name: str, tmp_path: Path) -> None:
    net, data, _ = _inputs(tmp_path)
    output = tmp_path / "existing.txt"
    output.write_text("old\n")
    args = _writers(net, data, output)[name]
    refused = invoke(*args)
    assert refused.exit_code == 2, refused.stderr
    given = str(args[args.index(output) - 1])
    option = "--output" if given == "-o" else given
    assert refused.stderr == (f"backprop: error: {option} {output} exists; "
                              "add --force to overwrite it\n")
    assert output.read_text() == "old\n" and not (tmp_path / "t.yaml").exists()
    forced = invoke(*args, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert output.read_text() != "old\n" and output.stat().st_size > 100


@pytest.mark.parametrize("name", list(_writers(Path("n"), Path("d"), Path("o"))))
def test_an_output_through_a_symlink_replaces_the_target_and_keeps_the_link(
        name: str, tmp_path: Path) -> None:
    net, data, _ = _inputs(tmp_path)
    (tmp_path / "real").mkdir()
    target, link = tmp_path / "real" / "file.txt", tmp_path / "link.txt"
    target.write_text("old\n")
    target.chmod(0o640)
    link.symlink_to(target)
    result = invoke(*_writers(net, data, link)[name], "--force")
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() != "old\n" and target.stat().st_size > 100
    assert target.stat().st_mode & 0o777 == 0o640  # the replaced file keeps its mode
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]  # no temporary file


def test_a_dangling_symlink_is_written_through(tmp_path: Path) -> None:
    link, target = tmp_path / "link.yaml", tmp_path / "made.yaml"
    link.symlink_to(target)
    assert invoke("init", "--sizes", "2,1", "-o", link).exit_code == 0
    assert link.is_symlink() and "layers:" in target.read_text()


class _Reader:
    """Reads a FIFO in a thread, all of it or ``lines`` lines (then closes it). Its own
    write end keeps the reader from waiting forever for a writer that never comes."""

    def __init__(self, fifo: Path, lines: int | None = None) -> None:
        import threading

        self.lines, self.got = lines, b""
        self.fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.keep = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.set_blocking(self.fd, True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.fd, "rb") as stream:
            if self.lines is None:
                self.got = stream.read()
            else:
                self.got = b"".join(stream.readline() for _ in range(self.lines))

    def finish(self) -> bytes:
        """The bytes read, once every writer has closed the FIFO."""
        os.close(self.keep)
        self.thread.join()
        return self.got


@pytest.mark.parametrize("name", ["train --out", "train --log", "init -o", "graph -o"])
@pytest.mark.parametrize("through_link", [False, True])
def test_a_fifo_is_written_directly_not_replaced(name: str, through_link: bool,
                                                 tmp_path: Path) -> None:
    """Stands for a device such as /dev/stdout: written as a stream, no --force needed."""
    import stat

    net, data, _ = _inputs(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    output = fifo
    if through_link:
        output = tmp_path / "link"
        output.symlink_to(fifo)
    reader = _Reader(fifo)
    result = invoke(*_writers(net, data, output)[name])
    got = reader.finish()
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert not through_link or output.is_symlink()
    want = b'"epoch": 2' if name == "train --log" else b"<svg" if name == "graph -o" else (
        b"layers:")
    assert want in got


def test_write_atomic_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    from backprop_cli.io.atomic import write_atomic

    out = tmp_path / "out"
    out.write_text("old")
    out.chmod(0o600)
    umask = os.umask(0o022)
    try:
        write_atomic(out, "new")
    finally:
        os.umask(umask)
    assert out.read_text() == "new" and out.stat().st_mode & 0o777 == 0o600


def test_errors_are_printed_only_through_fail() -> None:
    """One error path (ASCII where stderr is not UTF-8, the exit code from the error): no
    message written to stderr or exit code chosen anywhere else in the command line (cli/)."""
    import re

    cli = Path(__file__).resolve().parent.parent / "backprop_cli" / "cli"
    source = "".join(path.read_text(encoding="utf-8") for path in sorted(cli.glob("*.py")))
    assert "BackpropError" in source  # the sources read are the command line's
    assert re.findall(r"stderr\.write\(\s*f?\"backprop", source) == []
    assert re.findall(r"typer\.Exit\(\d", source) == []


# --- stdout that cannot be written: a full disk, a closed pipe -------------------------------

def _popen(*args: str | Path, stdout: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "backprop_cli", *map(str, args)],
                            stdout=stdout, stderr=subprocess.PIPE,
                            env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"})


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["analyze", CONFIGS / "chain.yaml"],
                                  ["analyze", CONFIGS / "chain.yaml", "-f", "json"],
                                  ["--help"]])
def test_a_full_disk_on_stdout_is_one_error(args: list[str | Path]) -> None:
    with open("/dev/full", "wb") as full:  # stdout of the child; nothing is created or replaced
        process = _popen(*args, stdout=full)
        _, stderr = process.communicate(timeout=120)
    assert stderr.decode() == ("backprop: error: cannot write the output: No space left on "
                               "device\n")
    assert process.returncode == 2


@pytest.mark.parametrize("args", [["analyze", CONFIGS / "chain.yaml"],
                                  ["check", CONFIGS / "two-layer.yaml"],
                                  ["--help"]])
def test_a_closed_pipe_exits_141_silently(args: list[str | Path]) -> None:
    """141 = 128 + SIGPIPE, what a shell reports; never 1 (check's "gradient check failed")."""
    read, write = os.pipe()
    os.close(read)  # the reader has gone before anything is written
    try:
        process = _popen(*args, stdout=write)
    finally:
        os.close(write)
    _, stderr = process.communicate(timeout=120)
    assert (process.returncode, stderr) == (141, b"")


def test_train_log_to_a_closed_pipe_still_writes_out(tmp_path: Path) -> None:
    """`backprop train … --log - | head -1`: the run is not lost."""
    out = tmp_path / "trained.yaml"
    process = _popen("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out,
                     "--epochs", "2000", "--batch-size", "4", "--log", "-", "-q",
                     stdout=subprocess.PIPE)
    assert process.stdout is not None
    first = process.stdout.readline()
    process.stdout.close()  # 2000 lines do not fit in the pipe: the next writes fail
    _, stderr = process.communicate(timeout=120)
    assert first.startswith(b'{"type": "epoch", "epoch": 1,')
    assert (process.returncode, stderr) == (141, b"")
    from backprop_cli.io.config import load_network

    training = load_network(out).training.to_dict()
    assert training["status"] == "completed" and training["epochs_run"] == 2000


def test_train_log_fifo_whose_reader_leaves_still_writes_out(tmp_path: Path) -> None:
    net, data, _ = _inputs(tmp_path)
    fifo, out = tmp_path / "log.fifo", tmp_path / "trained.yaml"
    os.mkfifo(fifo)
    reader = _Reader(fifo, lines=1)
    result = invoke("train", net, data, "--out", out, "--epochs", "2000", "--batch-size", "4",
                    "--log", fifo, "-q", "--format", "json")
    assert reader.finish().startswith(b'{"type": "epoch", "epoch": 1,')
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # a closed pipe: its reader has gone, nobody to tell
    assert '"epochs_run": 2000' in result.stdout
    assert out.exists()


def test_a_log_that_cannot_be_written_ends_the_log_not_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import io

    from backprop_cli.cli import runtime as cli

    class Full(io.StringIO):
        """A disk that fills up after the first line."""

        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def write(self, text: str) -> int:
            if self.lines:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.lines.append(text)
            return len(text)

    log = Full()
    monkeypatch.setattr(cli, "_open_log", lambda name, force=False: log)
    net, data, _ = _inputs(tmp_path)
    out = tmp_path / "trained.yaml"
    result = invoke("train", net, data, "--out", out, "--epochs", "5", "--log",
                    tmp_path / "log.ndjson", "-q", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (f"backprop: warning: --log {tmp_path / 'log.ndjson'}: cannot "
                             "write: No space left on device; training goes on without the log\n")
    assert len(log.lines) == 1 and log.closed
    assert log.lines[0].startswith('{"type": "epoch", "epoch": 1,')
    assert '"epochs_run": 5' in result.stdout and out.exists()
