"""YAML ⇄ :class:`Network`. Errors name the file, the YAML line and the field path.

Only the safe loader is used (the libyaml-backed one when available); the document is composed
into nodes and walked here, so that duplicate keys are refused and every value keeps its line.

(Over 500 lines: one walker of the document, every field's check next to its message, the
typed training: and preprocessing: blocks included, so that each error carries its line.)
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.choices import (
    DTYPES,
    MAX_LAYERS,
    MAX_PARAMETERS,
    NORMALIZE,
    OPTIMIZER_SLOTS,
)
from backprop_cli.costs import COSTS
from backprop_cli.errors import ConfigError, echo, plural
from backprop_cli.io.inputs import BLOCK, network_stat, open_bytes
from backprop_cli.io.number_lists import NumberList, cut_number_lists
from backprop_cli.network import (
    BINARY_ACTIVATION,
    Array,
    Examples,
    Layer,
    Network,
    OptimizerState,
    Preprocessing,
    TrainingInfo,
    label_key,
)
from backprop_cli.scaffold import INIT_METHODS, draw_parameters

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

TOP_KEYS = ("name", "input_size", "cost", "layers", "examples", "init", "training",
            "preprocessing")
LAYER_KEYS = ("size", "activation", "weights", "biases")
EXAMPLE_KEYS = ("input", "target")
INIT_KEYS = ("method", "seed", "scale")
DEFAULT_ACTIVATION = "sigmoid"
DEFAULT_COST = "squared_error"
# Limits (README, "Safety and limits"); each is checked before anything is allocated.
# MAX_LAYERS, MAX_PARAMETERS: choices.py (scaffold checks them too). A file of MAX_PARAMETERS
# written out loads in every common style: a number takes 22–24 bytes in the tool's own style
# and in JSON, 27–29 in yaml.safe_dump's block style, 42–44 in JSON indented by 4.
BYTES_PER_PARAMETER = 48
MAX_FILE_BYTES = BYTES_PER_PARAMETER * MAX_PARAMETERS  # 457 MiB
# Values in the document, aliases expanded ("billion laughs"): the parameters, an optimizer
# state of twice as many (adam's m and v) and the examples.
MAX_NODES = 4 * MAX_PARAMETERS


def file_limit() -> str:
    """MAX_FILE_BYTES as messages say it."""
    return (f"{MAX_FILE_BYTES // 2**20} MiB ({MAX_PARAMETERS:,} parameters written out in any "
            "common style)")


# YAML 1.1 (PyYAML) reads 1e-05 and 1e5 as strings; YAML 1.2, JSON and Python read them as
# numbers. Plain scalars of this form are taken as numbers.
_COLLECTION_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_SPECIAL = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")  # read by YAML
# What YAML 1.1 reads as a number and a decimal reading does not: hexadecimal, binary, octal
# with 0o, base 60 (1:30 is 90), digits with separators (1_0 is 10; a CSV refuses it).
_NOT_DECIMAL = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|"
                          r"[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|"
                          r"[0-9_]*\.?[0-9_]*_[0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?)")
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_PLAIN_NUMBERS = {float, int}  # not bool
# The fields whose lists the fast reading keeps as float64 arrays (number_lists), which
# _matrix and _vector take as they are; any other list is a list of Python floats.
_ARRAY_FIELD = re.compile(r"(?:(?:layers|training\.state\.slots\.\w+)\[\d+\]\."
                          r"(?:weights\[\d+\]|biases)|examples\[\d+\]\.(?:input|target))")


@dataclass
class Document:
    """A parsed YAML document: plain Python values and the line of every field path."""

    data: Any
    lines: dict[str, int]
    file: str
    fast: bool = False  # lists read by number_lists: no line kept for each of their numbers

    def error(self, message: str, path: str) -> ConfigError:
        return ConfigError(message, path=path, file=self.file, line=self.line_of(path))

    def line_of(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("")


def _child(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class _Walker:
    """Composed nodes → plain values, recording the line of every field path.

    An alias is the very node its anchor names, so a node met again is not walked again: it
    gives the value built the first time (shared, as PyYAML's constructor does), and the
    number of values it stands for counts against MAX_NODES. A "billion laughs" document is
    thus refused after a walk as long as its text, with memory bounded by its text.
    """

    def __init__(self, loader: Any, file: str,
                 lists: dict[tuple[int, int], NumberList] | None = None) -> None:
        self.loader = loader
        self.file = file
        self.lists = lists or {}  # (line, column) → the list cut there by cut_number_lists
        self.used: set[tuple[int, int]] = set()
        self.lines: dict[str, int] = {}
        self.visited = 0
        self.done: dict[int, tuple[Any, int]] = {}  # id(node) → (value, values it stands for)
        self.open: set[int] = set()

    def _count(self, n: int, node: yaml.Node) -> None:
        self.visited += n
        if self.visited > MAX_NODES:
            raise ConfigError(
                f"the document expands to more than {MAX_NODES:,} values (nested aliases?); "
                "refusing to read it",
                file=self.file,
                line=node.start_mark.line + 1,
            )

    def value(self, node: yaml.Node, path: str) -> Any:
        # A mapping value keeps its key's line (set below): `key:` may stand alone on its line.
        self.lines.setdefault(path, node.start_mark.line + 1)
        key = id(node)
        if key in self.done:
            value, n = self.done[key]
            self._count(n, node)
            if isinstance(value, np.ndarray) and not _ARRAY_FIELD.fullmatch(path):
                return value.tolist()  # an alias of an array field's list, used elsewhere
            return value
        if key in self.open:
            raise ConfigError("an alias refers to a node that contains it (a recursive "
                              "structure); expected plain values", path=path or None,
                              file=self.file, line=node.start_mark.line + 1)
        start = self.visited
        self._count(1, node)
        if isinstance(node, yaml.CollectionNode) and node.tag not in _COLLECTION_TAGS:
            raise ConfigError(f"unsupported YAML tag {node.tag!r}; expected a plain list or "
                              "mapping", path=path or None, file=self.file,
                              line=node.start_mark.line + 1)
        if isinstance(node, yaml.CollectionNode):
            self.open.add(key)
            value = (self._mapping(node, path) if isinstance(node, yaml.MappingNode)
                     else self._sequence(node, path))
            self.open.discard(key)
        else:
            value = self._scalar(node, path)
        self.done[key] = (value, self.visited - start)
        return value

    def _sequence(self, node: yaml.Node, path: str) -> list[Any] | Array:
        if not self.lists:
            return [self.value(item, _child(path, i)) for i, item in enumerate(node.value)]
        cut = self._cut(node, run=False)
        if cut is not None:  # `[]` where a flow list was
            return cut if _ARRAY_FIELD.fullmatch(path) else cut.tolist()
        parts: list[Any] = []  # the items, and the numbers of each run as one array
        runs: list[bool] = []
        count = 0
        for item in node.value:
            cut = self._cut(item, run=True)
            parts.append(self.value(item, _child(path, count)) if cut is None else cut)
            runs.append(cut is not None)
            count += 1 if cut is None else len(cut)
        if not any(runs):
            return parts
        if _ARRAY_FIELD.fullmatch(path) and all(
                run or type(part) is float for run, part in zip(runs, parts, strict=True)):
            # (yaml.safe_dump's block rows: the first number, then a run of the others)
            return parts[0] if len(parts) == 1 else np.concatenate(
                [part if run else np.array([part]) for run, part in zip(runs, parts, strict=True)])
        out: list[Any] = []
        for run, part in zip(runs, parts, strict=True):
            out.extend(part.tolist() if run else (part,))
        return out

    def _cut(self, node: yaml.Node, run: bool) -> Array | None:
        """The numbers cut from the text where ``node`` is: an empty flow list, or (``run``)
        the first entry of a run of block entries, the others blanked."""
        at = (node.start_mark.line, node.start_mark.column)
        numbers = self.lists.get(at)
        if numbers is None:
            return None
        if run:
            if not (isinstance(node, yaml.ScalarNode) and not node.style
                    and node.value == numbers.first and node.end_mark.line == at[0]):
                return None
        elif node.value or numbers.first is not None:
            return None
        self.used.add(at)
        self._count(len(numbers.values), node)
        return numbers.values

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("a key must be a plain name, not a list or mapping",
                                  path=path or None, file=self.file, line=line)
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigError("merge keys (<<) are not supported; write the keys out",
                                  path=path or None, file=self.file, line=line)
            key = self._scalar(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                first = self.lines[_child(path, key)]
                raise ConfigError(
                    f"duplicate key {key!r} (first given on line {first})",
                    path=_child(path, key),
                    file=self.file,
                    line=line,
                )
            self.lines[_child(path, key)] = line
            out[key] = self.value(value_node, _child(path, key))
        return out

    def _scalar(self, node: yaml.Node, path: str | None = None) -> Any:
        # A plain (unquoted) scalar has style None from PyYAML's loader, "" from libyaml's.
        plain = not getattr(node, "style", None)
        if plain and node.tag in _NUMBER_TAGS and not _SPECIAL.fullmatch(node.value):
            return self._decimal(node, path)
        value = self.loader.construct_object(node, deep=True)
        if isinstance(value, str) and plain and _NUMBER.fullmatch(value):
            return float(value)
        return value

    def _decimal(self, node: yaml.Node, path: str | None) -> int | float | str:
        """A plain scalar YAML 1.1 takes for a number, read as the decimal number it looks
        like: 0017 is 17 (not octal 15). Its other forms (0x1F, 0b101, base 60 as in 1:30, 1_0)
        are kept as the text they are, which a number field refuses. An integer beyond
        float64 is refused here (Python would read its digits slowly, or not at all)."""
        text: str = node.value
        if not _NUMBER.fullmatch(text):
            return text
        digits = text
        x = float(digits)
        if any(c in digits for c in ".eE"):
            return x
        if not math.isfinite(x):
            raise ConfigError(
                f"a whole number of {len(digits.lstrip('+-0')):,} digits is too large; numbers "
                "must fit in float64 (at most about 1.8e308)", path=path or None, file=self.file,
                line=node.start_mark.line + 1)
        sign = -1 if digits.startswith("-") else 1
        return sign * int(digits.lstrip("+-").lstrip("0") or "0")


def parse_yaml(text: str, file: str, careful: bool = False) -> Document:
    """Text → :class:`Document`. Raises :class:`ConfigError` for anything that is not YAML.

    Long lists of decimals are read by number_lists unless ``careful``; the document is then
    ``fast``: it has no line for each of their numbers (read it again with ``careful`` to word
    an error about one of them)."""
    if not careful:
        cut, lists = cut_number_lists(text)
        if lists:
            try:
                doc, used = _parse_yaml(cut, file, lists)
                if used == lists.keys():  # else some were not lists (inside a text block …)
                    doc.fast = True
                    return doc
            except ConfigError:
                pass  # the error as the careful reading words it
    return _parse_yaml(text, file, {})[0]


def _parse_yaml(text: str, file: str, lists: dict[tuple[int, int], NumberList]
                ) -> tuple[Document, set[tuple[int, int]]]:
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.reader.ReaderError as exc:
            raise _reader_error(exc, text, file) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = exc.problem or exc.context or "invalid YAML"
            raise ConfigError(f"invalid YAML: {problem}{_tab_hint(text, mark)}", file=file,
                              line=line) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML: {exc}", file=file) from None
        if node is None:
            raise ConfigError("the file is empty; expected a network (see the README)",
                              file=file)
        walker = _Walker(loader, file, lists)
        try:
            data = walker.value(node, "")
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise ConfigError(
                f"invalid YAML value: {exc.problem or exc.context}", file=file,
                line=None if mark is None else mark.line + 1,
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML value: {exc}", file=file) from None
        except RecursionError:
            raise ConfigError("the document is nested too deeply", file=file) from None
        return Document(data, walker.lines, file), walker.used
    finally:
        loader.dispose()


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> ConfigError:
    """A character YAML does not allow (ESC, other control characters), on its line: the
    reader stops at the first one, so that is its first occurrence."""
    char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
    at = text.find(char)
    line = text.count("\n", 0, at) + 1 if at >= 0 else None
    return ConfigError(f"invalid YAML: the control character U+{ord(char[:1] or ' '):04X} "
                       f"(column {at - text.rfind(chr(10), 0, at)}) is not allowed in YAML "
                       f"text; remove it, or write it as an escape (\\x{ord(char[:1] or ' '):02x}) "
                       "in a double-quoted string", file=file, line=line)


def _tab_hint(text: str, mark: Any) -> str:
    """A hint when the YAML error is at (or just after) a tab on its line."""
    if mark is None or "\t" not in text:
        return ""
    lines = text.splitlines()
    if mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        return " (a tab: YAML indents with spaces, not tabs)"
    return ""


def read_text(path: Path | str) -> str:
    """A file's text, or a :class:`ConfigError` that says why it cannot be read. The size
    limit counts the bytes read (a pipe or device has no size beforehand)."""
    name = str(path)

    def error(message: str) -> ConfigError:
        return ConfigError(message, file=name)

    size = network_stat(path).st_size
    limit = f"network files are limited to {file_limit()}"
    too_big = error(f"the file is more than {MAX_FILE_BYTES // 2**20} MiB; {limit}")
    if size > MAX_FILE_BYTES:
        raise error(f"the file is {size / 2**20:.0f} MiB; {limit}")
    blocks: list[bytes] = []
    read = 0
    try:
        with open_bytes(path, error) as stream:
            while block := stream.read(min(BLOCK, MAX_FILE_BYTES + 1 - read)):
                if b"\x00" in block:
                    raise error("this is a binary file, not YAML text")
                blocks.append(block)
                read += len(block)
                if read > MAX_FILE_BYTES:
                    raise too_big
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}") from None
    raw = b"".join(blocks)
    blocks.clear()  # the text once as bytes while it is decoded, not twice
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                          file=name, line=line) from None


def load_network(path: Path | str) -> Network:
    """Read and check a network file."""
    return loads_network(read_text(path), str(path))


def loads_network(text: str, file: str = "<string>") -> Network:
    doc = parse_yaml(text, file)
    try:
        return network_from_document(doc)
    except ConfigError:
        if not doc.fast:
            raise
    # A fast reading has no line for each number of a long list: the careful one words it.
    return network_from_document(parse_yaml(text, file, careful=True))


# --- typed field access -----------------------------------------------------------------

def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        return f"text {echo(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | np.ndarray):
        return "a list"
    return f"{type(value).__name__} {echo(value)}"


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"expected one of: {', '.join(allowed)}"


def _mapping(doc: Document, value: Any, path: str, allowed: tuple[str, ...],
             what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise doc.error(f"expected {what} (a mapping), got {_type_name(value)}", path)
    for key in value:
        if key not in allowed:
            raise doc.error(f"unknown key {echo(key)}; {_suggest(key, allowed)}",
                            _child(path, key))
    return value


def _int(doc: Document, value: Any, path: str, minimum: int = 1,
         maximum: int | None = None) -> int:
    if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(f"expected a whole number, got {_type_name(value)}"
                        f"{_not_decimal(value)}", path)
    shown = f"{value:,}" if abs(value) < 10**15 else f"{value:.3g}"
    if value < minimum:
        raise doc.error(f"expected a whole number ≥ {minimum}, got {shown}", path)
    if maximum is not None and value > maximum:
        raise doc.error(f"expected a whole number ≤ {maximum:,}, got {shown}", path)
    return value


def _not_decimal(value: Any) -> str:
    """A hint when ``value`` is text YAML 1.1 would have read as a number."""
    if isinstance(value, str) and _NOT_DECIMAL.fullmatch(value):
        return ("; numbers are decimal: hexadecimal (0x), binary (0b), base-60 (1:30) and "
                "digit separators (1_000) are not read, write the decimal number")
    return ""


def _number(doc: Document, value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise doc.error(f"expected a number, got {_type_name(value)}{_not_decimal(value)}",
                        path)
    x = float(value)
    if not math.isfinite(x):
        raise doc.error(f"expected a finite number, got {value}", path)
    return x


def _vector(doc: Document, value: Any, path: str, length: int,
            what: str) -> list[float] | Array:
    if not isinstance(value, list | np.ndarray):
        raise doc.error(f"expected a list of {plural(length, 'number')} ({what}), "
                        f"got {_type_name(value)}", path)
    if len(value) != length:
        raise doc.error(f"expected {plural(length, 'value')} ({what}), got {len(value)}", path)
    if isinstance(value, np.ndarray) and np.isfinite(value).all():
        return value  # read fast: float64 already
    return [_number(doc, v, _child(path, i)) for i, v in enumerate(value)]


def _typo_of(value: str, allowed: tuple[str, ...] | list[str]) -> str | None:
    """The allowed name ``value`` is a slip of: another case or separator (Sigmoid,
    leaky-relu), two letters swapped (tahn), or the start of one name only (squared). Not a
    name one letter off: gelu is not a typo of relu."""
    v = value.strip().lower().replace("-", "_").replace(" ", "_")
    if v in allowed:
        return v
    starting = [a for a in allowed if len(v) >= 3 and a.startswith(v)]
    if len(starting) == 1:
        return starting[0]
    for a in allowed:
        if len(a) == len(v):
            diff = [i for i, (x, y) in enumerate(zip(a, v, strict=True)) if x != y]
            if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == v[diff[1]] \
                    and a[diff[1]] == v[diff[0]]:
                return a
    return None


def _one_of(doc: Document, value: Any, path: str, allowed: tuple[str, ...] | list[str],
            what: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        shown = repr(value) if isinstance(value, str) else _type_name(value)
        close = _typo_of(value, allowed) if isinstance(value, str) else None
        guess = f"did you mean {close!r}? " if close else ""
        raise doc.error(f"unknown {what} {shown}; {guess}expected one of: {', '.join(allowed)}",
                        path)
    return value


# --- the network file -------------------------------------------------------------------

def network_from_document(doc: Document) -> Network:
    top = _mapping(doc, doc.data, "", TOP_KEYS, "a network")
    for key in ("input_size", "layers"):
        if key not in top:
            raise doc.error(f"missing required key {key!r}", key)
    name = top.get("name")
    if name is not None and not isinstance(name, str | int | float):
        raise doc.error(f"expected text, got {_type_name(name)}", "name")
    input_size = _int(doc, top["input_size"], "input_size", maximum=MAX_PARAMETERS)
    cost = _one_of(doc, top.get("cost", DEFAULT_COST), "cost", list(COSTS), "cost")
    layers_raw = top["layers"]
    if not isinstance(layers_raw, list) or not layers_raw:
        got = "an empty list" if layers_raw == [] else _type_name(layers_raw)
        raise doc.error(
            f"expected a list of one or more layers (layer 1 … L), got {got}", "layers")
    check_size(doc, input_size, layers_raw)
    init = _init(doc, top.get("init"))
    rng = np.random.default_rng(init[1]) if init else None

    layers: list[Layer] = []
    previous = input_size
    last = len(layers_raw) - 1
    for index, raw in enumerate(layers_raw):
        path = f"layers[{index}]"
        l = index + 1  # noqa: E741 - the seed's layer index
        spec = _mapping(doc, raw, path, LAYER_KEYS, f"layer {l}")
        if "size" not in spec:
            raise doc.error(f"missing required key 'size' (the number of neurons in layer {l})",
                            path)
        n = _int(doc, spec["size"], f"{path}.size", maximum=MAX_PARAMETERS)
        activation = _one_of(doc, spec.get("activation", DEFAULT_ACTIVATION),
                             f"{path}.activation", list(ACTIVATIONS), "activation")
        if ACTIVATIONS[activation].output_only and index != last:
            raise doc.error(
                f"{activation} is only allowed on the output layer (layer {last + 1}), "
                f"but this is layer {l}",
                f"{path}.activation",
            )
        drawn_w, drawn_b = (draw_parameters(init[0], init[2], rng, n, previous)
                            if init and rng else (None, None))
        weights: Array
        if "weights" in spec:
            weights = _matrix(doc, spec["weights"], f"{path}.weights", n, previous, l)
        elif drawn_w is not None:
            weights = drawn_w
        else:
            raise doc.error(
                f"missing 'weights' ({plural(n, 'row')} × {plural(previous, 'column')}); give "
                "them, or add an 'init:' block (e.g. init: {method: xavier, seed: 0}) to fill them",
                path,
            )
        biases: Array
        if "biases" in spec:
            biases = np.array(
                _vector(doc, spec["biases"], f"{path}.biases", n,
                        f"one per neuron: layer {l} has {plural(n, 'neuron')}"),
                dtype=np.float64,
            )
        elif drawn_b is not None:
            biases = drawn_b
        else:
            raise doc.error(
                f"missing 'biases' ({plural(n, 'value')}); give them, or add an 'init:' block "
                "to fill them",
                path,
            )
        layers.append(Layer(activation, weights, biases))
        previous = n

    training = (None if top.get("training") is None
                else _training(doc, top["training"], layers))
    preprocessing = (None if top.get("preprocessing") is None
                     else _preprocessing(doc, top["preprocessing"], input_size, previous,
                                         layers[-1].activation if layers else None))
    try:
        network = Network(
            input_size=input_size,
            layers=tuple(layers),
            cost=cost,
            name=None if name is None else str(name),
            training=training,
            preprocessing=preprocessing,
        )
    except ConfigError as exc:
        raise exc.located(doc.file, doc.line_of(exc.path or "")) from None
    if "examples" in top:
        examples = _examples(doc, top["examples"], network)
        try:
            network = network.with_examples(examples)
        except ConfigError as exc:
            raise exc.located(doc.file, doc.line_of(exc.path or "")) from None
    return network


def check_size(doc: Document, input_size: int, layers_raw: list[Any]) -> None:
    """Refuse more than MAX_LAYERS layers or MAX_PARAMETERS parameters before any array is
    allocated (the sizes are read ahead of the weights)."""
    if len(layers_raw) > MAX_LAYERS:
        raise doc.error(f"{len(layers_raw):,} layers; at most {MAX_LAYERS:,} are allowed",
                        "layers")
    total = 0
    previous = input_size
    for index, raw in enumerate(layers_raw):
        if not isinstance(raw, dict) or "size" not in raw:
            return  # reported with its field path when the layer is read
        n = _int(doc, raw["size"], f"layers[{index}].size", maximum=MAX_PARAMETERS)
        total += n * (previous + 1)
        previous = n
        if total > MAX_PARAMETERS:
            raise doc.error(
                f"up to layer {index + 1} the network has {total:,} weights and biases; at "
                f"most {MAX_PARAMETERS:,} are allowed", f"layers[{index}].size")


def _matrix(doc: Document, value: Any, path: str, rows: int, cols: int, l: int) -> Array:  # noqa: E741
    shape_note = f"layer {l} has {plural(rows, 'neuron')}, layer {l - 1} has {cols}"
    if not isinstance(value, list):
        raise doc.error(
            f"expected {plural(rows, 'row')} × {plural(cols, 'column')} ({shape_note}), "
            f"got {_type_name(value)}", path)
    if len(value) != rows and value and not any(isinstance(v, list | np.ndarray)
                                                 for v in value):
        hint = ""
        if len(value) == rows * cols and rows == 1:
            hint = f": write [{_flow(value)}]"
        elif len(value) == rows * cols:
            hint = f": split the {len(value)} numbers into {rows} rows of {cols}"
        raise doc.error(
            f"expected {plural(rows, 'row')} of {plural(cols, 'number')}, a list of lists "
            f"(weights[j][k] = w({l})jk, one row per neuron j of layer {l}), got one flat "
            f"list of {plural(len(value), 'value')}{hint}", path)
    if len(value) != rows:
        raise doc.error(
            f"expected {plural(rows, 'row')} (layer {l} has {plural(rows, 'neuron')}), "
            f"got {len(value)}", path)
    out = np.empty((rows, cols), dtype=np.float64)
    for j, row in enumerate(value):
        rpath = f"{path}[{j}]"
        if not isinstance(row, list | np.ndarray):
            raise doc.error(
                f"expected a row of {plural(cols, 'number')} (weights[j][k] = w({l})jk), "
                f"got {_type_name(row)}", rpath)
        if len(row) != cols:
            raise doc.error(
                f"expected {plural(cols, 'column')} (layer {l - 1} has "
                f"{plural(cols, 'neuron')}), got {len(row)}",
                rpath)
        try:
            # Fast path: a float64 array (number_lists), or every entry an int or float (but
            # not a bool).
            if isinstance(row, np.ndarray) or {*map(type, row)} <= _PLAIN_NUMBERS:
                out[j] = row
                if np.isfinite(out[j]).all():
                    continue
        except (TypeError, ValueError, OverflowError):
            pass
        for k, v in enumerate(row):
            out[j, k] = _number(doc, v, f"{rpath}[{k}]")
    return out


def _examples(doc: Document, value: Any, net: Network) -> Examples:
    if not isinstance(value, list) or not value:
        got = "an empty list" if value == [] else _type_name(value)
        raise doc.error(
            f"expected a list of one or more examples ({{input: [...], target: [...]}}), "
            f"got {got}", "examples")
    inputs = np.empty((len(value), net.input_size))
    targets = np.empty((len(value), net.output_size))
    for i, raw in enumerate(value):
        path = f"examples[{i}]"
        spec = _mapping(doc, raw, path, EXAMPLE_KEYS, "an example")
        for key in EXAMPLE_KEYS:
            if key not in spec:
                raise doc.error(f"missing required key {key!r}", path)
        inputs[i] = _vector(doc, spec["input"], f"{path}.input", net.input_size,
                            "input_size")
        targets[i] = _vector(
            doc, spec["target"], f"{path}.target", net.output_size,
            f"the output layer, layer {net.depth}, has {plural(net.output_size, 'neuron')}",
        )
    return Examples(inputs, targets)


def _init(doc: Document, value: Any) -> tuple[str, int, float | None] | None:
    if value is None:
        return None
    spec = _mapping(doc, value, "init", INIT_KEYS, "an init block")
    method = _one_of(doc, spec.get("method", "xavier"), "init.method", INIT_METHODS,
                     "init method")
    seed = _int(doc, spec.get("seed", 0), "init.seed", minimum=0)
    scale = _number(doc, spec["scale"], "init.scale") if "scale" in spec else None
    return method, seed, scale


# --- writing ----------------------------------------------------------------------------

def format_float(x: float) -> str:
    """Shortest round-trip text that YAML 1.1 (PyYAML), YAML 1.2 and JSON all read as a float."""
    text = repr(float(x))
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def _flow(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind == "f" and bool(
            np.isfinite(value).all()):  # a row of weights: format_float of each, at once
        texts = list(map(repr, value.tolist()))
        # repr is scientific below 1e-4 and from 1e16 on, where "1e-05" needs format_float's
        # ".0" (the margin only costs a look at a few more)
        magnitude = np.abs(value)
        for i in np.flatnonzero((magnitude < 2e-4) | (magnitude >= 5e15)).tolist():
            if "." not in texts[i]:
                texts[i] = format_float(float(value[i]))
        return f"[{', '.join(texts)}]"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isnan(f):
            return ".nan"
        if math.isinf(f):
            return ".inf" if f > 0 else "-.inf"
        return format_float(f)
    if _PLAIN_NAME.fullmatch(str(value)):  # a column name such as px0: quoted as it is
        return f'"{value}"'
    return yaml.safe_dump(str(value), default_style='"', width=10**9).strip().removesuffix(
        "\n...").strip()


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # what a double-quoted YAML string holds verbatim



def _training(doc: Document, raw: Any, layers: list[Layer]) -> TrainingInfo:
    """The ``training:`` block train wrote, its fields that a command reads checked (--split
    recomputes the split from val_split, rows and the options' seed and shuffle; --resume
    reads the state, its arrays shaped like ``layers``'); other keys are ignored."""
    if not isinstance(raw, dict):
        raise doc.error("expected a mapping (data, rows, val_split, options, status …)",
                        "training")

    def bad(field: str, expected: str) -> ConfigError:
        return doc.error(f"expected {expected}", f"training.{field}")

    fraction = raw.get("val_split")
    if fraction is not None and (isinstance(fraction, bool)
                                 or not isinstance(fraction, int | float)
                                 or not 0 < fraction < 1):
        raise bad("val_split", "a fraction between 0 and 1")
    rows = raw.get("rows")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
        raise bad("rows", "a whole number ≥ 0")
    options = raw.get("options")
    if options is not None and not isinstance(options, dict):
        raise bad("options", "a mapping")
    if options is not None:
        seed, shuffle = options.get("seed", 0), options.get("shuffle", True)
        if isinstance(seed, bool) or not isinstance(seed, int | float) or not (
                math.isfinite(seed) and seed >= 0 and float(seed).is_integer()):
            raise bad("options.seed", "a whole number ≥ 0")
        if not isinstance(shuffle, bool):
            raise bad("options.shuffle", "true or false")
    history = raw.get("history")
    if history is not None and not (isinstance(history, list)
                                    and all(isinstance(run, dict) for run in history)):
        raise bad("history", "a list of the earlier runs (mappings, as train writes them)")
    known = {f: raw[f] for f in TrainingInfo.__dataclass_fields__ if f in raw}
    known["history"] = None if history is None else tuple(history)
    known["state"] = (None if raw.get("state") is None
                      else _optimizer_state(doc, raw["state"], layers))
    return TrainingInfo(**known)


STATE_KEYS = ("optimizer", "dtype", "epochs", "steps", "rng", "slots")


def _optimizer_state(doc: Document, raw: Any, layers: list[Layer]) -> OptimizerState:
    """``training.state``: what train --resume continues from, each array checked against
    the shape of its layer's weights or biases."""
    path = "training.state"
    spec = _mapping(doc, raw, path, STATE_KEYS, "the optimizer's state")
    for key in STATE_KEYS:
        if key not in spec:
            raise doc.error(f"missing required key {key!r}", path)
    optimizer = _one_of(doc, spec["optimizer"], f"{path}.optimizer", list(OPTIMIZER_SLOTS),
                        "optimizer")
    dtype = _one_of(doc, spec["dtype"], f"{path}.dtype", DTYPES, "dtype")
    epochs = _int(doc, spec["epochs"], f"{path}.epochs", minimum=0)
    steps = _int(doc, spec["steps"], f"{path}.steps", minimum=0)
    rng = spec["rng"]
    if rng is not None:
        try:  # numpy checks the generator's name and the fields of its state
            np.random.PCG64().state = rng
        except (TypeError, ValueError, KeyError):
            raise doc.error("expected numpy's PCG64 generator state (bit_generator, state, "
                            "has_uint32, uinteger), as train writes it", f"{path}.rng"
                            ) from None
    names = OPTIMIZER_SLOTS[optimizer]
    slots_raw = _mapping(doc, spec["slots"], f"{path}.slots", names,
                         f"{optimizer}'s arrays ({', '.join(names) or 'none'})")
    slots: dict[str, tuple[tuple[Array, Array], ...]] = {}
    for name in names:
        where = f"{path}.slots.{name}"
        if name not in slots_raw:
            raise doc.error(f"missing required key {name!r}", f"{path}.slots")
        per_layer = slots_raw[name]
        if not isinstance(per_layer, list) or len(per_layer) != len(layers):
            raise doc.error(f"expected {plural(len(layers), 'entry', 'entries')} (one per "
                            "layer, each {weights: [...], biases: [...]})", where)
        pairs = []
        for index, (layer, entry) in enumerate(zip(layers, per_layer, strict=True)):
            at = f"{where}[{index}]"
            item = _mapping(doc, entry, at, ("weights", "biases"), "a layer's arrays")
            n, previous = layer.weights.shape
            if "weights" not in item or "biases" not in item:
                raise doc.error("expected both 'weights' and 'biases'", at)
            w = _matrix(doc, item["weights"], f"{at}.weights", n, previous, index + 1)
            b = np.array(_vector(doc, item["biases"], f"{at}.biases", n,
                                 f"one per neuron of layer {index + 1}"), dtype=np.float64)
            pairs.append((w, b))
        slots[name] = tuple(pairs)
    return OptimizerState(optimizer, dtype, epochs, steps, rng, slots)


def _preprocessing(doc: Document, raw: Any, input_size: int, output_size: int,
                   output_activation: str | None = None) -> Preprocessing:
    """The ``preprocessing:`` block of a trained network file, checked. One sigmoid output
    (``output_activation``) takes two class labels."""
    def bad(message: str, field: str) -> ConfigError:
        return doc.error(message, f"preprocessing.{field}" if field else "preprocessing")

    if not isinstance(raw, dict):
        raise bad("expected a mapping (features, targets, normalize, shift, scale, classes, "
                  "normalize_target, target_shift, target_scale)", "")
    known = ("features", "targets", "normalize", "shift", "scale", "classes",
             "normalize_target", "target_shift", "target_scale")
    for key in raw:
        if key not in known:
            raise bad(f"unknown key {key!r}; expected one of: {', '.join(known)}", str(key))

    def names(key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
        ):
            raise bad("expected a list of column names", key)
        out = tuple(str(v) for v in value)
        if len(set(out)) != len(out):
            raise bad("expected distinct column names", key)
        return out

    features, targets = names("features"), names("targets")
    if features and len(features) != input_size:
        raise bad(f"expected {input_size} column names (input_size), got {len(features)}",
                  "features")
    normalize = raw.get("normalize", "none")
    if normalize not in NORMALIZE:
        raise bad(f"unknown normalization {normalize!r}; expected one of: "
                  f"{', '.join(NORMALIZE)}", "normalize")

    def stats(method: str, keys: tuple[str, str], n: int, what: str, formula: str
              ) -> tuple[Array | None, Array | None]:
        found: list[Array | None] = []
        for key in keys:
            value = raw.get(key)
            if value is None:
                found.append(None)
                continue
            try:
                arr = np.array(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise bad("expected a list of numbers", key) from None
            if arr.shape != (n,) or not np.isfinite(arr).all():
                raise bad(f"expected {n} finite numbers (one per {what})", key)
            found.append(arr)
        shift, scale = found
        if (shift is None) != (scale is None) or (method != "none" and shift is None):
            raise bad(f"expected both {keys[0]!r} and {keys[1]!r} ({formula})", "")
        if scale is not None and (scale == 0).any():
            raise bad("a scale of 0 would divide by zero", keys[1])
        return shift, scale

    shift, scale = stats(normalize, ("shift", "scale"), input_size, "input",
                         "x' = (x − shift) / scale")
    normalize_target = raw.get("normalize_target", "none")
    if normalize_target not in NORMALIZE:
        raise bad(f"unknown normalization {normalize_target!r}; expected one of: "
                  f"{', '.join(NORMALIZE)}", "normalize_target")
    target_shift, target_scale = stats(
        normalize_target, ("target_shift", "target_scale"), output_size, "output",
        "y' = (y − target_shift) / target_scale")
    classes = raw.get("classes")
    if classes is not None:
        if not isinstance(classes, list) or not all(
            isinstance(c, str | int | float) and not isinstance(c, bool) for c in classes
        ):
            raise bad("expected a list of class labels (numbers or text)", "classes")
        if not all(math.isfinite(c) for c in classes if not isinstance(c, str)):
            raise bad("expected finite numbers or text as class labels", "classes")
        if len({label_key(c) for c in classes}) != len(classes):
            raise bad("expected distinct class labels", "classes")
        if output_size == 1 and output_activation == BINARY_ACTIVATION:
            if len(classes) != 2:
                raise bad(f"expected 2 labels (one sigmoid output: the probability of the "
                          f"second), got {len(classes)}", "classes")
        elif len(classes) != output_size:
            raise bad(f"expected {plural(output_size, 'label')} (one per output neuron), "
                      f"got {len(classes)}", "classes")
        classes = tuple(classes)
        if target_shift is not None:
            raise bad("a class list and a target scaling exclude each other (class labels "
                      "are not scaled)", "normalize_target")
    return Preprocessing(features, targets, normalize, shift, scale, classes,
                         normalize_target, target_shift, target_scale)

def _block(value: Any, indent: int) -> list[str]:
    """A mapping as block YAML: nested mappings, lists of mappings and matrices (one row a
    line, which number_lists reads fast) each on their own lines."""
    pad = "  " * indent
    lines: list[str] = []
    for key, v in value.items():
        if isinstance(v, dict) and v:
            lines.append(f"{pad}{key}:")
            lines.extend(_block(v, indent + 1))
        elif isinstance(v, np.ndarray) and v.ndim == 2:
            lines.append(f"{pad}{key}:")
            lines.extend(f"{pad}  - {_flow(row)}" for row in v)
        elif isinstance(v, list) and v and all(isinstance(item, dict) and item for item in v):
            lines.append(f"{pad}{key}:")
            for item in v:
                entry = _block(item, indent + 2)
                entry[0] = f"{pad}  - {entry[0].lstrip()}"
                lines.extend(entry)
        else:
            lines.append(f"{pad}{key}: {_flow(v) if not isinstance(v, dict) else '{}'}")
    return lines


_LONGEST_NUMBER = len("-2.2250738585072014e-308, ")  # a float as dump_network writes it
_TEMPLATE_NUMBER = len("0.0, ")  # an entry of backprop init's template example


def dump_bytes_bound(sizes: list[int], name: str | None, template_example: bool) -> int:
    """More than the bytes of what ``backprop init`` writes for ``sizes`` (n_0 … n_L), its
    comment and dump_network's text: every number at its longest, each weight row on its
    line, the name twice and escaped, and the template example (all-zero input, one-hot
    target) if any; known before any weight is drawn."""
    total = 4096 + 24 * len(name or "")
    for n_prev, n in itertools.pairwise(sizes):
        total += n * (n_prev + 1) * _LONGEST_NUMBER + 16 * n + 256
    if template_example:
        total += (sizes[0] + sizes[-1]) * _TEMPLATE_NUMBER + 64
    return total


def dump_network(net: Network, extra: dict[str, Any] | None = None) -> str:
    """The network as YAML in the same format it is read from (explicit weights), then its
    ``training:`` and ``preprocessing:`` blocks, then ``extra``'s."""
    lines: list[str] = []
    if net.name is not None:
        lines.append(f"name: {_flow(net.name)}")
    lines.append(f"input_size: {net.input_size}")
    lines.append(f"cost: {net.cost}")
    lines.append("layers:")
    for layer in net.layers:
        lines.append(f"  - size: {layer.size}")
        lines.append(f"    activation: {layer.activation}")
        lines.append("    weights:")
        lines.extend(f"      - {_flow(row)}" for row in layer.weights)
        lines.append(f"    biases: {_flow(layer.biases)}")
    if net.examples is not None:
        lines.append("examples:")
        for x, y in zip(net.examples.inputs, net.examples.targets, strict=True):
            lines.append(f"  - input: {_flow(x)}")
            lines.append(f"    target: {_flow(y)}")
    blocks = {**({} if net.training is None else {"training": net.training.to_dict()}),
              **({} if net.preprocessing is None
                 else {"preprocessing": net.preprocessing.to_dict()}),
              **(extra or {})}
    if blocks:
        lines.extend(_block(blocks, 0))
    return "\n".join(lines) + "\n"
