"""Routes that speak the Kroki API, so documentation tooling can point at us.

``GET /compose/{format}/{encoded}`` carries the compose file in the URL,
compressed with zlib and written as URL-safe base64 (padding optional), so a
diagram is a plain image link in any Markdown page; those answers may be
cached by browsers and proxies. ``POST /compose/{format}`` takes the text (or
Kroki's JSON ``{"diagram_source", "diagram_options"}``) and ``POST /`` the JSON
``{"diagram_source", "diagram_type", "output_format", "diagram_options"}``.

The encoded source is inflated incrementally and abandoned once it passes
``Limits.max_body_bytes``, so a small URL cannot expand into a large input.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import zlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.responses import Response

from service.compose import ComposeFile, ProjectInput
from service.errors import InputError, LimitExceededError, UnsupportedMediaError
from service.render.options import DiagramOptions
from service.web.api import (
    DIAGRAM_RESPONSES,
    FORMATS,
    DiagramParameters,
    DiagramQuery,
    answer_diagram,
    settings_of,
    with_error_images,
)
from service.web.inputs import (
    DEFAULT_COMPOSE_NAME,
    JSON_MEDIA_TYPE,
    RAW_MEDIA_TYPES,
    QueryInputs,
    build_project_input,
    decode_text,
    load_body,
    parse_content_type,
    parse_json_body,
)
from service.web.logs import note
from service.web.problems import PROBLEM_MEDIA_TYPE
from service.web.queries import query_parameters

DIAGRAM_TYPE = "compose"

router = APIRouter(tags=["kroki"])

OptionValue = str | bool | int | float


class KrokiDiagram(BaseModel):
    """Kroki's JSON body for ``POST /{type}/{format}``."""

    diagram_source: str
    diagram_options: dict[str, OptionValue] = Field(default_factory=dict)


class KrokiRequest(BaseModel):
    """Kroki's JSON body for ``POST /``."""

    diagram_source: str
    diagram_type: str = Field(examples=[DIAGRAM_TYPE])
    output_format: str = Field("svg", examples=list(FORMATS))
    diagram_options: dict[str, OptionValue] = Field(default_factory=dict)


def encode_diagram_source(text: str) -> str:
    """Return ``text`` as a Kroki URL segment: zlib, then URL-safe base64."""
    compressed = zlib.compress(text.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(compressed).decode("ascii")


def decode_diagram_source(encoded: str, max_bytes: int) -> str:
    """Return the text of a Kroki URL segment, refusing to inflate past ``max_bytes``.

    Raises ``LimitExceededError`` for an oversize segment or expansion and
    ``InputError`` for anything that is not zlib data in URL-safe base64.
    """
    if len(encoded) > max_bytes * 4 // 3 + 1024:
        raise _too_large(max_bytes)
    compressed = _decode_base64(encoded)

    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)
    try:
        text = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as exc:
        raise InputError(
            f"The diagram in the URL is not zlib-compressed data ({exc})."
        ) from exc
    if len(text) > max_bytes:
        raise _too_large(max_bytes)
    if not inflater.eof or inflater.unused_data:
        raise InputError(
            "The compressed diagram in the URL is truncated or has trailing bytes."
        )
    return decode_text(text, DEFAULT_COMPOSE_NAME)


def _decode_base64(encoded: str) -> bytes:
    # Kroki writes URL-safe base64, usually without padding; accept both
    # alphabets and any padding so hand-made links work as well.
    data = encoded.strip().rstrip("=").replace("-", "+").replace("_", "/")
    data += "=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InputError(
            "The diagram in the URL is not URL-safe base64; encode the "
            "zlib-compressed compose file with base64.urlsafe_b64encode."
        ) from exc


def _too_large(max_bytes: int) -> LimitExceededError:
    return LimitExceededError(
        f"The diagram in the URL expands past the limit of {max_bytes} bytes.",
        limit="max_body_bytes",
    )


FormatPath = Annotated[
    str,
    Path(
        alias="format",
        description="Output format.",
        json_schema_extra={"enum": list(FORMATS)},
    ),
]

_FORMAT_PATH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **DIAGRAM_RESPONSES,
    404: {
        "description": "The format is not one we draw.",
        "content": {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    },
}


@router.get(
    "/compose/{format}/{encoded}",
    summary="Draw a compose file carried in the URL (Kroki GET)",
    responses=with_error_images(_FORMAT_PATH_RESPONSES),
    openapi_extra={"parameters": query_parameters(DiagramParameters)},
)
async def get_compose_diagram(
    request: Request,
    fmt: FormatPath,
    encoded: Annotated[
        str, Path(description="The compose file, zlib-compressed, URL-safe base64.")
    ],
    query: DiagramQuery,
) -> Response:
    """Return the diagram; these URLs are stable, so answers are cacheable."""
    _check_format(fmt)
    settings = settings_of(request)
    note(request, bytes_in=len(encoded))
    text = decode_diagram_source(encoded, settings.limits.max_body_bytes)

    project_input = _project_of(text, query.inputs())
    cache_control = f"public, max-age={settings.cache_max_age_seconds}"
    return await answer_diagram(
        request, project_input, fmt, query.options(), cache_control
    )


