"""Turn an HTTP request body into a ``ProjectInput``, reading only what was uploaded.

Three body kinds carry a project:

- a raw compose file (``application/yaml``, ``text/yaml``,
  ``application/x-yaml``, ``text/plain``);
- ``multipart/form-data``: ``file`` (repeated, in ``-f`` order), ``env_file``,
  ``dockerfile`` (repeated; the filename is the path the build refers to,
  e.g. ``backend/Dockerfile``), ``extra`` (any other referenced file),
  ``project_name``, ``profile`` and ``variable`` (``NAME=value``), repeated;
- ``application/json`` shaped as ``ProjectBody``.

The body is read as a stream and abandoned as soon as it passes
``Limits.max_body_bytes``: a lying or missing ``Content-Length`` cannot make
the service buffer more. Paths inside the compose files stay names: the
project's ``FileSource`` is a ``MappingSource`` over the uploads, so nothing
on the server's disk or network is ever read.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import anyio
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import Scope

from service.compose import ComposeFile, MappingSource, ProjectInput
from service.errors import (
    InputError,
    LimitExceededError,
    SourceLocation,
    UnsupportedMediaError,
)
from service.limits import Limits
from service.web.logs import note

RAW_MEDIA_TYPES = (
    "application/yaml",
    "text/yaml",
    "application/x-yaml",
    "text/plain",
)
JSON_MEDIA_TYPE = "application/json"
MULTIPART_MEDIA_TYPE = "multipart/form-data"

#: The name a compose file sent as a raw body (or without a filename) goes by.
DEFAULT_COMPOSE_NAME = "compose.yaml"

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)

_FORM_FIELDS = ("file", "env_file", "dockerfile", "extra")
_FORM_VALUES = ("project_name", "profile", "variable")
_BODY_DEADLINE = "body_deadline"


class ProjectFile(BaseModel):
    """One uploaded file: the path the project knows it by, and its text."""

    name: str = Field(min_length=1, examples=["compose.yaml"])
    content: str = Field(examples=["services:\n  web:\n    image: nginx\n"])


class ProjectBody(BaseModel):
    """A whole project in one JSON document."""

    files: list[ProjectFile] = Field(
        min_length=1, description="The compose files, in `-f` order."
    )
    env_file: str | ProjectFile | None = Field(
        None, description="The project's `.env`: its text, or a named file."
    )
    dockerfiles: list[ProjectFile] = Field(
        default_factory=list,
        description="Dockerfiles, named by the path the build refers to.",
    )
    extra: list[ProjectFile] = Field(
        default_factory=list,
        description="Other referenced files (env_file:, extends, include).",
    )
    variables: dict[str, str] = Field(
        default_factory=dict, description="The shell environment; wins over .env."
    )
    project_name: str | None = None
    profiles: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class QueryInputs:
    """The compose inputs a request may give as query parameters."""

    profiles: tuple[str, ...] = ()
    project_name: str | None = None


async def load_project_input(
    request: Request, limits: Limits, timeout: float, query: QueryInputs
) -> ProjectInput:
    """Read the request body, whatever its kind, into a ``ProjectInput``."""
    media_type, charset = parse_content_type(request.headers.get("content-type"))

    if media_type == MULTIPART_MEDIA_TYPE:
        form = await _with_timeout(request, _load_form(request, limits), timeout)
        try:
            return await _from_form(form, limits, query)
        finally:
            await form.close()

    body = await load_body(request, limits, timeout)
    if media_type == JSON_MEDIA_TYPE:
        return _from_json(body, limits, query)
    if media_type in RAW_MEDIA_TYPES or media_type == "":
        text = decode_text(body, DEFAULT_COMPOSE_NAME, charset)
        return build_project_input([ComposeFile(DEFAULT_COMPOSE_NAME, text)], query)
    raise UnsupportedMediaError(
        f"The body's media type {media_type!r} is not one we read. Send the "
        "compose file as application/yaml, several files as multipart/form-data, "
        "or a JSON document (application/json)."
    )


def parse_content_type(header: str | None) -> tuple[str, str | None]:
    """Split a Content-Type header into its media type and charset."""
    if not header:
        return "", None
    media_type, *params = (part.strip() for part in header.split(";"))
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    return media_type.lower(), charset


async def load_body(request: Request, limits: Limits, timeout: float) -> bytes:
    """Return the whole body, refusing it once it passes ``max_body_bytes``."""

    async def collect() -> bytes:
        chunks = [chunk async for chunk in _bounded_stream(request, limits)]
        return b"".join(chunks)

    return await _with_timeout(request, collect(), timeout)


async def _bounded_stream(
    request: Request, limits: Limits
) -> AsyncGenerator[bytes, None]:
    limit = limits.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _body_too_large(limit)

    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _body_too_large(limit)
        yield chunk
    note(request, bytes_in=received)


def _body_too_large(limit: int) -> LimitExceededError:
    return LimitExceededError(
        f"The request body is larger than the limit of {limit} bytes. Send fewer "
        "or smaller files, or raise COMPOSE_TOPOLOGY_MAX_BODY_BYTES.",
        limit="max_body_bytes",
    )


def set_body_deadline(scope: Scope, deadline: float) -> None:
    """Make the body's timeout count from an earlier start (``anyio`` clock time).

    Used when something read part of the body before the route did, so a
    slow client gets ``timeout`` seconds in all, not twice that.
    """
    scope.setdefault("state", {})[_BODY_DEADLINE] = deadline


async def _with_timeout(
    request: Request, awaitable: Awaitable[_T], timeout: float
) -> _T:
    deadline = request.scope.get("state", {}).get(_BODY_DEADLINE)
    if deadline is None:
        deadline = anyio.current_time() + timeout
    try:
        with anyio.fail_at(deadline):
            return await awaitable
    except TimeoutError as exc:
        raise HTTPException(
            408,
            f"The request body did not arrive within {timeout:g} seconds.",
        ) from exc


def decode_text(data: bytes, name: str, charset: str | None = None) -> str:
    """Return ``data`` as text, refusing bytes that are not in ``charset``."""
    encoding = charset or "utf-8"
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except LookupError as exc:
        raise UnsupportedMediaError(
            f"The charset {charset!r} is unknown; send the file as UTF-8."
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"The file {name!r} is not valid {charset or 'UTF-8'} text "
            f"(bad byte at offset {exc.start}).",
            location=SourceLocation(name),
        ) from exc
    except ValueError as exc:
        # Some codecs fail with a bare UnicodeError ("undefined"), and a NUL
        # in the charset name with ValueError: neither is a text charset.
        raise UnsupportedMediaError(
            f"The charset {charset!r} cannot decode text; send the file as UTF-8."
        ) from exc


def build_project_input(
    files: list[ComposeFile],
    query: QueryInputs,
    *,
    env_file: ComposeFile | None = None,
    sources: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
) -> ProjectInput:
    """Assemble a ``ProjectInput`` whose other files come from the uploads only."""
    return ProjectInput(
        files=tuple(files),
        env_file=env_file,
        variables=dict(variables or {}),
        project_name=query.project_name,
        profiles=query.profiles,
        sources=MappingSource(dict(sources or {})),
    )


def check_file_count(count: int, limits: Limits) -> None:
    """Refuse a project of more files than ``Limits.max_files``."""
    if count > limits.max_files:
        raise LimitExceededError(
            f"The request carries {count} files; the limit is {limits.max_files}.",
            limit="max_files",
        )


def normalise_name(name: str) -> str:
    """Return an uploaded file's name as the project refers to it."""
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


