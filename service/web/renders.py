"""Parse and draw uploaded projects off the event loop, a bounded number at a time.

Each render forks Graphviz and burns a core, so the service runs at most
``Settings.max_concurrent_renders`` of them at once. A request that finds
every slot taken waits ``queue_wait_seconds`` for one, then gets a
``BusyError`` (503 with ``Retry-After``) instead of piling up processes.
Parsing and drawing happen in a worker thread, so the event loop keeps
answering other requests while a layout runs.

Diagrams are laid out by ``dot`` processes started ahead of need
(``service.render.spares``), up to one per slot and format, so a new
diagram skips Graphviz's start-up; the app's lifespan stops them.

The page and the API share one ``Renderer`` on ``app.state.renderer``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

import anyio
import anyio.to_thread

from service import compose, model, render
from service.compose import ProjectInput
from service.errors import (
    BusyError,
    GraphvizMissingError,
    LimitExceededError,
    RenderError,
)
from service.limits import Limits
from service.model import Project
from service.render.options import DiagramOptions
from service.render.spares import GraphvizSpares
from service.web.cache import (
    CachedAnswer,
    RenderCache,
    build_cache_key,
    etag_for,
)
from service.web.problems import retry_after_seconds
from service.web.settings import Settings

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

MODEL_MEDIA_TYPE = "application/json"

#: A fresh render's steps in order, as (name, seconds).
Timings: TypeAlias = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Answer:
    """A rendered body with what the response and the request log need.

    ``timings`` are a fresh render's steps in order, as (name, seconds):
    ``parse`` (reading and modelling), ``build`` (the DOT or JSON text) and,
    for images, ``graphviz`` (the time spent waiting on Graphviz). An answer
    from the cache has none.
    """

    body: bytes
    media_type: str
    key: str
    etag: str
    services: int
    cache_hit: bool
    timings: Timings = ()

    @property
    def graphviz_seconds(self) -> float:
        """Return how long this request waited on Graphviz (0 when it did not)."""
        return dict(self.timings).get("graphviz", 0.0)


@dataclass(frozen=True)
class _Rendered:
    """What a render job made, with the seconds each of its steps took."""

    answer: CachedAnswer
    timings: Timings


class _GraphvizClock:
    """Call a Graphviz renderer and add up the time spent in it."""

    def __init__(self, renderer: render.GraphvizRenderer) -> None:
        self._renderer = renderer
        self.seconds = 0.0

    def __call__(self, dot_text: str, fmt: str, limits: Limits) -> bytes:
        started = time.perf_counter()
        try:
            return self._renderer(dot_text, fmt, limits)
        finally:
            self.seconds += time.perf_counter() - started


class RenderSlots:
    """A bounded number of worker-thread jobs; callers beyond it wait, then give up."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self._slots = slots
        self._wait_seconds = wait_seconds
        self._semaphore = anyio.Semaphore(slots)
        self._busy = 0

    @property
    def busy(self) -> int:
        """Return how many slots are taken right now."""
        return self._busy

    async def run(self, job: Callable[[], _T]) -> _T:
        """Run ``job`` in a worker thread once a slot is free.

        A client that goes away does not free its slot early: the thread
        cannot be stopped, so the slot stays taken until the job ends and
        the bound on running jobs holds.
        """
        acquired = False
        with anyio.move_on_after(self._wait_seconds):
            await self._semaphore.acquire()
            acquired = True
        if not acquired:
            raise BusyError(
                f"All {self._slots} render slots are busy; retry in a moment.",
                retry_after=retry_after_seconds(self._wait_seconds),
            )

        self._busy += 1
        try:
            return await anyio.to_thread.run_sync(job)
        finally:
            self._busy -= 1
            self._semaphore.release()


