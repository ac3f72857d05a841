"""The page at ``/``: paste or upload compose files and see their topology.

``GET /`` shows the page with a small example already drawn. ``POST /render``
is the same page for a plain HTML form: it reads the text area, the chosen
files and the layer options, and renders the diagram, findings and tables on
the server, so the page works with JavaScript turned off. With JavaScript on,
``static/app.js`` takes over and talks to the JSON API instead.

Both handlers fill an ``IndexContext`` and render ``templates/index.html``.
The diagram is embedded as an ``<img>`` of a ``data:`` URL: an SVG shown as an
image never runs script, whatever names the compose file holds.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, cast

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.responses import HTMLResponse

from service.compose import ComposeFile, ProjectInput
from service.errors import ComposeTopologyError, InputError, UnsupportedMediaError
from service.example import EXAMPLE_COMPOSE
from service.model import Project
from service.render.options import DiagramOptions, Direction
from service.web.inputs import (
    DEFAULT_COMPOSE_NAME,
    QueryInputs,
    build_project_input,
    check_file_count,
    decode_text,
    load_body,
    normalise_name,
    parse_content_type,
)
from service.web.kroki import encode_diagram_source
from service.web.logs import note
from service.web.problems import build_problem
from service.web.renders import Renderer
from service.web.settings import Settings
from service.web.tables import LONG_VALUE, Tables, build_tables

router = APIRouter(include_in_schema=False)

FileKind: TypeAlias = Literal["compose", "env", "dockerfile"]


#: The page's Content Security Policy. Scripts and styles come from our own
#: origin only, with no inline script, inline style or event-handler
#: attribute anywhere; the API is the only thing the page connects to; images
#: may be data: and blob: URLs (the no-script diagram and the downloads).
#: It is set on the page's responses here rather than app-wide because the
#: Swagger UI at /docs needs an inline script of its own.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

#: The layer check boxes, in the order the page shows them.
TOGGLES: tuple[tuple[str, str], ...] = (
    ("overrides", "Overrides"),
    ("networks", "Networks"),
    ("depends_on", "depends_on"),
    ("volumes", "Volumes"),
    ("legend", "Legend"),
)

#: The Compose file names Compose looks for, in its order of preference.
_DEFAULT_NAMES = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
)


@dataclass(frozen=True)
class ErrorView:
    """An error as the page shows it: a title, where it is, and what is wrong."""

    title: str
    detail: str
    status: int
    file: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def where(self) -> str:
        """Return ``file:line:column`` with the parts that are known."""
        parts = (self.file, self.line, self.column)
        return ":".join(str(part) for part in parts if part is not None)


@dataclass(frozen=True)
class ImageLinks:
    """GET URLs that draw the input again, for a page with no script."""

    svg: str
    png: str


@dataclass(frozen=True)
class IndexContext:
    """Everything ``index.html`` shows: the input as given and what it gave."""

    compose_name: str
    compose_text: str
    options: dict[str, Any]
    profiles: str
    project_name: str
    urls: dict[str, str]
    toggles: tuple[tuple[str, str], ...] = TOGGLES
    long_value: int = LONG_VALUE
    project: Project | None = None
    tables: Tables | None = None
    diagram_url: str | None = None
    links: ImageLinks | None = None
    error: ErrorView | None = None
    service_names: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class IndexForm:
    """The page's form as submitted: the project input and the diagram options."""

    compose_name: str = DEFAULT_COMPOSE_NAME
    compose_text: str = ""
    options: DiagramOptions = field(default_factory=DiagramOptions)
    profiles: tuple[str, ...] = ()
    project_name: str = ""
    project_input: ProjectInput | None = None
    error: ErrorView | None = None


@router.get("/", response_class=HTMLResponse, name="index")
async def index(request: Request) -> HTMLResponse:
    """Show the page with the example project drawn."""
    form = IndexForm(
        compose_text=EXAMPLE_COMPOSE,
        project_input=build_project_input(
            [ComposeFile(DEFAULT_COMPOSE_NAME, EXAMPLE_COMPOSE)], QueryInputs()
        ),
    )
    context = await build_index_context(request, form)
    return render_page(request, context)


@router.post("/render", response_class=HTMLResponse, name="render_index")
async def render_index(request: Request) -> HTMLResponse:
    """Draw the project posted by the page's form, for browsers without script."""
    form = await load_index_form(request)
    context = await build_index_context(request, form)
    status = context.error.status if context.error else 200
    return render_page(request, context, status)


