"""The REST API: bodies of every kind, formats, options, masking, docs and health."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.samples import COMPOSE, SECRET, YAML

MAGIC = {
    "svg": b"<svg",
    "png": b"\x89PNG",
    "pdf": b"%PDF",
    "dot": b"digraph",
    "json": b"{",
}
OVERRIDE = """\
services:
  web:
    image: nginx:${TAG:-latest}
"""
PROFILED = """\
services:
  web:
    image: nginx
  debug:
    image: busybox
    profiles: [debug]
"""


def service_names(model: dict[str, Any]) -> list[str]:
    return sorted(service["name"] for service in model["services"])


def service(model: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in model["services"] if s["name"] == name)


@pytest.mark.parametrize(
    "media_type",
    ["application/yaml", "text/yaml", "application/x-yaml", "text/plain"],
)
def test_post_diagram_raw_body_media_types_answer_svg(
    client: TestClient, media_type: str
) -> None:
    response = client.post(
        "/api/v1/diagram", content=COMPOSE, headers={"Content-Type": media_type}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert MAGIC["svg"] in response.content


@pytest.mark.parametrize("fmt", list(MAGIC))
def test_post_diagram_each_format_answers_its_media_type(
    client: TestClient, fmt: str
) -> None:
    response = client.post(
        "/api/v1/diagram", params={"format": fmt}, content=COMPOSE, headers=YAML
    )

    assert response.status_code == 200
    assert MAGIC[fmt] in response.content[:1000]
    assert response.headers["etag"]
    assert response.headers["cache-control"] == "no-cache"


def test_post_diagram_svg_carries_a_script_blocking_policy(client: TestClient) -> None:
    response = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)

    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_post_diagram_unknown_format_answers_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/diagram", params={"format": "gif"}, content=COMPOSE, headers=YAML
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("params", "changed"),
    [
        pytest.param({"direction": "TB"}, True, id="direction"),
        pytest.param({"depends_on": "false"}, True, id="depends-on"),
        pytest.param({"legend": "false"}, True, id="legend"),
        pytest.param({"service": "web"}, True, id="focus"),
        pytest.param({"networks": "true"}, False, id="default-value"),
    ],
)
def test_post_diagram_query_options_reach_the_diagram(
    client: TestClient, params: dict[str, str], changed: bool
) -> None:
    default = client.post(
        "/api/v1/diagram", params={"format": "dot"}, content=COMPOSE, headers=YAML
    )
    varied = client.post(
        "/api/v1/diagram",
        params={"format": "dot", **params},
        content=COMPOSE,
        headers=YAML,
    )

    assert varied.status_code == 200
    assert (varied.content != default.content) is changed


def test_post_model_raw_body_answers_the_model(client: TestClient) -> None:
    response = client.post("/api/v1/model", content=COMPOSE, headers=YAML)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    model = response.json()
    assert service_names(model) == ["api", "db", "web"]
    assert {image["ref"] for image in model["images"]} >= {"nginx:1.27", "postgres:16"}


@pytest.mark.parametrize(
    "route",
    [
        "/api/v1/model",
        "/api/v1/diagram?format=json",
        "/api/v1/diagram?format=dot",
        "/api/v1/diagram?format=svg",
    ],
)
def test_post_environment_values_are_hidden_by_default(
    client: TestClient, route: str
) -> None:
    response = client.post(route, content=COMPOSE, headers=YAML)

    assert response.status_code == 200
    assert SECRET.encode() not in response.content
    assert b"DATABASE_PASSWORD" in response.content


def test_post_model_show_values_reveals_environment_values(client: TestClient) -> None:
    response = client.post(
        "/api/v1/model",
        params={"show_values": "true"},
        content=COMPOSE,
        headers=YAML,
    )

    environment = service(response.json(), "api")["environment"]
    assert {"name": "DATABASE_PASSWORD", "value": SECRET}.items() <= next(
        variable for variable in environment if variable["name"] == "DATABASE_PASSWORD"
    ).items()


def test_post_model_multipart_files_merge_in_order(client: TestClient) -> None:
    override = "services:\n  db:\n    image: postgres:17\n"

    response = client.post(
        "/api/v1/model",
        files=[
            ("file", ("compose.yaml", COMPOSE, "application/yaml")),
            ("file", ("compose.override.yaml", override, "application/yaml")),
        ],
    )

    assert response.status_code == 200
    assert service(response.json(), "db")["image"] == "postgres:17"


def test_post_model_multipart_env_file_interpolates(client: TestClient) -> None:
    response = client.post(
        "/api/v1/model",
        files=[
            ("file", ("compose.yaml", OVERRIDE, "application/yaml")),
            ("env_file", (".env", "TAG=1.25\n", "text/plain")),
        ],
    )

    assert response.status_code == 200
    assert service(response.json(), "web")["image"] == "nginx:1.25"


def test_post_model_multipart_variables_win_over_env_file(client: TestClient) -> None:
    response = client.post(
        "/api/v1/model",
        files=[
            ("file", ("compose.yaml", OVERRIDE, "application/yaml")),
            ("env_file", (".env", "TAG=1.25\n", "text/plain")),
        ],
        data={"variable": "TAG=1.27"},
    )

    assert service(response.json(), "web")["image"] == "nginx:1.27"


def test_post_model_multipart_dockerfile_gives_image_defaults(
    client: TestClient,
) -> None:
    dockerfile = 'FROM python:3.12\nWORKDIR /app\nCMD ["python", "app.py"]\n'

    response = client.post(
        "/api/v1/model",
        files=[
            ("file", ("compose.yaml", COMPOSE, "application/yaml")),
            ("dockerfile", ("api/Dockerfile", dockerfile, "text/plain")),
        ],
    )

    assert response.status_code == 200
    image = next(i for i in response.json()["images"] if "api" in i["built_by"])
    assert image["defaults"]["cmd"] == ["python", "app.py"]
    assert image["defaults"]["workdir"] == "/app"


def test_post_model_multipart_profile_field_enables_a_service(
    client: TestClient,
) -> None:
    files = [("file", ("compose.yaml", PROFILED, "application/yaml"))]

    without = client.post("/api/v1/model", files=files)
    with_profile = client.post("/api/v1/model", files=files, data={"profile": "debug"})

    assert service_names(without.json()) == ["web"]
    assert service_names(with_profile.json()) == ["debug", "web"]


def test_post_model_profile_query_enables_a_service(client: TestClient) -> None:
    response = client.post(
        "/api/v1/model", params={"profile": "debug"}, content=PROFILED, headers=YAML
    )

    assert service_names(response.json()) == ["debug", "web"]


def test_post_model_json_body_reads_every_part(client: TestClient) -> None:
    body = {
        "files": [
            {"name": "compose.yaml", "content": OVERRIDE},
            {
                "name": "extra.yaml",
                "content": PROFILED.replace("nginx", "nginx:${TAG}"),
            },
        ],
        "env_file": "TAG=1.0\n",
        "variables": {"TAG": "2.0"},
        "project_name": "shop",
        "profiles": ["debug"],
    }

    response = client.post("/api/v1/model", json=body)

    assert response.status_code == 200
    model = response.json()
    assert model["project"] == "shop"
    assert service_names(model) == ["debug", "web"]
    assert service(model, "web")["image"] == "nginx:2.0"


def test_post_model_project_name_query_names_the_project(client: TestClient) -> None:
    response = client.post(
        "/api/v1/model", params={"project_name": "blog"}, content=COMPOSE, headers=YAML
    )

    assert response.json()["project"] == "blog"


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        pytest.param(
            {
                "content": "a=b",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            415,
            id="urlencoded",
        ),
        pytest.param(
            {"content": b"\x89PNG", "headers": {"Content-Type": "image/png"}},
            415,
            id="image",
        ),
        pytest.param(
            {
                "content": "services: {}",
                "headers": {"Content-Type": "text/yaml; charset=klingon"},
            },
            415,
            id="unknown-charset",
        ),
        pytest.param(
            {"content": b"services:\n  \xff\xfe: {}\n", "headers": YAML},
            400,
            id="not-utf8",
        ),
        pytest.param(
            {"content": "{", "headers": {"Content-Type": "application/json"}},
            400,
            id="bad-json",
        ),
        pytest.param({"json": {"files": "compose.yaml"}}, 422, id="json-shape"),
        pytest.param(
            {"files": [("env_file", (".env", "A=1"))]}, 400, id="form-without-file"
        ),
        pytest.param(
            {"files": [("file", ("c.yaml", COMPOSE))], "data": {"files": "x"}},
            400,
            id="form-unknown-field",
        ),
        pytest.param(
            {
                "files": [("file", ("c.yaml", COMPOSE))],
                "data": {"variable": "NOEQUALS"},
            },
            400,
            id="form-bad-variable",
        ),
        pytest.param(
            {
                "content": "--x\r\nbroken",
                "headers": {"Content-Type": "multipart/form-data"},
            },
            400,
            id="form-no-boundary",
        ),
    ],
)
def test_post_model_unreadable_body_answers_its_status(
    client: TestClient, request_kwargs: dict[str, Any], status: int
) -> None:
    response = client.post("/api/v1/model", **request_kwargs)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


def test_healthz_answers_ok_when_graphviz_renders(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "graphviz": "ok"}


def test_livez_answers_ok(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}


def test_docs_page_loads_its_assets_from_this_service(client: TestClient) -> None:
    page = client.get("/docs")

    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "https://" not in page.text
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200


def test_openapi_documents_bodies_and_problems(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    diagram = schema["paths"]["/api/v1/diagram"]["post"]
    body_types = set(diagram["requestBody"]["content"])
    assert {"application/yaml", "multipart/form-data", "application/json"} <= body_types
    for status in ("400", "413", "415", "422", "503"):
        assert "application/problem+json" in diagram["responses"][status]["content"]
    parameters = {p["name"] for p in diagram["parameters"]}
    assert {"format", "direction", "depends_on", "service", "profile"} <= parameters
    components = schema["components"]["schemas"]
    assert {"Problem", "ProjectBody", "ProjectFile", "KrokiRequest"} <= set(components)
    assert "/compose/{format}/{encoded}" in schema["paths"]
    assert "post" in schema["paths"]["/"]


def test_openapi_schema_refs_all_resolve(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    text = json.dumps(schema)

    refs = {
        part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]
    }
    assert refs
    assert refs <= set(schema["components"]["schemas"])


def server_timing(response: Any) -> dict[str, float]:
    """Return the Server-Timing entries of ``response`` as milliseconds by name."""
    entries = {}
    for entry in response.headers.get("server-timing", "").split(","):
        name, _, duration = entry.strip().partition(";dur=")
        if name:
            entries[name] = float(duration)
    return entries


@pytest.mark.parametrize(
    ("fmt", "steps"),
    [
        ("svg", ["parse", "build", "graphviz", "total"]),
        ("png", ["parse", "build", "graphviz", "total"]),
        ("dot", ["parse", "build", "total"]),
        ("json", ["parse", "build", "total"]),
    ],
    ids=["svg", "png", "dot", "json"],
)
def test_post_diagram_fresh_render_reports_its_steps_in_server_timing(
    client: TestClient, fmt: str, steps: list[str]
) -> None:
    response = client.post(
        f"/api/v1/diagram?format={fmt}",
        content=COMPOSE,
        headers=YAML,
    )

    timing = server_timing(response)
    assert list(timing) == steps
    assert all(duration > 0 for duration in timing.values())
    assert timing["total"] >= sum(timing[step] for step in steps[:-1]) - 0.05


def test_post_model_fresh_answer_reports_parse_and_build(client: TestClient) -> None:
    response = client.post("/api/v1/model", content=COMPOSE, headers=YAML)

    assert list(server_timing(response)) == ["parse", "build", "total"]


@pytest.mark.parametrize(
    "second_query",
    ["?format=svg", "?format=svg&legend=true"],
    ids=["fast-path-replay", "render-cache-hit"],
)
def test_post_diagram_answer_from_a_cache_has_no_server_timing(
    client: TestClient, second_query: str
) -> None:
    first = client.post("/api/v1/diagram?format=svg", content=COMPOSE, headers=YAML)
    again = client.post(f"/api/v1/diagram{second_query}", content=COMPOSE, headers=YAML)

    assert "graphviz" in server_timing(first)
    assert again.status_code == 200
    assert again.content == first.content
    assert "server-timing" not in again.headers
