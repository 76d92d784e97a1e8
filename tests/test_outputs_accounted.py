"""Every byte written to stdout or a file is accounted for (issue 12): a short write or a full
disk is one error (exit 2), a closed pipe exits 141, for every command and format; a path that
cannot even be looked at is refused before any work; a SIGKILL leaves no temporary file; an
output that another process creates meanwhile is never replaced without --force."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from backprop_cli.cli import app
from backprop_cli.io import atomic

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
BIG = CONFIGS / "mnist-784-16-16-10.yaml"
FULL = "backprop: error: cannot write the output: No space left on device\n"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "120",
                                                                 "NO_COLOR": "1"})


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "OPENBLAS_NUM_THREADS": "1",
            **extra}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained") / "xor-trained.yaml"
    result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out,
                    "--epochs", "2", "-q")
    assert result.exit_code == 0, result.stderr
    return out


def _every_command_and_format(trained: Path, tmp: Path) -> list[list[str | Path]]:
    """One command line per command and stdout format (the large outputs from the 784-input
    network, so that a pipe's 64 KiB fill up mid-write)."""
    xor_csv = CONFIGS / "xor.csv"
    lines: list[list[str | Path]] = [
        ["analyze", BIG, "-f", fmt, "--limit", "0"]
        for fmt in ("table", "json", "ndjson", "csv", "markdown", "latex")]
    lines += [["graph", BIG, "-f", fmt, "--max-neurons", "400"]
              for fmt in ("svg", "dot", "mermaid")]
    lines += [[command, CONFIGS / "two-layer.yaml", "-f", fmt]
              for command in ("check", "nudge", "diagnose") for fmt in ("table", "json")]
    lines = [line + (["w1.0.0"] if line[0] == "nudge" else []) for line in lines]
    lines += [["evaluate", trained, xor_csv, "-f", fmt] for fmt in ("table", "json")]
    lines += [["predict", trained, xor_csv, "-f", fmt] for fmt in ("csv", "json", "ndjson")]
    lines += [["train", CONFIGS / "xor.yaml", xor_csv, "--out", tmp / "t.yaml", "--force",
               "-q", "-f", fmt] for fmt in ("table", "json")]
    lines += [["train", CONFIGS / "xor.yaml", xor_csv, "--out", tmp / "t.yaml", "--force",
               "-q", "--log", "-", "--epochs", "3000"]]
    lines += [["init", "--sizes", "784,300,10"], ["schema"], ["schema", "output"],
              ["report", CONFIGS / "two-layer.yaml"], ["--help"], ["analyze", "--help"]]
    return lines


def _ids(lines: list[list[str | Path]]) -> list[str]:
    return [" ".join(Path(a).name if isinstance(a, Path) else a for a in line[:4])
            for line in lines]


LINES = _every_command_and_format(Path("trained.yaml"), Path("tmp"))


def _resolve(line: list[str | Path], trained: Path, tmp: Path) -> list[str]:
    """The command line with the module-level placeholders made real."""
    out = []
    for arg in line:
        if arg == Path("trained.yaml"):
            arg = trained
        elif isinstance(arg, Path) and arg.parent == Path("tmp"):
            arg = tmp / arg.name
        out.append(str(arg))
    return out


def _run(args: list[str], stdout: Any, **extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "backprop_cli", *args], stdout=stdout,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=_env(**extra))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("line", LINES, ids=_ids(LINES))
def test_a_full_disk_is_one_error_for_every_command_and_format(
        line: list[str | Path], trained: Path, tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        process = _run(_resolve(line, trained, tmp_path), full)
        _, stderr = process.communicate(timeout=300)
    assert (process.returncode, stderr.decode()) == (2, FULL)


@pytest.mark.parametrize("line", LINES, ids=_ids(LINES))
def test_a_pipe_closed_after_one_line_exits_141_for_every_command_and_format(
        line: list[str | Path], trained: Path, tmp_path: Path) -> None:
    """`backprop … | head -1`: the reader leaves after one line, while the output is still
    being written (or, for an output that fits in the pipe, before it is written): 141,
    nothing on stderr, never 0 or 1."""
    read, write = os.pipe()
    process = _run(_resolve(line, trained, tmp_path), write)
    os.close(write)
    with open(read, "rb") as reader:
        first = reader.readline()
    _, stderr = process.communicate(timeout=300)
    assert first
    if process.returncode == 0:  # all of it fitted in the pipe before the reader left:
        read, write = os.pipe()  # then a reader that left before the first write
        os.close(read)
        process = _run(_resolve(line, trained, tmp_path), write)
        os.close(write)
        _, stderr = process.communicate(timeout=300)
    assert (process.returncode, stderr) == (141, b"")


def test_a_closed_pipe_cuts_a_long_output_short_and_exits_141() -> None:
    """The 1.8 MB network does not fit in a pipe: exit 141 whatever the buffering (with
    PYTHONUNBUFFERED a raw write of part of it used to end silently with exit 0)."""
    for unbuffered in ("1", ""):
        read, write = os.pipe()
        process = _run(["init", "--sizes", "784,300,10"], write, PYTHONUNBUFFERED=unbuffered)
        os.close(write)
        with open(read, "rb") as reader:
            assert reader.readline().startswith(b"# Written by: backprop init")
        _, stderr = process.communicate(timeout=300)
        assert (process.returncode, stderr) == (141, b""), unbuffered


@contextlib.contextmanager
def _small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (needs root; skipped where it cannot be mounted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_stdout_to_a_disk_that_fills_up_mid_write_is_one_error(unbuffered: str,
                                                               tmp_path: Path) -> None:
    """`backprop init --sizes 784,300,10 > /full/n.yaml` left 64 KiB and exited 0."""
    with _small_disk(tmp_path) as disk:
        for n, args in enumerate([["init", "--sizes", "784,300,10"],
                                  ["analyze", str(BIG), "-f", "markdown", "--limit", "0"],
                                  ["analyze", str(BIG), "-f", "latex", "--limit", "0"],
                                  ["graph", str(BIG), "--max-neurons", "400"]]):
            with open(disk / f"out{n}", "wb") as stdout:
                process = _run(args, stdout, PYTHONUNBUFFERED=unbuffered)
                _, stderr = process.communicate(timeout=300)
            assert (process.returncode, stderr.decode()) == (2, FULL), args
            (disk / f"out{n}").unlink()


def test_stdout_writes_are_whole_even_when_the_system_takes_part(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake system whose write takes 7 bytes at a time, then a full disk."""
    from backprop_cli.cli.runtime import _whole_writes

    taken: list[bytes] = []
    limit = {"bytes": 10_000}

    def write(fd: int, data: Any) -> int:
        chunk = bytes(data[:7])
        if sum(map(len, taken)) + len(chunk) > limit["bytes"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken.append(chunk)
        return len(chunk)

    monkeypatch.setattr(os, "write", write)
    with open(tmp_path / "out", "w", encoding="utf-8") as real:
        stream, raw = _whole_writes(real)
        assert raw is not None
        stream.write("é" * 3000)  # 6000 bytes
        stream.flush()
        assert b"".join(taken) == ("é" * 3000).encode()
        stream.write("x" * 5000)
        with pytest.raises(OSError, match="No space left"):
            stream.flush()
        raw.drop()  # what is still buffered is dropped, never written or raised again
        stream.close()


# --- a path that cannot be looked at; memory --------------------------------------------

def test_a_symlink_loop_or_a_long_name_is_refused_before_any_work(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    long = tmp_path / ("n" * 300 + ".yaml")
    for output, reason in ((loop, "Too many levels of symbolic links"),
                           (long, "File name too long")):
        for args in (["train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", output, "-q"],
                     ["graph", CONFIGS / "xor.yaml", "-o", output],
                     ["init", "--sizes", "2,1", "-o", output]):
            result = invoke(*args)
            assert result.exit_code == 2, (args, result.stderr)
            assert result.exception is None or isinstance(result.exception, SystemExit)
            assert reason in result.stderr and result.stderr.count("\n") == 1
            option = "--out" if args[0] == "train" else "--output"
            assert result.stderr.startswith(f"backprop: error: {option} {output}: {reason}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop.yaml"]


def test_a_directory_that_cannot_be_read_is_one_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user other than root: is_dir() on a path in a directory without the x bit raises
    PermissionError (root passes every permission check, so it stands in here)."""
    real = Path.is_dir

    def is_dir(self: Path) -> bool:
        if self.name == "out.yaml":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    out = tmp_path / "locked" / "out.yaml"
    result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out, "-q")
    assert result.exit_code == 2
    assert result.stderr == (f"backprop: error: --out {out}: Permission denied; choose another "
                             "--out\n")


def test_out_of_memory_is_one_error_naming_what_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    from backprop_cli.reports import analyze as report

    def huge(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(report, "analyze", huge)
    result = invoke("analyze", BIG, "-f", "markdown")
    assert result.exit_code == 2
    assert result.stderr.startswith("backprop: error: out of memory: ")
    assert "--format ndjson or csv" in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == ""


# --- SIGKILL while writing; another process's file ----------------------------------------

_KILLED_WRITER = textwrap.dedent('''
    import os, signal, sys
    from pathlib import Path
    from backprop_cli.io import atomic
    step = sys.argv[2]
    if sys.argv[3] == "named":
        atomic._anonymous = lambda folder, mode=0o600: None
    real_write_all, real_replace = atomic.write_all, os.replace
    def write_all(fd, payload):
        if step == "write" and fd > 2:  # half of it, then killed
            real_write_all(fd, bytes(payload[: len(payload) // 2]))
            os.kill(os.getpid(), signal.SIGKILL)
        return real_write_all(fd, payload)
    def replace(src, dst):
        os.kill(os.getpid(), signal.SIGKILL)
    atomic.write_all = write_all
    if step == "rename":
        os.replace = replace
    atomic.write_atomic(Path(sys.argv[1]), "new\\n" * 500_000, replace=True)
''')


@pytest.mark.parametrize("how", ["anonymous", "named"])
@pytest.mark.parametrize("step", ["write", "rename"])
def test_sigkill_while_writing_leaves_no_temporary_file(how: str, step: str,
                                                        tmp_path: Path) -> None:
    """Killed half-way through the write or just before the rename: the target is the old
    file, and no temporary file is left; where a name had to be used (no O_TMPFILE, or the
    step before a rename), the next write removes it."""
    target = tmp_path / "net.yaml"
    target.write_text("old\n")
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(target), step, how],
                          capture_output=True, timeout=120, check=False, env=_env())
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert target.read_text() == "old\n"
    left = sorted(p.name for p in tmp_path.iterdir())
    if how == "anonymous" and step == "write":
        assert left == ["net.yaml"]  # nothing with a name was ever made
    atomic.write_atomic(target, "next\n")
    assert target.read_text() == "next\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.yaml"]


