"""analyze: wall time (start-up included), output MB/s and peak memory of `backprop analyze`.

Networks written by `backprop init` (explicit weights, one example whose input is replaced by
random pixels in [0, 1), so that the gradients are not zeros): 784-16-16-10 and a
784-1024-200-10 network with ≈ 10⁶ parameters. Each command runs --runs times in a fresh
process, interleaved; the baseline is `python -c "import numpy, yaml"`. Peak memory is the
child's maximum resident set size. `--top 1` writes one row of the same network: its peak is
what loading the network costs, and the rows' writer is timed by the difference. `--top 10 -f
json` times the selection of the top parameters (and the JSON document, which holds every
gradient).

    python benchmarks/analyze_speed.py --runs 5
    python benchmarks/analyze_speed.py --bin /tmp/other-venv/bin/backprop   # compare installs
    python benchmarks/analyze_speed.py --big-bin /tmp/before/backprop --big-formats csv
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "backprop"


def init(path: Path, sizes: str) -> None:
    if path.exists():
        return
    subprocess.run([str(BIN), "init", "--sizes", sizes, "--output-activation", "softmax",
                    "--cost", "categorical_cross_entropy", "--seed", "0", "--example-input",
                    "-o", str(path)], check=True)
    pixels = random.Random(0)
    n_0 = int(sizes.split(",")[0])
    text = re.sub(r"(?m)^(  - input: )\[.*\]$",
                  lambda m: m.group(1) + repr([pixels.random() for _ in range(n_0)]),
                  path.read_text(), count=1)
    path.write_text(text)


def run(cmd: list[str]) -> tuple[float, int, int]:
    """(seconds, bytes written to stdout, peak RSS of the child in kB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    written = 0
    while chunk := proc.stdout.read(1 << 20):
        written += len(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}")
    return seconds, written, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--big-formats", nargs="*", default=["ndjson", "csv", "json"])
    parser.add_argument("--bin", type=Path, action="append", default=[],
                        help="another `backprop` to time on the small network (repeatable)")
    parser.add_argument("--big-bin", type=Path, action="append", default=[],
                        help="another `backprop` to time on the 10^6-parameter commands too, "
                             "interleaved with this one (e.g. a copy of the previous code)")
    parser.add_argument("--no-top", action="store_true", help="skip --top 10 -f json")
    args = parser.parse_args()
    small, big = args.dir / "bench-784-16-16-10-x.yaml", args.dir / "bench-1M-x.yaml"
    init(small, "784,16,16,10")
    init(big, "784,1024,200,10")
    commands = {
        'python -c "import numpy, yaml"': [sys.executable, "-c", "import numpy, yaml"],
        "backprop --help": [str(BIN), "--help"],
        "analyze 784-16-16-10 --format json": [str(BIN), "analyze", str(small), "-f", "json"],
    }
    for other in args.bin:
        commands[f"  ({other.parent.parent.name}) same"] = [str(other), "analyze", str(small),
                                                            "-f", "json"]
    for tag, binary in [("", BIN), *((f"({b.name}) ", b) for b in args.big_bin)]:
        if args.big_formats:
            commands[f"{tag}analyze 10^6 params --top 1 -f ndjson"] = [
                str(binary), "analyze", str(big), "--top", "1", "-f", "ndjson"]
        if not args.no_top:
            commands[f"{tag}analyze 10^6 params --top 10 -f json"] = [
                str(binary), "analyze", str(big), "--top", "10", "-f", "json"]
        for fmt in args.big_formats:
            commands[f"{tag}analyze 10^6 params --format {fmt}"] = [
                str(binary), "analyze", str(big), "-f", fmt]
    print(f"load average {time.strftime('%H:%M:%S')}: {_load()}")
    results: dict[str, list[tuple[float, int, int]]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            results[name].append(run(cmd))
    print(f"load average {time.strftime('%H:%M:%S')}: {_load()}")
    print(f"{args.runs} interleaved runs; {BIN}")
    print(f"{'command':<48} {'median s':>9} {'min s':>7} {'out MB':>7} {'MB/s':>7} "
          f"{'peak MB':>8}  {'× baseline':>10}")
    base = statistics.median(r[0] for r in next(iter(results.values())))
    for name, rows in results.items():
        seconds = [r[0] for r in rows]
        med = statistics.median(seconds)
        mb = rows[0][1] / 1e6
        print(f"{name:<48} {med:>9.3f} {min(seconds):>7.3f} {mb:>7.1f} {mb / med:>7.1f} "
              f"{max(r[2] for r in rows) / 1024:>8.0f}  {med / base:>10.2f}")
    for tag in ["", *(f"({b.name}) " for b in args.big_bin)]:
        load = results.get(f"{tag}analyze 10^6 params --top 1 -f ndjson")
        if load is None:
            continue
        t_load = statistics.median(r[0] for r in load)
        for fmt in args.big_formats:
            rows = results[f"{tag}analyze 10^6 params --format {fmt}"]
            spent = statistics.median(r[0] for r in rows) - t_load
            print(f"{tag}{fmt}: writing the rows (median minus --top 1): {spent:.3f} s, "
                  f"{rows[0][1] / 1e6 / spent:.0f} MB/s")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
