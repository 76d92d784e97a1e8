"""Network files in every common style: `load_network` time, and `analyze -f json` of the whole
process against the bare `python -c "import numpy, yaml"` (issue 16.2).

The same network is written five ways: the tool's own (`dump_network`: one row a line),
`yaml.safe_dump` (block sequences, the default), `yaml.safe_dump(default_flow_style=None)`
(flow lists wrapped at 80 columns), `json.dump` (one line) and `json.dump(indent=2)`. Sizes:
784-128-64-10 (109,386 parameters) and 784-16-16-10 (12,730), Xavier weights (seed 0), one
example of random pixels in [0, 1) with a one-hot target.

For each file: `load_network` in a child process, in CPU time, median of --runs after a
warm-up; with --before, that tree's io/config.py is loaded by path into the same child and
timed interleaved with this one; `json.loads` of the JSON file gives the scale. For the small
network, the whole process `backprop analyze NET -f json > /dev/null` is timed --runs times
interleaved with the bare import, median, as a ratio. Every style (and version) must load to
the same arrays (checked here too).

    python benchmarks/load_speed.py                  # ≈ 1 min on 2 busy cores
    python benchmarks/load_speed.py --runs 7 --analyze-big
    python benchmarks/load_speed.py --before /tmp/before   # a source tree of another version
                                                           # (git archive), timed side by side
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from backprop_cli.io.config import dump_network
from backprop_cli.network import Examples, Network
from backprop_cli.scaffold import new_network

SIZES = {"784-128-64-10": [784, 128, 64, 10], "784-16-16-10": [784, 16, 16, 10]}
STYLES: dict[str, Callable[[Network, dict[str, Any]], str]] = {
    "own (dump_network)": lambda net, doc: dump_network(net),
    "yaml.safe_dump (block)": lambda net, doc: yaml.safe_dump(doc),
    "safe_dump flow=None": lambda net, doc: yaml.safe_dump(doc, default_flow_style=None),
    "json.dump": lambda net, doc: json.dumps(doc),
    "json.dump indent=2": lambda net, doc: json.dumps(doc, indent=2),
}
BARE = [sys.executable, "-c", "import numpy, yaml"]
BARE_LABEL = 'python -c "import numpy, yaml"'
# Run in the child: times load_network of this version and, given a source tree, of that
# tree's io/config.py (loaded by path, beside this one), interleaved, in CPU time; prints the
# medians and a digest of the arrays (every style and version must give the same).
CHILD = """
import hashlib, importlib.util, json, statistics, sys, time
from backprop_cli.io import config
runs, before, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
versions = {"this": config}
if before:
    spec = importlib.util.spec_from_file_location("before_config", before)
    versions = {"before": importlib.util.module_from_spec(spec), **versions}
    sys.modules["before_config"] = versions["before"]
    spec.loader.exec_module(versions["before"])
out = {}
for path in files:
    times = {name: [] for name in versions}
    for _ in range(runs + 1):
        for name, module in versions.items():
            start = time.process_time()
            module.load_network(path)
            times[name].append(time.process_time() - start)
    out[path] = {name: statistics.median(t[1:]) for name, t in times.items()}
    digests = set()
    for module in versions.values():
        net, digest = module.load_network(path), hashlib.sha256()
        for layer in net.layers:
            digest.update(layer.activation.encode() + layer.weights.tobytes()
                          + layer.biases.tobytes())
        digest.update(net.examples.inputs.tobytes() + net.examples.targets.tobytes())
        digests.add(digest.hexdigest())
    out[path]["digest"] = " ".join(sorted(digests))
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    if text.startswith("{"):  # a JSON file: json.loads, for scale
        reference = []
        for _ in range(runs):
            start = time.process_time()
            json.loads(text)
            reference.append(time.process_time() - start)
        out[path]["json.loads"] = statistics.median(reference)