def render_page(
    request: Request, context: IndexContext, status: int = 200
) -> HTMLResponse:
    """Render ``index.html`` with ``context``, under the page's security headers."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "index.html",
        {"page": context},
        status_code=status,
        headers=PAGE_HEADERS,
    )


async def build_index_context(request: Request, form: IndexForm) -> IndexContext:
    """Parse and draw the form's project; an input error becomes the page's error."""
    context = IndexContext(
        compose_name=form.compose_name,
        compose_text=form.compose_text,
        options=dataclasses.asdict(form.options),
        profiles=", ".join(form.profiles),
        project_name=form.project_name,
        urls={
            "model": str(request.url_for("post_model").path),
            "diagram": str(request.url_for("post_diagram").path),
        },
        error=form.error,
    )
    if form.project_input is None:
        return context

    renderer: Renderer = request.app.state.renderer
    try:
        project = await renderer.parse_project(form.project_input)
        svg = await renderer.render_diagram(form.project_input, "svg", form.options)
    except ComposeTopologyError as exc:
        error = build_error_view(exc, request.url.path)
        return dataclasses.replace(context, error=error)

    note(request, format="svg", services=len(project.services))
    return dataclasses.replace(
        context,
        project=project,
        tables=build_tables(project),
        diagram_url=build_data_url(svg.body, "image/svg+xml"),
        links=build_image_links(request, form),
        service_names=tuple(service.name for service in project.services),
    )


def build_error_view(exc: Exception, instance: str) -> ErrorView:
    """Describe ``exc`` the way the API's problem documents do."""
    problem, _ = build_problem(exc, instance=instance)
    return ErrorView(
        title=problem.title,
        detail=problem.detail,
        status=problem.status,
        file=problem.file,
        line=problem.line,
        column=problem.column,
    )


def build_data_url(body: bytes, media_type: str) -> str:
    """Return ``body`` as a ``data:`` URL."""
    return f"data:{media_type};base64," + base64.b64encode(body).decode("ascii")


def build_image_links(request: Request, form: IndexForm) -> ImageLinks | None:
    """Return Kroki-style GET URLs for a project of one compose file only.

    Those URLs carry a single compose text, so a project with several files,
    a ``.env`` or Dockerfiles has no such link.
    """
    project_input = form.project_input
    if project_input is None or len(project_input.files) != 1:
        return None
    if project_input.env_file is not None or project_input.profiles:
        return None
    if project_input.project_name or form.options != DiagramOptions():
        return None
    encoded = encode_for_url(project_input.files[0].text)
    base = str(request.base_url).rstrip("/")
    return ImageLinks(
        svg=f"{base}/compose/svg/{encoded}", png=f"{base}/compose/png/{encoded}"
    )


def encode_for_url(text: str) -> str:
    """Return ``text`` as a Kroki URL segment without base64 padding."""
    return encode_diagram_source(text).rstrip("=")


# ---- Reading the form -------------------------------------------------------


async def load_index_form(request: Request) -> IndexForm:
    """Read the posted form into a project input, or into an error to show."""
    settings: Settings = request.app.state.settings
    try:
        data = await load_form_data(request, settings)
    except (ComposeTopologyError, HTTPException) as exc:
        return IndexForm(error=build_error_view(exc, request.url.path))
    try:
        return await parse_index_form(data, settings)
    finally:
        await data.close()


async def load_form_data(request: Request, settings: Settings) -> FormData:
    """Read a urlencoded or multipart body, bounded by the body-size limit."""
    body = await load_body(request, settings.limits, settings.body_timeout_seconds)
    media_type, _ = parse_content_type(request.headers.get("content-type"))

    if media_type == "application/x-www-form-urlencoded":
        return await FormParser(request.headers, _stream_of(body)).parse()
    if media_type == "multipart/form-data":
        parser = MultiPartParser(
            request.headers,
            _stream_of(body),
            max_files=settings.limits.max_files,
            max_part_size=settings.limits.max_body_bytes,
        )
        try:
            return await parser.parse()
        except MultiPartException as exc:
            raise InputError(
                f"The form cannot be read: {exc.message}. Send fewer files."
            ) from exc
    raise UnsupportedMediaError(
        f"The form was sent as {media_type or 'no media type'!r}; the page sends "
        "application/x-www-form-urlencoded or multipart/form-data."
    )


