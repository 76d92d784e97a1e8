"""Text from the files (a network's name, a CSV header, a class label) is escaped for its sink
(issue 12): control characters are shown as escapes on the terminal and in messages, a newline
or a comment breaker cannot inject into DOT or Mermaid, JSON keeps the exact string."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner, Result

from backprop_cli.cli import app
from backprop_cli.errors import clip_quoted, printable

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
EVIL = "evil\x1b[31mRED\x07\nflowchart TB\n  click a1_0 call alert()\n%%{init: {'theme': 'dark'}}%%"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200",
                                                                 "NO_COLOR": "1"})


@pytest.fixture()
def evil_net(tmp_path: Path) -> Path:
    text = (CONFIGS / "xor.yaml").read_text(encoding="utf-8")
    net = tmp_path / "evil.yaml"
    net.write_text(text.replace("name: xor", f"name: {json.dumps(EVIL)}"), encoding="utf-8")
    return net


def test_printable_and_clip_quoted() -> None:
    assert printable("a\x1b[2Jb\x9b\u202e\tc\nd") == "a\\x1b[2Jb\\x9b\\u202e\tc\nd"
    assert printable("a\tb\nc", lines=False) == "a\\tb\\nc"
    assert printable("w⁽²⁾₀₁ ∂C/∂w") == "w⁽²⁾₀₁ ∂C/∂w"  # printable text stays as it is
    long = "x" * 130_000
    assert clip_quoted(f"got {long!r} here") == f"got '{'x' * 80}…' (130000 characters) here"
    exact = f"the network's inputs {'y' * 100} the file's columns"  # apostrophes, no quotes
    assert clip_quoted(exact) == exact
    assert clip_quoted(f"got '{'z' * 80}'") == f"got '{'z' * 80}'"  # 80 is kept whole


@pytest.mark.parametrize("fmt", ["table", "markdown", "latex"])
def test_escape_in_the_name_is_shown_not_sent_to_the_terminal(fmt: str, evil_net: Path) -> None:
    result = invoke("analyze", evil_net, "-f", fmt)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b[31mRED" in result.stdout.replace("\\[", "[")  # markdown: \\[


def test_json_keeps_the_exact_name(evil_net: Path) -> None:
    result = invoke("analyze", evil_net, "-f", "json")
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout  # JSON writes it as \u001b
    assert json.loads(result.stdout)["network"]["name"] == EVIL


def test_a_class_label_with_escapes_in_the_evaluation_table(tmp_path: Path) -> None:
    net = tmp_path / "c.yaml"
    net.write_text(
        "input_size: 2\ncost: categorical_cross_entropy\nlayers: [{size: 2, activation: "
        "softmax, weights: [[1, 0], [0, 1]], biases: [0, 0]}]\npreprocessing: {features: "
        "[x1, x2], targets: [label], normalize: none, classes: [\"\\e[41mcat\", dog]}\n",
        encoding="utf-8")
    data = tmp_path / "c.csv"
    data.write_text("x1,x2,label\n1,0,\x1b[41mcat\n0,1,dog\n", encoding="utf-8")
    result = invoke("evaluate", net, data)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert result.stdout.count("\\x1b[41mcat") >= 2  # the confusion matrix's row and column
    exact = invoke("evaluate", net, data, "-f", "json")
    assert json.loads(exact.stdout)["classes"] == ["\x1b[41mcat", "dog"]


def test_an_error_that_lists_a_header_shows_its_escapes(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x1,x\x1b[2J2,y\n0,1,1\n1,1,0\n", encoding="utf-8")
    result = invoke("analyze", CONFIGS / "xor.yaml", "--data", data, "--target", "nope")
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr
    assert "x\\x1b[2J2" in result.stderr and result.stderr.count("\n") == 1


def test_a_newline_in_the_name_cannot_inject_a_mermaid_directive(evil_net: Path) -> None:
    plain = invoke("graph", CONFIGS / "xor.yaml", "-f", "mermaid").stdout.splitlines()
    result = invoke("graph", evil_net, "-f", "mermaid")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(plain)  # no line added: the name stays in its comment
    assert lines[1].startswith("  %% evil\\x1b[31mRED\\x07\\nflowchart TB\\n  click")
    assert "%%{" not in result.stdout and "}%%" not in result.stdout
    assert not any(line.lstrip().startswith(("click", "flowchart TB")) for line in lines)


def test_a_newline_or_quote_in_the_name_cannot_break_dot(evil_net: Path, tmp_path: Path) -> None:
    net = tmp_path / "q.yaml"
    net.write_text(evil_net.read_text(encoding="utf-8").replace(
        "evil", 'evil\\" -> injected [label=\\"x'), encoding="utf-8")
    result = invoke("graph", net, "-f", "dot")
    assert result.exit_code == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith('digraph "evil\\" -> injected [label=\\"x\\\\x1b[31mRED')
    assert first.endswith('" {')
    plain = invoke("graph", CONFIGS / "xor.yaml", "-f", "dot").stdout
    assert len(result.stdout.splitlines()) == len(plain.splitlines())
    assert "\n" not in first and "\x1b" not in result.stdout


def test_svg_with_control_characters_in_the_name_is_valid_xml(evil_net: Path) -> None:
    result = invoke("graph", evil_net)
    assert result.exit_code == 0
    title = ElementTree.fromstring(result.stdout).find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text is not None
    assert title.text.startswith("evil\\x1b[31mRED\\x07\\nflowchart TB")


def test_no_arguments_is_a_usage_error_with_the_help_on_stderr() -> None:
    done = subprocess.run([sys.executable, "-m", "backprop_cli"], capture_output=True,
                          timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stdout == b""
    assert b"Usage: backprop" in done.stderr and b"analyze" in done.stderr
    asked = subprocess.run([sys.executable, "-m", "backprop_cli", "--help"],
                           capture_output=True, timeout=120, check=False)
    assert asked.returncode == 0 and b"Usage: backprop" in asked.stdout and asked.stderr == b""
