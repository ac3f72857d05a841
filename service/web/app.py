"""Build the web application: the REST API, the Kroki routes, the page and the docs.

Run it with uvicorn's factory mode, configured from ``COMPOSE_TOPOLOGY_*``
variables (see ``service.web.settings``)::

    uvicorn --factory service.web.app:create_app_from_environ

What the app offers to the modules it includes (the page router uses these):

- ``app.state.settings``: the ``Settings`` it was built with;
- ``app.state.templates``: the shared ``Jinja2Templates`` over
  ``settings.templates_dir`` (autoescaping on); ``url_for('static', path=...)``
  resolves against the ``/static`` mount of ``settings.static_dir``;
- ``app.state.renderer``: the ``service.web.renders.Renderer`` that parses and
  draws within the render slots and the cache; the app's lifespan closes it,
  stopping the Graphviz processes it keeps waiting;
- every ``ComposeTopologyError`` raised in a route becomes a problem answer.

Startup fails, rather than every request, when Graphviz's ``dot`` or the
template or static folder is missing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from starlette.responses import HTMLResponse

from service import __version__, render
from service.errors import ComposeTopologyError
from service.render.ids import service_id
from service.web import api, kroki, pages
from service.web.fastpath import FastPathMiddleware
from service.web.inputs import ProjectBody, ProjectFile
from service.web.logs import RequestLogMiddleware
from service.web.problems import Problem, install_problem_handler
from service.web.renders import Renderer
from service.web.settings import Settings, settings_from_environ

logger = logging.getLogger(__name__)

TITLE = "compose-topology"
DESCRIPTION = (
    "Turn Docker Compose files into a diagram and a topology model: images, "
    "containers, overrides and who can reach which port. Errors are RFC 9457 "
    "problem documents (or an SVG picture of the error for image clients)."
)
SWAGGER_ASSETS = "/docs/assets"
DOCS_OPENAPI_URL = "/docs/openapi.json"

#: Models the routes read by hand (to bound the body) but the schema documents.
_DOCUMENTED_MODELS: tuple[type[BaseModel], ...] = (
    Problem,
    ProjectBody,
    ProjectFile,
    kroki.KrokiDiagram,
    kroki.KrokiRequest,
)


def create_app(settings: Settings) -> FastAPI:
    """Return the application for ``settings``, after checking what it needs."""
    check_environment(settings)

    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.templates = _build_templates(settings)
    app.state.renderer = Renderer(settings)

    install_problem_handler(app)
    # Added first, so it runs inside the request log: a replayed answer
    # still writes its one line.
    app.add_middleware(
        FastPathMiddleware,
        cache=app.state.renderer.cache,
        max_entries=settings.cache_entries,
        max_body_bytes=settings.limits.max_body_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(RequestLogMiddleware)
    _include_routes(app, settings)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The renderer keeps started Graphviz processes waiting for work; stop
    # and reap them when the server shuts down.
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(app.state.renderer.close)


def create_app_from_environ() -> FastAPI:
    """Return the application configured by this process's environment (for uvicorn)."""
    _configure_logging()
    return create_app(settings_from_environ())


def check_environment(settings: Settings) -> None:
    """Refuse to start without Graphviz or without the page's folders."""
    render.check_graphviz()
    folders = (
        ("templates", "TEMPLATES_DIR", settings.templates_dir),
        ("static", "STATIC_DIR", settings.static_dir),
    )
    for label, variable, folder in folders:
        if not Path(folder).is_dir():
            raise ComposeTopologyError(
                f"The {label} folder {str(folder)!r} does not exist. Point "
                f"COMPOSE_TOPOLOGY_{variable} at the project's {label}/ folder."
            )


def _build_templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=settings.templates_dir)
    # A finding names its service; the page links it to the service's node,
    # whose id only the renderer knows how to spell.
    templates.env.globals["service_id"] = service_id
    return templates


def _include_routes(app: FastAPI, settings: Settings) -> None:
    app.include_router(api.router)
    app.include_router(kroki.router)
    app.include_router(pages.router)

    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    app.mount(
        SWAGGER_ASSETS,
        StaticFiles(directory=swagger_assets_dir()),
        name="swagger-ui",
    )

    @app.get(DOCS_OPENAPI_URL, include_in_schema=False)
    async def get_docs_openapi() -> dict[str, Any]:
        return build_docs_openapi(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def get_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=DOCS_OPENAPI_URL,
            title=f"{TITLE} API",
            swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_ASSETS}/favicon-32x32.png",
        )


def swagger_assets_dir() -> Path:
    """Return the folder of the Swagger UI bundle shipped as a Python package."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """Return the OpenAPI schema, with the bodies the routes read by hand."""
    if app.openapi_schema is not None:
        return app.openapi_schema

    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in _DOCUMENTED_MODELS:
        model_schema = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
    app.openapi_schema = schema
    return schema


def build_docs_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Return ``schema`` restated as OpenAPI 3.0 for the bundled Swagger UI.

    The Swagger UI that ships as a Python package (4.x) refuses OpenAPI 3.1,
    which FastAPI writes. Our schema uses only two 3.1 forms, a ``null``
    member of ``anyOf`` and ``const``; 3.0 says the same with ``nullable``
    and a one-value ``enum``. ``/openapi.json`` itself stays 3.1 for tools.
    """
    converted = _to_openapi_30(schema)
    assert isinstance(converted, dict)
    converted["openapi"] = "3.0.3"
    return converted


def _to_openapi_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node

    node = {key: _to_openapi_30(value) for key, value in node.items()}
    if "const" in node:
        node["enum"] = [node.pop("const")]
    members = node.get("anyOf")
    if isinstance(members, list) and {"type": "null"} in members:
        rest = [member for member in members if member != {"type": "null"}]
        del node["anyOf"]
        if len(rest) == 1 and isinstance(rest[0], dict) and "$ref" not in rest[0]:
            node.update(rest[0])
        else:
            node["anyOf"] = rest
        node["nullable"] = True
    return node


def _configure_logging() -> None:
    # Only when nobody configured logging (uvicorn configures its own loggers,
    # not the root), so the per-request lines are visible by default.
    if logging.getLogger().handlers:
        return
    logging.basicConfig(
        level=os.environ.get("COMPOSE_TOPOLOGY_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
