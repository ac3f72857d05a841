"""Run Graphviz's ``dot`` on DOT text, inside a time, memory and output budget.

This is the only place the renderer leaves Python. ``dot`` runs without a
shell, in its own process group, with an empty environment apart from
``PATH``, under ``prlimit`` caps on address space, CPU time and file size,
and with its output in anonymous temporary files (so the file-size cap also
bounds the output). Its input is a temporary file too, or, for a ``dot``
started ahead of need (``service.render.spares``), a pipe written later. On
timeout the whole group is killed and reaped. Every failure leaves as one of
our RenderError subclasses.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from typing import IO

from service.errors import (
    GraphvizMissingError,
    InputError,
    LimitExceededError,
    RenderFailedError,
    RenderTimeoutError,
)
from service.limits import Limits

logger = logging.getLogger(__name__)

#: Graphviz output formats we ask for, by our format name.
GRAPHVIZ_FORMATS = {"svg": "svg", "png": "png", "pdf": "pdf"}

#: Graphviz picks fonts and plugins through these; everything else is dropped.
_ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8"}

_STDERR_LIMIT = 2_000

#: What dot writes to stderr when it runs out of its address-space budget.
_MEMORY_SIGNS = (
    "out of memory",
    "could not load",
    "cannot allocate",
    "error creating thread",
    "bad_alloc",
    "failed to map segment",
)

#: Cairo stamps PDFs with the time of rendering and ignores SOURCE_DATE_EPOCH.
_PDF_DATE = re.compile(rb"(/CreationDate \(D:)(\d{14})")
_FIXED_PDF_DATE = b"19700101000000"
_VERSION_TIMEOUT_SECONDS = 5.0


def find_dot() -> str | None:
    """Return the path of the ``dot`` executable, or None when it is not installed."""
    return shutil.which("dot")


def check_graphviz() -> str:
    """Return the Graphviz version line; raise GraphvizMissingError when dot cannot run.

    Meant for start-up and health checks, so a missing Graphviz is reported
    once and plainly instead of on every render.
    """
    dot = _require_dot()
    try:
        completed = subprocess.run(
            [dot, "-V"],
            capture_output=True,
            timeout=_VERSION_TIMEOUT_SECONDS,
            env=_ENVIRONMENT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise GraphvizMissingError(
            f"Graphviz 'dot' at {dot!r} could not be run; reinstall Graphviz."
        ) from exc
    version = completed.stderr.decode("utf-8", "replace").strip()
    if completed.returncode != 0 or "graphviz" not in version.lower():
        raise GraphvizMissingError(
            f"Graphviz 'dot' at {dot!r} did not report a version; reinstall Graphviz."
        )
    return version


def is_graphviz_available() -> bool:
    """Tell whether ``dot`` is installed and answers ``dot -V``."""
    try:
        check_graphviz()
    except GraphvizMissingError:
        return False
    return True


def render_graphviz(dot_text: str, fmt: str, limits: Limits) -> bytes:
    """Lay out ``dot_text`` with Graphviz and return the image in ``fmt``.

    Raises GraphvizMissingError, RenderTimeoutError, RenderFailedError, or
    LimitExceededError when the output or the memory passes its limit;
    nothing else escapes, and no Graphviz process outlives the call.
    """
    command = build_graphviz_command(fmt, limits)

    started = time.monotonic()
    run = start_graphviz(command, fmt, dot_text)
    output = run.finish(limits, started + limits.render_timeout_seconds)
    logger.debug(
        "Graphviz rendered %s: %d bytes in %.3fs",
        fmt,
        len(output),
        time.monotonic() - started,
    )
    return output


def build_graphviz_command(fmt: str, limits: Limits) -> tuple[str, ...]:
    """Return the command that runs ``dot`` for ``fmt`` under ``limits``' caps.

    Raises InputError for a format Graphviz does not draw for us, and
    GraphvizMissingError when ``dot`` is not on PATH (looked up every time,
    so a Graphviz removed or replaced after start-up is noticed).
    """
    if fmt not in GRAPHVIZ_FORMATS:
        raise InputError(
            f"Graphviz cannot produce {fmt!r}; use one of svg, png or pdf.",
            key="format",
        )
    return tuple(_build_command(_require_dot(), GRAPHVIZ_FORMATS[fmt], limits))


def start_graphviz(
    command: tuple[str, ...], fmt: str, dot_text: str | None = None
) -> GraphvizRun:
    """Start ``command`` on ``dot_text``, or on an open stdin pipe when it is None.

    Its output and complaints go to anonymous temporary files, so the
    ``--fsize`` cap bounds the output and nothing of it lingers on disk.
    Raises GraphvizMissingError when the program cannot be started.
    """
    with contextlib.ExitStack() as cleanup:
        stdout = cleanup.enter_context(tempfile.TemporaryFile())
        stderr = cleanup.enter_context(tempfile.TemporaryFile())
        stdin: IO[bytes] | int = subprocess.PIPE
        if dot_text is not None:
            stdin = cleanup.enter_context(tempfile.TemporaryFile())
            stdin.write(dot_text.encode("utf-8"))
            stdin.seek(0)
        process = _spawn(command, stdin, stdout, stderr)
        # The files now belong to the run; only the stdin file is closed
        # here, the child keeps its own descriptor of it.
        cleanup.pop_all()
    if not isinstance(stdin, int):
        stdin.close()
    return GraphvizRun(process, command, fmt, stdout, stderr)


def _spawn(
    command: tuple[str, ...],
    stdin: IO[bytes] | int,
    stdout: IO[bytes],
    stderr: IO[bytes],
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            command,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=_ENVIRONMENT,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        raise GraphvizMissingError(
            f"Graphviz could not be started ({exc.strerror}); check the installation."
        ) from exc


class GraphvizRun:
    """One started ``dot`` process with the files it writes its output to.

    Whoever holds a run ends it with ``finish`` (a rendered image or one of
    our errors) or ``stop``; both kill what is left of its process group,
    reap it and close its files.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        command: tuple[str, ...],
        fmt: str,
        stdout: IO[bytes],
        stderr: IO[bytes],
    ) -> None:
        self.process = process
        self.command = command
        self.fmt = fmt
        self._stdout = stdout
        self._stderr = stderr

    @property
    def pid(self) -> int:
        """Return the process id (prlimit's, which becomes ``dot``'s)."""
        return self.process.pid

    def has_exited(self) -> bool:
        """Tell whether the process has ended (and reap it if so)."""
        return self.process.poll() is not None

    def running_program(self) -> str | None:
        """Return the file the process runs now, or None when it cannot be told.

        Starting, it is ``prlimit``; then ``dot``, unless a script stands in
        for it. The kernel adds " (deleted)" to a file replaced since.
        """
        try:
            return os.readlink(f"/proc/{self.pid}/exe")
        except OSError:
            return None

    def has_written(self) -> bool:
        """Tell whether the process wrote anything to its output or error file."""
        return any(
            os.fstat(stream.fileno()).st_size > 0
            for stream in (self._stdout, self._stderr)
        )

    def feed(self, data: bytes, limits: Limits, deadline: float) -> int:
        """Write ``data`` to the stdin pipe and close it; return the bytes taken.

        The pipe is written without blocking, so a ``dot`` that stops reading
        costs at most the time left before ``deadline``: then the run is
        stopped and RenderTimeoutError raised. A process that is gone takes
        fewer bytes than offered; none at all means it never saw ``data``.
        """
        pipe = self.process.stdin
        assert pipe is not None, "feed needs a run started without DOT text"
        try:
            taken = _write_before(pipe, data, deadline)
        except subprocess.TimeoutExpired as exc:
            self.stop()
            raise _timeout_error(limits) from exc
        except BaseException:
            self.stop()
            raise
        _close_quietly(pipe)
        return taken

    def finish(self, limits: Limits, deadline: float) -> bytes:
        """Wait for the process until ``deadline`` and return its image.

        Raises RenderTimeoutError past the deadline, and LimitExceededError,
        RenderFailedError as ``render_graphviz`` does; the process group is
        gone and the files closed whatever happens.
        """
        try:
            try:
                remaining = max(0.0, deadline - time.monotonic())
                returncode = _wait_for_exit(self.process, remaining)
            except subprocess.TimeoutExpired as exc:
                raise _timeout_error(limits) from exc
            finally:
                _stop_group(self.process)
            output = _read_output(self._stdout, returncode, self._stderr, limits)
        finally:
            self._close_files()
        return _fix_pdf_date(output) if self.fmt == "pdf" else output

    def stop(self) -> None:
        """Kill the process group, reap the process and close its files."""
        try:
            _stop_group(self.process)
        finally:
            self._close_files()

    def _close_files(self) -> None:
        if self.process.stdin is not None:
            _close_quietly(self.process.stdin)
        self._stdout.close()
        self._stderr.close()


