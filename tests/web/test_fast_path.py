"""Repeated requests are answered before routing, exactly as the routes answer them."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.web.app import create_app
from service.web.fastpath import KnownAnswer, KnownAnswers
from service.web.kroki import encode_diagram_source
from service.web.renders import Renderer
from service.web.settings import Settings
from tests.web.conftest import run_live_server
from tests.web.samples import BROKEN_YAML, COMPOSE, YAML

KROKI = "/compose/svg/" + encode_diagram_source(COMPOSE)
DIAGRAM = "/api/v1/diagram"

Send = Callable[[TestClient], httpx.Response]

REQUESTS = [
    pytest.param(lambda c: c.get(KROKI), id="kroki-get"),
    pytest.param(
        lambda c: c.post(DIAGRAM, content=COMPOSE, headers=YAML), id="api-diagram"
    ),
    pytest.param(
        lambda c: c.post(DIAGRAM + "?format=png", content=COMPOSE, headers=YAML),
        id="api-diagram-png",
    ),
    pytest.param(
        lambda c: c.post("/api/v1/model", content=COMPOSE, headers=YAML),
        id="api-model",
    ),
    pytest.param(
        lambda c: c.post("/compose/svg", content=COMPOSE, headers=YAML),
        id="kroki-post",
    ),
]


@pytest.fixture
def key_calls(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """Count the routes' cache-key computations: one per request that was routed."""
    renderer: Renderer = client.app.state.renderer  # type: ignore[attr-defined]
    calls: list[str] = []
    for name in ("diagram_key", "model_key"):
        real = getattr(renderer, name)

        def counting(*args: object, _real: Callable[..., str] = real) -> str:
            calls.append("routed")
            return _real(*args)

        monkeypatch.setattr(renderer, name, counting)
    yield calls


