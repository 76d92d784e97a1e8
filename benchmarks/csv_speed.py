"""CSV ingest: backprop_cli's reader against numpy.loadtxt and (where installed) pandas.read_csv.

Writes a 60,000 × 785 numeric file like MNIST's (a label column and 784 pixel values 0–255,
80% zeros; with --decimals the values / 255 to 4 places) once to --file, then times,
interleaved, --runs reads by each reader; median and minimum seconds and the ratio to pandas.

    python benchmarks/csv_speed.py --runs 5
    python benchmarks/csv_speed.py --runs 5 --decimals
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backprop_cli.io.datasets import iter_csv_chunks, load_dataset
from backprop_cli.scaffold import new_network


def write(path: Path, rows: int, pixels: int = 784, decimals: bool = False) -> None:
    """label,px0,…: whole numbers 0–255, or with ``decimals`` the same / 255 to 4 places
    (0.2706)."""
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as out:
        out.write("label," + ",".join(f"px{i}" for i in range(pixels)) + "\n")
        for start in range(0, rows, 5000):
            n = min(5000, rows - start)
            x = rng.integers(0, 256, (n, pixels))
            x[rng.random((n, pixels)) < 0.8] = 0
            block = np.column_stack([rng.integers(0, 10, n), np.round(x / 255, 4) if decimals
                                     else x])
            np.savetxt(out, block, fmt="%.6g" if decimals else "%d", delimiter=",")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--file", type=Path, help="default: /tmp/backprop-csv-speed[-decimals]"
                        ".csv, written if missing")
    parser.add_argument("--decimals", action="store_true",
                        help="pixel values / 255 with 4 decimals instead of whole numbers")
    args = parser.parse_args()
    if args.file is None:
        args.file = Path(f"/tmp/backprop-csv-speed{'-decimals' if args.decimals else ''}.csv")
    if not args.file.exists():
        write(args.file, args.rows, decimals=args.decimals)
    size = args.file.stat().st_size / 1e6
    net = new_network([784, 16, 10], activation="sigmoid", output_activation="softmax",
                      cost="categorical_cross_entropy", method="xavier", seed=0)
    path = str(args.file)

    def ours() -> object:
        return load_dataset(path, net, target="label").inputs

    def ours_chunked() -> object:
        from backprop_cli.network import Preprocessing

        pre = Preprocessing((), (), classes=tuple(range(10)))
        return sum(len(x) for x, _ in iter_csv_chunks(path, net, target="label",
                                                      preprocessing=pre))

    readers: dict[str, Callable[[], object]] = {
        "backprop_cli load_dataset": ours,
        "backprop_cli iter_csv_chunks": ours_chunked,
        "numpy.loadtxt": lambda: np.loadtxt(path, delimiter=",", skiprows=1),
    }
    try:
        import pandas as pd

        readers["pandas.read_csv (C)"] = lambda: pd.read_csv(path, engine="c").to_numpy()
    except ImportError:
        print("pandas not installed: skipped", file=sys.stderr)
    times: dict[str, list[float]] = {name: [] for name in readers}
    results: dict[str, object] = {}
    for _ in range(args.runs):
        for name, read in readers.items():
            started = time.perf_counter()
            results[name] = read()
            times[name].append(time.perf_counter() - started)
    print(f"{args.file}: {size:.0f} MB; {args.runs} interleaved runs")
    ours_x, numpy_x = results["backprop_cli load_dataset"], results["numpy.loadtxt"]
    same = isinstance(ours_x, np.ndarray) and isinstance(numpy_x, np.ndarray) and (
        np.array_equal(ours_x.view(np.uint64), numpy_x[:, 1:].view(np.uint64)))
    print(f"load_dataset's inputs bit for bit those of numpy.loadtxt (Python's float()): {same}")
    base = statistics.median(times["pandas.read_csv (C)"]) if "pandas.read_csv (C)" in times \
        else None
    print(f"{'reader':<30} {'median s':>9} {'min s':>7} {'MB/s':>6} {'×pandas':>8}")
    for name, t in times.items():
        med = statistics.median(t)
        ratio = f"{base / med:.2f}" if base else "-"
        print(f"{name:<30} {med:>9.2f} {min(t):>7.2f} {size / med:>6.0f} {ratio:>8}")


if __name__ == "__main__":
    main()
