"""The package never loads YAML unsafely, unpickles, evaluates text, runs a shell or a
subprocess, or opens a network connection: a grep over its source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "backprop_cli"
SOURCES = sorted(PACKAGE.rglob("*.py"))

FORBIDDEN = {
    "unsafe YAML": r"yaml\.load\(|yaml\.load_all\(|unsafe_load|yaml\.Loader\b|UnsafeLoader|"
                   r"FullLoader|full_load",
    "pickle": r"\bpickle\b|\bdill\b|\bshelve\b|\bmarshal\b",
    "eval/exec": r"(?<![\w.])(eval|exec|compile)\(|__import__\(",
    "shell/subprocess": r"\bsubprocess\b|os\.system\(|os\.popen\(|os\.exec\w*\(|os\.spawn\w*\(",
    "network": r"\b(urllib|http\.client|requests|socket|ftplib|smtplib)\b",
}


def test_the_sources_are_found() -> None:
    assert PACKAGE / "io" / "config.py" in SOURCES and len(SOURCES) > 10


@pytest.mark.parametrize("what", sorted(FORBIDDEN))
def test_nothing_unsafe_in_the_package(what: str) -> None:
    pattern = re.compile(FORBIDDEN[what])
    hits = [f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
            for path in SOURCES
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line)]
    assert hits == []


def test_the_patterns_would_catch_a_violation() -> None:
    """A grep that can never fail proves nothing: each pattern matches its offence."""
    offences = {"unsafe YAML": "data = yaml.load(text)", "pickle": "import pickle",
                "eval/exec": "value = eval(text)", "shell/subprocess": "os.system('ls')",
                "network": "from urllib.request import urlopen"}
    for what, line in offences.items():
        assert re.search(FORBIDDEN[what], line), what


def test_only_the_safe_loader_is_used() -> None:
    from backprop_cli.io import config

    assert config._Loader.__name__ in ("CSafeLoader", "SafeLoader")
