"""Limits, concurrency and faults: every bad or slow request gets a defined answer.

The concurrency and fault tests run a real uvicorn server on 127.0.0.1, as
disconnects and slow bodies only happen on a real socket. They replace the
render with one that blocks until released, so a render is "running" for
exactly as long as a test needs.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service import render
from service.limits import Limits
from service.web.app import create_app
from service.web.settings import Settings
from tests.web.conftest import LiveServer, run_live_server
from tests.web.samples import COMPOSE, YAML

SMALL = Limits(max_body_bytes=2_000, max_files=3, max_services=2)


@pytest.fixture
def small_client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(limits=SMALL))) as client:
        yield client


@dataclass
class BlockingRender:
    """A render that waits until the test releases it."""

    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    calls: int = 0

    def __call__(self, *args: Any) -> bytes:
        self.calls += 1
        self.started.set()
        self.release.wait(timeout=10)
        return b"<svg xmlns='http://www.w3.org/2000/svg'/>"


@pytest.fixture
def blocking_render(monkeypatch: pytest.MonkeyPatch) -> Iterator[BlockingRender]:
    blocker = BlockingRender()
    monkeypatch.setattr(render, "render_diagram", blocker)
    yield blocker
    blocker.release.set()


@pytest.fixture
def one_slot_server() -> Iterator[LiveServer]:
    settings = Settings(
        max_concurrent_renders=1, queue_wait_seconds=0.2, body_timeout_seconds=1.0
    )
    with run_live_server(create_app(settings)) as server:
        yield server


def post_diagram(server: LiveServer, text: str = COMPOSE) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/diagram", content=text, headers=YAML, timeout=10
    )


def raw_request_head(length: int) -> bytes:
    return (
        "POST /api/v1/diagram HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/yaml\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_body_over_the_limit_answers_413(small_client: TestClient) -> None:
    response = small_client.post("/api/v1/diagram", content="#" * 3_000, headers=YAML)

    assert response.status_code == 413
    assert response.json()["limit"] == "max_body_bytes"


def test_chunked_body_over_the_limit_answers_413(small_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"#" * 100

    response = small_client.post("/api/v1/diagram", content=chunks(), headers=YAML)

    assert response.status_code == 413


def test_multipart_too_many_files_answers_413(small_client: TestClient) -> None:
    files = [("file", (f"c{i}.yaml", "services: {}\n")) for i in range(4)]

    response = small_client.post("/api/v1/model", files=files)

    assert response.status_code == 413
    assert response.json()["limit"] == "max_files"


def test_json_too_many_files_answers_413(small_client: TestClient) -> None:
    body = {
        "files": [{"name": "compose.yaml", "content": "services: {}\n"}],
        "extra": [{"name": f"f{i}", "content": ""} for i in range(3)],
    }

    response = small_client.post("/api/v1/model", json=body)

    assert response.status_code == 413


def test_too_many_services_answers_413(small_client: TestClient) -> None:
    response = small_client.post("/api/v1/model", content=COMPOSE, headers=YAML)

    assert response.status_code == 413
    assert response.json()["limit"] == "max_services"


def test_zip_bomb_in_the_url_answers_413(small_client: TestClient) -> None:
    from service.web.kroki import encode_diagram_source

    bomb = encode_diagram_source("#" * 5_000_000)

    response = small_client.get(f"/compose/dot/{bomb}")

    assert response.status_code == 413


def test_all_slots_busy_answers_503_with_retry_after(
    one_slot_server: LiveServer, blocking_render: BlockingRender
) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(post_diagram, one_slot_server)
        assert blocking_render.started.wait(timeout=5)

        started = time.monotonic()
        second = post_diagram(one_slot_server, COMPOSE + "# another input\n")
        waited = time.monotonic() - started
        blocking_render.release.set()

        assert first.result().status_code == 200
    assert second.status_code == 503
    assert second.headers["retry-after"] == "1"
    assert second.json()["type"].endswith(":busy")
    assert 0.15 <= waited < 3


def test_event_loop_answers_while_a_render_runs(
    one_slot_server: LiveServer, blocking_render: BlockingRender
) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        rendering = pool.submit(post_diagram, one_slot_server)
        assert blocking_render.started.wait(timeout=5)

        started = time.monotonic()
        live = httpx.get(f"{one_slot_server.url}/livez", timeout=5)
        elapsed = time.monotonic() - started
        blocking_render.release.set()

        assert rendering.result().status_code == 200
    assert live.status_code == 200
    assert elapsed < 2.0  # the render is still held: any answer proves the loop is free


def test_client_disconnect_mid_body_leaves_the_server_serving(
    one_slot_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        with socket.create_connection(
            (one_slot_server.host, one_slot_server.port)
        ) as sock:
            sock.sendall(raw_request_head(5_000) + b"services:\n  web:\n")
        time.sleep(0.3)

        response = post_diagram(one_slot_server)

    assert response.status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_client_disconnect_mid_render_frees_the_slot(
    one_slot_server: LiveServer, blocking_render: BlockingRender
) -> None:
    body = COMPOSE.encode()
    with socket.create_connection((one_slot_server.host, one_slot_server.port)) as sock:
        sock.sendall(raw_request_head(len(body)) + body)
        assert blocking_render.started.wait(timeout=5)
    blocking_render.release.set()
    time.sleep(0.2)

    response = post_diagram(one_slot_server, COMPOSE + "# after the disconnect\n")

    assert response.status_code == 200
    assert blocking_render.calls == 2


def test_slow_body_answers_408_and_others_are_served(
    one_slot_server: LiveServer,
) -> None:
    with socket.create_connection((one_slot_server.host, one_slot_server.port)) as sock:
        sock.settimeout(5)
        sock.sendall(raw_request_head(1_000) + b"services:\n")

        meanwhile = httpx.get(f"{one_slot_server.url}/livez", timeout=5)
        answer = sock.recv(4096)

    assert meanwhile.status_code == 200
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"application/problem+json" in answer
