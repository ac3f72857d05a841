"""The OpenAPI UI at /docs works with no internet: every asset comes from us.

The browser check of the page itself is in tests/browser/test_docs_page.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.web.app import build_docs_openapi


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
