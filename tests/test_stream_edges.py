"""Streams the shell closed or filled, and untrusted text in the text derivation (review of
issues 11–12): progress is never the output, so losing stderr loses no work; a closed stdout
is one message, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from conftest import CONFIGS

BACKPROP = [sys.executable, "-m", "backprop_cli"]


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def _cmd(*args: str) -> str:
    return " ".join([*BACKPROP, *args])


def test_train_with_stderr_closed_or_full_still_writes_its_network(tmp_path: Path) -> None:
    xor, data = CONFIGS / "xor.yaml", CONFIGS / "xor.csv"
    for i, redirect in enumerate(("2>&-", "2>/dev/full")):
        out = tmp_path / f"n{i}.yaml"
        done = _shell(_cmd("train", str(xor), str(data), "-o", str(out), "--epochs", "5")
                      + f" {redirect}", tmp_path)
        assert done.returncode == 0, (redirect, done.stdout)
        assert "training completed 5 epochs" in done.stdout
        trained = yaml.safe_load(out.read_text())
        assert trained["training"]["epochs_run"] == 5


def test_a_closed_stdout_is_one_message_and_exit_2(tmp_path: Path) -> None:
    for args in (("analyze", str(CONFIGS / "two-layer.yaml")), ("init", "--sizes", "2,2")):
        done = _shell(_cmd(*args) + " >&-", tmp_path)
        assert done.returncode == 2, args
        assert done.stderr.count("\n") == 1
        assert "standard output is closed" in done.stderr
        assert "Traceback" not in done.stderr


def test_the_text_derivation_escapes_control_characters_in_the_name(tmp_path: Path) -> None:
    net = yaml.safe_load((CONFIGS / "chain.yaml").read_text())
    net["name"] = "evil\x1b[31mRED\x1b]0;title\x07\u202e"
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(net, allow_unicode=True))
    done = _shell(_cmd("analyze", str(path), "-f", "text"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "\u202e" not in done.stdout
    assert "\\x1b[31mRED" in done.stdout


def test_one_stream_named_as_data_and_val_gives_both_its_rows(tmp_path: Path) -> None:
    """A regular file named twice is read twice; a pipe named twice is read once and both names
    get its rows (before: the second name found the pipe empty)."""
    xor, data = CONFIGS / "xor.yaml", CONFIGS / "xor.csv"
    out = tmp_path / "o.yaml"
    done = _shell(f"cat {data} | " + _cmd("train", str(xor), "/dev/stdin", "--val", "/dev/stdin",
                                          "-o", str(out), "--epochs", "2", "-q"), tmp_path)
    assert done.returncode == 0, done.stderr
    training = yaml.safe_load(out.read_text())["training"]
    assert (training["rows"], training["val_rows"]) == (4, 4)


def test_a_read_error_in_a_csv_input_is_one_message(tmp_path: Path) -> None:
    """/proc/self/mem reads fail with EIO at offset 0: named, with its line, never a traceback."""
    xor = str(CONFIGS / "xor.yaml")
    for args in (("evaluate", xor, "/proc/self/mem"), ("predict", xor, "/proc/self/mem"),
                 ("analyze", xor, "--data", "/proc/self/mem")):
        done = _shell(_cmd(*args), tmp_path)
        assert done.returncode == 2, args
        assert done.stderr == ("backprop: error: /proc/self/mem:1: cannot read it: "
                               "Input/output error\n"), args


def test_a_long_message_line_is_cut(tmp_path: Path) -> None:
    """A CSV whose header lists 100,000 characters of names: the message names them, cut."""
    data = tmp_path / "d.csv"
    data.write_text("x1," + "h" * 100_000 + ",y\n0,0,1\n")
    done = _shell(_cmd("train", str(CONFIGS / "xor.yaml"), str(data), "--features", "x1,nope",
                       "-o", str(tmp_path / "o.yaml")), tmp_path)
    assert done.returncode == 2
    assert max(len(line) for line in done.stderr.splitlines()) < 1100
    assert "characters)" in done.stderr
