"""analyze: cost that follows what is shown (issue 16.3). Whole processes, peak RSS of each
child (ru_maxrss from os.wait4).

1. The default table of 784-128-64-10 (109k parameters) against `-f json` of 784-16-16-10,
   interleaved, median: the ratio (goal ≤ 2).
2. `-f json` of a 10⁶-parameter network (784-1024-200-10) with 1, 5 and 20 examples, and
   `-f ndjson` and `-f csv` of it with 1 example: MB/s of output written (the time beyond that
   of `--top 1 -f ndjson`, which reads the file and runs the engine pass, in the same round;
   median over the rounds; by the wall clock and by the child's CPU time) and peak RSS (goal:
   JSON ≥ 100 MB/s, peak not growing with the examples).
3. With --big: a 10⁷-parameter network (784-4096-1600-10, 9.8 million; 219 MB of YAML): the
   default table's time and peak over --runs runs (median, and the goal: ≤ 5 s and ≤ 2 GB),
   then each format once (completes: time and peak; or refuses: the message). The reading of
   the file is timed apart (`--top 1 -f ndjson`).

Networks are written with the tool's own dump (one-line lists, the fast path of the reader),
random inputs in [0, 1) and one-hot targets.

    python benchmarks/analyze_cost.py --runs 5
    python benchmarks/analyze_cost.py --runs 5 --no-table --before /tmp/before   # + a copy
                                           # of another version's source, interleaved
    python benchmarks/analyze_cost.py --runs 1 --big      # + the 10⁷ network (minutes)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent / "backprop"
BIG_SECONDS, BIG_MB = 5.0, 2000  # issue 16.3: the default table of 10⁷ parameters


def make(path: Path, sizes: list[int], examples: int) -> Path:
    """A network file of ``sizes`` with ``examples`` random examples (written once)."""
    if path.exists():
        return path
    from backprop_cli.io.config import dump_network
    from backprop_cli.network import Examples, Layer, Network

    rng = np.random.default_rng(0)
    layers = tuple(
        Layer(activation="softmax" if i == len(sizes) - 2 else "sigmoid",
              weights=rng.normal(0, (2 / (n + m)) ** 0.5, (n, m)), biases=np.zeros(n))
        for i, (m, n) in enumerate(pairwise(sizes)))
    targets = np.eye(sizes[-1])[rng.integers(0, sizes[-1], examples)]
    net = Network(input_size=sizes[0], layers=layers, cost="categorical_cross_entropy",
                  examples=Examples(rng.random((examples, sizes[0])), targets))
    path.write_text(dump_network(net))
    return path


def run(cmd: list[str]) -> tuple[float, int, int, int, str, float]:
    """(seconds, bytes on stdout, peak RSS in kB, exit code, last line of stderr, CPU seconds
    of the child)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    written = 0
    while chunk := proc.stdout.read(1 << 20):
        written += len(chunk)
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    return seconds, written, usage.ru_maxrss, os.waitstatus_to_exitcode(status), \
        (err[-1] if err else ""), usage.ru_utime + usage.ru_stime


# The command line of the source tree in --before DIR (and of this one, to compare alike).
FROM_SOURCE = ("import sys; sys.path.insert(0, {root!r}); from backprop_cli.cli import app; "
               "sys.argv[0] = 'backprop'; app()")


def analyze(net: Path, *args: str, source: Path | None = None
            ) -> list[str]:
    if source is not None:
        head = [sys.executable, "-c", FROM_SOURCE.format(root=str(source))]
    else:
        head = [str(BIN)]
    return [*head, "analyze", str(net), *args]