print(json.dumps(out))
"""


def network(sizes: list[int]) -> Network:
    net = new_network(sizes, activation="sigmoid", output_activation="softmax",
                      cost="categorical_cross_entropy", name="bench")
    assert net.examples is not None
    pixels = random.Random(0)
    inputs = net.examples.inputs.copy()
    inputs[0] = [pixels.random() for _ in range(sizes[0])]
    return net.with_examples(Examples(inputs, net.examples.targets))


def document(net: Network) -> dict[str, Any]:
    """The network as the plain values another tool would dump."""
    assert net.examples is not None
    return {"name": net.name, "input_size": net.input_size, "cost": net.cost,
            "layers": [{"size": layer.size, "activation": layer.activation,
                        "weights": layer.weights.tolist(), "biases": layer.biases.tolist()}
                       for layer in net.layers],
            "examples": [{"input": x.tolist(), "target": y.tolist()}
                         for x, y in zip(net.examples.inputs, net.examples.targets, strict=True)]}


def child_env(source: Path | None) -> dict[str, str]:
    """The environment of every child: one BLAS thread, and bytecode cached as an installed
    package has it (with PYTHONDONTWRITEBYTECODE set, every start compiles the package's
    sources again: ≈ 0.1 s that no installed copy pays)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def load_times(files: list[Path], runs: int, before: Path | None) -> dict[str, Any]:
    config = "" if before is None else str(before / "backprop_cli" / "io" / "config.py")
    done = subprocess.run([sys.executable, "-c", CHILD, str(runs), config, *map(str, files)],
                          capture_output=True, text=True, check=True, env=child_env(None),
                          cwd=files[0].parent)  # not this checkout: `-c` puts the cwd first
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env,
                   cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="where to write the files (default: a temp dir)")
    parser.add_argument("--before", type=Path,
                        help="a source tree of another version (e.g. `git archive` of main), "
                             "timed side by side with this one")
    parser.add_argument("--analyze-big", action="store_true",
                        help="time analyze -f json of the 784-128-64-10 files too (slow)")
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="load-speed-"))
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[tuple[str, str], Path] = {}
    for size, sizes in SIZES.items():
        net = network(sizes)
        doc = document(net)
        for style, write in STYLES.items():
            path = directory / f"{size}.{len(files) % len(STYLES)}.yaml"
            path.write_text(write(net, doc), encoding="utf-8")
            files[size, style] = path
    versions: dict[str, Path | None] = {"this": None}
    if args.before is not None:
        versions = {"before": args.before.resolve(), **versions}
    load = load_times(list(files.values()), args.runs, versions.get("before"))
    print(f"load_network, median of {args.runs} interleaved (CPU s); uptime: "
          f"{os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"{'network':<15}{'style':<25}{'MB':>6}" + "".join(f"{v:>9}" for v in versions)
          + "  json.loads")
    for (size, style), path in files.items():
        got = load[str(path)]
        times = "".join(f"{got[v]:9.3f}" for v in versions)
        reference = f"{got['json.loads']:9.3f}" if "json.loads" in got else ""
        print(f"{size:<15}{style:<25}{path.stat().st_size / 1e6:6.2f}{times}  {reference}")
    for size in SIZES:
        if len({load[str(files[size, s])]["digest"] for s in STYLES}) != 1:
            raise SystemExit(f"{size}: the styles or versions load to different arrays")
    print("every style and version loads to the same arrays (sha256 of the float64 bytes)")

    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "bare": (BARE, child_env(None))}
    sizes = list(SIZES) if args.analyze_big else ["784-16-16-10"]
    for name, source in versions.items():
        for (size, style), path in files.items():
            if size in sizes:
                commands[f"{name} {size} {style}"] = (
                    [sys.executable, "-m", "backprop_cli", "analyze", str(path), "-f", "json"],
                    child_env(source))
    seconds: dict[str, list[float]] = {key: [] for key in commands}
    for cmd, env in commands.values():  # a first run writes the bytecode
        wall(cmd, env)
    for _ in range(args.runs):
        for key, (cmd, env) in commands.items():
            seconds[key].append(wall(cmd, env))
    bare = statistics.median(seconds["bare"])
    print(f"\nwhole process, median of {args.runs} interleaved runs; uptime: "
          f"{os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"{BARE_LABEL:<62}{bare:7.3f} s")
    for key in commands:
        if key != "bare":
            median = statistics.median(seconds[key])
            print(f"{'analyze -f json ' + key:<62}{median:7.3f} s  {median / bare:5.2f}× bare")


if __name__ == "__main__":
    main()
