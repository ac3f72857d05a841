"""Graphviz faults through the whole stack, with a stand-in ``dot`` on PATH.

The stand-in answers ``dot -V`` like Graphviz (so the app starts) and then
misbehaves on a render: it crashes, is killed, or never finishes. Each fault
gets its defined answer, leaves no process behind, and the service keeps
serving.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.limits import Limits
from service.web.app import create_app
from service.web.settings import Settings
from tests.web.samples import COMPOSE, YAML

STAND_IN = """\
#!/bin/sh
if [ "$1" = "-V" ]; then
    echo "dot - graphviz version 2.43.0 (0)" >&2
    exit 0
fi
{action}
"""

Install = Callable[[str], Path]


@pytest.fixture
def install_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Install:
    """Put a stand-in ``dot`` running ``action`` first on PATH."""

    def install(action: str) -> Path:
        folder = tmp_path / "bin"
        folder.mkdir(exist_ok=True)
        dot = folder / "dot"
        dot.write_text(STAND_IN.format(action=action))
        dot.chmod(0o755)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
        return dot

    return install


def processes_running(marker: str) -> list[int]:
    """Return the ids of live processes whose command line mentions ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in command:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    "action",
    [
        pytest.param("kill -SEGV $$", id="crash"),
        pytest.param("kill -KILL $$", id="killed"),
        pytest.param("echo 'Error: syntax error' >&2; exit 1", id="error-exit"),
    ],
)
def test_graphviz_failure_answers_500_and_service_keeps_serving(
    install_dot: Install, action: str
) -> None:
    install_dot(action)

    with TestClient(create_app(Settings())) as client:
        response = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)
        alive = client.get("/livez")

    assert response.status_code == 500
    assert response.json()["type"].endswith(":render-failed")
    assert alive.status_code == 200


def test_graphviz_that_never_finishes_is_stopped_without_leftovers(
    install_dot: Install,
) -> None:
    dot = install_dot("while :; do sleep 0.05; done")
    settings = Settings(limits=Limits(render_timeout_seconds=1.0))

    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)
        elapsed = time.monotonic() - started

    assert response.status_code == 422
    assert response.json()["type"].endswith(":render-timeout")
    assert elapsed < 5
    assert processes_running(str(dot)) == []


def test_graphviz_removed_after_startup_answers_503(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")

    response = client.post(
        "/api/v1/diagram", params={"format": "png"}, content=COMPOSE, headers=YAML
    )

    assert response.status_code == 503
    assert response.headers["content-type"] == "image/svg+xml"
    assert b"Graphviz" in response.content


def test_graphviz_spare_killed_while_waiting_still_answers_200(
    client: TestClient,
) -> None:
    renderer = client.app.state.renderer  # type: ignore[attr-defined]
    first = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)
    spares: list[int] = renderer.spares.idle_pids("svg")
    for pid in spares:
        os.kill(pid, signal.SIGKILL)

    second = client.post(
        "/api/v1/diagram", content=COMPOSE.replace("1.27", "1.28"), headers=YAML
    )

    assert first.status_code == second.status_code == 200
    assert spares
    assert second.content.lstrip().startswith(b"<?xml")
    assert not set(spares) & set(renderer.spares.idle_pids())
    assert all(not Path(f"/proc/{pid}").exists() for pid in spares)
