"""What besides the inputs and the seed decides the bytes of a trained network: numpy and the
BLAS under its matrix products. No printing.

OpenBLAS splits a product among its threads, and the kernels that compute the parts round
differently: the same training with ``OPENBLAS_NUM_THREADS=1`` and ``2`` (or on another CPU,
whose kernel differs) gives weights that differ in their last bits, from the first batch on.
So the trained file records, in ``training: runtime:``, what a rerun must match.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path
from typing import Any

import numpy as np


@functools.cache
def runtime() -> dict[str, Any]:
    """``numpy`` (version), ``blas`` (name and version) and, where the library tells,
    ``blas_kernel`` (OpenBLAS's core type, as OPENBLAS_CORETYPE names it) and
    ``blas_threads`` (the threads its products use now)."""
    out: dict[str, Any] = {"numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out["blas"] = f"{blas['name']} {blas.get('version', '')}".strip()
    except (KeyError, TypeError, ValueError):  # numpy < 1.26, or a build without the section
        pass
    library = _openblas()
    if library is not None:
        kernel = _call(library, "get_corename", ctypes.c_char_p)
        if isinstance(kernel, bytes):
            out["blas_kernel"] = kernel.decode("ascii", "replace")
        threads = _call(library, "get_num_threads", ctypes.c_int)
        if isinstance(threads, int):
            out["blas_threads"] = threads
    return out


def _openblas() -> ctypes.CDLL | None:
    """The OpenBLAS that numpy loaded (Linux: from /proc/self/maps); None elsewhere."""
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in maps.splitlines():
        path = line.split()[-1] if line.split() else ""
        if "openblas" in Path(path).name.lower():
            try:
                return ctypes.CDLL(path)  # already loaded: the same library, not a second one
            except OSError:
                return None
    return None


def _call(library: ctypes.CDLL, name: str, restype: Any) -> object:
    """``openblas_NAME()`` under the names numpy's builds give it (scipy-openblas prefixes
    and 64-bit-integer suffixes); None if there is none."""
    for symbol in (f"scipy_openblas_{name}64_", f"scipy_openblas_{name}", f"openblas_{name}64_",
                   f"openblas_{name}"):
        fn = getattr(library, symbol, None)
        if fn is not None:
            fn.restype = restype
            fn.argtypes = []
            value: object = fn()
            return value
    return None
