"""Turn every failure into one kind of answer: an RFC 9457 problem, or an error image.

All errors reach the client through ``handle_problem``, the app's single
exception handler. It answers ``application/problem+json`` with the file,
line, column, service and key of the error when known. When the client asked
for a picture (a diagram URL in a documentation page's ``<img>``), a JSON body
would show as a broken image, so it answers with an SVG that spells the error
out instead, under the same status.
"""

from __future__ import annotations

import logging
import math
import textwrap
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response

from service.errors import (
    BusyError,
    ComposeTopologyError,
    ComposeValidationError,
    GraphvizMissingError,
    InputError,
    LimitExceededError,
    RenderError,
    RenderFailedError,
    RenderTimeoutError,
    UnknownServiceError,
    UnsupportedMediaError,
    YamlSyntaxError,
)

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
SVG_MEDIA_TYPE = "image/svg+xml"
IMAGE_FORMATS = frozenset({"svg", "png", "pdf"})


class Problem(BaseModel):
    """An RFC 9457 problem detail, with where in the input the problem is."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    service: str | None = None
    key: str | None = None
    limit: str | None = None
    errors: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Kind:
    """How one class of error is answered."""

    status: int
    slug: str
    title: str


# Most specific first: the first class an error is an instance of wins.
_KINDS: tuple[tuple[type[ComposeTopologyError], Kind], ...] = (
    (YamlSyntaxError, Kind(400, "yaml-syntax", "The YAML cannot be read")),
    (ComposeValidationError, Kind(422, "compose-invalid", "Compose rejects the file")),
    (LimitExceededError, Kind(413, "too-large", "The input exceeds a limit")),
    (UnsupportedMediaError, Kind(415, "media-type", "Unsupported media type")),
    (UnknownServiceError, Kind(422, "unknown-service", "No such service")),
    (InputError, Kind(400, "bad-request", "The request cannot be read")),
    (GraphvizMissingError, Kind(503, "graphviz-missing", "Graphviz is not available")),
    (RenderTimeoutError, Kind(422, "render-timeout", "The layout took too long")),
    (BusyError, Kind(503, "busy", "The service is busy")),
    (RenderFailedError, Kind(500, "render-failed", "Graphviz failed")),
    (RenderError, Kind(500, "render-failed", "The diagram could not be drawn")),
)
_UNEXPECTED = Kind(500, "internal", "Unexpected error")

#: The statuses the API documents, with a sentence for the OpenAPI schema.
PROBLEM_STATUSES: dict[int, str] = {
    400: "The body, the encoded URL or the YAML cannot be read.",
    413: "The input exceeds a limit (body size, files, services, ports, nodes...).",
    415: "The body's media type is not one we read.",
    422: (
        "Compose would reject the project, the focus service is not in it, "
        "or its layout took too long."
    ),
    500: "Graphviz failed on a valid project.",
    503: "Every render slot is busy (see Retry-After), or Graphviz is missing.",
}


def problem_type(slug: str) -> str:
    """Return the problem ``type`` URI for ``slug``."""
    return f"urn:compose-topology:problem:{slug}"


def install_problem_handler(app: FastAPI) -> None:
    """Route every error, ours and the framework's, through ``handle_problem``."""
    for exc_class in (
        ComposeTopologyError,
        HTTPException,
        RequestValidationError,
        ClientDisconnect,
        Exception,
    ):
        app.add_exception_handler(exc_class, handle_problem)


async def handle_problem(request: Request, exc: Exception) -> Response:
    """Answer ``exc`` as a problem document, or as an error SVG for image clients."""
    problem, headers = build_problem(exc, instance=request.url.path)
    _log_problem(request, exc, problem)

    headers["Cache-Control"] = "no-store"
    if wants_image(request):
        return Response(
            render_error_svg(problem),
            status_code=problem.status,
            media_type=SVG_MEDIA_TYPE,
            headers=headers,
        )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def build_problem(exc: Exception, *, instance: str) -> tuple[Problem, dict[str, str]]:
    """Return the problem document and extra headers that describe ``exc``."""
    if isinstance(exc, ComposeTopologyError):
        return _from_ours(exc, instance)
    if isinstance(exc, RequestValidationError):
        return _from_validation(exc, instance), {}
    if isinstance(exc, HTTPException):
        return _from_http(exc, instance)
    if isinstance(exc, ClientDisconnect):
        detail = "The client closed the connection before sending the whole body."
        return _problem(Kind(400, "disconnected", "Client went away"), detail), {}
    detail = "The service failed unexpectedly. This is a bug; please report it."
    return _problem(_UNEXPECTED, detail, instance=instance), {}


def _from_ours(
    exc: ComposeTopologyError, instance: str
) -> tuple[Problem, dict[str, str]]:
    kind = next((k for cls, k in _KINDS if isinstance(exc, cls)), _UNEXPECTED)
    location = exc.location
    problem = _problem(
        kind,
        exc.message,
        instance=instance,
        file=location.file if location else None,
        line=location.line if location else None,
        column=location.column if location else None,
        service=exc.service,
        key=exc.key,
        limit=exc.limit if isinstance(exc, LimitExceededError) else None,
    )

    headers = {}
    if isinstance(exc, BusyError):
        headers["Retry-After"] = str(max(1, exc.retry_after))
    return problem, headers


