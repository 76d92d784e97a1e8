"""Which threads use the CPU while train_speed.py times an epoch (Linux only).

Interleaves, as train_speed.py does, backprop_cli, PyTorch and scikit-learn at one batch size
(float32, with a pause before each timed run) and reports the CPU time of every thread of the
process (``/proc/self/task/*/schedstat``, ns) during each timed epoch and each pause. A
reference's OpenMP or BLAS threads still spinning during our epochs would show here; the
measure is CPU time, so it holds on a loaded machine too.

    python benchmarks/thread_cpu.py [--batch 256] [--runs 5] [--pause 0.2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_speed as ts


def cpu_ns() -> dict[int, int]:
    out = {}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # the thread ended
            out[int(tid)] = int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--pause", type=float, default=0.2)
    args = parser.parse_args()
    me = os.getpid()
    origin = {t: "numpy import" for t in cpu_ns() if t != me}
    x, y = ts.data(args.samples)
    runners = {}
    for name, make in ts.available().items():
        if "1 BLAS thread" in name:
            continue
        runners[name] = make(x, y, args.batch, "float32")
        runners[name]()  # warm-up; threads that appear now belong to this implementation
        origin.update({t: name for t in cpu_ns() if t != me and t not in origin})
    ts.matmul_peak(np.float32)
    origin.update({t: "peak" for t in cpu_ns() if t != me and t not in origin})
    used: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.runs):
        for name, run in runners.items():
            for phase, fn in ((f"pause before {name}", lambda: time.sleep(args.pause)),
                              (f"epoch of {name}", run)):
                before = cpu_ns()
                fn()
                after = cpu_ns()
                for t, where in origin.items():
                    ms = (after.get(t, 0) - before.get(t, 0)) / 1e6
                    used.setdefault((phase, f"thread {t} (from {where})"), []).append(ms)
    print(f"batch {args.batch}, float32, {args.samples} samples, {args.runs} rounds; "
          "median CPU ms of each worker thread (the main thread is not listed)")
    for (phase, thread), ms in used.items():
        print(f"{phase:<34} {thread:<40} {statistics.median(ms):8.1f}")


if __name__ == "__main__":
    main()
