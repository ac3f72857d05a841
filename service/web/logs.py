"""One INFO line per request, with what an operator needs and nothing a user sent.

Handlers add facts with ``note(request, ...)`` (format, services, bytes read,
cache outcome); the middleware adds the route, status and duration and writes
the line when the response is done. Compose content and environment values
never reach the log: they may hold secrets.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

_FIELDS = "request_log"
_STARTED = "request_started"


def note(request: Request, **fields: Any) -> None:
    """Add facts about this request to its log line."""
    log_fields(request.scope).update(fields)


def log_fields(scope: Scope) -> dict[str, Any]:
    """Return the facts gathered for this request's line (a spare when none is kept)."""
    fields: dict[str, Any] | None = scope.get("state", {}).get(_FIELDS)
    return fields if fields is not None else {}


def seconds_since_start(request: Request) -> float | None:
    """Return how long this request has been in the app (None outside the log)."""
    started: float | None = request.scope.get("state", {}).get(_STARTED)
    return None if started is None else time.perf_counter() - started


class RequestLogMiddleware:
    """Write one line per HTTP request once its response has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        fields: dict[str, Any] = {}
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        state[_FIELDS] = fields
        state[_STARTED] = started
        outcome = {"status": 500, "bytes_out": 0}

        async def send_counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
            elif message["type"] == "http.response.body":
                outcome["bytes_out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            _write_line(scope, fields, outcome, time.perf_counter() - started)


def _write_line(
    scope: Scope, fields: dict[str, Any], outcome: dict[str, int], seconds: float
) -> None:
    # The route's template, never the raw path: a Kroki URL carries the
    # compressed compose file in its path.
    route = scope.get("route")
    logger.info(
        "%s %s status=%d format=%s services=%s bytes_in=%s bytes_out=%d "
        "cache=%s graphviz_ms=%s duration_ms=%.1f",
        scope["method"],
        getattr(route, "path", "-"),
        outcome["status"],
        fields.get("format", "-"),
        fields.get("services", "-"),
        fields.get("bytes_in", "-"),
        outcome["bytes_out"],
        fields.get("cache", "-"),
        fields.get("graphviz_ms", "-"),
        seconds * 1000,
    )
