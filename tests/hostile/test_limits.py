"""Every limit in ``service.limits.Limits`` answers with its own clear error.

Each row lowers one limit far enough for a small input to pass it, and checks
that the answer names that limit, quotes its value and says it plainly: the
caller learns which bound they hit, not that "something failed".
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.limits import Limits
from service.web.app import create_app
from service.web.settings import Settings

YAML = {"content-type": "application/yaml", "accept": "application/json"}


def services(count: int, extra: str = "") -> str:
    """Return a project of ``count`` services named s0, s1, ..."""
    lines = [f"  s{index}:\n    image: nginx:1.27\n{extra}" for index in range(count)]
    return "services:\n" + "".join(lines)


@dataclass(frozen=True)
class LimitCase:
    """One limit lowered, the input that passes it, and how it is sent."""

    field: str
    value: int | float
    body: str
    status: int = 413
    problem: str = "too-large"
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    files: int = 0


LIMIT_CASES = [
    LimitCase("max_body_bytes", 1_000, services(1) + "#" * 2_000 + "\n"),
    LimitCase("max_files", 2, services(1), files=3),
    LimitCase("max_yaml_depth", 5, "x: " + "[" * 10 + "]" * 10 + "\n" + services(1)),
    LimitCase("max_yaml_nodes", 50, "x: [" + ",".join("0" * 100) + "]\n" + services(1)),
    LimitCase(
        "max_alias_expansions",
        10,
        "x-a: &a [1, 2, 3]\nx-b: [" + ", ".join(["*a"] * 20) + "]\n" + services(1),
    ),
    LimitCase("max_services", 2, services(3)),
    LimitCase("max_ports", 10, services(1, "    ports: ['8000-8020:8000-8020']\n")),
    LimitCase("max_diagram_nodes", 3, services(3)),
    LimitCase(
        "max_diagram_edges",
        1,
        services(2) + "  s2:\n    image: nginx:1.27\n    depends_on: [s0, s1]\n",
    ),
    LimitCase(
        "render_timeout_seconds",
        0.05,
        services(150, "    ports: ['80']\n"),
        status=422,
        problem="render-timeout",
    ),
    LimitCase(
        "render_memory_bytes",
        20_000_000,
        services(3),
        params={"format": "png"},
    ),
    LimitCase("max_output_bytes", 1_000, services(3)),
]


def post(client: TestClient, case: LimitCase) -> Any:
    """Send the case's input to the diagram route, as one body or as files."""
    params = {"format": "svg", **case.params}
    if case.files:
        files = [("file", (f"c{i}.yaml", case.body)) for i in range(case.files)]
        return client.post(
            "/api/v1/diagram",
            params=params,
            files=files,
            headers={"accept": "application/json"},
        )
    return client.post(
        "/api/v1/diagram", params=params, content=case.body, headers=YAML
    )


@pytest.mark.parametrize("case", LIMIT_CASES, ids=[c.field for c in LIMIT_CASES])
def test_limit_exceeded_answers_its_own_clear_problem(case: LimitCase) -> None:
    lowered: dict[str, Any] = {case.field: case.value}
    limits = dataclasses.replace(Limits(), **lowered)
    app = create_app(Settings(limits=limits))

    with TestClient(app, raise_server_exceptions=False) as client:
        started = time.monotonic()
        response = post(client, case)
        elapsed = time.monotonic() - started
        healthy = client.get("/livez")

    problem = response.json()
    assert response.status_code == case.status, problem
    assert problem["type"].endswith(f":{case.problem}")
    if case.status == 413:
        assert problem["limit"] == case.field
    value = f"{case.value:g}" if isinstance(case.value, float) else str(case.value)
    assert value in problem["detail"]
    assert elapsed < 10
    assert healthy.status_code == 200


def test_limit_set_in_the_environment_is_enforced() -> None:
    settings = Settings.from_environ({"COMPOSE_TOPOLOGY_MAX_SERVICES": "2"})

    with TestClient(create_app(settings)) as client:
        response = client.post("/api/v1/model", content=services(3), headers=YAML)

    assert response.status_code == 413
    assert response.json()["limit"] == "max_services"
    assert "2 services" in response.json()["detail"]


def test_every_limit_has_a_case() -> None:
    fields = {field.name for field in dataclasses.fields(Limits)}

    assert fields == {case.field for case in LIMIT_CASES}
