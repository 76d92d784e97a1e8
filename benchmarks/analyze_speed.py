"""analyze: wall time (start-up included), output MB/s and peak memory of `backprop analyze`.

Networks written by `backprop init` (explicit weights, one example): 784-16-16-10 and a
784-1024-200-10 network with ≈ 10⁶ parameters. Each command runs --runs times in a fresh
process; the baseline is `python -c "import numpy, yaml"`. Peak memory is the child's
maximum resident set size.

    python benchmarks/analyze_speed.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "backprop"


def init(path: Path, sizes: str) -> None:
    if not path.exists():
        subprocess.run([str(BIN), "init", "--sizes", sizes, "--output-activation", "softmax",
                        "--cost", "categorical_cross_entropy", "--seed", "0", "--example-input",
                        "-o", str(path)], check=True)


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
    parser.add_argument("--big-formats", nargs="+", default=["ndjson", "csv", "json"])
    args = parser.parse_args()
    small, big = args.dir / "bench-784-16-16-10.yaml", args.dir / "bench-1M.yaml"
    init(small, "784,16,16,10")
    init(big, "784,1024,200,10")
    commands = {
        'python -c "import numpy, yaml"': [sys.executable, "-c", "import numpy, yaml"],
        "backprop --help": [str(BIN), "--help"],
        "analyze 784-16-16-10 --format json": [str(BIN), "analyze", str(small), "-f", "json"],
    }
    for fmt in args.big_formats:
        commands[f"analyze 10^6 params --format {fmt}"] = [str(BIN), "analyze", str(big), "-f",
                                                           fmt]
    results: dict[str, list[tuple[float, int, int]]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            results[name].append(run(cmd))
    print(f"{args.runs} interleaved runs; {resource.getpagesize()} B pages")
    print(f"{'command':<40} {'median s':>9} {'min s':>7} {'out MB':>7} {'MB/s':>7} "
          f"{'peak MB':>8}")
    for name, rows in results.items():
        seconds = [r[0] for r in rows]
        med = statistics.median(seconds)
        mb = rows[0][1] / 1e6
        print(f"{name:<40} {med:>9.3f} {min(seconds):>7.3f} {mb:>7.1f} {mb / med:>7.1f} "
              f"{max(r[2] for r in rows) / 1024:>8.0f}")


if __name__ == "__main__":
    main()
