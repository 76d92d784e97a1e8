"""Training throughput: backprop_cli's hot path against PyTorch and scikit-learn, interleaved.

One process, the same synthetic data (784-128-64-10 sigmoid, plain SGD, C0 = Σj (aj − yj)²,
C = the mean of C0 over a batch, no shuffling), one epoch per measurement after a warm-up
epoch. For every dtype and batch size the implementations take turns, --runs times, so that
noise from other work on the machine hits all of them alike; the median and the minimum time
are reported as samples/s, with the ratio to PyTorch (of the medians, and the median of
each round's own ratio, which a slow minute shared by both sides leaves alone), the achieved GFLOP/s (≈ 6 × parameters ×
samples per epoch) and its share of a 1024³ matmul timed in every round of the same process.

    python benchmarks/train_speed.py                 # float32 and float64, batch 16, 64, 256
    python benchmarks/train_speed.py --runs 3 --samples 8192 --dtype float32

PyTorch and scikit-learn are optional (pip install -e '.[bench]'); missing ones are skipped.
threadpoolctl, if installed, names the BLAS kernel and adds a row with one BLAS thread.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools
from operator import truediv

from backprop_cli.network import Layer, Network
from backprop_cli.train import Trainer, TrainOptions

SIZES = (784, 128, 64, 10)
LR = 0.1


def parameters() -> int:
    return sum(n * (k + 1) for k, n in itertools.pairwise(SIZES))


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP", "MKL"))}
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, {model}; Python "
            f"{platform.python_version()}, numpy {np.__version__}; env {env or 'clean'}")


def blas_kernel() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (install threadpoolctl to see it)"
    found = [f"{i['internal_api']} {i.get('version')} {i.get('architecture') or ''} "
             f"({i['num_threads']} threads)" for i in threadpool_info()
             if i["user_api"] == "blas"]
    return "; ".join(found) or "none found"


def matmul_peak(dtype: type[np.floating], n: int = 1024, repeats: int = 3) -> float:
    """GFLOP/s of an n×n×n matrix product, the best of ``repeats``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    np.matmul(a, b, out=out)
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def initial_weights(seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    w = [rng.normal(0, 1 / np.sqrt(k), (n, k)) for k, n in itertools.pairwise(SIZES)]
    b = [np.zeros(n) for n in SIZES[1:]]
    return w, b


def data(samples: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (samples, SIZES[0]))
    y = np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], samples)]
    return x, y


# --- the implementations: each returns a function that trains one epoch ---------------------

def ours(x: np.ndarray, y: np.ndarray, batch: int, dtype: str) -> Callable[[], object]:
    w, b = initial_weights()
    net = Network(SIZES[0], tuple(Layer("sigmoid", wl, bl) for wl, bl in zip(w, b, strict=True)),
                  "squared_error")
    options = TrainOptions(epochs=1, batch_size=batch, lr=LR, shuffle=False, dtype=dtype)
    trainer = Trainer(net, x, y, options)

    def epoch() -> object:
        trainer.status = "running"
        return list(trainer.run())

    return epoch


def ours_one_thread(x: np.ndarray, y: np.ndarray, batch: int, dtype: str
                    ) -> Callable[[], object]:
    from threadpoolctl import threadpool_limits

    run = ours(x, y, batch, dtype)

    def epoch() -> object:
        with threadpool_limits(1, user_api="blas"):
            return run()

    return epoch


