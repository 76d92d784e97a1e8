"""Output files: the rules an output must meet (checked before any work starts) and atomic
writes (a temporary file in the target's directory, then ``os.replace``). No printing: the
checks raise :class:`UsageError`, the writes ``OSError``.

A symlink is followed: its target file is replaced and the link kept. An output that exists and
is not a regular file (a FIFO, a device such as ``/dev/stdout``) is written directly, as
a stream: there is no file to replace.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from backprop_cli.errors import UsageError


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (symlinks and hard links included)."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def is_stream(path: Path) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a directory (a FIFO, a device,
    a named pipe), symlinks followed: it is written directly, not replaced."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_output(output: Path | None, inputs: list[Path], option: str = "--output", *,
                 force: bool = False, others: dict[str, Path] | None = None) -> None:
    """Refuse, before any work, an output that is one of the ``inputs`` or of the ``others``
    outputs (by option), a directory, an existing file without ``force``, or in a directory
    that is missing or cannot be written (tried with a temporary file). A FIFO or device is
    accepted as it is."""
    if output is None:
        return
    for source in inputs:
        if same_file(output, source):
            raise UsageError(f"{option} {output} is the input file {source}; the input is never "
                             f"overwritten: choose another {option}")
    for other, path in (others or {}).items():
        if same_file(output, path):
            raise UsageError(f"{option} {output} is also the {other} file; each output needs "
                             f"its own file: choose another {option}")
    if output.is_dir():
        raise UsageError(f"{option} {output} is a directory; expected a file name")
    if is_stream(output):
        return
    target = Path(os.path.realpath(output))
    if target.exists() and not force:
        raise UsageError(f"{option} {output} exists; add --force to overwrite it")
    folder = target.parent if output.is_symlink() else output.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {output}: the directory {folder} does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    except OSError as exc:
        raise UsageError(f"{option} {output}: cannot write in {folder}: "
                         f"{exc.strerror}") from None
    os.close(fd)
    os.unlink(probe)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path``: a reader sees the old file or the complete
    new one. Through a symlink the target file is replaced (the link stays); a file that is
    replaced keeps its mode, a new one gets 0666 minus the umask (mkstemp creates 0600). A
    FIFO or device is written directly.

    Raises OSError; the temporary file never stays behind (KeyboardInterrupt included).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if is_stream(path):
        with open(path, "wb") as stream:
            stream.write(payload)
        return
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