def test_sigkill_of_train_while_writing_out_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The real command, killed while its --out (235,500 weights, 4 MB) is half written:
    the directory holds its inputs only."""
    net, data = tmp_path / "net.yaml", tmp_path / "d.csv"
    assert invoke("init", "--sizes", "784,300,1", "-o", net).exit_code == 0
    header = ",".join(f"x{i}" for i in range(784)) + ",y\n"
    data.write_text(header + "".join(",".join(["0.5"] * 784) + f",{y}\n" for y in (0, 1)))
    program = _KILLED_WRITER.split("atomic.write_all = write_all")[0] + textwrap.dedent('''
        atomic.write_all = write_all
        sys.argv = ["backprop", "train", sys.argv[4], sys.argv[5], "--out", sys.argv[1],
                    "--epochs", "1", "-q"]
        from backprop_cli.__main__ import main
        main()
    ''')
    out = tmp_path / "trained.yaml"
    done = subprocess.run([sys.executable, "-c", program, str(out), "write", "anonymous",
                           str(net), str(data)],
                          capture_output=True, timeout=300, check=False, env=_env())
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "net.yaml"]


@pytest.mark.parametrize("how", ["anonymous", "named"])
def test_a_file_created_meanwhile_is_never_replaced_without_force(
        how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process creates --out after the checks, while training runs: kept, exit 2."""
    if how == "named":
        monkeypatch.setattr(atomic, "_anonymous", lambda folder, mode=0o600: None)
    out = tmp_path / "trained.yaml"
    real_clean = atomic._clean_leftovers

    def meanwhile(folder: Path, name: str) -> None:  # runs just before the new file is named
        out.write_text("the other run's\n")
        real_clean(folder, name)

    monkeypatch.setattr(atomic, "_clean_leftovers", meanwhile)
    result = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out, "-q")
    assert result.exit_code == 2
    assert result.stderr == (f"backprop: error: --out {out} was created by another process "
                             "while this one ran; it was kept, and nothing was written: add "
                             "--force to overwrite it\n")
    assert out.read_text() == "the other run's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trained.yaml"]
    forced = invoke("train", CONFIGS / "xor.yaml", CONFIGS / "xor.csv", "--out", out, "-q",
                    "--force")
    assert forced.exit_code == 0 and "training:" in out.read_text()


