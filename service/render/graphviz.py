"""Run Graphviz's ``dot`` on DOT text, inside a time, memory and output budget.

This is the only place the renderer leaves Python. ``dot`` runs without a
shell, in its own process group, with an empty environment apart from
``PATH``, under ``prlimit`` caps on address space, CPU time and file size,
and with its input and output in anonymous temporary files (so the file-size
cap also bounds the output). On timeout the whole group is killed and reaped.
Every failure leaves as one of our RenderError subclasses.
"""

from __future__ import annotations

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
    if fmt not in GRAPHVIZ_FORMATS:
        raise InputError(
            f"Graphviz cannot produce {fmt!r}; use one of svg, png or pdf.",
            key="format",
        )
    command = _build_command(_require_dot(), GRAPHVIZ_FORMATS[fmt], limits)

    started = time.monotonic()
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        stdin.write(dot_text.encode("utf-8"))
        stdin.seek(0)
        returncode = _run(command, stdin, stdout, stderr, limits)
        output = _read_output(stdout, returncode, stderr, limits)
    if fmt == "pdf":
        output = _fix_pdf_date(output)
    logger.debug(
        "Graphviz rendered %s: %d bytes in %.3fs",
        fmt,
        len(output),
        time.monotonic() - started,
    )
    return output


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


def _run(
    command: list[str],
    stdin: IO[bytes],
    stdout: IO[bytes],
    stderr: IO[bytes],
    limits: Limits,
) -> int:
    try:
        process = subprocess.Popen(
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

    try:
        return _wait_for_exit(process, limits.render_timeout_seconds)
    except subprocess.TimeoutExpired as exc:
        raise RenderTimeoutError(
            f"The layout took longer than {limits.render_timeout_seconds:g} seconds "
            "and was stopped; draw one service with its dependencies, or turn off "
            "layers such as depends_on."
        ) from exc
    finally:
        _stop_group(process)


def _wait_for_exit(process: subprocess.Popen[bytes], timeout: float) -> int:
    """Return ``process``'s exit status as soon as it exits, or raise TimeoutExpired.

    ``Popen.wait(timeout=...)`` polls with sleeps that double up to 50 ms, so
    a 20 ms layout was noticed at 31 ms and a 40 ms one at 63 ms. A pidfd
    (Linux 5.3+) becomes readable the moment the process exits; elsewhere the
    polling wait is kept.
    """
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