def _from_validation(exc: RequestValidationError, instance: str) -> Problem:
    errors = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
        }
        for error in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    where = ".".join(first["loc"]) or "request"
    detail = f"The request parameter {where!r} is invalid: {first['msg']}."
    kind = Kind(422, "invalid-request", "The request parameters are invalid")
    return _problem(kind, detail, instance=instance, errors=errors)


def _from_http(exc: HTTPException, instance: str) -> tuple[Problem, dict[str, str]]:
    titles = {404: "Not found", 405: "Method not allowed", 408: "Request timeout"}
    title = titles.get(exc.status_code, "HTTP error")
    slug = title.lower().replace(" ", "-")
    headers = dict(exc.headers or {})
    detail = exc.detail if isinstance(exc.detail, str) else title
    if detail == HTTPStatus(exc.status_code).phrase:
        detail = _routing_sentence(exc.status_code, instance, headers.get("Allow"))
    kind = Kind(exc.status_code, slug, title)
    return _problem(kind, detail, instance=instance), headers


def _routing_sentence(status: int, path: str, allow: str | None) -> str:
    # The framework's own 404 and 405 carry only the status phrase.
    if status == 404:
        return f"There is nothing at {path!r}; the routes are listed at /docs."
    if status == 405 and allow:
        return f"The route {path!r} does not take this method; use {allow}."
    return f"The request to {path!r} failed: {HTTPStatus(status).phrase}."


def _problem(kind: Kind, detail: str, **extra: Any) -> Problem:
    return Problem(
        type=problem_type(kind.slug),
        title=kind.title,
        status=kind.status,
        detail=detail,
        **extra,
    )


def wants_image(request: Request) -> bool:
    """Tell whether the client asked for a picture rather than a JSON document.

    A JSON ``Accept`` wins; otherwise an image format in the path or the
    ``format`` query parameter, or an ``Accept`` naming an image, means the
    answer lands somewhere only a picture can be shown.
    """
    accept = request.headers.get("accept", "").lower()
    if "json" in accept:
        return False
    requested = request.path_params.get("format") or request.query_params.get("format")
    if requested in IMAGE_FORMATS:
        return True
    return "image/" in accept


def _log_problem(request: Request, exc: Exception, problem: Problem) -> None:
    # The route's template, never the path: a Kroki URL carries the compose
    # file, and the log must not.
    route = getattr(request.scope.get("route"), "path", "-")
    if problem.type == problem_type(_UNEXPECTED.slug):
        logger.error("unexpected error route=%s", route, exc_info=exc)
        return
    # Names in the location come from the caller: escape them so a newline
    # in a service name cannot forge a log line, and keep the line short.
    where = _where(problem).encode("unicode_escape").decode("ascii")[:200]
    logger.warning(
        "rejected route=%s status=%d error=%s where=%s",
        route,
        problem.status,
        type(exc).__name__,
        where or "-",
    )


def _where(problem: Problem) -> str:
    parts = []
    if problem.file:
        parts.append(
            ":".join(str(p) for p in (problem.file, problem.line, problem.column) if p)
        )
    if problem.service:
        parts.append(f"service={problem.service}")
    if problem.key:
        parts.append(f"key={problem.key}")
    if problem.limit:
        parts.append(f"limit={problem.limit}")
    return " ".join(parts)


_SVG_WIDTH = 640
_LINE_HEIGHT = 20
_WRAP = 80
_BOLD = ' font-weight="bold"'


def render_error_svg(problem: Problem) -> bytes:
    """Return an SVG picture of ``problem``, every text escaped.

    The detail may quote the caller's input (a service name, a key), so it is
    escaped like any other text and the picture carries no script.
    """
    lines = [f"{problem.status} {problem.title}"]
    where = _where(problem)
    if where:
        lines.append(where)
    lines.extend(textwrap.wrap(problem.detail, _WRAP) or [""])

    height = _LINE_HEIGHT * (len(lines) + 1)
    texts = "".join(
        f'<text x="12" y="{_LINE_HEIGHT * (index + 1)}"{_BOLD if index == 0 else ""}>'
        f"{escape(line)}</text>"
        for index, line in enumerate(lines)
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_SVG_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_SVG_WIDTH} {height}" role="img">'
        f"<title>{escape(problem.title)}</title>"
        f'<rect width="100%" height="100%" fill="#fff4f4" stroke="#c62828"/>'
        f'<g font-family="monospace" font-size="13" fill="#b71c1c">{texts}</g>'
        "</svg>"
    )
    return svg.encode("utf-8")


def retry_after_seconds(wait_seconds: float) -> int:
    """Return the whole seconds a busy client should wait before retrying."""
    return max(1, math.ceil(wait_seconds))