def _require_dot() -> str:
    dot = find_dot()
    if dot is None:
        raise GraphvizMissingError(
            "Graphviz is not installed: the 'dot' program was not found on PATH; "
            "install the 'graphviz' package."
        )
    return dot


def _build_command(dot: str, graphviz_format: str, limits: Limits) -> list[str]:
    """Return ``dot`` wrapped in ``prlimit`` when it exists, so limits need no preexec.

    ``preexec_fn`` is unsafe in a threaded server; ``prlimit`` sets the limits
    on itself and then becomes ``dot``, keeping the same process id.
    """
    arguments = [dot, f"-T{graphviz_format}"]
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        logger.warning("prlimit not found: Graphviz runs without memory limits")
        return arguments
    cpu_seconds = math.ceil(limits.render_timeout_seconds) + 1
    return [
        prlimit,
        f"--as={limits.render_memory_bytes}",
        f"--cpu={cpu_seconds}",
        f"--fsize={limits.max_output_bytes + 1}",
        "--core=0",
        "--",
        *arguments,
    ]


def _timeout_error(limits: Limits) -> RenderTimeoutError:
    return RenderTimeoutError(
        f"The layout took longer than {limits.render_timeout_seconds:g} seconds "
        "and was stopped; draw one service with its dependencies, or turn off "
        "layers such as depends_on."
    )


