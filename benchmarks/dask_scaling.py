"""--engine dask: `analyze --data` over many CSV files with 1, 2 and 4 Dask worker processes
(a LocalCluster, one thread each) against the single-process streamed reader, in rows/s.

The data: ROWS rows of a 16-feature regression (16-32-1 network, sigmoid, squared error)
written once as --files parts under --dir. Every figure is in this process, one pass of
`reports.dataset.accumulate` over every row (what `analyze --data` computes), interleaved
round by round, the median of --runs rounds; the clusters are started before timing (their
start-up is reported apart: a command with --engine dask pays it once). The crossover: the
row count below which one process is faster, found from the same figures at --sizes rows
(the first files of the data). `--api read_csv` also times dask.dataframe.read_csv +
map_partitions over the same files (pandas' parser, then the same Accumulator).

    python benchmarks/dask_scaling.py --rows 1000000 --files 32 --runs 3
    python benchmarks/dask_scaling.py --rows 200000 --files 16 --workers 1 2 --api read_csv
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from backprop_cli.engine import Accumulator
from backprop_cli.io.dask_rows import DaskRows, merged
from backprop_cli.io.datasets import stream_for_network
from backprop_cli.io.inputs import Files
from backprop_cli.network import Layer, Network
from backprop_cli.reports.dataset import SATURATION, accumulate

FEATURES = 16


def network() -> Network:
    rng = np.random.default_rng(0)
    return Network(FEATURES, (
        Layer("sigmoid", rng.normal(size=(32, FEATURES)) / 4, np.zeros(32)),
        Layer("sigmoid", rng.normal(size=(1, 32)) / 6, np.zeros(1))), "squared_error", "bench")


def write(directory: Path, rows: int, files: int) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    names = [str(directory / f"part-{i + 1}.csv") for i in range(files)]
    if all(os.path.exists(n) for n in names):
        return names
    rng = np.random.default_rng(1)
    header = ",".join([*(f"x{k}" for k in range(FEATURES)), "y"])
    for i, name in enumerate(names):
        m = rows * (i + 1) // files - rows * i // files
        block = np.column_stack([rng.normal(size=(m, FEATURES)), rng.uniform(size=m)])
        np.savetxt(name, block, delimiter=",", header=header, comments="", fmt="%.6g")
    return names


def stream(net: Network, names: list[str]) -> Any:
    return stream_for_network(net, Files("bench", names) if len(names) > 1 else names[0])


def read_csv_pass(net: Network, names: list[str], client: Any, rows: int) -> Accumulator:
    """dask.dataframe.read_csv + map_partitions: pandas parses, the same Accumulator sums."""
    import dask
    import dask.dataframe as dd

    frame = dd.read_csv(names, blocksize=max(2**16, rows * 160), dtype="float64")
    make = functools.partial(Accumulator, net, SATURATION)

    def part(df: Any) -> Accumulator:
        acc = make()
        values = df.to_numpy()
        acc.add(values[:, :FEATURES], values[:, FEATURES:])
        return acc

    parts = [dask.delayed(part)(d) for d in frame.to_delayed()]
    while len(parts) > 1:
        parts = [dask.delayed(merged)(*parts[i:i + 8]) for i in range(0, len(parts), 8)]
    return client.compute(parts[0]).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partition-rows", type=int, default=131_072)
    parser.add_argument("--api", choices=["bytes", "read_csv"], nargs="+", default=["bytes"])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/backprop-dask-bench"))
    args = parser.parse_args()
    import distributed

    net = network()
    names = write(args.dir, args.rows, args.files)
    per_file = args.rows / args.files
    sets = {args.rows: names, **{n: names[:max(1, round(n / per_file))]
                                 for n in args.sizes if n < args.rows}}
    clusters = {}
    for n in args.workers:
        started = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        client.wait_for_workers(n)
        clusters[n] = (cluster, client)
        print(f"LocalCluster of {n} workers: started in {time.perf_counter() - started:.1f} s")
    times: dict[tuple[int, str], list[float]] = {}
    for _ in range(args.runs):
        for rows, files in sets.items():
            data = stream(net, files)
            started = time.perf_counter()
            single = accumulate(net, data)
            times.setdefault((rows, "single process"), []).append(time.perf_counter() - started)
            for n, (cluster, client) in clusters.items():
                if "bytes" in args.api:
                    rows_ = DaskRows(data, net, cluster.scheduler_address, args.partition_rows)
                    started = time.perf_counter()
                    dasked = accumulate(net, rows_)
                    times.setdefault((rows, f"dask {n} workers"), []).append(
                        time.perf_counter() - started)
                    rows_.close()
                    assert dasked.rows == single.rows
                if "read_csv" in args.api:
                    started = time.perf_counter()
                    other = read_csv_pass(net, files, client, args.partition_rows)
                    times.setdefault((rows, f"read_csv {n} workers"), []).append(
                        time.perf_counter() - started)
                    assert other.rows == single.rows
    print(f"load average {os.getloadavg()[0]:.2f}; {args.files} files of "
          f"{per_file:,.0f} rows; median of {args.runs} rounds")
    print(f"{'rows':>10}  {'engine':<22} {'seconds':>8} {'rows/s':>12} {'vs single':>9}")
    for (rows, engine), seconds in times.items():
        median = statistics.median(seconds)
        base = statistics.median(times[(rows, "single process")])
        print(f"{rows:>10,}  {engine:<22} {median:8.3f} {rows / median:12,.0f} "
              f"{base / median:8.2f}×")
    for cluster, client in clusters.values():
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
