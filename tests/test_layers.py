"""The import contract: every module imports only its own layer and the layers :data:`ALLOWED`
below it, and no modules import each other in a cycle.

Every ``import`` and ``from … import`` of the package is read with ast — at module level, inside
functions and under ``if TYPE_CHECKING`` alike — so a lazy import cannot hide an edge. README,
"Layout", draws the same layers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "backprop_cli"

# Top to bottom. A module belongs to the layer of its longest matching prefix ("backprop_cli"
# itself only to "base": a new top-level module must be placed here by name).
LAYERS: dict[str, tuple[str, ...]] = {
    "cli": ("backprop_cli.cli", "backprop_cli.__main__"),
    "io": ("backprop_cli.io",),
    "present": ("backprop_cli.present",),
    "train": ("backprop_cli.train",),
    "reports": ("backprop_cli.reports",),
    "engine": ("backprop_cli.engine", "backprop_cli.fastpath"),
    "model": ("backprop_cli.network", "backprop_cli.scaffold"),
    "math": ("backprop_cli.activations", "backprop_cli.costs"),
    "base": ("backprop_cli", "backprop_cli.errors", "backprop_cli.choices"),
}
# What each layer may import besides its own modules. io, present and train are siblings: none
# imports another; a presenter never imports the engine (it renders, it does not compute).
ALLOWED: dict[str, frozenset[str]] = {
    "cli": frozenset({"io", "present", "train", "reports", "model", "base"}),
    "io": frozenset({"reports", "model", "math", "base"}),
    "present": frozenset({"reports", "model", "base"}),
    "train": frozenset({"reports", "engine", "model", "math", "base"}),
    "reports": frozenset({"engine", "model", "math", "base"}),
    "engine": frozenset({"model", "math", "base"}),
    "model": frozenset({"math", "base"}),
    "math": frozenset({"base"}),
    "base": frozenset(),
}

Edges = dict[str, dict[str, int]]  # module → {imported module: line of the first import}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__.py)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def layer_of(module: str) -> str | None:
    best: tuple[int, str] | None = None
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            exact = module == prefix
            under = prefix != "backprop_cli" and module.startswith(prefix + ".")
            if (exact or under) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), layer)
    return None if best is None else best[1]


def _known(name: str, known: set[str]) -> str | None:
    """The package module ``name`` is or is inside (``a.b.attr`` → ``a.b``); None if none."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(package module imported, line) for every import statement in ``path``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _known(alias.name, known)
                if target:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x, from ..engine import y
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in known \
                    else _known(base, known)
                if target:
                    yield target, node.lineno


def graph() -> Edges:
    found = modules()
    known = set(found)
    edges: Edges = {}
    for module, path in found.items():
        edges[module] = {}
        for target, line in imports(module, path, known):
            if target != module:
                edges[module].setdefault(target, line)
    return edges


def violations(edges: Edges) -> list[str]:
    out = []
    for module, targets in sorted(edges.items()):
        mine = layer_of(module)
        for target, line in sorted(targets.items()):
            theirs = layer_of(target)
            if mine is None or theirs is None:
                continue  # reported by test_every_module_is_in_a_layer
            if theirs != mine and theirs not in ALLOWED[mine]:
                out.append(f"{module}:{line} imports {target} ({mine} → {theirs})")
    return out


def cycles(edges: Edges) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out)


def test_every_module_is_in_a_layer() -> None:
    assert [m for m in modules() if layer_of(m) is None] == []


def test_imports_point_down_only() -> None:
    assert violations(graph()) == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    edges: Edges = {"backprop_cli.engine": {"backprop_cli.reports.analyze": 3},
                    "backprop_cli.reports.analyze": {"backprop_cli.engine": 1},
                    "backprop_cli.present.table": {"backprop_cli.engine": 7}}
    assert violations(edges) == [
        "backprop_cli.engine:3 imports backprop_cli.reports.analyze (engine → reports)",
        "backprop_cli.present.table:7 imports backprop_cli.engine (present → engine)"]
    assert cycles(edges) == [["backprop_cli.engine", "backprop_cli.reports.analyze"]]
    lazy = tmp_path / "m.py"
    lazy.write_text("def f() -> None:\n    from ..io.config import load_network\n",
                    encoding="utf-8")
    known = {"backprop_cli.io.config", "backprop_cli.reports.m"}
    assert list(imports("backprop_cli.reports.m", lazy, known)) == [("backprop_cli.io.config", 2)]
    assert layer_of("backprop_cli.newthing") is None  # a new top-level module must be placed


def test_one_error_boundary() -> None:
    """The command line prints a BackpropError in one place (runtime.Group.invoke)."""
    handlers = [f"{path.name}:{node.lineno}"
                for path in sorted((PACKAGE / "cli").glob("*.py"))
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.ExceptHandler) and node.type is not None
                and "BackpropError" in ast.unparse(node.type)]
    assert len(handlers) == 1, handlers
