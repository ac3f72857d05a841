"""The OpenAPI UI at /docs works with no internet: every asset comes from us."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.web.app import build_docs_openapi
from tests.web.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]


def test_docs_openapi_is_openapi_30_without_null_types(client: TestClient) -> None:
    schema = client.get("/docs/openapi.json").json()

    assert schema["openapi"] == "3.0.3"
    text = json.dumps(schema)
    assert '{"type": "null"}' not in text
    assert '"const"' not in text
    assert schema["paths"].keys() == client.get("/openapi.json").json()["paths"].keys()


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        pytest.param(
            {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "T"},
            {"type": "string", "title": "T", "nullable": True},
            id="nullable-scalar",
        ),
        pytest.param(
            {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]},
            {"anyOf": [{"$ref": "#/x"}], "nullable": True},
            id="nullable-ref",
        ),
        pytest.param({"const": "compose"}, {"enum": ["compose"]}, id="const"),
        pytest.param(
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            id="untouched",
        ),
    ],
)
def test_build_docs_openapi_restates_31_forms(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    converted = build_docs_openapi({"openapi": "3.1.0", "components": {"x": schema}})

    assert converted["components"]["x"] == expected


@pytest.fixture
def chromium_page(live_server: LiveServer) -> Iterator[Any]:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium.")
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser.new_page()
        browser.close()


@pytest.mark.browser
def test_docs_page_renders_every_operation_offline(
    live_server: LiveServer, chromium_page: Any
) -> None:
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    chromium_page.route("**/*", guard)
    chromium_page.goto(f"{live_server.url}/docs")
    chromium_page.wait_for_selector(".opblock-summary-path", timeout=15_000)

    paths = chromium_page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/v1/model", "/api/v1/diagram", "/compose/{format}/{encoded}"} <= {
        path.strip().replace("\u200b", "") for path in paths
    }
    assert outside == []
