"""Inputs that are not regular files, limits on the bytes read, file-system conditions, and
what numbers mean (issue 12, the input side).

A pipe (``<(…)``, here ``/dev/fd/N`` of an ``os.pipe``), a named FIFO and ``/dev/stdin`` must
give exactly what a regular file of the same bytes gives, for every command that reads data;
a line or a network file too long is refused on the bytes read, in bounded memory; no
file-system condition gives a traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.errors import ConfigError
from backprop_cli.io import config, inputs
from backprop_cli.io.config import loads_network
from backprop_cli.io.csv_reader import Columns
from backprop_cli.io.training_data import fit_preprocessing

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
XOR = str(CONFIGS / "xor.yaml")
DIGITS = str(CONFIGS / "digits.yaml")
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "OPENBLAS_NUM_THREADS": "1"}


def _xor_rows(m: int = 5000) -> bytes:
    """m rows of x1,x2,y: ~90 KB, more than a pipe holds (64 KiB), so two readers of one
    pipe would each see only part of it."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 10**6, size=(m, 2)) / 10**6
    y = ((x[:, 0] > 0.5) != (x[:, 1] > 0.5)).astype(int)
    lines = [f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(x, y, strict=True)]
    return ("x1,x2,y\n" + "\n".join(lines) + "\n").encode()


XOR_ROWS = _xor_rows()


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))
    return result.exit_code, result.stdout, result.stderr


def _writer(target: int | Path, data: bytes) -> threading.Thread:
    """A thread that opens ``target`` (a descriptor or a FIFO) and writes ``data`` into it;
    a reader that stops early is not an error."""
    def write() -> None:
        try:
            with open(target, "wb") as stream:
                stream.write(data)
        except BrokenPipeError:
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@contextmanager
def _pipe(data: bytes) -> Iterator[str]:
    """``/dev/fd/N``: the read end of a pipe a thread writes ``data`` into, as ``<(…)``."""
    r, w = os.pipe()
    thread = _writer(w, data)
    try:
        yield f"/dev/fd/{r}"
    finally:
        os.close(r)
        thread.join(10)


@contextmanager
def _fifo(data: bytes, directory: Path) -> Iterator[str]:
    """A named FIFO that a thread writes ``data`` into once a reader opens it."""
    path = directory / "fifo.csv"
    os.mkfifo(path)
    thread = _writer(path, data)
    try:
        yield str(path)
    finally:
        if thread.is_alive():  # never read: let the writer's open return
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
        thread.join(10)


# Every command that reads CSV data; {data}: the input under test, {csv}: a regular file of
# the same bytes (train --val's training rows), {out}: the trained file.
COMMANDS = {
    "analyze": ["analyze", XOR, "--data", "{data}", "--format", "json"],
    "analyze-classes": ["analyze", DIGITS, "--data", "{data}", "--format", "json", "--top", "3"],
    "check": ["check", XOR, "--data", "{data}", "--format", "json"],
    "diagnose": ["diagnose", XOR, "--data", "{data}", "--format", "json"],
    "step": ["step", XOR, "--lr", "0.5", "--steps", "2", "--data", "{data}", "--format",
             "json"],
    "sensitivity": ["sensitivity", XOR, "--data", "{data}", "--format", "json"],
    "train": ["train", XOR, "{data}", "--out", "{out}", "--epochs", "2", "--format", "json",
              "-q"],
    "train-val": ["train", XOR, "{csv}", "--val", "{data}", "--out", "{out}", "--epochs", "2",
                  "--format", "json", "-q"],
    "evaluate": ["evaluate", XOR, "{data}", "--format", "json"],
    "predict": ["predict", XOR, "{data}"],
    "predict-classes": ["predict", DIGITS, "{data}"],
}


def _bytes_for(command: str) -> bytes:
    return (CONFIGS / "digits.csv").read_bytes() if "classes" in command else XOR_ROWS


def _outcome(command: str, data: str, tmp: Path, csv: Path) -> tuple[int, str, str, str]:
    """exit code, stdout, stderr and the trained file, with the data's name replaced."""
    out = tmp / "out.yaml"
    out.unlink(missing_ok=True)
    args = [a.format(data=data, csv=csv, out=out) for a in COMMANDS[command]]
    code, stdout, stderr = _run(args)
    trained = out.read_text(encoding="utf-8") if out.exists() else ""
    return (code, stdout.replace(data, "DATA"), stderr.replace(data, "DATA"),
            trained.replace(data, "DATA"))


