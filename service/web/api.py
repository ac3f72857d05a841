"""The REST API: the topology model and the diagram of an uploaded project.

Both routes read the same three body kinds (see ``service.web.inputs``) and
answer with an ETag derived from the input, the options and the service
version, so a client that sends it back in ``If-None-Match`` gets 304.
Errors are answered by ``service.web.problems``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from service.compose import ProjectInput
from service.render import MEDIA_TYPES
from service.render.options import DiagramOptions, Direction
from service.web.cache import etag_for, is_not_modified
from service.web.fastpath import build_not_modified, offer_answer
from service.web.inputs import (
    JSON_MEDIA_TYPE,
    MULTIPART_MEDIA_TYPE,
    RAW_MEDIA_TYPES,
    QueryInputs,
    load_project_input,
)
from service.web.logs import note, seconds_since_start
from service.web.problems import PROBLEM_MEDIA_TYPE, PROBLEM_STATUSES, SVG_MEDIA_TYPE
from service.web.queries import query_model, query_parameters
from service.web.renders import MODEL_MEDIA_TYPE, Answer, Renderer
from service.web.settings import Settings

Format: TypeAlias = Literal["svg", "png", "pdf", "dot", "json"]
FORMATS: tuple[str, ...] = get_args(Format)

#: What each format is sent as, without parameters, for the OpenAPI schema.
FORMAT_MEDIA_TYPES = {fmt: media.split(";")[0] for fmt, media in MEDIA_TYPES.items()}

#: Headers that keep a rendered SVG inert even when opened on its own.
SAFE_IMAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(tags=["api"])


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return the OpenAPI ``responses`` entries for these problem statuses."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": PROBLEM_STATUSES[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }


def with_error_images(responses: dict[int | str, dict[str, Any]]) -> Any:
    """Document that an image client gets its error drawn as an SVG."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status, response in responses.items():
        entry = dict(response)
        if isinstance(status, int) and status >= 400:
            entry["content"] = {
                **entry.get("content", {}),
                SVG_MEDIA_TYPE: {"schema": {"type": "string"}},
            }
        documented[status] = entry
    return documented


#: The answers of every diagram route, for the OpenAPI schema.
DIAGRAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The diagram in the requested format.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in FORMAT_MEDIA_TYPES.values()
        },
    },
    304: {"description": "The If-None-Match tag is still current."},
    **problem_responses(400, 413, 415, 422, 500, 503),
}

#: The request body every project route reads, for the OpenAPI schema.
PROJECT_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "The project: one raw compose file, a multipart form of "
    "files, or a JSON document.",
    "content": {
        **{media: {"schema": {"type": "string"}} for media in RAW_MEDIA_TYPES},
        MULTIPART_MEDIA_TYPE: {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "Compose files, in `-f` order.",
                    },
                    "env_file": {"type": "string", "format": "binary"},
                    "dockerfile": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "Dockerfiles; each filename is the path "
                        "the build refers to (context + dockerfile).",
                    },
                    "extra": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "Other files the project refers to.",
                    },
                    "project_name": {"type": "string"},
                    "profile": {"type": "array", "items": {"type": "string"}},
                    "variable": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "NAME=value",
                    },
                },
            }
        },
        JSON_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProjectBody"}},
    },
}


class ProjectParameters(BaseModel):
    """The compose inputs a request may give as query parameters.

    Routes read these models with ``service.web.queries.query_model``, in
    one validation call per request, and list their fields in OpenAPI with
    ``query_parameters``.
    """

    profile: list[str] | None = Field(
        None, description="Enable a Compose profile; repeatable."
    )
    project_name: str | None = Field(None, description="The Compose project name.")

    def inputs(self) -> QueryInputs:
        """Return these parameters as the input reader takes them."""
        return QueryInputs(
            profiles=tuple(self.profile or ()), project_name=self.project_name
        )


class DiagramParameters(ProjectParameters):
    """The compose inputs and the diagram's layer options of a diagram request."""

    overrides: bool = Field(
        True, description="List container overrides in container nodes."
    )
    networks: bool = Field(True, description="Draw networks as regions.")
    depends_on: bool = Field(True, description="Draw depends_on edges.")
    volumes: bool = Field(False, description="Draw named volumes and bind mounts.")
    legend: bool = Field(True, description="Draw the legend.")
    direction: Direction = Field("LR", description="Layout direction.")
    service: str | None = Field(
        None, min_length=1, description="Focus on this service and what it depends on."
    )
    show_values: bool = Field(
        False, description="Show environment values instead of masking them."
    )

    def options(self) -> DiagramOptions:
        """Return the layer options these parameters ask for."""
        return DiagramOptions(
            overrides=self.overrides,
            networks=self.networks,
            depends_on=self.depends_on,
            volumes=self.volumes,
            legend=self.legend,
            direction=self.direction,
            service=self.service,
            show_values=self.show_values,
        )


class ModelParameters(ProjectParameters):
    """The query parameters of a model request."""

    show_values: bool = Field(
        False, description="Show environment values instead of masking them."
    )


class FormatParameters(DiagramParameters):
    """A diagram request's query parameters when the format is one of them."""

    fmt: Format = Field("svg", alias="format", description="Output format.")


