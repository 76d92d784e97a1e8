"""Outputs that name the process's own streams (/dev/stdout, /dev/stderr, /dev/fd/N,
/proc/self/fd/N): written to the open stream, whatever it is — a regular file a shell opened
with `>>` keeps its content and gets the new output appended; nothing is replaced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from backprop_cli.io.atomic import own_stream

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
OLD = b'{"old": "content"}\n'


def run(*args: str | Path, stdout: int | None = None, pass_fds: tuple[int, ...] = ()
        ) -> subprocess.CompletedProcess[bytes]:
    """``backprop ARGS…`` in a child process whose stdout is ``stdout`` (an open fd)."""
    return subprocess.run([sys.executable, "-m", "backprop_cli", *map(str, args)],
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, pass_fds=pass_fds,
                          timeout=120, check=False)


def appended(path: Path) -> tuple[int, int]:
    """(fd, inode) of ``path`` opened as a shell's ``>> path`` opens it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    return fd, os.fstat(fd).st_ino


def json_values(text: str) -> list[Any]:
    """The JSON documents one after another in ``text``."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(text):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        while at < len(text) and text[at].isspace():
            at += 1
    return values


@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_output_to_own_stdout_appends_to_a_redirected_file(name: str, tmp_path: Path) -> None:
    """`backprop schema output -o /dev/stdout >> out.json`: the old content stays, the JSON is
    appended after it, the file is the same file (inode), and --force is not needed."""
    out = tmp_path / "out.json"
    out.write_bytes(OLD)
    fd, inode = appended(out)
    try:
        done = run("schema", "output", "-o", name, stdout=fd)
    finally:
        os.close(fd)
    assert (done.returncode, done.stderr) == (0, b"")
    assert out.stat().st_ino == inode
    data = out.read_bytes()
    assert data.startswith(OLD)
    old, new = json_values(data.decode())
    assert old == {"old": "content"}
    assert isinstance(new, dict) and new["$schema"].startswith("https://json-schema.org/")
    alone = run("schema", "output")  # the same bytes as plain stdout gives
    assert data[len(OLD):] == alone.stdout


def test_output_to_a_numbered_descriptor_and_stderr(tmp_path: Path) -> None:
    graph, extra = tmp_path / "graph.dot", tmp_path / "stderr.txt"
    graph.write_bytes(b"// before\n")
    extra.write_bytes(b"before\n")
    fd, _ = appended(graph)
    err = os.open(extra, os.O_WRONLY | os.O_APPEND)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "backprop_cli", "graph", str(CONFIGS / "chain.yaml"), "-f",
             "dot", "-o", f"/dev/fd/{fd}"], stdout=subprocess.PIPE, stderr=err,
            stdin=subprocess.DEVNULL, pass_fds=(fd,), timeout=120, check=False)
        init = subprocess.run(
            [sys.executable, "-m", "backprop_cli", "init", "--sizes", "2,1", "-o",
             "/dev/stderr"], stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
            timeout=120, check=False)
    finally:
        os.close(fd)
        os.close(err)
    assert (done.returncode, done.stdout) == (0, b"")
    text = graph.read_text()
    assert text.startswith("// before\ndigraph ") and text.rstrip().endswith("}")
    assert (init.returncode, init.stdout) == (0, b"")
    network = extra.read_text()
    assert network.startswith("before\n# Written by: backprop init --sizes 2,1")
    assert yaml.safe_load(network.split("\n", 1)[1])["input_size"] == 2


def test_train_out_and_log_to_own_streams_keep_what_was_there(tmp_path: Path) -> None:
    """--log /dev/stdout was opened with truncation ("w"): a `>>` log lost its lines."""
    log, trained = tmp_path / "log.ndjson", tmp_path / "trained.yaml"
    log.write_bytes(OLD)
    trained.write_bytes(b"# kept\n")
    fd, _ = appended(log)
    out, _ = appended(trained)
    try:
        done = run("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", f"/dev/fd/{out}",
                   "--epochs", "3", "-q", "--log", "/dev/stdout", "--format", "json",
                   stdout=fd, pass_fds=(out,))
    finally:
        os.close(fd)
        os.close(out)
    assert done.returncode == 0, done.stderr
    data = log.read_bytes()
    assert data.startswith(OLD)
    records = json_values(data[len(OLD):].decode())  # three epochs, then the summary
    assert [r["epoch"] for r in records[:3]] == [1, 2, 3]
    assert len(records) == 4 and records[3]["epochs_run"] == 3
    text = trained.read_text()
    assert text.startswith("# kept\n")
    assert yaml.safe_load(text)["training"]["epochs_run"] == 3


def test_log_to_own_stdout_is_log_dash_stdout_stays_ndjson(tmp_path: Path) -> None:
    """--log /dev/stdout is --log -: the summary after the epochs is one more JSON line
    (not a table), whatever --format says."""
    done = run("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out",
               tmp_path / "t.yaml", "--epochs", "3", "-q", "--log", "/dev/stdout")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r.get("epoch") for r in records] == [1, 2, 3, None]
    assert records[3]["epochs_run"] == 3


def test_a_stream_that_is_not_open_for_writing_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "in.txt"
    data.write_bytes(OLD)
    reading = os.open(data, os.O_RDONLY)
    try:
        done = run("schema", "-o", "/dev/stdout", stdout=reading)
        unused = run("schema", "-o", "/proc/self/fd/987")
    finally:
        os.close(reading)
    assert done.returncode == 2
    assert done.stderr.decode() == ("backprop: error: --output /dev/stdout: stdout is not open "
                                    "for writing; choose another output\n")
    assert data.read_bytes() == OLD
    assert unused.returncode == 2 and unused.stdout == b""
    assert ("--output /proc/self/fd/987: file descriptor 987 is not open"
            in unused.stderr.decode())


def test_own_stdout_to_a_closed_pipe_exits_141_silently() -> None:
    read, write = os.pipe()
    os.close(read)
    try:
        done = run("init", "--sizes", "784,300,10", "-o", "/dev/stdout", stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, b"")


def test_own_stream_names(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to("/dev/stdout")
    chained = tmp_path / "chained"
    chained.symlink_to(link)
    assert own_stream(Path("/dev/stdout")) == 1
    assert own_stream(Path("/dev/stderr")) == 2
    assert own_stream(Path("/dev/stdin")) == 0
    assert own_stream(Path("/dev/fd/5")) == 5
    assert own_stream(Path("/proc/self/fd/7")) == 7
    assert own_stream(Path("/proc/thread-self/fd/3")) == 3
    assert own_stream(Path(f"/proc/{os.getpid()}/fd/4")) == 4
    assert own_stream(Path(f"/proc/{os.getpid() + 1}/fd/4")) is None  # another process's
    assert own_stream(link) == 1 and own_stream(chained) == 1
    assert own_stream(tmp_path / "file.json") is None
    assert own_stream(Path("/dev/null")) is None
    assert own_stream(Path("/dev/fd")) is None