@pytest.mark.parametrize("kind", ["pipe", "fifo"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_stream_gives_what_a_regular_file_gives(command: str, kind: str,
                                                  tmp_path: Path) -> None:
    data = _bytes_for(command)
    csv, same = tmp_path / "d.csv", tmp_path / "v.csv"
    csv.write_bytes(data)
    same.write_bytes(data)
    expected = _outcome(command, str(same), tmp_path, csv)
    assert expected[0] == 0, expected[2]
    with (_pipe(data) if kind == "pipe" else _fifo(data, tmp_path)) as stream:
        got = _outcome(command, stream, tmp_path, csv)
    assert got == expected
    if command.startswith("train"):
        assert ("rows: 5000" if command == "train" else "val_rows: 5000") in got[3]


def _threads_masked(outcome: tuple[int, str, str, str]) -> tuple[object, ...]:
    return (*outcome[:3], re.sub(r"blas_threads: \d+", "blas_threads: N", outcome[3]))


@pytest.mark.parametrize("command", ["evaluate", "train", "analyze", "predict-classes"])
def test_dev_stdin_gives_what_a_regular_file_gives(command: str, tmp_path: Path) -> None:
    """The issue's reproduction, in a process of its own: ``cat f.csv | backprop evaluate
    xor.yaml /dev/stdin`` read 4744 of 5000 rows."""
    data = _bytes_for(command)
    csv, same = tmp_path / "d.csv", tmp_path / "v.csv"
    csv.write_bytes(data)
    same.write_bytes(data)
    expected = _outcome(command, str(same), tmp_path, csv)
    out = tmp_path / "out.yaml"
    out.unlink(missing_ok=True)
    args = [a.format(data="/dev/stdin", csv=csv, out=out) for a in COMMANDS[command]]
    done = subprocess.run([sys.executable, "-m", "backprop_cli", *args], input=data,
                          capture_output=True, env={**os.environ, **ENV}, check=False,
                          timeout=120)
    trained = out.read_text(encoding="utf-8") if out.exists() else ""
    got = (done.returncode, *(t.replace("/dev/stdin", "DATA")
                              for t in (done.stdout.decode(), done.stderr.decode(), trained)))
    # this process and the child may run their BLAS on different thread counts (the child is
    # given one), which the trained file records; the rows and weights are the same
    assert _threads_masked(got) == _threads_masked(expected)
    if command == "evaluate":
        assert '"rows": 5000' in got[1]


def test_a_stream_with_an_error_gives_the_same_error(tmp_path: Path) -> None:
    """A bad cell far into a piped file: the same file:line:column as the regular file, not a
    false "too many values" where two readers split the pipe."""
    data = XOR_ROWS + b"0.1,oops,1\n"  # line 5002, past the 64 KiB a pipe holds
    csv = tmp_path / "d.csv"
    csv.write_bytes(data)
    regular = _run(["evaluate", XOR, str(csv)])
    with _pipe(data) as stream:
        piped = _run(["evaluate", XOR, stream])
    assert regular[0] == piped[0] == 2
    assert regular[2].replace(str(csv), "DATA") == piped[2].replace(stream, "DATA")
    assert piped[2] == (f"backprop: error: {stream}:5002:2: feature column 'x2': expected a "
                        "number, got 'oops'\n")


def test_an_empty_stream_is_said_to_be_empty() -> None:
    with _pipe(b"") as stream:
        code, _, stderr = _run(["analyze", XOR, "--data", stream])
    assert code == 2
    assert f"{stream}: the file is empty; expected a header row" in stderr


# --- limits on the bytes read ----------------------------------------------------------------

def _peak(args: list[str]) -> tuple[int, str, int]:
    tracemalloc.start()
    try:
        code, _, stderr = _run(args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return code, stderr, peak


@pytest.mark.parametrize("command", ["analyze", "evaluate"])
def test_a_line_longer_than_the_limit_is_refused_before_it_is_read_whole(
        command: str, tmp_path: Path) -> None:
    """A 40 MB line: refused once 4 MiB of it are read (it took 2.77 GB for 200 MB)."""
    csv = tmp_path / "d.csv"
    csv.write_bytes(b"x1,x2,y\n0,0,0\n0," + b"1" * 40_000_000 + b",0\n")
    args = (["analyze", XOR, "--data", str(csv)] if command == "analyze"
            else ["evaluate", XOR, str(csv)])
    code, stderr, peak = _peak(args)
    assert code == 2
    assert f"{csv}:3: a line longer than 4 MiB" in stderr
    assert peak < 24 * 2**20


def test_a_header_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_bytes(b"x" * (inputs.MAX_LINE_BYTES + 10) + b"\n")
    code, stderr, _ = _peak(["predict", XOR, str(csv)])
    assert code == 2 and f"{csv}:1: a line longer than 4 MiB" in stderr


def test_dev_zero_as_data_is_refused_in_bounded_memory() -> None:
    code, stderr, peak = _peak(["analyze", XOR, "--data", "/dev/zero"])
    assert code == 2
    assert "/dev/zero:1: a line longer than 4 MiB" in stderr
    assert peak < 24 * 2**20


def test_an_endless_line_from_a_pipe_is_refused() -> None:
    """``yes a | tr -d '\\n'`` as data gave a MemoryError."""
    with _pipe(b"a" * (6 * 2**20)) as stream:
        code, stderr, peak = _peak(["train", XOR, stream, "--out", "/nonexistent/o.yaml"])
    assert code == 2
    assert f"{stream}:1: a line longer than 4 MiB" in stderr or "/nonexistent" in stderr
    with _pipe(b"a" * (6 * 2**20)) as stream:
        code, stderr, peak = _peak(["evaluate", XOR, stream])
    assert code == 2 and f"{stream}:1: a line longer than 4 MiB" in stderr
    assert peak < 24 * 2**20


def test_a_stream_longer_than_its_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "MAX_STREAM_BYTES", 2**30 // 16384)  # 64 KiB: one block
    with _pipe(XOR_ROWS) as stream:
        code, _, stderr = _run(["evaluate", XOR, stream])
    assert code == 2
    assert f"{stream}: more than 0 GiB read from this stream (a pipe)" in stderr


def test_dev_zero_as_a_network_file_is_refused_in_bounded_memory() -> None:
    """It grew to a MemoryError (2.7 GB): st_size is 0 for a device."""
    code, stderr, peak = _peak(["analyze", "/dev/zero"])
    assert code == 2
    assert "/dev/zero: this is a binary file, not YAML text" in stderr
    assert peak < 8 * 2**20


def test_a_piped_network_file_is_limited_on_the_bytes_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "MAX_FILE_BYTES", 32 * 2**20)  # (457 MiB: a slow test)
    with _pipe(b"# comment\n" * (4 * 2**20)) as stream:  # 40 MiB
        code, stderr, peak = _peak(["analyze", stream])
    assert code == 2
    assert f"{stream}: the file is more than 32 MiB; network files are limited" in stderr
    assert peak < 80 * 2**20


def test_a_piped_network_file_is_read() -> None:
    text = (CONFIGS / "chain.yaml").read_bytes()
    expected = _run(["analyze", str(CONFIGS / "chain.yaml"), "--format", "json"])
    with _pipe(text) as stream:
        got = _run(["analyze", stream, "--format", "json"])
    assert got[0] == 0
    assert got[1].replace(stream, "NET") == expected[1].replace(
        str(CONFIGS / "chain.yaml"), "NET")


# --- file-system conditions -------------------------------------------------------------------

LONG = "a" * 300 + ".csv"
FS_COMMANDS = [
    ["analyze", XOR, "--data", "{bad}"],
    ["evaluate", XOR, "{bad}"],
    ["predict", XOR, "{bad}"],
    ["train", XOR, "{bad}", "--out", "{tmp}/o.yaml"],
    ["train", XOR, str(CONFIGS / "xor.csv"), "--val", "{bad}", "--out", "{tmp}/o.yaml"],
    ["analyze", "{bad}"],
    ["report", "{bad}", "-o", "{tmp}/o.html"],
    ["report", XOR, "--data", "{bad}", "-o", "{tmp}/o.html"],
    ["graph", "{bad}", "-o", "{tmp}/o.svg"],
]


@pytest.mark.parametrize("args", FS_COMMANDS, ids=lambda a: " ".join(a[:1] + a[2:3])[-20:])
@pytest.mark.parametrize("condition", ["long-name", "loop", "directory", "permission"])
def test_file_system_conditions_are_messages(args: list[str], condition: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if condition == "long-name":
        bad, wanted = str(tmp_path / LONG), "cannot read: File name too long"
    elif condition == "loop":
        (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
        bad, wanted = str(tmp_path / "loop.csv"), "cannot read: Too many levels of symbolic"
    elif condition == "directory":
        bad, wanted = str(tmp_path), "is a directory; expected a"
    else:  # as root nothing is denied: the error os.stat gives a user who may not look
        bad, wanted = str(tmp_path / "locked" / "d.csv"), "cannot read: Permission denied"
        real = os.stat

        def stat(path: object, *rest: object, **kw: object) -> os.stat_result:
            if str(path) == bad:
                raise PermissionError(13, "Permission denied", bad)
            return real(path, *rest, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "stat", stat)
    code, stdout, stderr = _run([a.format(bad=bad, tmp=tmp_path) for a in args])
    assert code == 2, stderr
    assert stdout == ""
    assert stderr.startswith(f"backprop: error: {bad}: {wanted}")


def _as_nobody() -> list[str] | None:
    """The command prefix that runs as user nobody, if this machine allows it."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return None
    prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import backprop_cli"],
                           capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


def test_a_csv_in_a_directory_the_user_cannot_read(tmp_path: Path) -> None:
    """Run as nobody: a PermissionError from is_dir() was a traceback."""
    prefix = _as_nobody()
    if prefix is None:
        pytest.skip("cannot run as user nobody here (not root, no setpriv, or this Python is "
                    "not readable by nobody); the same error is simulated above")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "d.csv").write_bytes(XOR_ROWS)
    locked.chmod(0o700)
    tmp_path.chmod(0o755)
    for args in (["evaluate", XOR, str(locked / "d.csv")],
                 ["analyze", XOR, "--data", str(locked / "d.csv")]):
        done = subprocess.run([*prefix, sys.executable, "-m", "backprop_cli", *args],
                              capture_output=True, text=True, env={**os.environ, **ENV},
                              check=False, cwd="/")
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"backprop: error: {locked / 'd.csv'}: cannot read: " \
                              "Permission denied\n"


# --- numbers mean what they look like ------------------------------------------------------

def _net(weight: str, bias: str = "0", seed: str = "0") -> str:
    return (f"input_size: 1\ninit: {{seed: {seed}}}\n"
            f"layers: [{{size: 1, weights: [[{weight}]], biases: [{bias}]}}]\n")


@pytest.mark.parametrize(("text", "value"), [("0017", 17.0), ("-0017", -17.0),
                                              ("+12", 12.0), ("017.5", 17.5)])
def test_yaml_numbers_are_decimal(text: str, value: float) -> None:
    """YAML 1.1 reads 0017 as octal 15; a CSV reads it as 17, and so does a network file."""
    assert loads_network(_net(text)).layers[0].weights[0, 0] == value


@pytest.mark.parametrize("text", ["1:30", "0b101", "0x1F", "-0x1f", "1:30.5", "1_000",
                                  "1_000.5"])
def test_yaml_1_1_number_forms_are_refused(text: str) -> None:
    """YAML 1.1 reads 1:30 as 90 (base 60), 0b101 as 5 and 1_000 as 1000 (a CSV refuses it);
    they are refused, with a hint."""
    with pytest.raises(ConfigError, match=f"got text '{text}'; numbers are decimal") as err:
        loads_network(_net(text), "n.yaml")
    assert str(err.value).startswith("n.yaml:3: layers[0].weights[0][0]")


def test_an_integer_beyond_float64_is_refused_with_its_line() -> None:
    with pytest.raises(ConfigError, match="a whole number of 401 digits is too large") as err:
        loads_network(_net("1" + "0" * 400), "n.yaml")
    assert str(err.value).startswith("n.yaml:3: layers[0].weights[0][0]:")
    # beyond Python's 4,300-digit limit for int(): no ValueError
    with pytest.raises(ConfigError, match="a whole number of 5,001 digits") as err:
        loads_network(_net("1", seed="1" + "0" * 5000), "n.yaml")
    assert str(err.value).startswith("n.yaml:2: init.seed:")
    # leading zeros do not count
    assert loads_network(_net("0" * 5000 + "3")).layers[0].weights[0, 0] == 3.0


def test_an_esc_byte_is_named_with_its_line() -> None:
    text = _net("1") + "name: a\x1bb\n"
    with pytest.raises(ConfigError) as err:
        loads_network(text, "n.yaml")
    message = str(err.value)
    assert message.startswith("n.yaml:4: invalid YAML: the control character U+001B "
                              "(column 8) is not allowed")
    assert "\n" not in message and "position" not in message


# --- scaling and columns --------------------------------------------------------------------

def test_a_constant_column_within_rounding_gets_scale_one() -> None:
    """Seven rows of 0.1: the standard deviation is 1.4e-17 (the mean is rounded), not 0."""
    x = np.array([[0.1, 1.0]] * 6 + [[0.1, 3.0]])
    assert np.std(x[:, 0]) > 0  # the trap: not exactly 0
    columns = Columns(("a", "b", "y"), (0, 1), (2,))
    for method in ("standard", "minmax"):
        pre = fit_preprocessing(x, method, columns, None)
        assert pre.scale is not None and pre.scale[0] == 1.0
        assert pre.scale[1] == pytest.approx(np.std([1.0] * 6 + [3.0]) if method == "standard"
                                             else 2.0, rel=1e-15)


def test_predict_after_training_on_a_rounded_constant_column(tmp_path: Path) -> None:
    """predict answered 5.39e15 for 0.2 after training on seven rows of 0.1."""
    net = tmp_path / "n.yaml"
    net.write_text("input_size: 1\ncost: squared_error\nlayers:\n"
                   "  - {size: 1, activation: linear, weights: [[1.0]], biases: [0.0]}\n")
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "0.1,1\n" * 7)
    out = tmp_path / "t.yaml"
    code, _, stderr = _run(["train", str(net), str(data), "--out", str(out), "--epochs", "1",
                            "--normalize", "standard", "--normalize-target", "none", "-q"])
    assert code == 0, stderr
    assert "scale: [1.0]" in out.read_text()
    query = tmp_path / "q.csv"
    query.write_text("x\n0.2\n")
    code, stdout, stderr = _run(["predict", str(out), str(query)])
    assert code == 0, stderr
    weight, bias = (float(v) for v in out.read_text().split("weights:\n      - [")[1]
                    .replace("]\n    biases: [", ",").split("]")[0].split(","))
    # x' = (0.2 − 0.1) / 1, not / 1.4e-17 (which answered 5.39e15)
    assert stdout.splitlines()[1] == repr(weight * (0.2 - 0.1) + bias)


@pytest.mark.parametrize(("option", "names"), [("--features", "x2,x2"),
                                               ("--target", "y,y")])
def test_a_column_named_twice_is_refused(option: str, names: str, tmp_path: Path) -> None:
    """train --features x2,x2 wrote a file that its own predict refused."""
    out = tmp_path / "t.yaml"
    code, stdout, stderr = _run(["train", XOR, str(CONFIGS / "xor.csv"), "--out", str(out),
                                 option, names, "-q"])
    assert code == 2 and stdout == ""
    assert f"{option} names the column '{names.split(',')[0]}' twice" in stderr
    assert not out.exists()


def test_the_input_limits_are_the_documented_ones() -> None:
    readme = (CONFIGS.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Safety and limits", 1)[1].split("\n## ", 1)[0]
    assert inputs.MAX_LINE_BYTES == 4 * 2**20 and "a CSV line is at most **4 MiB**" in section
    assert inputs.MAX_STREAM_BYTES == 4 * 2**30 and "**4 GiB**" in section
    assert inputs.BLOCK <= inputs.MAX_LINE_BYTES  # LineLimit relies on it
