"""Faults around the service: Graphviz missing, killed, stuck; clients gone or slow.

A stand-in ``dot`` placed first on PATH (``service.render.graphviz`` finds
``dot`` with ``shutil.which`` at each render) records its process id and then
misbehaves, or hands over to the real Graphviz once the test says so. The
process table in ``/proc`` is the witness that nothing is left running.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.errors import GraphvizMissingError
from service.limits import Limits
from service.web.app import create_app
from service.web.settings import Settings
from tests.processes import is_alive, wait_for
from tests.web.conftest import LiveServer, run_live_server

REAL_DOT = "/usr/bin/dot"
YAML = {"content-type": "application/yaml", "accept": "application/json"}
SECRET = "fault-secret-value-93be"

STAND_IN = """#!/bin/sh
if [ "$1" = "-V" ]; then
    echo "dot - graphviz version 2.43.0 (0)" >&2
    exit 0
fi
echo $$ >> "{folder}/pids"
if [ -e "{folder}/healthy" ]; then
    exec {real} "$@"
fi
{action}
"""


def compose(tag: str) -> str:
    """Return a small valid project; ``tag`` makes it a distinct cache entry."""
    return (
        "services:\n"
        "  web:\n"
        f"    image: nginx:{tag}\n"
        "    ports: ['8080:80']\n"
        "    environment:\n"
        f"      TOKEN: {SECRET}\n"
    )


@dataclass
class StandIn:
    """A stand-in ``dot`` and the processes it has started."""

    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "dot"

    def pids(self) -> list[int]:
        """Return the ids the stand-in recorded, one per run."""
        record = self.folder / "pids"
        if not record.exists():
            return []
        return [int(line) for line in record.read_text().split()]

    def heal(self) -> None:
        """Make later runs hand over to the real Graphviz."""
        (self.folder / "healthy").touch()

    def running(self) -> list[int]:
        """Return the live processes whose command line names the stand-in."""
        return processes_matching(str(self.path))


@pytest.fixture
def stand_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], StandIn]:
    """Return an installer of a stand-in ``dot`` that runs ``action``."""

    def install(action: str) -> StandIn:
        dot = StandIn(tmp_path)
        dot.path.write_text(
            STAND_IN.format(folder=tmp_path, real=REAL_DOT, action=action)
        )
        dot.path.chmod(0o755)
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
        return dot

    return install


def processes_matching(marker: str) -> list[int]:
    """Return the ids of live, non-zombie processes whose command has ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if marker.encode() in command and state != "Z":
            found.append(int(entry.name))
    return found


def test_graphviz_missing_at_startup_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(GraphvizMissingError, match="install the 'graphviz' package"):
        create_app(Settings())


def test_graphviz_gone_after_startup_answers_503_on_health_and_diagram(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with TestClient(create_app(Settings(health_cache_seconds=0))) as client:
        monkeypatch.setenv("PATH", str(tmp_path))
        health = client.get("/healthz")
        diagram = client.post("/api/v1/diagram", content=compose("1"), headers=YAML)
        model = client.post("/api/v1/model", content=compose("1"), headers=YAML)

    for response in (health, diagram):
        assert response.status_code == 503
        assert response.json()["type"].endswith(":graphviz-missing")
        assert "Graphviz" in response.json()["detail"]
    assert model.status_code == 200


def test_graphviz_killed_mid_render_answers_500_then_serves(
    stand_in: Callable[[str], StandIn],
) -> None:
    dot = stand_in("sleep 30")
    # Without spares the only process the stand-in records is the render's,
    # so the one killed is surely the one drawing (tests/render/test_spares.py
    # kills a spare mid-render).
    settings = Settings(graphviz_spares=0)

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(
                client.post, "/api/v1/diagram", content=compose("1"), headers=YAML
            )
            wait_for(lambda: bool(dot.pids()))
            os.kill(dot.pids()[0], signal.SIGKILL)
            killed = pending.result(timeout=10)
        dot.heal()
        after = client.post("/api/v1/diagram", content=compose("2"), headers=YAML)

    assert killed.status_code == 500
    assert killed.json()["type"].endswith(":render-failed")
    assert "SIGKILL" in killed.json()["detail"]
    assert after.status_code == 200
    assert after.content.lstrip().startswith(b"<?xml")
    assert dot.running() == []


def test_graphviz_past_the_time_limit_leaves_no_process(
    stand_in: Callable[[str], StandIn], tmp_path: Path
) -> None:
    dot = stand_in(f'sleep 300 & echo $! > "{tmp_path}/grandchild"; wait')
    settings = Settings(limits=Limits(render_timeout_seconds=1.0))

    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.post("/api/v1/diagram", content=compose("1"), headers=YAML)
        elapsed = time.monotonic() - started
        dot.heal()
        after = client.post("/api/v1/diagram", content=compose("2"), headers=YAML)

    assert response.status_code == 422
    assert response.json()["type"].endswith(":render-timeout")
    assert 1.0 <= elapsed < 5.0
    grandchild = int((tmp_path / "grandchild").read_text())
    wait_for(lambda: not is_alive(grandchild) and not is_alive(dot.pids()[0]))
    assert dot.running() == []
    assert after.status_code == 200


def test_graphviz_crash_answers_500_without_server_paths(
    stand_in: Callable[[str], StandIn],
) -> None:
    stand_in("kill -SEGV $$")

    with TestClient(create_app(Settings()), raise_server_exceptions=False) as client:
        response = client.post("/api/v1/diagram", content=compose("1"), headers=YAML)
        alive = client.get("/livez")

    assert response.status_code == 500
    assert "SIGSEGV" in response.json()["detail"]
    assert SECRET not in response.text
    assert alive.status_code == 200


def test_graphviz_out_of_memory_answers_413_naming_the_limit() -> None:
    settings = Settings(limits=Limits(render_memory_bytes=8_000_000))

    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/diagram",
            params={"format": "png"},
            content=compose("1"),
            headers=YAML,
        )

    assert response.status_code == 413
    assert response.json()["limit"] == "render_memory_bytes"
    assert "/usr/lib" not in response.text