ModelQuery = Annotated[ModelParameters, Depends(query_model(ModelParameters))]
DiagramQuery = Annotated[DiagramParameters, Depends(query_model(DiagramParameters))]
FormatQuery = Annotated[FormatParameters, Depends(query_model(FormatParameters))]


@router.post(
    "/api/v1/model",
    summary="Read a project into the topology model",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "The topology model.",
            "content": {MODEL_MEDIA_TYPE: {"schema": {"type": "object"}}},
        },
        304: {"description": "The If-None-Match tag is still current."},
        **problem_responses(400, 413, 415, 422, 500, 503),
    },
    openapi_extra={
        "parameters": query_parameters(ModelParameters),
        "requestBody": PROJECT_REQUEST_BODY,
    },
)
async def post_model(
    request: Request,
    query: ModelQuery,
) -> Response:
    """Return the JSON topology model; environment values are masked unless asked."""
    project_input = await read_project(request, query.inputs())
    renderer = renderer_of(request)
    note(request, format="model")

    key = renderer.model_key(project_input, query.show_values)
    etag = etag_for(key)
    if is_not_modified(request.headers.get("if-none-match"), etag):
        return not_modified(request, etag, "no-cache")
    answer = await renderer.render_model(project_input, query.show_values, key)
    return answer_response(request, answer, "no-cache")


@router.post(
    "/api/v1/diagram",
    summary="Draw a project's diagram",
    responses=with_error_images(DIAGRAM_RESPONSES),
    openapi_extra={
        "parameters": query_parameters(FormatParameters),
        "requestBody": PROJECT_REQUEST_BODY,
    },
)
async def post_diagram(request: Request, query: FormatQuery) -> Response:
    """Return the diagram; errors come back as an SVG when an image was asked for."""
    project_input = await read_project(request, query.inputs())
    return await answer_diagram(
        request, project_input, query.fmt, query.options(), "no-cache"
    )


@router.get(
    "/healthz",
    summary="Check that diagrams can be drawn",
    responses=problem_responses(503),
)
async def get_healthz(request: Request) -> dict[str, str]:
    """Answer 200 when Graphviz draws a tiny diagram, 503 otherwise."""
    await renderer_of(request).check_graphviz()
    return {"status": "ok", "graphviz": "ok"}


@router.get("/livez", summary="Check that the process answers")
async def get_livez() -> dict[str, str]:
    """Answer at once, without Graphviz: the event loop is alive."""
    return {"status": "ok"}


async def read_project(request: Request, query: QueryInputs) -> ProjectInput:
    """Read the request body into a project, with this app's limits."""
    settings = settings_of(request)
    return await load_project_input(
        request, settings.limits, settings.body_timeout_seconds, query
    )


async def answer_diagram(
    request: Request,
    project_input: ProjectInput,
    fmt: str,
    options: DiagramOptions,
    cache_control: str,
) -> Response:
    """Answer with the diagram, a 304 when the client's copy is current."""
    renderer = renderer_of(request)
    note(request, format=fmt)

    key = renderer.diagram_key(project_input, fmt, options)
    etag = etag_for(key)
    if is_not_modified(request.headers.get("if-none-match"), etag):
        return not_modified(request, etag, cache_control)
    answer = await renderer.render_diagram(project_input, fmt, options, key)
    return answer_response(request, answer, cache_control)


def answer_response(request: Request, answer: Answer, cache_control: str) -> Response:
    """Build the response for a rendered answer, with its ETag and caching.

    The same request sent again is answered from this response by
    ``service.web.fastpath``, which replays its headers except Server-Timing.
    """
    offer_answer(request, answer.key)
    note(
        request,
        services=answer.services,
        cache="hit" if answer.cache_hit else "miss",
    )
    headers = {"ETag": answer.etag, "Cache-Control": cache_control}
    if answer.media_type.startswith("image/"):
        headers.update(SAFE_IMAGE_HEADERS)
    if answer.timings:
        headers["Server-Timing"] = server_timing(request, answer)
    if answer.graphviz_seconds:
        note(request, graphviz_ms=f"{answer.graphviz_seconds * 1000:.1f}")
    return Response(answer.body, media_type=answer.media_type, headers=headers)


def server_timing(request: Request, answer: Answer) -> str:
    """Return the ``Server-Timing`` value of a fresh answer: its steps in milliseconds.

    Browsers show it beside the request, and a client can tell Graphviz's
    part of a slow diagram from ours without the server's log. ``total`` is
    the request's time in the app so far, the answer's bytes ready to send.
    """
    steps = list(answer.timings)
    in_app = seconds_since_start(request)
    if in_app is not None:
        steps.append(("total", in_app))
    return ", ".join(f"{step};dur={seconds * 1000:.2f}" for step, seconds in steps)


def not_modified(request: Request, etag: str, cache_control: str) -> Response:
    """Answer 304: the client already holds this exact answer."""
    note(request, cache="not-modified")
    return build_not_modified(etag, cache_control)


def renderer_of(request: Request) -> Renderer:
    """Return the app's shared renderer."""
    renderer: Renderer = request.app.state.renderer
    return renderer


def settings_of(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings
