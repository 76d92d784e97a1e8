"""The corpus of malformed inputs (tests/bad_inputs/cases.yaml): every one gives its message on
stderr, exit code 2, nothing on stdout, no traceback, and leaves its input files as they were.
"""

from __future__ import annotations

import gzip
import lzma
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.errors import ConfigError
from backprop_cli.io import config

HERE = Path(__file__).resolve().parent / "bad_inputs"
CONFIGS = HERE.parent.parent / "configs"
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))


def _billion_laughs() -> str:
    """Nine levels of ten aliases each: 10^9 values once expanded, 500 bytes of text."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\ninput_size: 1\nlayers: [{size: 1, weights: [[1]], biases: [0]}]\n"


# A file's bytes, or its first bytes and its size: a hole (a sparse file) up to that size.
Content = bytes | tuple[bytes, int]
GENERATORS: dict[str, Callable[[], dict[str, Content]]] = {
    "deep": lambda: {"n.yaml": ("input_size: 1\ninit: {}\nlayers:\n"
                                + "  - {size: 1}\n" * (config.MAX_LAYERS + 1)).encode()},
    "billion_laughs": lambda: {"n.yaml": _billion_laughs().encode()},
    # 458 MiB: a valid start, then a hole (the limit is on bytes, before any parsing).
    "over_the_file_limit": lambda: {"n.yaml": (b"input_size: 1\nlayers: []\n", 458 * 2**20)},
    "deep_brackets": lambda: {"n.yaml": b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"},
    "huge_field": lambda: {"d.csv": b"x1,x2,y\n0," + b"1" * 200_000 + b",0\n"},
    # 6 MB on line 3: refused once 4 MiB of it are read
    "long_line": lambda: {"d.csv": b"x1,x2,y\n0,0,0\n0," + b"1" * 6_000_000 + b",0\n"},
    # beyond Python's 4,300-digit limit of int()
    "huge_seed": lambda: {"n.yaml": b"input_size: 1\ninit: {seed: 1" + b"0" * 5000
                          + b"}\nlayers: [{size: 1}]\n"},
    # one 130,000-character cell: echoed cut to 80 characters in the error
    "long_cell": lambda: {"d.csv": b"x1,x2,y\n0,1,1\n" + b"a" * 130_000 + b",0,1\n"},
    # compressed data (issue 15): cut short, not compressed at all, a bad cell inside
    "gzip_cut": lambda: {"d.csv.gz": gzip.compress(b"x1,x2,y\n" + b"0,1,1\n" * 1000)[:30]},
    "gzip_plain": lambda: {"d.csv.gz": b"x1,x2,y\n0,1,1\n"},
    "gzip_bad_cell": lambda: {"d.csv.gz": gzip.compress(b"x1,x2,y\n0,1,1\n0,five,1\n")},
    "xz_cut": lambda: {"d.csv.xz": lzma.compress(b"x1,x2,y\n" + b"0,1,1\n" * 1000)[:40]},
}


def _network_text(case: dict[str, Any]) -> bytes | None:
    if "net_file" in case:
        return (HERE / "files" / case["net_file"]).read_bytes()
    if "net_from" in case:
        text = (CONFIGS / case["net_from"]).read_text(encoding="utf-8")
        for old, new in case.get("replace", []):
            assert old in text, f"{case['id']}: {old!r} is not in {case['net_from']}"
            text = text.replace(old, new)
        return (text + case.get("append", "")).encode()
    if "net" in case:
        return str(case["net"]).encode()
    return None


def _write_inputs(case: dict[str, Any], tmp: Path) -> dict[str, Path]:
    files: dict[str, Content] = {}
    net = _network_text(case)
    if net is not None:
        files["n.yaml"] = net
    if "csv_file" in case:
        files["d.csv"] = (HERE / "files" / case["csv_file"]).read_bytes()
    elif "csv" in case:
        files["d.csv"] = str(case["csv"]).encode()
    if "val" in case:
        files["v.csv"] = str(case["val"]).encode()
    if "generate" in case:
        files.update(GENERATORS[case["generate"]]())
    paths = {}
    for name, content in files.items():
        paths[name] = tmp / name
        start, size = content if isinstance(content, tuple) else (content, len(content))
        with paths[name].open("wb") as stream:
            stream.write(start)
            stream.truncate(size)
    return paths


def test_the_corpus_is_large_and_well_formed() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    failing = [case for case in CASES if case.get("exit", 2) == 2]
    assert len(failing) >= 60
    commands = {case["args"][0] for case in CASES}
    assert {"analyze", "train", "predict", "evaluate", "check", "nudge", "diagnose"} <= commands
    for case in CASES:
        assert set(case) <= {"id", "args", "expect", "exit", "net", "net_from", "net_file",
                              "replace", "append", "csv", "csv_file", "val", "generate"}, case


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_bad_input(case: dict[str, Any], tmp_path: Path) -> None:
    inputs = _write_inputs(case, tmp_path)
    before = {path: path.read_bytes() for path in inputs.values()}
    places = {"net": inputs.get("n.yaml", tmp_path / "n.yaml"),
              "csv": inputs.get("d.csv", tmp_path / "d.csv"),
              "val": inputs.get("v.csv", tmp_path / "v.csv"),
              "out": tmp_path / "out.yaml", "tmp": tmp_path}
    args = [arg.format(**places) for arg in case["args"]]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1"})

    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case['id']}: {result.exception!r}")
    assert "Traceback" not in result.stderr
    expected = case.get("exit", 2)
    assert result.exit_code == expected, f"{case['id']}: {result.stderr}"
    wanted = case["expect"] if isinstance(case["expect"], list) else [case["expect"]]
    for text in wanted:
        assert text in result.stderr, f"{case['id']}: {text!r} not in {result.stderr!r}"
    if expected == 2:
        assert result.stdout == ""
        assert result.stderr.startswith("backprop: error: ")
        assert result.stderr.count("\n") == 1 or "e.g." in result.stderr  # one message
        assert not places["out"].exists()
    else:
        assert result.stdout
    for path, content in before.items():
        assert path.read_bytes() == content, f"{case['id']} changed its input {path.name}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(p.name for p in inputs.values()), *(["out.yaml"] if places["out"].exists() else [])])


def test_billion_laughs_is_refused_with_bounded_memory() -> None:
    """The walker stops counting at MAX_NODES without expanding the aliases: the document
    stands for 10^9 values, and reading it allocates a few megabytes at most."""
    text = _billion_laughs()
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="expands to more than 40,000,000 values"):
            config.loads_network(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20


def test_aliases_within_the_limits_are_shared_not_copied() -> None:
    """A row reused through an alias reads as the same numbers, and counts once per use."""
    net = config.loads_network(
        "input_size: 2\nlayers:\n  - size: 3\n    weights: [&row [0.5, -0.25], *row, *row]\n"
        "    biases: [0, 0, 0]\n")
    assert net.layers[0].weights.tolist() == [[0.5, -0.25]] * 3


def test_limits_are_the_documented_ones() -> None:
    readme = (HERE.parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Safety and limits", 1)[1].split("\n## ", 1)[0]
    assert config.MAX_FILE_BYTES // 2**20 == 457 and "457 MiB" in section
    assert config.BYTES_PER_PARAMETER == 48 and "48 bytes a parameter" in section
    assert config.MAX_LAYERS == 1000 and "1,000 layers" in section
    assert config.MAX_PARAMETERS == 10**7 and "10,000,000 weights and biases" in section
    assert config.MAX_NODES == 4 * 10**7 and "40,000,000 values" in section


USAGE_ERRORS = [
    (["analyze", "{chain}", "--formt", "json"],
     ["No such option: --formt", "Possible options: --format"]),
    (["analyze", "{chain}", "--format", "yaml"],
     ["Invalid value for '--format'", "'yaml' is not one of 'table', 'json'"]),
    (["analyze", "{chain}", "--limit", "-1"], ["Invalid value for '--limit'"]),
    (["train", "{chain}", "{xor_csv}", "--out", "{out}", "--epochs", "abc"],
     ["Invalid value for '--epochs'"]),
    (["train", "{chain}", "{xor_csv}", "--out", "{out}", "--optimizer", "rmsprop"],
     ["Invalid value for '--optimizer'", "'rmsprop' is not one of 'sgd', 'momentum', 'adam'"]),
    (["predict", "{chain}"], ["Missing argument 'DATA.csv'"]),
    (["nudge", "{chain}", "w1.0.0", "--by", "a lot"], ["Invalid value for '--by'"]),
    (["frobnicate"], ["No such command 'frobnicate'"]),
]


@pytest.mark.parametrize(("args", "wanted"), USAGE_ERRORS,
                         ids=[" ".join(a[:1] + a[2:3]) for a, _ in USAGE_ERRORS])
def test_unknown_options_and_bad_values_get_a_usage_error(
        args: list[str], wanted: list[str], tmp_path: Path) -> None:
    places = {"chain": CONFIGS / "chain.yaml", "xor_csv": CONFIGS / "xor.csv",
              "out": tmp_path / "out.yaml"}
    result = CliRunner().invoke(app, [a.format(**places) for a in args],
                                env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert "Usage: backprop" in result.stderr and "-h' for help" in result.stderr
    flat = " ".join(result.stderr.replace("│", " ").split())
    for text in wanted:
        assert text in flat, (text, flat)
    assert not (tmp_path / "out.yaml").exists()
