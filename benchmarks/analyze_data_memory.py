"""Peak memory of `backprop analyze NET --data DATA.csv` against the number of rows.

Generates, in a temporary directory, an 8-16-4 network (`backprop init`) and CSV files of
10^5 and 10^6 rows (8 features, 4 targets), runs

    backprop analyze net.yaml --data rows.csv --target y0,y1,y2,y3 --format json

in a subprocess for each, and prints wall time and peak resident memory (the child's own
ru_maxrss from os.wait4). --data reads the file in chunks, so the ratio of the peaks should be
about 1 whatever the row count.

Run: python benchmarks/analyze_data_memory.py [--rows 100000,1000000] [--chunk-rows 8192]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FEATURES, TARGETS = 8, 4
BLOCK = 100_000  # rows generated at a time


def backprop(*args: str) -> list[str]:
    return [sys.executable, "-m", "backprop_cli", *args]


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    header = [f"x{k}" for k in range(FEATURES)] + [f"y{j}" for j in range(TARGETS)]
    with path.open("w", encoding="utf-8") as handle:
        handle.write(",".join(header) + "\n")
        for start in range(0, rows, BLOCK):
            n = min(BLOCK, rows - start)
            block = np.hstack([rng.normal(size=(n, FEATURES)), rng.uniform(size=(n, TARGETS))])
            np.savetxt(handle, block, fmt="%.6g", delimiter=",")


def measure(command: list[str], out: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one run of ``command``; its stdout goes to ``out``."""
    with out.open("wb") as stdout:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    return seconds, usage.ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000",
                        help="comma-separated row counts (default: 100000,1000000)")
    parser.add_argument("--chunk-rows", type=int, default=8192)
    args = parser.parse_args()
    counts = [int(n) for n in args.rows.split(",")]

    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as tmp:
        root = Path(tmp)
        net = root / "net.yaml"
        subprocess.run(backprop("init", "--sizes", f"{FEATURES},16,{TARGETS}", "--activation",
                                "tanh", "--output-activation", "linear", "--cost",
                                "squared_error", "--seed", "0", "-o", str(net)), check=True)
        print(f"network 8-16-4 (tanh, linear, squared_error); --chunk-rows {args.chunk_rows}")
        print(f"{'rows':>10} {'CSV MiB':>8} {'wall s':>8} {'rows/s':>10} {'peak RSS MiB':>13}")
        peaks: list[float] = []
        for n in counts:
            data = root / f"rows-{n}.csv"
            write_csv(data, n)
            out = root / f"out-{n}.json"
            seconds, peak = measure(
                backprop("analyze", str(net), "--data", str(data), "--target", "y0,y1,y2,y3",
                         "--chunk-rows", str(args.chunk_rows), "--format", "json"),
                out,
            )
            doc = json.loads(out.read_text(encoding="utf-8"))
            assert doc["data"]["rows"] == n, doc["data"]
            peaks.append(peak)
            size = data.stat().st_size / 2**20
            print(f"{n:>10} {size:>8.1f} {seconds:>8.2f} {n / seconds:>10.0f} {peak:>13.1f}")
            data.unlink()
        if len(peaks) > 1:
            print(f"peak RSS ratio, {counts[-1]} rows / {counts[0]} rows: "
                  f"{peaks[-1] / peaks[0]:.3f} (rows ratio {counts[-1] / counts[0]:g})")


if __name__ == "__main__":
    main()
