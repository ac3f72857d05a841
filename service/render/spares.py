"""Keep ``dot`` processes started ahead of need, so a new diagram skips start-up.

Starting Graphviz (``prlimit``, then ``dot`` loading its libraries and
plugin list) is about a third of a small diagram's time. A spare is a
``dot`` started earlier with the same command and caps as a cold run,
blocked on an empty stdin pipe: it uses no CPU and under 1 MB of private
memory while it waits. A render takes a spare, writes the DOT into its pipe
and closes it; ``dot`` draws the graph and exits, and a replacement starts
while it lays out. If this process dies, the pipes close and every spare
reads the end of its input and exits on its own.

Spares are not warmed with a throw-away graph first, although that would
also skip Pango and fontconfig start-up: after a first graph, Graphviz 2.43
sometimes orders clusters differently (2 of 120 svg and 22 of 120 pdf
renders in a trial; the order seems to follow memory addresses), so the
second graph's picture would not always match a cold run byte for byte.

Anything odd about a spare (it exited, it wrote something before it was
given a graph, it is not running the ``dot`` a cold run would start now, or
its caps differ) sets it aside and the render runs cold: a bad spare never
fails a request. One still starting (``prlimit`` has not become ``dot`` yet)
is kept for the next render.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque

from service.errors import GraphvizMissingError
from service.limits import Limits
from service.render.graphviz import (
    GraphvizRun,
    build_graphviz_command,
    render_graphviz,
    start_graphviz,
)

logger = logging.getLogger(__name__)

#: How long ``close`` waits for spares other threads are starting right now.
_CLOSE_WAIT_SECONDS = 10.0

_Idle = dict[str, deque[GraphvizRun]]

#: A spare whose ``prlimit`` has not become ``dot`` yet.
_STARTING = "starting"


class GraphvizSpares:
    """Up to ``per_format`` waiting ``dot`` processes for each format asked for.

    Thread-safe: any number of render threads may call ``render`` at once.
    Spares of a format are started lazily, the first time it is rendered;
    each render then starts at most one, and only while fewer than
    ``per_format`` of its format are waiting or starting. ``close`` stops
    them all; a collected pool stops its spares too.
    """

    def __init__(self, limits: Limits, per_format: int) -> None:
        if per_format < 0:
            raise ValueError(f"per_format must not be negative, got {per_format}.")
        self.limits = limits
        self.per_format = per_format
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._idle: _Idle = {}
        self._starting: dict[str, int] = {}
        self._closed = False
        self._finalizer = weakref.finalize(self, _stop_all, self._idle)

    def render(self, dot_text: str, fmt: str, limits: Limits) -> bytes:
        """Draw ``dot_text`` in ``fmt`` as ``render_graphviz`` does, on a spare if any.

        Same errors, same caps, same bytes as a cold run. ``limits`` other
        than the pool's (its spares carry the pool's caps) render cold.
        """
        if self.per_format == 0 or limits != self.limits:
            return render_graphviz(dot_text, fmt, limits)
        command = build_graphviz_command(fmt, limits)

        started = time.monotonic()
        deadline = started + limits.render_timeout_seconds
        run = self._take(fmt, command)
        if run is not None and not self._hand_over(run, dot_text, deadline):
            run = None
        if run is None:
            run = start_graphviz(command, fmt, dot_text)
        # The replacement starts while ``run`` lays out, so the next render
        # of this format finds a spare waiting.
        self._replenish(fmt, command)
        output = run.finish(limits, deadline)
        logger.debug(
            "Graphviz rendered %s: %d bytes in %.3fs",
            fmt,
            len(output),
            time.monotonic() - started,
        )
        return output

    def idle_pids(self, fmt: str | None = None) -> list[int]:
        """Return the process ids of the spares waiting now (of ``fmt``, or all)."""
        with self._lock:
            return [
                spare.pid
                for name, spares in self._idle.items()
                if fmt is None or name == fmt
                for spare in spares
            ]

    def close(self) -> None:
        """Stop and reap every spare; later renders run cold.

        Waits (boundedly) for spares other threads are starting at this
        moment, so none is left behind once this returns.
        """
        with self._changed:
            self._closed = True
            self._changed.wait_for(
                lambda: not any(self._starting.values()), _CLOSE_WAIT_SECONDS
            )
            idle = dict(self._idle)
            self._idle.clear()
        count = sum(len(spares) for spares in idle.values())
        _stop_all(idle)
        logger.info("graphviz spares stopped count=%d", count)

    def _take(self, fmt: str, command: tuple[str, ...]) -> GraphvizRun | None:
        """Return a waiting spare of ``fmt`` fit to run ``command``, or None."""
        with self._lock:
            waiting = self._idle.get(fmt)
            spare = waiting.popleft() if waiting else None
        if spare is None:
            return None

        problem = _find_problem(spare, command)
        if problem is None:
            return spare
        if problem == _STARTING:
            # Still on its way (prlimit has not become dot yet): it will be
            # ready for the next render, so it goes back in line.
            self._put_back(spare)
            return None
        _set_aside(spare, problem)
        return None

    def _put_back(self, spare: GraphvizRun) -> None:
        with self._lock:
            if not self._closed:
                self._idle.setdefault(spare.fmt, deque()).append(spare)
                return
        spare.stop()

    def _hand_over(self, spare: GraphvizRun, dot_text: str, deadline: float) -> bool:
        """Give ``dot_text`` to ``spare``; False when it was gone before reading any."""
        data = dot_text.encode("utf-8")
        if spare.feed(data, self.limits, deadline) == 0 and data:
            _set_aside(spare, "exited")
            return False
        return True

    def _replenish(self, fmt: str, command: tuple[str, ...]) -> None:
        """Start one spare of ``fmt`` unless enough are waiting or starting."""
        with self._lock:
            waiting = len(self._idle.get(fmt, ()))
            starting = self._starting.get(fmt, 0)
            if self._closed or waiting + starting >= self.per_format:
                return
            self._starting[fmt] = starting + 1

        spare: GraphvizRun | None = None
        try:
            spare = start_graphviz(command, fmt)
        except (GraphvizMissingError, OSError):
            # Only the next render's speed depends on it; say so and go on.
            logger.warning("graphviz spare could not start format=%s", fmt)
        finally:
            self._settle(fmt, spare)

    def _settle(self, fmt: str, spare: GraphvizRun | None) -> None:
        """Put a just-started ``spare`` in line, or stop it if the pool closed."""
        with self._lock:
            if spare is not None and not self._closed:
                self._idle.setdefault(fmt, deque()).append(spare)
                spare = None
        if spare is not None:
            spare.stop()
        with self._changed:
            self._starting[fmt] -= 1
            self._changed.notify_all()


def _find_problem(spare: GraphvizRun, command: tuple[str, ...]) -> str | None:
    """Return why ``spare`` must not draw with ``command``, or None when it may."""
    if spare.command != command:
        return "command-changed"
    if spare.has_exited():
        return "exited"
    program = spare.running_program()
    if program == os.path.realpath(command[-2]):
        return "wrote-before-input" if spare.has_written() else None
    if program is not None and program == os.path.realpath(command[0]):
        return _STARTING
    return "not-dot"


def _set_aside(spare: GraphvizRun, reason: str) -> None:
    logger.warning("graphviz spare set aside format=%s reason=%s", spare.fmt, reason)
    spare.stop()


def _stop_all(idle: _Idle) -> None:
    """Stop every spare in ``idle`` (also run when the pool is collected)."""
    while idle:
        _, spares = idle.popitem()
        while spares:
            spares.popleft().stop()