class Renderer:
    """Answer diagram and model requests, from the cache when it can."""

    def __init__(self, settings: Settings) -> None:
        self.limits = settings.limits
        self.cache = RenderCache(settings.cache_entries, settings.cache_bytes)
        self.slots = RenderSlots(
            settings.max_concurrent_renders, settings.queue_wait_seconds
        )
        self._health = _HealthCheck(settings.health_cache_seconds)
        self.spares = GraphvizSpares(settings.limits, settings.spares_per_format)

    def close(self) -> None:
        """Stop the waiting Graphviz processes (renders after this run cold)."""
        self.spares.close()

    def diagram_key(
        self, project_input: ProjectInput, fmt: str, options: DiagramOptions
    ) -> str:
        """Return the cache key (and ETag source) of a diagram request."""
        return build_cache_key("diagram", project_input, fmt, options)

    def model_key(self, project_input: ProjectInput, show_values: bool) -> str:
        """Return the cache key (and ETag source) of a model request."""
        options = DiagramOptions(show_values=show_values)
        return build_cache_key("model", project_input, "json", options)

    async def render_diagram(
        self,
        project_input: ProjectInput,
        fmt: str,
        options: DiagramOptions,
        key: str | None = None,
    ) -> Answer:
        """Return the diagram of ``project_input`` in ``fmt``.

        ``key`` is ``diagram_key``'s answer when the caller already has it:
        hashing the whole input again costs as much as a cache hit.
        """
        key = key or self.diagram_key(project_input, fmt, options)
        limits = self.limits
        spares = self.spares

        def job() -> _Rendered:
            # No masking here: the diagram's graph is built from a masked copy
            # unless options.show_values (service.render.build.build_graph).
            started = time.perf_counter()
            project = compose.parse_project(project_input, limits)
            parsed = time.perf_counter()
            clock = _GraphvizClock(spares.render)
            body = render.render_diagram(project, fmt, options, limits, clock)
            drawn = time.perf_counter()

            built = drawn - parsed - clock.seconds
            timings: Timings = (("parse", parsed - started), ("build", built))
            if clock.seconds:
                timings += (("graphviz", clock.seconds),)
            answer = CachedAnswer(body, render.MEDIA_TYPES[fmt], len(project.services))
            return _Rendered(answer, timings)

        return await self._answer(key, job)

    async def render_model(
        self, project_input: ProjectInput, show_values: bool, key: str | None = None
    ) -> Answer:
        """Return the topology model of ``project_input`` as JSON (``key`` as above)."""
        key = key or self.model_key(project_input, show_values)
        limits = self.limits

        def job() -> _Rendered:
            started = time.perf_counter()
            project = _parse_for_output(project_input, show_values, limits)
            parsed = time.perf_counter()
            body = json.dumps(model.to_json(project), ensure_ascii=False)
            encoded = time.perf_counter()

            timings: Timings = (
                ("parse", parsed - started),
                ("build", encoded - parsed),
            )
            answer = CachedAnswer(
                body.encode("utf-8"), MODEL_MEDIA_TYPE, len(project.services)
            )
            return _Rendered(answer, timings)

        return await self._answer(key, job)

    async def parse_project(
        self, project_input: ProjectInput, show_values: bool = False
    ) -> Project:
        """Return the model of ``project_input``, parsed in a render slot."""
        limits = self.limits
        return await self.slots.run(
            lambda: _parse_for_output(project_input, show_values, limits)
        )

    async def check_graphviz(self) -> None:
        """Raise a ``RenderError`` unless a tiny diagram renders right now."""
        limits = self.limits
        await self._health.check(lambda: _render_probe(limits))

    async def _answer(self, key: str, job: Callable[[], _Rendered]) -> Answer:
        cached = self.cache.get(key)
        fresh = None
        if cached is None:
            fresh = await self.slots.run(job)
            cached = fresh.answer
            self.cache.put(key, cached)
        return Answer(
            body=cached.body,
            media_type=cached.media_type,
            key=key,
            etag=etag_for(key),
            services=cached.services,
            cache_hit=fresh is None,
            timings=fresh.timings if fresh else (),
        )


def _parse_for_output(
    project_input: ProjectInput, show_values: bool, limits: Limits
) -> Project:
    project = compose.parse_project(project_input, limits)
    # Masking here as well as in the renderer keeps secrets out of every
    # output even if a format forgets to honour show_values.
    return project if show_values else model.hide_values(project)


def _render_probe(limits: Limits) -> None:
    probe = Project(
        project="healthz",
        images=(model.Image(ref="healthz", source="pull", used_by=("probe",)),),
        services=(
            model.Service(name="probe", image="healthz", containers=("healthz-1",)),
        ),
    )
    render.render_diagram(probe, "svg", DiagramOptions(legend=False), limits)


class _HealthCheck:
    """Run the Graphviz probe at most once per period, however often it is asked."""

    def __init__(self, period_seconds: float) -> None:
        self._period = period_seconds
        self._lock = anyio.Lock()
        self._checked_at: float | None = None
        self._error: RenderError | None = None

    async def check(self, probe: Callable[[], None]) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._checked_at is None or now - self._checked_at >= self._period:
                self._error = await _run_probe(probe)
                self._checked_at = time.monotonic()
        if self._error is not None:
            raise self._error


async def _run_probe(probe: Callable[[], None]) -> RenderError | None:
    try:
        await anyio.to_thread.run_sync(probe)
    except GraphvizMissingError as exc:
        logger.warning("graphviz probe failed error=%s", type(exc).__name__)
        return exc
    except (RenderError, LimitExceededError) as exc:
        # A health check answers "usable or not": a crash, a timeout or the
        # memory limit on a two-node diagram means Graphviz is not usable here.
        logger.warning("graphviz probe failed error=%s", type(exc).__name__)
        missing = GraphvizMissingError(
            f"Graphviz could not draw a two-node test diagram: {exc.message}"
        )
        missing.__cause__ = exc
        return missing
    return None