def interleaved(commands: dict[str, list[str]], runs: int) -> dict[str, list[tuple]]:
    results: dict[str, list[tuple]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            results[name].append(run(cmd))
            if results[name][-1][3]:
                raise SystemExit(f"{name}: exit {results[name][-1][3]}: {results[name][-1][4]}")
    return results


def show(results: dict[str, list[tuple]]) -> None:
    print(f"{'command':<60} {'median s':>9} {'min s':>7} {'cpu s':>7} {'out MB':>8} "
          f"{'MB/s':>7} {'peak MB':>8}")
    for name, rows in results.items():
        med = statistics.median(r[0] for r in rows)
        mb = rows[0][1] / 1e6
        print(f"{name:<60} {med:>9.3f} {min(r[0] for r in rows):>7.3f} "
              f"{statistics.median(r[5] for r in rows):>7.3f} {mb:>8.1f} "
              f"{mb / med:>7.1f} {max(r[2] for r in rows) / 1024:>8.0f}")


JSON_GOAL = 100  # MB/s of -f json output (issue 16.3)


def writing_speed(rows: list[tuple], base: list[tuple[float, float]]) -> tuple[float, float]:
    """MB/s of the output of ``rows``' command beyond ``base`` (per round: the seconds and CPU
    seconds of reading the file and the engine pass), by the wall clock and by the child's CPU
    time: the median over the rounds of the difference within each round (the runs of a round
    follow each other, so a load that comes and goes disturbs the difference less than the
    difference of the medians)."""
    mb = rows[0][1] / 1e6
    wall = statistics.median(r[0] - b[0] for r, b in zip(rows, base, strict=True))
    cpu = statistics.median(r[5] - b[1] for r, b in zip(rows, base, strict=True))
    return mb / max(wall, 1e-9), mb / max(cpu, 1e-9)


def writing(nets: dict[int, Path], runs: int, before: Path | None) -> None:
    """Part 2: the JSON document's (and ndjson's, csv's) writing speed and peak memory."""
    versions: dict[str, Path | None] = {"": None}
    if before is not None:  # both as source trees, started alike
        versions = {"before ": before, "": Path(__file__).resolve().parents[1]}
    commands: dict[str, list[str]] = {}
    for label, source in versions.items():
        for m in (1, 20):
            commands[f"{label}10^6 params, {m} ex. --top 1 -f ndjson"] = analyze(
                nets[m], "--top", "1", "-f", "ndjson", source=source)
        for m in (1, 5, 20):
            commands[f"{label}10^6 params, {m} ex. -f json"] = analyze(
                nets[m], "-f", "json", source=source)
        for fmt in ("ndjson", "csv"):
            commands[f"{label}10^6 params, 1 ex. -f {fmt}"] = analyze(
                nets[1], "-f", fmt, source=source)
    results = interleaved(commands, runs)
    show(results)
    for label in versions:
        tops = [results[f"{label}10^6 params, {m} ex. --top 1 -f ndjson"] for m in (1, 20)]
        base = [((a[0] + b[0]) / 2, (a[5] + b[5]) / 2) for a, b in zip(*tops, strict=True)]
        speeds = []
        for m in (1, 5, 20):
            rows = results[f"{label}10^6 params, {m} ex. -f json"]
            wall, cpu = writing_speed(rows, base)
            speeds.append(wall)
            print(f"{label}{m:>2} example(s): JSON written at {wall:.0f} MB/s ({cpu:.0f} MB/s "
                  f"of CPU time), beyond --top 1; peak {max(r[2] for r in rows) / 1024:.0f} MB")
        for fmt in ("ndjson", "csv"):
            wall, cpu = writing_speed(results[f"{label}10^6 params, 1 ex. -f {fmt}"], base)
            print(f"{label} 1 example:  {fmt.upper()} written at {wall:.0f} MB/s ({cpu:.0f} "
                  "MB/s of CPU time)")
        verdict = "met" if min(speeds) >= JSON_GOAL else "NOT met"
        print(f"{label}JSON ≥ {JSON_GOAL} MB/s (1, 5 and 20 examples, wall clock): {verdict} "
              f"(slowest {min(speeds):.0f} MB/s)")
    print()


def big_forked(big: Path, commands: dict[str, list[str]]) -> None:
    """Each command in a child forked after reading the file once (the file takes minutes on a
    busy machine): the child's time is the engine pass and the output, its peak RSS includes
    the network read by the parent."""
    import backprop_cli.io.config as config
    from backprop_cli.cli import app

    net = config.load_network(big)
    config.load_network = lambda *_: net  # type: ignore[assignment]
    for name, extra in commands.items():
        started = time.perf_counter()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(write, 2)
            code = 0
            try:
                app(["analyze", str(big), *extra])
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        os.close(write)
        with os.fdopen(read) as stream:
            err = stream.read().strip().splitlines()
        _, status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        print(f"{name + ' *':<44} {code:>4} {time.perf_counter() - started:>7.2f} {'':>8} "
              f"{usage.ru_maxrss / 1024:>8.0f}  {' '.join(err)[:300] if code else ''}",
              flush=True)
    print("* forked after reading the file once: time without the reading; stdout to "
          "/dev/null")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--big", action="store_true", help="also the 10^7-parameter network")
    parser.add_argument("--big-fork", action="store_true",
                        help="with --big, read the 10^7 file once and fork a child per format "
                             "(whole processes only for the reading and the default table)")
    parser.add_argument("--big-streams", action="store_true",
                        help="with --big, also ndjson and csv of the 10^7 network")
    parser.add_argument("--no-json", action="store_true", help="skip part 2")
    parser.add_argument("--no-table", action="store_true", help="skip part 1")
    parser.add_argument("--before", type=Path, default=None,
                        help="part 2 also for the source tree in DIR (a copy of another "
                             "version's backprop_cli/ in DIR), interleaved")
    parser.add_argument("--no-small", action="store_true", help="skip parts 1 and 2")
    args = parser.parse_args()
    d = args.dir
    small = make(d / "cost-784-16-16-10.yaml", [784, 16, 16, 10], 1)
    mid = make(d / "cost-784-128-64-10.yaml", [784, 128, 64, 10], 1)
    print(f"load average {time.strftime('%H:%M:%S')}: {_load()}")

    if args.no_small:
        args.no_json = True
    results = {} if args.no_small or args.no_table else interleaved({
        "analyze 784-16-16-10 -f json": analyze(small, "-f", "json"),
        "analyze 784-128-64-10 (default table)": analyze(mid),
    }, args.runs)
    if results:
        show(results)
        base, table = (statistics.median(r[0] for r in rows) for rows in results.values())
        print(f"default table 784-128-64-10 / -f json 784-16-16-10: {table / base:.2f} "
              f"(goal ≤ 2)\n")

    if not args.no_json:
        nets = {m: make(d / f"cost-1M-{m}x.yaml", [784, 1024, 200, 10], m) for m in (1, 5, 20)}
        writing(nets, args.runs, args.before)

    if args.big:
        big = make(d / "cost-1e7.yaml", [784, 4096, 1600, 10], 1)
        results = interleaved({
            "10^7 --top 1 -f ndjson (reading the file)": analyze(big, "--top", "1", "-f",
                                                                 "ndjson"),
            "10^7 default table": analyze(big)}, args.runs)
        show(results)
        rows = results["10^7 default table"]
        seconds = statistics.median(r[0] for r in rows)
        peak = max(r[2] for r in rows) / 1024
        met = seconds <= BIG_SECONDS and peak <= BIG_MB
        print(f"default table of 10^7 parameters: {seconds:.2f} s (median of {len(rows)}), "
              f"peak {peak:.0f} MB (goal ≤ {BIG_SECONDS:.0f} s and ≤ {BIG_MB} MB: "
              f"{'met' if met else 'NOT met'})\n")
        commands = {
            "10^7 --top 10 (table)": ["--top", "10"],
            "10^7 -f text": ["-f", "text"],
            "10^7 -f markdown": ["-f", "markdown"],
            "10^7 -f latex": ["-f", "latex"],
            "10^7 --paths (table)": ["--paths"],
            "10^7 -f json": ["-f", "json"],
            "10^7 --limit 0 (table)": ["--limit", "0"],
            "10^7 -f text --limit 0": ["-f", "text", "--limit", "0"],
        }
        if args.big_streams:  # 2.5 GB of output each
            commands |= {"10^7 -f ndjson": ["-f", "ndjson"], "10^7 -f csv": ["-f", "csv"]}
        print(f"{'10^7 parameters (9,786,570)':<44} {'exit':>4} {'s':>7} {'out MB':>8} "
              f"{'peak MB':>8}  message")
        if args.big_fork:
            big_forked(big, commands)
            commands = {}
        for name, extra in commands.items():
            s, out, peak, code, err, _ = run(analyze(big, *extra))
            print(f"{name:<44} {code:>4} {s:>7.2f} {out / 1e6:>8.1f} {peak / 1024:>8.0f}  "
                  f"{err if code else ''}", flush=True)
    print(f"load average {time.strftime('%H:%M:%S')}: {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
