"""Draw a topology model: DOT text (pure), then Graphviz for SVG, PNG and PDF.

``render_diagram`` is the one call the web and CLI layers need; it returns
the bytes of the requested format and raises only our own errors.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from service.errors import InputError
from service.limits import Limits
from service.model import Project, hide_values, to_json
from service.render.dot import render_dot
from service.render.graphviz import (
    check_graphviz,
    is_graphviz_available,
    render_graphviz,
)
from service.render.ids import element_id, image_id, service_id
from service.render.options import DiagramOptions

logger = logging.getLogger(__name__)

#: The content type of each output format.
MEDIA_TYPES: dict[str, str] = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "pdf": "application/pdf",
    "dot": "text/vnd.graphviz; charset=utf-8",
    "json": "application/json",
}

FORMATS: tuple[str, ...] = tuple(MEDIA_TYPES)

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "DiagramOptions",
    "GraphvizRenderer",
    "check_graphviz",
    "element_id",
    "image_id",
    "is_graphviz_available",
    "render_diagram",
    "render_dot",
    "render_graphviz",
    "render_json",
    "service_id",
]


#: Draws DOT text in svg, png or pdf within the limits: ``render_graphviz``'s shape.
GraphvizRenderer = Callable[[str, str, Limits], bytes]


def render_diagram(
    project: Project,
    fmt: str,
    options: DiagramOptions,
    limits: Limits,
    graphviz: GraphvizRenderer = render_graphviz,
) -> bytes:
    """Return ``project`` drawn in ``fmt`` (svg, png, pdf, dot or json).

    JSON is the model itself, with environment values hidden unless
    ``options.show_values``; every other format is the diagram, laid out by
    ``graphviz``: a server passes ``GraphvizSpares.render`` (started ``dot``
    processes, the same bytes sooner).
    """
    if fmt not in MEDIA_TYPES:
        raise InputError(
            f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.", key="format"
        )
    if fmt == "json":
        return render_json(project, show_values=options.show_values)

    started = time.monotonic()
    dot_text = render_dot(project, options, limits)
    built = time.monotonic()
    output = (
        dot_text.encode("utf-8") if fmt == "dot" else graphviz(dot_text, fmt, limits)
    )
    logger.debug(
        "Rendered %s: %d services, %d bytes, DOT %.3fs, layout %.3fs",
        fmt,
        len(project.services),
        len(output),
        built - started,
        time.monotonic() - built,
    )
    return output


def render_json(project: Project, *, show_values: bool = False) -> bytes:
    """Return the model as UTF-8 JSON, keys sorted so equal models give equal bytes."""
    shown = project if show_values else hide_values(project)
    text = json.dumps(to_json(shown), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")