async def _load_form(request: Request, limits: Limits) -> FormData:
    parser = MultiPartParser(
        request.headers,
        _bounded_stream(request, limits),
        # The body limit already bounds how many parts can arrive; the file
        # count is checked afterwards so it gets its own clear error.
        max_files=limits.max_body_bytes,
        max_fields=limits.max_body_bytes,
        max_part_size=limits.max_body_bytes,
    )
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise InputError(f"The multipart body cannot be read: {exc.message}") from exc


async def _from_form(
    form: FormData, limits: Limits, query: QueryInputs
) -> ProjectInput:
    unknown = sorted({key for key in form if key not in _FORM_FIELDS + _FORM_VALUES})
    if unknown:
        raise InputError(
            f"The form field {unknown[0]!r} is not one we read; use "
            + ", ".join(repr(name) for name in _FORM_FIELDS + _FORM_VALUES)
            + ".",
            key=unknown[0],
        )

    uploads = {
        field: [await _read_part(value, field) for value in form.getlist(field)]
        for field in _FORM_FIELDS
    }
    check_file_count(sum(len(parts) for parts in uploads.values()), limits)
    if not uploads["file"]:
        raise InputError(
            "The form has no compose file; send one or more in the field 'file'.",
            key="file",
        )
    if len(uploads["env_file"]) > 1:
        raise InputError("Send at most one 'env_file'.", key="env_file")

    env_files = [ComposeFile(".env", part.text) for part in uploads["env_file"]]
    sources = {p.name: p.text for p in uploads["dockerfile"] + uploads["extra"]}
    return build_project_input(
        uploads["file"],
        _form_query(form, query),
        env_file=env_files[0] if env_files else None,
        sources=sources,
        variables=_parse_variables(form.getlist("variable")),
    )


