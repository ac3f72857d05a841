"""The web service draws new diagrams on Graphviz spares and stops them at shutdown."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from fastapi.testclient import TestClient

from service.compose import ComposeFile, ProjectInput, parse_project
from service.limits import Limits
from service.model import hide_values
from service.render import DiagramOptions, render_diagram
from service.render.graphviz import find_dot
from service.web.app import create_app
from service.web.renders import Renderer
from service.web.settings import Settings
from tests.processes import is_alive, wait_for
from tests.web.samples import COMPOSE, YAML


def is_dot_now(pid: int) -> bool:
    """Tell whether process ``pid`` has become ``dot`` (a spare starts as prlimit)."""
    dot = find_dot()
    assert dot is not None
    try:
        return os.readlink(f"/proc/{pid}/exe") == os.path.realpath(dot)
    except OSError:
        return False


def tagged(tag: str) -> str:
    """Return the sample project with an image tag that makes it a new diagram."""
    return COMPOSE.replace("nginx:1.27", f"nginx:{tag}")


def cold_render(text: str, fmt: str) -> bytes:
    """Return the diagram of ``text`` drawn without spares, as the CLI draws it."""
    project_input = ProjectInput(files=(ComposeFile("compose.yaml", text),))
    project = hide_values(parse_project(project_input, Limits()))
    return render_diagram(project, fmt, DiagramOptions(), Limits())


def test_settings_default_keeps_one_spare_per_render_slot() -> None:
    settings = Settings(max_concurrent_renders=3)

    assert settings.graphviz_spares is None
    assert settings.spares_per_format == 3


def test_settings_from_environ_reads_graphviz_spares() -> None:
    environ = {
        "COMPOSE_TOPOLOGY_MAX_CONCURRENT_RENDERS": "4",
        "COMPOSE_TOPOLOGY_GRAPHVIZ_SPARES": "0",
    }

    settings = Settings.from_environ(environ)

    assert settings.graphviz_spares == settings.spares_per_format == 0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("-1", id="negative"),
        pytest.param("3", id="more-than-slots"),
    ],
)
def test_settings_graphviz_spares_out_of_range_raises_a_clear_error(
    value: str,
) -> None:
    environ = {
        "COMPOSE_TOPOLOGY_MAX_CONCURRENT_RENDERS": "2",
        "COMPOSE_TOPOLOGY_GRAPHVIZ_SPARES": value,
    }

    with pytest.raises(ValueError, match="GRAPHVIZ_SPARES must be between 0"):
        Settings.from_environ(environ)


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_post_diagram_new_diagrams_on_spares_match_cold_renders(
    client: TestClient, fmt: str
) -> None:
    renderer: Renderer = client.app.state.renderer  # type: ignore[attr-defined]

    first = client.post(
        "/api/v1/diagram", params={"format": fmt}, content=tagged("a"), headers=YAML
    )
    wait_for(lambda: bool(renderer.spares.idle_pids(fmt)))
    spare = renderer.spares.idle_pids(fmt)[0]
    wait_for(lambda: is_dot_now(spare))
    second = client.post(
        "/api/v1/diagram", params={"format": fmt}, content=tagged("b"), headers=YAML
    )

    assert first.status_code == second.status_code == 200
    assert first.content == cold_render(tagged("a"), fmt)
    assert second.content == cold_render(tagged("b"), fmt)
    assert spare not in renderer.spares.idle_pids(fmt)
    assert not is_alive(spare)


def test_post_diagram_only_svg_keeps_only_svg_spares(client: TestClient) -> None:
    renderer: Renderer = client.app.state.renderer  # type: ignore[attr-defined]

    for tag in ("a", "b", "c"):
        client.post("/api/v1/diagram", content=tagged(tag), headers=YAML)

    assert 1 <= len(renderer.spares.idle_pids("svg")) <= 2
    assert renderer.spares.idle_pids() == renderer.spares.idle_pids("svg")


def test_app_shutdown_stops_every_spare() -> None:
    app = create_app(Settings(max_concurrent_renders=2))

    with TestClient(app) as client:
        for fmt in ("svg", "png", "pdf"):
            response = client.post(
                "/api/v1/diagram", params={"format": fmt}, content=COMPOSE, headers=YAML
            )
            assert response.status_code == 200
        waiting = app.state.renderer.spares.idle_pids()
        assert len(waiting) == 3

    assert app.state.renderer.spares.idle_pids() == []
    assert not any(is_alive(pid) for pid in waiting)


def test_app_with_spares_off_starts_none() -> None:
    app = create_app(Settings(graphviz_spares=0))

    with TestClient(app) as client:
        response = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)
        waiting = app.state.renderer.spares.idle_pids()

    assert response.status_code == 200
    assert waiting == []


def test_renderer_new_diagram_reports_time_spent_in_graphviz() -> None:
    renderer = Renderer(Settings(max_concurrent_renders=1))
    project_input = ProjectInput(files=(ComposeFile("compose.yaml", COMPOSE),))

    async def ask(fmt: str) -> tuple[float, float, bool]:
        fresh = await renderer.render_diagram(project_input, fmt, DiagramOptions())
        again = await renderer.render_diagram(project_input, fmt, DiagramOptions())
        return fresh.graphviz_seconds, again.graphviz_seconds, again.cache_hit

    # In a thread of its own: the browser tests leave an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        try:
            svg = thread.submit(anyio.run, ask, "svg").result(timeout=60)
            dot = thread.submit(anyio.run, ask, "dot").result(timeout=60)
        finally:
            renderer.close()

    assert 0 < svg[0] < 10 and svg[1:] == (0.0, True)
    assert dot == (0.0, 0.0, True)
