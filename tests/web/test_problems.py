"""Every error answers as an RFC 9457 problem, or as an SVG for image clients."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service import render
from service.errors import (
    BusyError,
    ComposeTopologyError,
    ComposeValidationError,
    GraphvizMissingError,
    InputError,
    InterpolationError,
    LimitExceededError,
    RenderFailedError,
    RenderTimeoutError,
    SourceLocation,
    UnknownServiceError,
    UnsupportedMediaError,
    YamlSyntaxError,
)
from service.web.app import create_app
from service.web.problems import build_problem, render_error_svg
from service.web.settings import Settings
from tests.web.samples import BROKEN_YAML, COMPOSE, REJECTED, YAML

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(YamlSyntaxError("x"), 400, id="yaml-syntax"),
        pytest.param(ComposeValidationError("x"), 422, id="compose-invalid"),
        pytest.param(InterpolationError("x"), 422, id="interpolation"),
        pytest.param(LimitExceededError("x", limit="max_services"), 413, id="limit"),
        pytest.param(UnsupportedMediaError("x"), 415, id="media-type"),
        pytest.param(UnknownServiceError("x"), 422, id="unknown-service"),
        pytest.param(InputError("x"), 400, id="input"),
        pytest.param(GraphvizMissingError("x"), 503, id="graphviz-missing"),
        pytest.param(RenderTimeoutError("x"), 422, id="render-timeout"),
        pytest.param(RenderFailedError("x"), 500, id="render-failed"),
        pytest.param(BusyError("x", retry_after=3), 503, id="busy"),
        pytest.param(ComposeTopologyError("x"), 500, id="root"),
        pytest.param(RuntimeError("boom"), 500, id="unexpected"),
    ],
)
def test_build_problem_error_class_maps_to_status(
    error: Exception, status: int
) -> None:
    problem, _ = build_problem(error, instance="/api/v1/diagram")

    assert problem.status == status
    assert problem.type.startswith("urn:compose-topology:problem:")
    assert problem.title
    assert problem.detail


def test_build_problem_carries_the_location() -> None:
    error = ComposeValidationError(
        "The port is invalid.",
        location=SourceLocation("compose.yaml", 7, 9),
        service="web",
        key="ports",
    )

    problem, _ = build_problem(error, instance="/x")

    assert (problem.file, problem.line, problem.column) == ("compose.yaml", 7, 9)
    assert (problem.service, problem.key) == ("web", "ports")


def test_build_problem_busy_sets_retry_after() -> None:
    _, headers = build_problem(BusyError("Busy.", retry_after=4), instance="/x")

    assert headers["Retry-After"] == "4"


def test_build_problem_unexpected_error_hides_its_message() -> None:
    problem, _ = build_problem(RuntimeError("secret internals"), instance="/x")

    assert "secret internals" not in problem.detail


def test_render_error_svg_escapes_markup() -> None:
    error = ComposeValidationError(
        "The service '<script>alert(1)</script>' is invalid & odd.",
        service="<img src=x onerror=alert(1)>",
    )
    problem, _ = build_problem(error, instance="/x")

    svg = render_error_svg(problem).decode()

    assert "<script>" not in svg
    assert "<img" not in svg
    assert "&lt;script&gt;" in svg
    assert "&amp; odd" in svg


def test_post_diagram_broken_yaml_answers_400_with_location(
    client: TestClient,
) -> None:
    response = client.post("/api/v1/diagram", content=BROKEN_YAML, headers=YAML)

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 400
    assert problem["file"] == "compose.yaml"
    assert problem["line"] >= 3
    assert "column" in problem
    assert problem["instance"] == "/api/v1/diagram"


def test_post_model_compose_reject_answers_422(client: TestClient) -> None:
    response = client.post("/api/v1/model", content=REJECTED, headers=YAML)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["file"] == "compose.yaml"


def test_post_diagram_unknown_focus_service_answers_422_naming_it(
    client: TestClient,
) -> None:
    response = client.post(
        "/api/v1/diagram", params={"service": "nope"}, content=COMPOSE, headers=YAML
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith(":unknown-service")
    assert problem["service"] == "nope"
    assert problem["key"] == "service"


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        pytest.param({"format": "svg"}, {}, id="format-svg"),
        pytest.param({"format": "png"}, {}, id="format-png"),
        pytest.param({}, {"Accept": "image/*"}, id="accept-image"),
    ],
)
def test_post_diagram_image_client_gets_an_error_svg(
    client: TestClient, params: dict[str, str], headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/diagram",
        params=params,
        content=REJECTED,
        headers={**YAML, **headers},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert b"422" in response.content


def test_post_diagram_json_accept_wins_over_image_format(client: TestClient) -> None:
    response = client.post(
        "/api/v1/diagram",
        params={"format": "svg"},
        content=REJECTED,
        headers={**YAML, "Accept": "application/problem+json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_post_diagram_invalid_query_answers_422_problem(client: TestClient) -> None:
    response = client.post(
        "/api/v1/diagram",
        params={"direction": "diagonal"},
        content=COMPOSE,
        headers=YAML,
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["loc"] == ["query", "direction"]


def test_unknown_route_answers_404_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(GraphvizMissingError("Graphviz is gone."), 503, id="missing"),
        pytest.param(RenderFailedError("dot was killed."), 500, id="crashed"),
        pytest.param(RenderTimeoutError("Layout stopped."), 422, id="timeout"),
    ],
)
def test_post_diagram_graphviz_fault_answers_its_status(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: int,
) -> None:
    def fail(*args: object) -> bytes:
        raise error

    monkeypatch.setattr(render, "render_diagram", fail)

    response = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)
    healthy = client.get("/livez")

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert healthy.status_code == 200


def test_post_diagram_unexpected_bug_answers_500_problem(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object) -> bytes:
        raise KeyError("internal detail")

    monkeypatch.setattr(render, "render_diagram", crash)

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "internal detail" not in response.text


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(GraphvizMissingError("Graphviz is not installed."), id="missing"),
        pytest.param(RenderFailedError("dot crashed."), id="crashed"),
        pytest.param(RenderTimeoutError("Layout stopped."), id="timeout"),
    ],
)
def test_healthz_unusable_graphviz_answers_503(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def fail(*args: object) -> bytes:
        raise error

    monkeypatch.setattr(render, "render_diagram", fail)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["type"].endswith(":graphviz-missing")


def test_healthz_probes_graphviz_once_per_period(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[object, ...]] = []

    def count_render(*args: object) -> bytes:
        calls.append(args)
        return b""

    monkeypatch.setattr(render, "render_diagram", count_render)

    answers = [client.get("/healthz").status_code for _ in range(5)]

    assert answers == [200] * 5
    assert len(calls) == 1


def test_create_app_without_graphviz_fails_at_startup(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render.graphviz, "find_dot", lambda: None)

    with pytest.raises(GraphvizMissingError):
        create_app(settings)


@pytest.mark.parametrize("folder", ["templates_dir", "static_dir"])
def test_create_app_missing_folder_fails_at_startup(
    folder: str, tmp_path: Path
) -> None:
    settings = Settings(**{folder: tmp_path / "absent"})  # type: ignore[arg-type]

    with pytest.raises(ComposeTopologyError, match="does not exist"):
        create_app(settings)


def test_rejected_input_logs_one_warning_without_content(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret_yaml = BROKEN_YAML.replace("nginx", "hunter2-in-yaml")

    with caplog.at_level(logging.INFO, logger="service.web"):
        client.post("/api/v1/diagram", content=secret_yaml, headers=YAML)

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert "status=400" in line
    assert "YamlSyntaxError" in line
    assert "compose.yaml" in line
    assert all("hunter2" not in r.getMessage() for r in caplog.records)


def test_rejected_input_log_line_cannot_be_forged_by_a_name(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    forged = 'services:\n  "web\\nrejected route=/ status=200":\n    image: nginx\n'

    with caplog.at_level(logging.WARNING, logger="service.web"):
        response = client.post("/api/v1/model", content=forged, headers=YAML)

    assert response.status_code == 422
    assert all("\n" not in r.getMessage() for r in caplog.records)