def _write_before(pipe: IO[bytes], data: bytes, deadline: float) -> int:
    """Write ``data`` to ``pipe`` until done, the reader is gone, or ``deadline``."""
    descriptor = pipe.fileno()
    os.set_blocking(descriptor, False)
    poller = select.poll()
    poller.register(descriptor, select.POLLOUT)
    view = memoryview(data)
    taken = 0
    while taken < len(view):
        try:
            taken += os.write(descriptor, view[taken:])
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(remaining * 1000):
                raise subprocess.TimeoutExpired("dot", remaining) from None
        except BrokenPipeError:
            break
    return taken


def _close_quietly(stream: IO[bytes]) -> None:
    # Closing flushes nothing (every byte went through os.write), but a pipe
    # whose reader is gone may still complain; the exit status tells why.
    try:
        stream.close()
    except OSError:
        pass


def _wait_for_exit(process: subprocess.Popen[bytes], timeout: float) -> int:
    """Return ``process``'s exit status as soon as it exits, or raise TimeoutExpired.

    ``Popen.wait(timeout=...)`` polls with sleeps that double up to 50 ms, so
    a 20 ms layout was noticed at 31 ms and a 40 ms one at 63 ms. A pidfd
    (Linux 5.3+) becomes readable the moment the process exits; elsewhere the
    polling wait is kept.
    """
    if process.returncode is not None:
        # Already reaped: its pid may belong to another process by now.
        return process.returncode
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        return process.wait(timeout=timeout)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            raise subprocess.TimeoutExpired(process.args, timeout)
    finally:
        os.close(pidfd)
    return process.wait()


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Kill whatever is left of the process group and reap ``process``."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _read_output(
    stdout: IO[bytes], returncode: int, stderr: IO[bytes], limits: Limits
) -> bytes:
    size = stdout.seek(0, os.SEEK_END)
    if size > limits.max_output_bytes or returncode == -signal.SIGXFSZ:
        raise LimitExceededError(
            f"The rendered diagram is larger than {limits.max_output_bytes} bytes; "
            "draw one service with its dependencies, or use the svg format.",
            limit="max_output_bytes",
        )
    if returncode != 0 and _is_out_of_memory(stderr):
        raise LimitExceededError(
            "Graphviz needed more than the memory limit of "
            f"{limits.render_memory_bytes} bytes and was stopped; draw one service "
            "with its dependencies, or turn off layers such as depends_on.",
            limit="render_memory_bytes",
        )
    if returncode != 0:
        raise RenderFailedError(_failure_message(returncode, stderr))
    stdout.seek(0)
    return stdout.read()


def _is_out_of_memory(stderr: IO[bytes]) -> bool:
    """Tell whether dot's complaints are those of a process out of address space.

    Under the ``prlimit --as`` cap Graphviz says "out of memory", fails to
    map its plugins ("Could not load") or to start Pango's threads, then
    exits or crashes; its stderr (which names server paths) is not quoted.
    """
    stderr.seek(0)
    said = stderr.read(_STDERR_LIMIT).decode("utf-8", "replace").lower()
    return any(sign in said for sign in _MEMORY_SIGNS)


def _failure_message(returncode: int, stderr: IO[bytes]) -> str:
    stderr.seek(0)
    detail = stderr.read(_STDERR_LIMIT).decode("utf-8", "replace").strip()
    if returncode < 0:
        name = signal.Signals(-returncode).name
        reason = f"was stopped by {name}"
        if -returncode in (signal.SIGXCPU, signal.SIGKILL):
            reason += " (CPU or memory limit)"
    else:
        reason = f"failed with exit status {returncode}"
    message = f"Graphviz {reason}."
    if detail:
        message += f" It said: {' '.join(detail.split())[:300]}"
    return message


def _fix_pdf_date(pdf: bytes) -> bytes:
    """Return ``pdf`` with its creation time replaced by a fixed one of equal length.

    Keeping the length keeps the cross-reference offsets valid, and a fixed
    date makes the same diagram give the same bytes.
    """
    return _PDF_DATE.sub(lambda match: match.group(1) + _FIXED_PDF_DATE, pdf, count=1)
