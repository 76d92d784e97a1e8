"""The whole run from CSV (issue 16.1): `backprop train` against a PyTorch + pandas script doing
the same, each a fresh process timed from spawn to exit with its trained file on disk.

Writes once, into --cache: a CSV like MNIST's (a ``label`` column 0–9 and 784 pixel columns of
whole numbers 0–255; ``--zeros F``: that fraction of the pixels 0, as in MNIST's ≈ 0.8; default
0, every pixel drawn from 0–255) and the 784-128-64-10 network (sigmoid, sigmoid, softmax,
categorical cross-entropy, Xavier-uniform weights) written by ``yaml.safe_dump`` (block style,
the default). Then, --runs times, interleaved: ``backprop train NET DATA --target label
--epochs 6 --batch-size 64 --dtype float32 -o OUT --force --quiet`` and
``whole_run_torch.py`` (pandas.read_csv, torch tensors, the same network, scaling, cost,
optimizer, shuffle and batches); prints each one's median and range and torch/ours (the ratio
of the medians, and the median and range of each round's own ratio).

``--phases`` adds runs of our command with its steps timed from inside (the real command: the
functions run_train calls are wrapped, nothing else changes): start and imports (from spawn),
network file, CSV and scaling, setting up the model, the epochs, the summary (cost and
accuracy of the trained weights), writing the trained file, and exit; then start + load +
write (every phase but the epochs, the summary and the exit) against the 1.5 s bar.

Our package's bytecode is compiled first (``python -m compileall`` with our command's
Python): an installed package has it, and without it (PYTHONDONTWRITEBYTECODE=1, an editable
install) every start compiles our modules from source, ≈ 0.1 s. ``--no-compile`` skips the
step (remove backprop_cli's __pycache__ folders to measure such a start).

    python benchmarks/whole_run.py --runs 5 --phases 3
    .venv-bench/bin/python benchmarks/whole_run.py --bin .venv/bin/backprop --runs 5

The reference needs torch and pandas in the Python that runs this script (``--torch-python``
for another one).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (784, 128, 64, 10)


def write_data(path: Path, rows: int, zeros: float, seed: int = 0) -> None:
    """label,px0,…,px783: labels 0–9, pixels whole numbers 0–255 (``zeros`` of them 0)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write("label," + ",".join(f"px{i}" for i in range(SIZES[0])) + "\n")
        for start in range(0, rows, 5000):
            n = min(5000, rows - start)
            x = rng.integers(0, 256, (n, SIZES[0]))
            if zeros:
                x[rng.random(x.shape) < zeros] = 0
            np.savetxt(out, np.column_stack([rng.integers(0, 10, n), x]), fmt="%d",
                       delimiter=",")
    tmp.replace(path)


def write_network(path: Path, seed: int = 0) -> None:
    """784-128-64-10, sigmoid/sigmoid/softmax, categorical cross-entropy, by yaml.safe_dump."""
    import numpy as np
    import yaml

    rng = np.random.default_rng(seed)
    layers = []
    activations = ["sigmoid"] * (len(SIZES) - 2) + ["softmax"]
    for k, n, activation in zip(SIZES, SIZES[1:], activations, strict=False):
        limit = (6 / (k + n)) ** 0.5
        layers.append({"size": n, "activation": activation,
                       "weights": rng.uniform(-limit, limit, (n, k)).tolist(),
                       "biases": [0.0] * n})
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump({"name": "mnist-784-128-64-10", "input_size": SIZES[0],
                        "cost": "categorical_cross_entropy", "layers": layers}, f)
    tmp.replace(path)


def timed_run(cmd: list[str], out: Path, env: dict[str, str] | None = None
              ) -> tuple[float, float]:
    """(seconds from spawn to exit, CPU seconds user + system) of ``cmd``, which must exit 0
    having written ``out``. The CPU time hardly depends on what else runs on the machine (a
    loaded machine stretches the wall time); with one BLAS/OpenMP thread it is the wall time
    of a quiet machine, and our parse's second thread only adds to ours."""
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, err = child.communicate()
    seconds = time.perf_counter() - started
    if child.returncode != 0 or not out.exists():
        sys.exit(f"failed ({child.returncode}): {' '.join(cmd)}\n{err.decode()}")
    return seconds, _CPU.take()