@pytest.fixture
def slow_dot_app(
    stand_in: Callable[[str], StandIn], request: pytest.FixtureRequest
) -> Iterator[FastAPI]:
    """Return an app whose renders take a second, two at a time.

    Graphviz spares are off unless the test passes their number as the
    fixture's parameter. After the test, no process the stand-in started
    may be left.
    """
    dot = stand_in(f'sleep 1; exec {REAL_DOT} "$@"')
    settings = Settings(
        max_concurrent_renders=2,
        queue_wait_seconds=0.3,
        body_timeout_seconds=1.0,
        graphviz_spares=getattr(request, "param", 0),
    )
    yield create_app(settings)
    wait_for(lambda: not any(is_alive(pid) for pid in dot.pids()))


@pytest.fixture
def slow_dot_server(slow_dot_app: FastAPI) -> Iterator[LiveServer]:
    """Serve the slow-Graphviz app on 127.0.0.1 (stopped, with its lifespan, after)."""
    with run_live_server(slow_dot_app) as server:
        yield server


def post(server: LiveServer, tag: str) -> httpx.Response:
    """Ask the live server for a diagram of a project tagged ``tag``."""
    return httpx.post(
        f"{server.url}/api/v1/diagram",
        content=compose(tag),
        headers=YAML,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("slow_dot_app", "most_processes"),
    [
        pytest.param(0, 2, id="spares-off"),
        # Two renders, plus at most one spare per slot for the one format.
        pytest.param(2, 4, id="spares-on"),
    ],
    indirect=["slow_dot_app"],
)
def test_more_renders_than_slots_answer_503_without_piling_processes(
    slow_dot_app: FastAPI,
    slow_dot_server: LiveServer,
    tmp_path: Path,
    most_processes: int,
) -> None:
    marker = str(tmp_path / "dot")
    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, len(processes_matching(marker)))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda i: post(slow_dot_server, str(i)), range(8)))
    done.set()
    watcher.join()

    statuses = sorted(response.status_code for response in responses)
    busy = [r for r in responses if r.status_code == 503]
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) >= 2
    assert busy
    assert all(r.headers["retry-after"] == "1" for r in busy)
    assert all(r.json()["type"].endswith(":busy") for r in busy)
    assert 1 <= peak <= most_processes
    running = [pid for pid in StandIn(tmp_path).pids() if is_alive(pid)]
    assert set(running) <= set(slow_dot_app.state.renderer.spares.idle_pids())


def raw_head(length: int) -> bytes:
    """Return the head of a raw diagram request announcing ``length`` body bytes."""
    return (
        "POST /api/v1/diagram HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/yaml\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_client_gone_mid_render_leaves_the_server_serving(
    slow_dot_server: LiveServer, tmp_path: Path
) -> None:
    body = compose("gone").encode()
    with socket.create_connection((slow_dot_server.host, slow_dot_server.port)) as sock:
        sock.sendall(raw_head(len(body)) + body)
        wait_for(lambda: (tmp_path / "pids").exists())

    response = post(slow_dot_server, "after")
    wait_for(lambda: processes_matching(str(tmp_path / "dot")) == [])

    assert response.status_code == 200


def test_very_slow_clients_do_not_stop_others(slow_dot_server: LiveServer) -> None:
    address = (slow_dot_server.host, slow_dot_server.port)
    head = raw_head(500)
    with (
        socket.create_connection(address) as slow_head,
        socket.create_connection(address) as slow_body,
    ):
        slow_body.sendall(head + b"services:\n")
        for byte in head[:40]:
            slow_head.sendall(bytes([byte]))
            time.sleep(0.01)
        served = httpx.get(f"{slow_dot_server.url}/livez", timeout=5)
        rendered = post(slow_dot_server, "while-slow")

        slow_body.settimeout(5)
        timed_out = slow_body.recv(4096)

    assert served.status_code == 200
    assert rendered.status_code == 200
    assert timed_out.startswith(b"HTTP/1.1 408")


def test_each_rejection_logs_one_warning_without_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    small = Limits(max_body_bytes=5_000, max_services=1)
    rejected = [
        ("application/yaml", "services:\n  web: [\n"),
        ("application/yaml", compose("1") + "  db:\n    image: postgres\n"),
        ("application/yaml", "#" * 6_000),
        ("application/octet-stream", compose("1")),
        ("application/yaml", "services:\n  web:\n    image: ${TAG:?" + SECRET + "}\n"),
    ]

    with TestClient(create_app(Settings(limits=small))) as client:
        with caplog.at_level(logging.INFO):
            for media_type, text in rejected:
                client.post(
                    "/api/v1/model", content=text, headers={"content-type": media_type}
                )

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == len(rejected)
    assert all(r.levelno == logging.WARNING for r in warnings)
    for record in caplog.records:
        message = record.getMessage()
        assert SECRET not in message
        assert "services:" not in message
        assert "\n" not in message