def test_two_concurrent_runs_on_a_new_out_one_wins_the_other_exits_2(tmp_path: Path) -> None:
    """Two processes racing to create the same --out without --force: exactly one writes it,
    the other exits 2 with one message (at the check or at the link), nothing is replaced."""
    for attempt in range(3):
        out = tmp_path / f"n{attempt}.yaml"
        processes = [_run(["init", "--sizes", "300,300,10", "--seed", str(seed), "-o",
                           str(out)], subprocess.PIPE) for seed in (1, 2)]
        results = [(p.wait(timeout=300), p.communicate()[1].decode()) for p in processes]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2], results
        winner = next(seed for seed, (code, _) in zip((1, 2), results, strict=True)
                      if code == 0)
        loser = next(err for code, err in results if code == 2)
        assert loser.count("\n") == 1 and str(out) in loser and "--force" in loser
        assert f"--seed {winner}" in out.read_text().splitlines()[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n0.yaml", "n1.yaml", "n2.yaml"]


def test_log_created_meanwhile_is_not_truncated(tmp_path: Path) -> None:
    log = tmp_path / "log.ndjson"
    log.write_text("another run's log\n")
    with pytest.raises(FileExistsError):
        atomic.open_stream(log, exclusive=True)
    assert log.read_text() == "another run's log\n"
    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "made.ndjson")
    with atomic.open_stream(dangling, exclusive=True) as stream:
        stream.write("x\n")
    assert (tmp_path / "made.ndjson").read_text() == "x\n" and dangling.is_symlink()