def without_timing(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Return ``headers`` but Server-Timing, which only a rendered answer has."""
    return [header for header in headers if header[0] != b"server-timing"]


def log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "service.web.logs"]


@pytest.mark.parametrize("send", REQUESTS)
def test_fast_path_repeated_request_gets_the_same_bytes_and_headers_unrouted(
    client: TestClient, key_calls: list[str], send: Send
) -> None:
    first = send(client)
    again = send(client)

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers.raw == without_timing(first.headers.raw)
    assert "server-timing" in first.headers
    assert key_calls == ["routed"]


def test_fast_path_replay_keeps_the_image_safety_headers(client: TestClient) -> None:
    client.get(KROKI)

    again = client.get(KROKI)

    assert again.headers["content-security-policy"].startswith("default-src 'none'")
    assert again.headers["x-content-type-options"] == "nosniff"
    assert again.headers["cache-control"].startswith("public, max-age=")


def test_fast_path_equivalent_query_is_routed_and_answers_the_same(
    client: TestClient, key_calls: list[str]
) -> None:
    plain = client.get(KROKI)
    client.get(KROKI)

    spelled_out = client.get(KROKI + "?legend=true")

    assert spelled_out.content == plain.content
    assert spelled_out.headers.raw == without_timing(plain.headers.raw)
    assert key_calls == ["routed", "routed"]


@pytest.mark.parametrize(
    "second",
    [
        pytest.param(
            {"content": COMPOSE + "# other\n", "headers": YAML}, id="other-body"
        ),
        pytest.param(
            {"content": COMPOSE, "headers": {"content-type": "text/plain"}},
            id="other-content-type",
        ),
        pytest.param(
            {"content": COMPOSE, "headers": YAML, "params": {"legend": "false"}},
            id="other-query",
        ),
    ],
)
def test_fast_path_any_difference_in_the_request_is_routed(
    client: TestClient, key_calls: list[str], second: dict[str, object]
) -> None:
    client.post(DIAGRAM, content=COMPOSE, headers=YAML)

    response = client.post(DIAGRAM, **second)  # type: ignore[arg-type]

    assert response.status_code == 200
    assert key_calls == ["routed", "routed"]


def test_fast_path_other_accept_header_gets_the_same_diagram(
    client: TestClient,
) -> None:
    image = client.get(KROKI, headers={"accept": "image/*"})

    json_client = client.get(KROKI, headers={"accept": "application/json"})

    assert json_client.content == image.content
    assert json_client.headers["content-type"] == image.headers["content-type"]


def test_fast_path_matching_etag_answers_304_like_the_route(
    client: TestClient, key_calls: list[str]
) -> None:
    etag = client.get(KROKI).headers["etag"]
    routed = client.get(KROKI + "?legend=true", headers={"if-none-match": etag})

    replayed = client.get(KROKI, headers={"if-none-match": etag})

    assert routed.status_code == replayed.status_code == 304
    assert replayed.headers.raw == routed.headers.raw
    assert replayed.content == b""
    assert key_calls == ["routed", "routed"]


def test_fast_path_stale_etag_answers_200(client: TestClient) -> None:
    first = client.get(KROKI)

    response = client.get(KROKI, headers={"if-none-match": '"old"'})

    assert response.status_code == 200
    assert response.content == first.content


def test_fast_path_hit_logs_the_route_template_and_cache_hit(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="service.web.logs"):
        client.get(KROKI)
        etag = client.get(KROKI).headers["etag"]
        client.get(KROKI, headers={"if-none-match": etag})

    miss, hit, revalidated = log_lines(caplog)
    expected = _without_timings(miss).replace("cache=miss", "cache=hit")
    assert _without_timings(hit) == expected
    assert "graphviz_ms=-" not in miss and "graphviz_ms=-" in hit
    assert hit.startswith("GET /compose/{format}/{encoded} status=200 format=svg ")
    assert "services=3" in hit
    assert "status=304" in revalidated and "cache=not-modified" in revalidated
    assert "services=-" in revalidated
    assert all(encode_diagram_source(COMPOSE) not in line for line in log_lines(caplog))


def test_fast_path_post_hit_logs_bytes_in(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="service.web.logs"):
        client.post(DIAGRAM, content=COMPOSE, headers=YAML)
        client.post(DIAGRAM, content=COMPOSE, headers=YAML)

    hit = log_lines(caplog)[1]
    assert hit.startswith("POST /api/v1/diagram status=200 format=svg services=3 ")
    assert f"bytes_in={len(COMPOSE)} " in hit
    assert "cache=hit" in hit


def test_fast_path_body_evicted_from_the_cache_is_drawn_again(
    client: TestClient, key_calls: list[str]
) -> None:
    first = client.get(KROKI)
    client.app.state.renderer.cache.clear()  # type: ignore[attr-defined]

    again = client.get(KROKI)

    assert again.status_code == 200
    assert again.content == first.content
    assert key_calls == ["routed", "routed"]


def test_fast_path_errors_are_never_replayed(
    client: TestClient, key_calls: list[str]
) -> None:
    broken = "/compose/svg/" + encode_diagram_source(BROKEN_YAML)

    first = client.get(broken)
    again = client.get(broken)

    assert first.status_code == again.status_code == 400
    assert again.content == first.content
    assert key_calls == ["routed", "routed"]


def test_fast_path_body_sent_in_chunks_is_recognised(
    client: TestClient, key_calls: list[str]
) -> None:
    def chunks() -> Iterator[bytes]:
        text = COMPOSE.encode()
        yield text[:20]
        yield text[20:]

    first = client.post(DIAGRAM, content=COMPOSE, headers=YAML)
    again = client.post(DIAGRAM, content=chunks(), headers=YAML)

    assert again.content == first.content
    assert key_calls == ["routed"]


def test_fast_path_no_cache_entries_routes_every_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = Renderer.diagram_key

    def counting(self: Renderer, *args: object) -> str:
        calls.append("routed")
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Renderer, "diagram_key", counting)
    with TestClient(create_app(Settings(cache_entries=0))) as client:
        first = client.get(KROKI)
        again = client.get(KROKI)

    assert first.status_code == again.status_code == 200
    assert calls == ["routed", "routed"]


def test_fast_path_slow_body_times_out_once_not_twice() -> None:
    app: FastAPI = create_app(Settings(body_timeout_seconds=0.5))
    head = (
        f"POST {DIAGRAM} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/yaml\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    with run_live_server(app) as server:
        with socket.create_connection((server.host, server.port)) as sock:
            sock.settimeout(5)
            started = time.monotonic()
            sock.sendall(head + b"services:\n")
            answer = sock.recv(4096)
            elapsed = time.monotonic() - started

    assert answer.startswith(b"HTTP/1.1 408")
    assert b"application/problem+json" in answer
    assert elapsed < 0.9


def known(key: str) -> KnownAnswer:
    return KnownAnswer(key, 1, (), '"e"', "no-cache", None, ())


def test_known_answers_forgets_the_least_recently_used() -> None:
    answers = KnownAnswers(max_entries=2)
    answers.put(b"a", known("a"))
    answers.put(b"b", known("b"))
    answers.get(b"a")

    answers.put(b"c", known("c"))

    assert len(answers) == 2
    assert answers.get(b"b") is None
    assert answers.get(b"a") is not None


def test_known_answers_with_no_room_keeps_nothing() -> None:
    answers = KnownAnswers(max_entries=0)

    answers.put(b"a", known("a"))

    assert len(answers) == 0


def _without_timings(line: str) -> str:
    return line.rsplit(" graphviz_ms=", 1)[0]
