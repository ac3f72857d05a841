"""Hand-built topology models for the renderer's tests.

They mirror the example stack from the compose-reading work, so the
renderer can be tested on its own; tests that go through ``parse_project``
live beside these and use the real reader.
"""

from __future__ import annotations

import pytest

from service.model import (
    BuildSpec,
    EnvironmentVariable,
    Finding,
    Image,
    Network,
    NetworkAttachment,
    Override,
    PortBinding,
    Project,
    Service,
)
from service.render.graph import Graph, Region

APP = "cryphos-app:latest"
APP_USERS = ("backend", "celery", "celery-beat", "liquidations")
DEFAULT_NETWORK = (NetworkAttachment(network="default"),)


def build_example_project() -> Project:
    """Return the model of the six-service example stack (one image, four users)."""
    services = (
        _app_service(
            "backend",
            ports=(PortBinding(target=8000, published="8000", exposure="public"),),
        ),
        _app_service(
            "celery",
            overrides=(
                Override("command", ["celery", "-A", "apis", "worker"]),
                Override("environment", ["PYTHONPATH"]),
                Override("working_dir", "/app/apis"),
            ),
            environment=(EnvironmentVariable("PYTHONPATH", "/app"),),
        ),
        _app_service(
            "celery-beat",
            overrides=(Override("command", ["celery", "-A", "apis", "beat"]),),
        ),
        _app_service(
            "liquidations",
            containers=("cryphos-liquidations",),
            overrides=(Override("command", ["python", "-m", "liquidations"]),),
        ),
        Service(
            name="db",
            image="postgres:16",
            containers=("example-db-1",),
            ports=(
                PortBinding(
                    target=5432,
                    published="5432",
                    host_ip="127.0.0.1",
                    exposure="loopback",
                ),
            ),
            networks=DEFAULT_NETWORK,
        ),
        Service(
            name="redis",
            image="redis:7",
            containers=("example-redis-1",),
            networks=DEFAULT_NETWORK,
        ),
    )
    images = (
        Image(
            ref=APP,
            source="build",
            built_by=("backend",),
            used_by=APP_USERS,
            build=BuildSpec(context="."),
        ),
        Image(ref="postgres:16", source="pull", used_by=("db",)),
        Image(ref="redis:7", source="pull", used_by=("redis",)),
    )
    findings = tuple(
        Finding(
            code="image-built-elsewhere",
            severity="warning",
            message=f"{name} runs {APP}, built by backend, without depending on it.",
            service=name,
        )
        for name in ("celery", "celery-beat", "liquidations")
    )
    network = Network(
        name="default",
        full_name="example_default",
        is_default=True,
        services=tuple(sorted((*APP_USERS, "db", "redis"))),
    )
    return Project(
        project="example",
        images=images,
        services=services,
        networks=(network,),
        findings=findings,
    )


def _app_service(
    name: str,
    *,
    containers: tuple[str, ...] = (),
    overrides: tuple[Override, ...] = (),
    environment: tuple[EnvironmentVariable, ...] = (),
    ports: tuple[PortBinding, ...] = (),
) -> Service:
    return Service(
        name=name,
        image=APP,
        containers=containers or (f"example-{name}-1",),
        overrides=overrides,
        environment=environment,
        ports=ports,
        networks=DEFAULT_NETWORK,
    )


def find_region(graph: Graph, region_id: str) -> Region:
    """Return the region of ``graph`` with ``region_id``, however deeply nested."""
    stack = list(graph.regions)
    while stack:
        region = stack.pop()
        if region.id == region_id:
            return region
        stack.extend(region.regions)
    raise AssertionError(f"no region {region_id}")


@pytest.fixture
def example_project() -> Project:
    return build_example_project()