async def _read_part(value: str | UploadFile, field: str) -> ComposeFile:
    default_names = {"file": DEFAULT_COMPOSE_NAME, "dockerfile": "Dockerfile"}
    if isinstance(value, str):
        return ComposeFile(default_names.get(field, field), value)

    name = normalise_name(value.filename or default_names.get(field, field))
    _, charset = parse_content_type(value.content_type)
    return ComposeFile(name, decode_text(await value.read(), name, charset))


def _form_query(form: FormData, query: QueryInputs) -> QueryInputs:
    profiles = tuple(str(p) for p in form.getlist("profile")) or query.profiles
    project_name = form.get("project_name")
    return QueryInputs(
        profiles=profiles,
        project_name=str(project_name) if project_name else query.project_name,
    )


def _parse_variables(values: Iterable[str | UploadFile]) -> dict[str, str]:
    variables = {}
    for value in values:
        name, sep, text = str(value).partition("=")
        if not sep or not name:
            raise InputError(
                "Each 'variable' field is NAME=value; one has no '=' or no name.",
                key="variable",
            )
        variables[name] = text
    return variables


def _from_json(body: bytes, limits: Limits, query: QueryInputs) -> ProjectInput:
    document = parse_json_body(ProjectBody, body)
    check_file_count(
        len(document.files)
        + len(document.dockerfiles)
        + len(document.extra)
        + (document.env_file is not None),
        limits,
    )

    env_file = document.env_file
    if isinstance(env_file, str):
        env_file = ProjectFile(name=".env", content=env_file)
    sources = {
        normalise_name(f.name): f.content for f in document.dockerfiles + document.extra
    }
    return build_project_input(
        [ComposeFile(normalise_name(f.name), f.content) for f in document.files],
        QueryInputs(
            profiles=tuple(document.profiles) or query.profiles,
            project_name=document.project_name or query.project_name,
        ),
        env_file=ComposeFile(env_file.name, env_file.content) if env_file else None,
        sources=sources,
        variables=document.variables,
    )


def parse_json_body(model: type[_M], body: bytes) -> _M:
    """Validate a JSON body: 400 when it is not JSON, 422 for the wrong shape."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise InputError(
                "The body is not valid JSON: " + str(errors[0]["msg"]) + "."
            ) from exc
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from exc