def pytorch(x: np.ndarray, y: np.ndarray, batch: int, dtype: str) -> Callable[[], object]:
    import torch

    tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    w, b = initial_weights()
    layers: list[torch.nn.Module] = []
    for wl, bl in zip(w, b, strict=True):
        linear = torch.nn.Linear(wl.shape[1], wl.shape[0], dtype=tdtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(wl))
            linear.bias.copy_(torch.from_numpy(bl))
        layers += [linear, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    tx = torch.from_numpy(np.ascontiguousarray(x, dtype=dtype))
    ty = torch.from_numpy(np.ascontiguousarray(y, dtype=dtype))
    m = len(x)

    def epoch() -> object:
        for start in range(0, m, batch):
            xb, yb = tx[start:start + batch], ty[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = ((model(xb) - yb) ** 2).sum(dim=1).mean()
            loss.backward()
            opt.step()
        return None

    return epoch


def sklearn_mlp(x: np.ndarray, y: np.ndarray, batch: int, dtype: str) -> Callable[[], object]:
    import warnings

    from sklearn.neural_network import MLPRegressor

    # Not the same network: scikit-learn's regressor has an identity output layer and the
    # cost ½·mean of Σ(a − y)². Same hidden layers, plain SGD, same batches.
    mlp = MLPRegressor(hidden_layer_sizes=SIZES[1:-1], activation="logistic", solver="sgd",
                       learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False,
                       alpha=0.0, batch_size=batch, shuffle=False, max_iter=1, tol=0.0)
    xd, yd = np.ascontiguousarray(x, dtype=dtype), np.ascontiguousarray(y, dtype=dtype)

    def epoch() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return mlp.partial_fit(xd, yd)

    return epoch


def available() -> dict[str, Callable[..., Callable[[], object]]]:
    impls: dict[str, Callable[..., Callable[[], object]]] = {"backprop_cli": ours}
    try:
        import threadpoolctl  # noqa: F401

        impls["backprop_cli, 1 BLAS thread"] = ours_one_thread
    except ImportError:
        pass
    try:
        import torch  # noqa: F401

        impls["PyTorch"] = pytorch
    except ImportError:
        print("PyTorch not installed: skipped (pip install -e '.[bench]')", file=sys.stderr)
    try:
        import sklearn  # noqa: F401

        impls["scikit-learn MLP"] = sklearn_mlp
    except ImportError:
        print("scikit-learn not installed: skipped", file=sys.stderr)
    return impls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs (≥ 5 for figures)")
    parser.add_argument("--samples", type=int, default=32768,
                        help="rows per epoch (default 32768: 100 MB of float32 inputs, more than "
                             "the L3 cache, and epochs long enough to average scheduler hiccups)")
    parser.add_argument("--batch", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"])
    parser.add_argument("--only", nargs="+", help="implementations to run (names as printed)")
    parser.add_argument("--pause", type=float, default=0.2,
                        help="seconds of sleep before each timed run, so that the previous "
                             "one's BLAS/OpenMP threads stop spinning (default 0.2)")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    print(f"BLAS: {blas_kernel()}")
    impls = available()
    if args.only:
        impls = {k: v for k, v in impls.items() if k in args.only}
    x, y = data(args.samples)
    flop_per_sample = 6 * parameters()
    performed = flop_per_sample - 2 * SIZES[0] * SIZES[1]
    print(f"network {'-'.join(map(str, SIZES))} sigmoid, {parameters():,} parameters; "
          f"{args.samples} samples per epoch; {args.runs} interleaved runs; "
          "samples/s as median (min over runs of the time → max samples/s)")
    print(f"GFLOP/s counts 6 × parameters = {flop_per_sample:,} FLOP per sample (the issue's "
          f"measure); the products performed are {performed:,} (no ∂C/∂x for the inputs)")
    print("%peak: median GFLOP/s over the median of a 1024³ matmul timed in every round "
          "(same threads, same load); best: best over best")
    for dtype in args.dtype:
        kind = np.dtype(dtype).type
        shares: dict[int, list[float]] = {}
        ratios: dict[int, list[float]] = {}
        print(f"\n{dtype}")
        print(f"{'batch':>5}  {'implementation':<28} {'median/s':>10} {'best/s':>10} "
              f"{'×PyTorch':>9} {'per round':>9} {'GFLOP/s':>8} {'%peak':>6} {'best':>5}")
        for batch in args.batch:
            runners = {name: make(x, y, batch, dtype) for name, make in impls.items()}
            for run in runners.values():
                run()  # warm-up
            times: dict[str, list[float]] = {name: [] for name in runners}
            peaks: list[float] = []
            for _ in range(args.runs):
                time.sleep(args.pause)
                peaks.append(matmul_peak(kind, repeats=3))
                for name, run in runners.items():
                    time.sleep(args.pause)
                    times[name].append(_timed(run))
            peak, best_peak = statistics.median(peaks), max(peaks)
            shares[batch] = [100 * args.samples * flop_per_sample / 1e9 / t / p
                             for t, p in zip(times["backprop_cli"], peaks, strict=True)
                             ] if "backprop_cli" in times else []
            print(f"{batch:>5}  {'matmul 1024³ (peak)':<28} {'':>10} {'':>10} {'':>9} {'':>9} "
                  f"{peak:>8.1f} {'':>6} {best_peak:>5.0f}")
            medians = {name: statistics.median(t) for name, t in times.items()}
            torch_times = times.get("PyTorch")
            for name, t in times.items():
                rate, best = args.samples / medians[name], args.samples / min(t)
                ratio = per_round = "-"
                if torch_times:
                    ratio = f"{statistics.median(torch_times) / medians[name]:.2f}"
                    per_round = f"{statistics.median(map(truediv, torch_times, t)):.2f}"
                gflops = rate * flop_per_sample / 1e9
                best_share = 100 * best * flop_per_sample / 1e9 / best_peak
                print(f"{batch:>5}  {name:<28} {rate:>10,.0f} {best:>10,.0f} {ratio:>9} "
                      f"{per_round:>9} {gflops:>8.1f} {100 * gflops / peak:>5.0f}% "
                      f"{best_share:>4.0f}%")
            if torch_times and "backprop_cli" in times:
                ratios[batch] = list(map(truediv, torch_times, times["backprop_cli"]))
        for batch, per_round in shares.items():
            print(f"backprop_cli {dtype} batch {batch}, %peak in each round (epoch over that "
                  f"round's peak): {' '.join(f'{v:.0f}' for v in per_round)}")
        for batch, per_round in ratios.items():
            print(f"backprop_cli {dtype} batch {batch}, ×PyTorch in each round: "
                  f"{' '.join(f'{v:.2f}' for v in per_round)}")


if __name__ == "__main__":
    main()