async def _stream_of(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def parse_index_form(data: FormData, settings: Settings) -> IndexForm:
    """Turn the form's fields into diagram options and a project input."""
    compose_name = normalise_name(_text_field(data, "compose_name"))
    compose_name = compose_name or DEFAULT_COMPOSE_NAME
    compose_text = _text_field(data, "compose")
    profiles = tuple(re.split(r"[\s,]+", _text_field(data, "profiles").strip()))
    profiles = tuple(profile for profile in profiles if profile)
    project_name = _text_field(data, "project_name").strip()
    form = IndexForm(
        compose_name=compose_name,
        compose_text=compose_text,
        profiles=profiles,
        project_name=project_name,
    )

    try:
        options = parse_diagram_options(data)
        uploads = [await _read_upload(part) for part in _uploads(data)]
        project_input = build_form_project(
            ComposeFile(compose_name, compose_text),
            uploads,
            QueryInputs(profiles=profiles, project_name=project_name or None),
            settings,
        )
    except ComposeTopologyError as exc:
        error = build_error_view(exc, "/render")
        return dataclasses.replace(form, error=error)
    return dataclasses.replace(form, options=options, project_input=project_input)


def parse_diagram_options(data: FormData) -> DiagramOptions:
    """Read the layer options; an unticked check box is simply absent, so off."""
    toggles = {name: data.get(name) == "true" for name, _ in TOGGLES}
    # DiagramOptions refuses a direction other than LR or TB.
    direction = cast(Direction, _text_field(data, "direction") or "LR")
    service = _text_field(data, "service").strip() or None
    return DiagramOptions(**toggles, direction=direction, service=service)


def build_form_project(
    typed: ComposeFile,
    uploads: list[ComposeFile],
    query: QueryInputs,
    settings: Settings,
) -> ProjectInput:
    """Assemble the project: the typed text first, then uploads sorted by kind.

    Uploaded compose files follow the text area in the order Compose would
    read them; the first ``.env`` is the project's variables file; Dockerfiles
    are found by the path the build refers to, which is their file name.
    """
    check_file_count(len(uploads) + 1, settings.limits)
    ordered = sort_files(uploads)
    compose = [typed] if typed.text.strip() else []
    compose += [f for f in ordered if file_kind(f.name) == "compose"]
    env_files = [f for f in ordered if file_kind(f.name) == "env"]
    dockerfiles = {f.name: f.text for f in ordered if file_kind(f.name) == "dockerfile"}
    if not compose:
        raise InputError(
            "There is no compose file: type one in the text area or choose one.",
            key="compose",
        )
    return build_project_input(
        compose,
        query,
        env_file=env_files[0] if env_files else None,
        sources=dockerfiles,
    )


def file_kind(name: str) -> FileKind:
    """Tell a compose file, a ``.env`` file and a Dockerfile apart by name."""
    base = name.rsplit("/", 1)[-1]
    if base == ".env" or base.startswith(".env.") or base.endswith(".env"):
        return "env"
    if re.fullmatch(r"(?i)dockerfile(\..+)?|.+\.dockerfile", base):
        return "dockerfile"
    return "compose"


def sort_files(files: Iterable[ComposeFile]) -> list[ComposeFile]:
    """Order files as ``docker compose -f`` takes them: base, override, the rest."""
    return sorted(files, key=_file_rank)


_KIND_ORDER: dict[FileKind, int] = {"compose": 0, "env": 1, "dockerfile": 2}


def _file_rank(file: ComposeFile) -> tuple[int, int, str]:
    base = file.name.rsplit("/", 1)[-1]
    if base in _DEFAULT_NAMES:
        compose_rank = _DEFAULT_NAMES.index(base)
    elif re.search(r"(?i)\.override\.ya?ml$", base):
        compose_rank = 10
    else:
        compose_rank = 20
    return _KIND_ORDER[file_kind(file.name)], compose_rank, file.name


def _uploads(data: FormData) -> list[UploadFile]:
    # A file input left empty still posts one part with no file name.
    return [
        part
        for part in data.getlist("files")
        if isinstance(part, UploadFile) and part.filename
    ]


async def _read_upload(part: UploadFile) -> ComposeFile:
    name = normalise_name(part.filename or DEFAULT_COMPOSE_NAME)
    _, charset = parse_content_type(part.content_type)
    return ComposeFile(name, decode_text(await part.read(), name, charset))


def _text_field(data: FormData, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""