@router.post(
    "/compose/{format}",
    summary="Draw a compose file sent as the body (Kroki POST)",
    responses=with_error_images(_FORMAT_PATH_RESPONSES),
    openapi_extra={
        "parameters": query_parameters(DiagramParameters),
        "requestBody": {
            "required": True,
            "content": {
                **{m: {"schema": {"type": "string"}} for m in RAW_MEDIA_TYPES},
                JSON_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/KrokiDiagram"}
                },
            },
        },
    },
)
async def post_compose_diagram(
    request: Request,
    fmt: FormatPath,
    query: DiagramQuery,
) -> Response:
    """Return the diagram of the compose file in the body."""
    _check_format(fmt)
    settings = settings_of(request)
    media_type, charset = parse_content_type(request.headers.get("content-type"))
    if media_type not in (*RAW_MEDIA_TYPES, JSON_MEDIA_TYPE, ""):
        raise unsupported_media(media_type)

    body = await load_body(request, settings.limits, settings.body_timeout_seconds)
    options = query.options()
    if media_type == JSON_MEDIA_TYPE:
        document = parse_json_body(KrokiDiagram, body)
        text = document.diagram_source
        options = merge_options(options, document.diagram_options)
    else:
        text = decode_text(body, DEFAULT_COMPOSE_NAME, charset)
    return await answer_diagram(
        request, _project_of(text, query.inputs()), fmt, options, "no-cache"
    )


@router.post(
    "/",
    summary="Draw a diagram described in a JSON body (Kroki POST /)",
    responses=with_error_images(DIAGRAM_RESPONSES),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/KrokiRequest"}
                }
            },
        }
    },
)
async def post_kroki(request: Request) -> Response:
    """Return the diagram of ``diagram_source``; only ``compose`` is served."""
    settings = settings_of(request)
    media_type, _ = parse_content_type(request.headers.get("content-type"))
    if media_type != JSON_MEDIA_TYPE:
        raise unsupported_media(media_type, expected="application/json")

    body = await load_body(request, settings.limits, settings.body_timeout_seconds)
    document = parse_json_body(KrokiRequest, body)
    if document.diagram_type.lower() != DIAGRAM_TYPE:
        raise InputError(
            f"The diagram type {document.diagram_type!r} is not served here; "
            f"this service draws {DIAGRAM_TYPE!r} only.",
            key="diagram_type",
        )
    fmt = document.output_format.lower()
    if fmt not in FORMATS:
        raise InputError(
            f"The output format {document.output_format!r} is not supported; "
            f"use one of {', '.join(FORMATS)}.",
            key="output_format",
        )

    options = merge_options(DiagramOptions(), document.diagram_options)
    project_input = _project_of(document.diagram_source, QueryInputs())
    return await answer_diagram(request, project_input, fmt, options, "no-cache")


def merge_options(
    options: DiagramOptions, overrides: dict[str, OptionValue]
) -> DiagramOptions:
    """Return ``options`` with Kroki ``diagram_options`` applied on top.

    Kroki clients spell options with dashes or underscores and send booleans
    as strings; an option we do not know is refused rather than ignored.
    """
    fields = {field.name: field for field in dataclasses.fields(DiagramOptions)}
    changes: dict[str, Any] = {}
    for raw_name, value in overrides.items():
        name = raw_name.replace("-", "_").lower()
        if name not in fields:
            raise InputError(
                f"The diagram option {raw_name!r} is unknown; use "
                + ", ".join(sorted(fields))
                + ".",
                key=raw_name,
            )
        changes[name] = _option_value(name, value, fields[name].default)
    return dataclasses.replace(options, **changes)


def _option_value(name: str, value: OptionValue, default: object) -> object:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise InputError(
            f"The diagram option {name!r} takes true or false, not {value!r}.",
            key=name,
        )
    return str(value)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise HTTPException(
            404,
            f"The format {fmt!r} is not one we draw; use one of {', '.join(FORMATS)}.",
        )


def unsupported_media(
    media_type: str, expected: str | None = None
) -> UnsupportedMediaError:
    """Return the error that refuses a body whose media type a route does not read."""
    wanted = expected or "text/plain, a YAML type or application/json"
    return UnsupportedMediaError(
        f"The body's media type {media_type!r} is not read here; send {wanted}."
    )


def _project_of(text: str, query: QueryInputs) -> ProjectInput:
    return build_project_input([ComposeFile(DEFAULT_COMPOSE_NAME, text)], query)