class _Children:
    """CPU seconds of the children reaped since the last call."""

    def __init__(self) -> None:
        import resource

        self._resource = resource
        self._seen = self._now()

    def _now(self) -> float:
        usage = self._resource.getrusage(self._resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def take(self) -> float:
        now = self._now()
        spent, self._seen = now - self._seen, now
        return spent


_CPU = _Children()


# --- the phases, measured inside our command -------------------------------------------------

PHASES = ("start + imports", "checks", "network file", "CSV + scaling", "model setup",
          "epochs", "summary", "write", "exit")
# issue 16.1: from process start to the trained file on disk, all but the training itself
LOAD_AND_WRITE = ("start + imports", "checks", "network file", "CSV + scaling", "model setup",
                  "write")
BAR = 1.5  # seconds


def compile_package(python: str) -> str:
    """Compile the bytecode of the backprop_cli that ``python`` imports; its directory."""
    python = os.path.abspath(python) if os.sep in python else python  # run from HERE
    where = subprocess.run([python, "-c", "import backprop_cli, os; "
                            "print(os.path.dirname(backprop_cli.__file__))"],
                           capture_output=True, text=True, check=True,
                           cwd=HERE).stdout.strip()  # as the children import it, not from cwd
    subprocess.run([python, "-m", "compileall", "-q", where], check=True)
    return where


def child(report: str, argv: list[str]) -> None:
    """Run ``backprop`` with ``argv``, recording when each step of run_train starts and ends
    (time.time(), comparable with the parent's spawn time) into the JSON file ``report``."""
    marks: dict[str, list[float]] = {}

    def wrap(owner: object, name: str, phase: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: object, **kwargs: object) -> object:
            started, cpu = time.time(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                marks.setdefault(phase, []).append(time.time() - started)
                marks.setdefault(phase + "@cpu", []).append(time.process_time() - cpu)

        setattr(owner, name, timed)

    from backprop_cli.cli import training
    from backprop_cli.train import Trainer

    run_train = training.run_train

    def entered(**kwargs: object) -> None:
        marks["entered"] = [time.time()]
        marks["entered@cpu"] = [time.process_time()]
        try:
            run_train(**kwargs)
        finally:
            marks["left"] = [time.time()]
            marks["left@cpu"] = [time.process_time()]
            with open(report, "w", encoding="utf-8") as f:
                json.dump(marks, f)

    training.run_train = entered  # type: ignore[assignment]
    for name, phase in (("load_network", "network file"), ("load_training_data", "CSV + scaling"),
                        ("start_trainer", "model setup"), ("trained_document", "write"),
                        ("write_text", "write")):
        wrap(training, name, phase)
    wrap(Trainer, "summary", "summary")
    original_run = Trainer.run

    def run(self: Trainer, *args: object, **kwargs: object) -> object:
        started, cpu = time.time(), time.process_time()
        yield from original_run(self, *args, **kwargs)
        marks.setdefault("epochs", []).append(time.time() - started)
        marks.setdefault("epochs@cpu", []).append(time.process_time() - cpu)

    Trainer.run = run  # type: ignore[assignment,method-assign]
    sys.argv = ["backprop", *argv]
    from backprop_cli.__main__ import main

    main()


def phases(ours: list[str], argv: list[str], out: Path, cache: Path
           ) -> tuple[dict[str, float], dict[str, float]]:
    """(wall seconds, CPU seconds) of each phase of one run of our command."""
    report = cache / "phases.json"
    report.unlink(missing_ok=True)
    out.unlink(missing_ok=True)
    python = str(Path(ours[0]).parent / "python") if ours[0].endswith("backprop") \
        else sys.executable
    env = {**os.environ, "WHOLE_RUN_SPAWN": repr(time.time())}
    spawn = time.time()
    _CPU.take()
    done = subprocess.run([python, __file__, "--child", str(report), "--", *argv],
                          capture_output=True, env=env, check=False)
    end, total_cpu = time.time(), _CPU.take()
    if done.returncode != 0 or not out.exists():
        sys.exit(f"phases run failed: {done.stderr.decode()}")
    marks = json.loads(report.read_text(encoding="utf-8"))
    got = {phase: sum(marks.get(phase, [0.0])) for phase in PHASES}
    got["start + imports"] = marks["entered"][0] - spawn
    got["exit"] = end - marks["left"][0]
    inside = sum(got[p] for p in ("network file", "CSV + scaling", "model setup", "epochs",
                                  "summary", "write"))
    got["checks"] = marks["left"][0] - marks["entered"][0] - inside  # and the summary's print
    got["total"] = end - spawn
    cpu = {phase: sum(marks.get(phase + "@cpu", [0.0])) for phase in PHASES}
    cpu["start + imports"] = marks["entered@cpu"][0]
    cpu["exit"] = total_cpu - marks["left@cpu"][0]
    cpu["checks"] = marks["left@cpu"][0] - marks["entered@cpu"][0] - sum(
        cpu[p] for p in ("network file", "CSV + scaling", "model setup", "epochs", "summary",
                         "write"))
    cpu["total"] = total_cpu
    return got, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--phases", type=int, default=0, metavar="N",
                        help="runs of our command with its steps timed (median printed)")
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--zeros", type=float, default=0.0,
                        help="fraction of pixels that are 0 (MNIST: ≈ 0.8); default 0")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/backprop-whole-run"))
    parser.add_argument("--bin", default=str(Path(sys.executable).parent / "backprop"),
                        help="our command (default: backprop beside this Python)")
    parser.add_argument("--torch-python", default=sys.executable)
    parser.add_argument("--no-torch", action="store_true", help="time our command only")
    parser.add_argument("--no-compile", action="store_true",
                        help="do not compile our package's bytecode first")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rest)
        return

    args.cache.mkdir(parents=True, exist_ok=True)
    data = args.cache / f"mnist-{args.rows}-z{args.zeros:g}.csv"
    net = args.cache / "net-784-128-64-10.yaml"
    if not data.exists():
        write_data(data, args.rows, args.zeros)
    if not net.exists():
        write_network(net)
    ours_out, torch_out = args.cache / "trained.yaml", args.cache / "trained.pt"
    common = ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
              "--dtype", args.dtype]
    argv = ["train", str(net), str(data), "--target", "label", *common, "-o", str(ours_out),
            "--force", "--quiet"]
    ours = [args.bin, *argv]
    reference = [args.torch_python, str(HERE / "whole_run_torch.py"), str(net), str(data),
                 str(torch_out), "--target", "label", *common]
    print(os.popen("uptime").read().strip())
    ours_python = str(Path(args.bin).parent / "python") if args.bin.endswith("backprop") \
        else sys.executable
    if args.no_compile:
        print("bytecode: not compiled first (--no-compile): without __pycache__, our modules "
              "compile from source at every start")
    else:
        print(f"bytecode: compiled {compile_package(ours_python)} (python -m compileall), as "
              "an installed package has it")
    print(f"data {data} ({data.stat().st_size / 1e6:.0f} MB, {args.rows} rows), network {net} "
          f"({net.stat().st_size / 1e6:.1f} MB, yaml.safe_dump)")
    print(f"env: OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print("ours:  " + " ".join(ours))
    if not args.no_torch:
        print("torch: " + " ".join(reference))
    times: dict[str, list[float]] = {"ours": [], "torch": []}
    cpu: dict[str, list[float]] = {"ours": [], "torch": []}
    _CPU.take()
    for _ in range(args.runs):
        for name, cmd, out in (("ours", ours, ours_out), ("torch", reference, torch_out)):
            if name == "torch" and args.no_torch:
                continue
            wall, spent = timed_run(cmd, out)
            times[name].append(wall)
            cpu[name].append(spent)
        print("round: " + "  ".join(f"{k} {v[-1]:.2f} s (CPU {cpu[k][-1]:.2f} s)"
                                    for k, v in times.items() if v), flush=True)
    for what, figures in (("wall", times), ("CPU", cpu)):
        for name, t in figures.items():
            if t:
                print(f"{name:<6} {what:<4} median {statistics.median(t):.2f} s  (min "
                      f"{min(t):.2f}, max {max(t):.2f})")
        if figures["torch"]:
            rounds = [a / b for a, b in zip(figures["torch"], figures["ours"], strict=True)]
            ratio = statistics.median(figures["torch"]) / statistics.median(figures["ours"])
            print(f"torch/ours ({what}): {ratio:.2f} (medians); per round median "
                  f"{statistics.median(rounds):.2f}, range {min(rounds):.2f}–{max(rounds):.2f}")
    if args.phases:
        runs = [phases(ours, argv, ours_out, args.cache) for _ in range(args.phases)]
        for kind, got in (("wall", [r[0] for r in runs]), ("CPU", [r[1] for r in runs])):
            print(f"\nour phases, {kind} seconds, median of {args.phases} runs (each run):")
            for phase in (*PHASES, "total"):
                values = [g[phase] for g in got]
                print(f"  {phase:<16} {statistics.median(values):6.3f}   "
                      f"({' '.join(f'{v:.3f}' for v in values)})")
            rest = [g["total"] - g["epochs"] for g in got]
            print(f"  {'all but epochs':<16} {statistics.median(rest):6.3f}   "
                  f"({' '.join(f'{v:.3f}' for v in rest)})")
            load = [sum(g[p] for p in LOAD_AND_WRITE) for g in got]
            median = statistics.median(load)
            print(f"  start + load + write {median:.3f} s (median; "
                  f"{' '.join(f'{v:.3f}' for v in load)}): the ≤ {BAR} s bar is "
                  f"{'met' if median <= BAR else 'NOT met'}")
    print(os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
