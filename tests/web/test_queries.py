"""Query strings read into the routes' parameter models, and their OpenAPI entries."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from service.web.api import DiagramParameters, FormatParameters
from service.web.queries import query_model, query_parameters


class Sample(BaseModel):
    """A model with each kind of field the routes use."""

    tag: list[str] | None = Field(None, description="Repeatable.")
    name: str | None = None
    flag: bool = True
    fmt: str = Field("svg", alias="format", min_length=2)


SampleQuery = Annotated[Sample, Depends(query_model(Sample))]


def echo_client() -> TestClient:
    app = FastAPI()

    @app.get("/echo")
    async def echo(query: SampleQuery) -> dict[str, Any]:
        dumped: dict[str, Any] = query.model_dump(by_alias=True)
        return dumped

    @app.exception_handler(RequestValidationError)
    async def locate(request: Any, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"loc": [list(e["loc"]) for e in exc.errors()]}, 422)

    return TestClient(app)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", {}, id="nothing-given-defaults"),
        pytest.param("tag=a&tag=b", {"tag": ["a", "b"]}, id="list-takes-every-value"),
        pytest.param("tag=a", {"tag": ["a"]}, id="list-of-one"),
        pytest.param("name=x&name=y", {"name": "y"}, id="scalar-takes-the-last"),
        pytest.param("flag=false", {"flag": False}, id="bool-parsed"),
        pytest.param("format=png", {"format": "png"}, id="alias"),
        pytest.param("colour=red", {}, id="unknown-name-ignored"),
        pytest.param("name=", {"name": ""}, id="empty-value-kept"),
    ],
)
def test_query_model_reads_query_string_as_fastapi_does(
    query: str, expected: dict[str, Any]
) -> None:
    defaults = {"tag": None, "name": None, "flag": True, "format": "svg"}

    response = echo_client().get(f"/echo?{query}")

    assert response.status_code == 200
    assert response.json() == {**defaults, **expected}


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        pytest.param("flag=maybe", ["query", "flag"], id="bad-bool"),
        pytest.param("format=x", ["query", "format"], id="too-short-alias"),
    ],
)
def test_query_model_invalid_value_raises_located_validation_error(
    query: str, loc: list[str]
) -> None:
    response = echo_client().get(f"/echo?{query}")

    assert response.status_code == 422
    assert response.json() == {"loc": [loc]}


def test_query_parameters_lists_every_field_by_its_query_name() -> None:
    parameters = query_parameters(Sample)

    assert [p["name"] for p in parameters] == ["tag", "name", "flag", "format"]
    assert all(p["in"] == "query" and p["required"] is False for p in parameters)
    assert parameters[0]["description"] == "Repeatable."
    assert "description" not in parameters[1]
    assert parameters[3]["schema"]["minLength"] == 2


def test_openapi_documents_the_diagram_routes_query_parameters(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    posted = paths["/api/v1/diagram"]["post"]["parameters"]
    kroki = paths["/compose/{format}/{encoded}"]["get"]["parameters"]

    assert [p["name"] for p in posted] == [
        p["name"] for p in query_parameters(FormatParameters)
    ]
    assert next(p for p in posted if p["name"] == "direction")["schema"]["enum"]
    assert [p["name"] for p in kroki] == [
        "format",
        "encoded",
        *(p["name"] for p in query_parameters(DiagramParameters)),
    ]


def test_post_diagram_repeated_profile_enables_each(client: TestClient) -> None:
    compose = (
        "services:\n"
        "  web: {image: nginx}\n"
        "  a: {image: a, profiles: [one]}\n"
        "  b: {image: b, profiles: [two]}\n"
    )

    response = client.post(
        "/api/v1/model?profile=one&profile=two",
        content=compose,
        headers={"Content-Type": "application/yaml"},
    )

    assert response.status_code == 200
    assert sorted(s["name"] for s in response.json()["services"]) == ["a", "b", "web"]
