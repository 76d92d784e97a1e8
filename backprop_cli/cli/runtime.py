"""Process plumbing of the command line: the app and its group (stdout that accounts for every
byte, THE one place a BackpropError is printed: :meth:`Group.invoke`), stderr messages, the
presenters' options, atomic writes, and train's signals and log. Nothing here loads numpy."""

from __future__ import annotations

import errno
import io
import os
import sys
from pathlib import Path
from typing import Any, TextIO, cast

import typer
from typer.core import TyperGroup

from backprop_cli.errors import BackpropError, clip_lines, clip_quoted, printable
from backprop_cli.io.atomic import own_stream
from backprop_cli.present.notation import to_ascii, unicode_ok


class App(typer.Typer):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line. Typer builds a click command of every command's signature
        before it parses one (≈ 35 ms for all of them): when the first argument names a
        command, only that one is built (the group's help, and its errors, need them all)."""
        _safe_streams()
        every = self.registered_commands
        argv = kwargs.get("args", args[0] if args else None)
        first = (sys.argv[1:] if argv is None else list(argv))[:1]
        asked = [c for c in every if first and c.callback is not None and first[0] == (
            c.name or typer.main.get_command_name(c.callback.__name__))]
        if len(asked) == 1:
            self.registered_commands = asked
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self.registered_commands = every


EXIT_CLOSED_PIPE = 128 + 13  # SIGPIPE's, what a shell reports for `… | head -1`


class _StdoutFailed(Exception):
    """Writing stdout failed with ``error``: told apart from any other OSError, and out of
    reach of click's handler of a closed pipe (exit 1, which is `check`'s "failed")."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _WholeWrites(io.RawIOBase):
    """The file descriptor of stdout, each write written whole or an error raised (a raw
    stream may write part of a long text and drop the rest: with PYTHONUNBUFFERED, a disk
    that fills up or a pipe whose reader leaves). After :meth:`drop`, writes are dropped."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.dropped = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        from backprop_cli.io.atomic import write_all

        return len(memoryview(data).cast("B")) if self.dropped else write_all(self.fd, data)

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return os.isatty(self.fd)

    def drop(self) -> None:
        self.dropped = True


def _whole_writes(real: TextIO) -> tuple[TextIO, _WholeWrites | None]:
    """``real`` (stdout) as a text stream of its own whose bytes all reach its file
    descriptor or raise; ``real`` itself where it has none (a test's capture)."""
    try:
        fd = real.fileno()
        real.flush()
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return real, None
    raw = _WholeWrites(fd)
    text = io.TextIOWrapper(io.BufferedWriter(raw), encoding=real.encoding,
                            errors=real.errors,
                            line_buffering=bool(real.line_buffering))
    return cast(TextIO, text), raw


class _Stdout:
    """sys.stdout while a command runs: a write error becomes :class:`_StdoutFailed`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            raise _StdoutFailed(exc) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            raise _StdoutFailed(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class Group(TyperGroup):
    def invoke(self, ctx: Any) -> Any:  # a click Context (typer vendors click)
        """Every command's BackpropError, printed once to stderr, exit with its code: the one
        error boundary of the command line (inside the stdout proxy of :meth:`main`)."""
        try:
            return super().invoke(ctx)
        except BackpropError as exc:
            raise typer.Exit(report_error(exc)) from None
        except OSError as exc:  # a file-system condition no command foresaw (EIO on a read)
            name = f"{exc.filename}: " if exc.filename else ""
            raise typer.Exit(report_error(BackpropError(
                f"{name}{exc.strerror or exc}; check the file and the disk it is on"))) from None

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Every command, its help included, with stdout's write errors handled here: a
        closed pipe exits 141 silently; any other (a full disk) is one error, exit 2."""
        real = sys.stdout
        if real is None:  # pragma: no cover - pythonw
            return super().main(*args, **kwargs)
        given = kwargs.get("args", args[0] if args else None)
        if not (sys.argv[1:] if given is None else given):
            # No command: a usage error (exit 2), so the help goes to stderr with it; it is on
            # stdout when asked for (--help).
            sys.stdout = sys.stderr
            try:
                return super().main(*args, **kwargs)
            finally:
                sys.stdout = real
        whole, raw = _whole_writes(real)
        proxy = cast(TextIO, _Stdout(whole))
        sys.stdout = proxy
        try:
            try:
                return super().main(*args, **kwargs)
            except MemoryError:
                raise SystemExit(report_error(_out_of_memory())) from None
            finally:
                proxy.flush()
        except _StdoutFailed as failed:
            sys.stdout = io.StringIO()  # drop what is still buffered for the broken stream
            if raw is not None:
                raw.drop()
            if failed.error.errno == errno.EPIPE:
                raise SystemExit(EXIT_CLOSED_PIPE) from None
            from backprop_cli.errors import OutputError

            reason = failed.error.strerror or str(failed.error)
            raise SystemExit(report_error(OutputError(f"cannot write the output: {reason}"))
                             ) from None
        finally:
            if sys.stdout is proxy:
                sys.stdout = real


def _out_of_memory() -> BackpropError:
    """MemoryError anywhere in a command: the network (or its output in this format) does
    not fit in memory; name what streams instead."""
    from backprop_cli.errors import OutputError

    return OutputError(
        "out of memory: the network or its output in this format does not fit in memory; "
        "use a streamed format (analyze --format ndjson or csv, --data with a smaller "
        "--chunk-rows), --limit, --top or --layer to show less, or a smaller network")


def _safe_streams() -> None:
    """On a stdout or stderr that is not UTF-8 (PYTHONIOENCODING=ascii, a latin-1 locale), a
    character the presenters did not already write as ASCII (a class label, a file name, the
    help) becomes a backslash escape instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if not unicode_ok(stream) and isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


app = App(
    name="backprop",
    cls=Group,
    help="Make backpropagation visible: every chain-rule factor of every weight and bias.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    # markdown: help paragraphs are re-wrapped, and "[default: …]" is text, not rich markup.
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def report_error(error: BackpropError) -> int:
    """Print the error once, to stderr; its exit code."""
    say(f"backprop: {error.heading}{error}")
    return error.exit_code


def say(message: str) -> None:
    """One line on stderr; its symbols in ASCII where stderr is not UTF-8, control characters
    from the input as escapes (``\\x1b``), long quoted values and lines cut (errors.clip_quoted,
    errors.clip_lines)."""
    message = clip_lines(clip_quoted(printable(message)))
    sys.stderr.write((message if unicode_ok(sys.stderr) else to_ascii(message)) + "\n")


def present(kind: str, fmt: str, report: object, *, limit: int = 25,
             precision: int | None = None, ascii_: bool = False, fragment: bool = False,
             compact: bool = False, output: Path | None = None, force: bool = False) -> None:
    """``report`` drawn by the presenter of ``kind`` in ``fmt`` (present.PRESENTERS) on stdout,
    or atomically into ``output``. --limit 0 shows every row; ASCII also on a stdout that is
    not UTF-8."""
    from backprop_cli.present import Options, presenter

    options = Options(precision=precision, limit=None if limit == 0 else limit,
                      ascii=ascii_ or (output is None and not unicode_ok(sys.stdout)),
                      width=table_width(), fragment=fragment, compact=compact)
    render = presenter(kind, fmt)
    if output is None and fmt not in _TEXT_DOCUMENTS:
        render(report, sys.stdout, options)
        return
    text = io.StringIO()
    render(report, text, options)
    document = text.getvalue()
    write_text(printable(document) if fmt in _TEXT_DOCUMENTS else document, output,
                force=force)


# Formats whose text from the files (a name, a label) is escaped here: tables escape it in
# their console, JSON escapes it itself; CSV and NDJSON keep it exact, as data.
_TEXT_DOCUMENTS = ("markdown", "latex", "text")


MIN_COLUMNS = 20  # a narrower COLUMNS (0, negative, tiny) would print nothing: ignored


def table_width() -> int | None:
    """None: rich asks the terminal; else COLUMNS, or 80 when stdout is not a terminal."""
    try:
        columns: int | None = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = None
    if columns is not None and columns < MIN_COLUMNS:
        if not sys.stdout.isatty():
            return 80
        try:  # rich would take COLUMNS as it is: ask the terminal instead
            size = os.get_terminal_size(sys.stdout.fileno()).columns
        except (OSError, ValueError):
            size = 0
        return size if size >= MIN_COLUMNS else 80
    if sys.stdout.isatty():
        return None
    return 80 if columns is None else columns


def readable(net_file: Path, *csv_files: Path | None) -> None:
    """Name an input that cannot be read (no such file, permission, a symlink loop …) as an
    input, before the outputs are compared with the inputs."""
    from backprop_cli.io.inputs import csv_stat, network_stat

    network_stat(net_file)
    for path in csv_files:
        if path is not None:
            csv_stat(path)


def write_text(text: str | bytes, output: Path | None, *, force: bool,
                option: str = "--output") -> None:
    """To stdout, or to ``output`` atomically (see :mod:`backprop_cli.io.atomic`); without
    ``force`` a file that another process created at ``output`` meanwhile is kept. Bytes (a
    model file) go to ``output`` only."""
    if output is None:
        assert isinstance(text, str)
        sys.stdout.write(text)
        return
    from backprop_cli.errors import OutputError
    from backprop_cli.io.atomic import write_atomic

    try:
        write_atomic(output, text, replace=force)
    except FileExistsError:
        raise created_meanwhile(option, output) from None
    except OSError as exc:
        if exc.errno == errno.EPIPE and own_stream(output) is not None:  # -o /dev/stdout | head
            raise SystemExit(EXIT_CLOSED_PIPE) from None
        raise OutputError(f"{output}: cannot write: {exc.strerror}") from None


def created_meanwhile(option: str, output: object) -> BackpropError:
    """An output that another process created after the checks (without --force)."""
    from backprop_cli.errors import OutputError

    return OutputError(f"{option} {output} was created by another process while this one "
                       "ran; it was kept, and nothing was written: add --force to overwrite it")


class StopSignals:
    """SIGINT (Ctrl-C) and SIGTERM while training: the first asks to stop after the batch
    (``requested`` holds its number); a second one stops at once (KeyboardInterrupt), except
    while ``writing`` --out, when it waits, so that no temporary file is left behind. The
    previous handlers are back on leaving the ``with`` (or after :meth:`restore`)."""

    def __init__(self) -> None:
        self.requested = 0
        self.writing = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        import contextlib
        import signal

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.requested and not self.writing:
            raise KeyboardInterrupt
        self.requested = self.requested or signum

    @property
    def signum(self) -> int:
        """The signal that asked to stop (SIGINT if none did: a KeyboardInterrupt)."""
        import signal

        return self.requested or signal.SIGINT

    def restore(self) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()


def _open_log(log: str | None, force: bool = False) -> TextIO | None:
    """None, stdout ('-'), or FILE opened for writing (streamed, not atomic: a log grows);
    without ``force`` a file that appeared since the checks is refused, not truncated."""
    if log is None:
        return None
    if log == "-":
        return sys.stdout
    from backprop_cli.errors import OutputError
    from backprop_cli.io.atomic import open_stream

    try:
        return open_stream(Path(log), exclusive=not force)  # /dev/stdout …: never truncated
    except FileExistsError:
        raise created_meanwhile("--log", log) from None
    except OSError as exc:
        raise OutputError(f"--log {log}: cannot write: {exc.strerror}") from None


class TrainLog:
    """train's --log: one JSON object per epoch, to FILE or stdout ('-'). A write that fails
    (a full disk, a closed pipe) ends the log, not the training: one warning on stderr (none
    for a closed pipe, whose reader has gone) and --out is still written."""

    def __init__(self, log: str | None, force: bool = False) -> None:
        self.name = log
        self.stream = _open_log(log, force)

    def write(self, line: str) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(line)
            self.stream.flush()
        except (OSError, _StdoutFailed) as exc:
            error = exc.error if isinstance(exc, _StdoutFailed) else exc
            self.close()
            # on stdout, the summary after it fails too: that is the one message
            if error.errno != errno.EPIPE and not isinstance(exc, _StdoutFailed):
                say(f"backprop: warning: --log {self.name}: cannot write: {error.strerror}; "
                    "training goes on without the log")

    def close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None and stream is not sys.stdout:
            import contextlib

            with contextlib.suppress(OSError):  # a failed write was reported; its rest dropped
                stream.close()
