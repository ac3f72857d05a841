"""Repeated requests are cheap: cache keys, the LRU, ETags and 304 answers."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from service import render
from service.compose import ComposeFile, MappingSource, ProjectInput
from service.render.options import DiagramOptions
from service.web import cache
from service.web.cache import (
    CachedAnswer,
    RenderCache,
    build_cache_key,
    etag_for,
    is_not_modified,
)
from tests.web.samples import COMPOSE, YAML

BASE = ProjectInput(files=(ComposeFile("compose.yaml", COMPOSE),))


def answer(size: int) -> CachedAnswer:
    return CachedAnswer(b"x" * size, "image/svg+xml", 1)


def key_of(
    project_input: ProjectInput = BASE, fmt: str = "svg", **options: object
) -> str:
    return build_cache_key("diagram", project_input, fmt, DiagramOptions(**options))  # type: ignore[arg-type]


def test_cache_key_same_input_gives_the_same_key() -> None:
    assert key_of() == key_of()


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(lambda: key_of(fmt="png"), id="format"),
        pytest.param(lambda: key_of(direction="TB"), id="option"),
        pytest.param(lambda: key_of(show_values=True), id="show-values"),
        pytest.param(
            lambda: key_of(
                ProjectInput(files=(ComposeFile("compose.yaml", COMPOSE + "\n"),))
            ),
            id="file-text",
        ),
        pytest.param(
            lambda: key_of(ProjectInput(files=BASE.files, variables={"TAG": "1"})),
            id="variables",
        ),
        pytest.param(
            lambda: key_of(ProjectInput(files=BASE.files, profiles=("debug",))),
            id="profiles",
        ),
        pytest.param(
            lambda: key_of(
                ProjectInput(
                    files=BASE.files,
                    sources=MappingSource({"api/Dockerfile": "FROM alpine\n"}),
                )
            ),
            id="dockerfile",
        ),
        pytest.param(
            lambda: build_cache_key("model", BASE, "svg", DiagramOptions()),
            id="kind",
        ),
    ],
)
def test_cache_key_any_difference_changes_the_key(other: object) -> None:
    assert callable(other)
    assert other() != key_of()


def test_cache_key_service_version_changes_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = key_of()
    monkeypatch.setattr(cache, "__version__", "999.0.0")

    assert key_of() != before


@pytest.mark.parametrize(
    ("header", "fresh"),
    [
        pytest.param(None, False, id="absent"),
        pytest.param('"abc"', True, id="exact"),
        pytest.param('W/"abc"', True, id="weak"),
        pytest.param('"zzz", "abc"', True, id="list"),
        pytest.param("*", True, id="star"),
        pytest.param('"abd"', False, id="other"),
        pytest.param("abc", False, id="unquoted"),
    ],
)
def test_is_not_modified_compares_tags(header: str | None, fresh: bool) -> None:
    assert is_not_modified(header, '"abc"') is fresh


def test_render_cache_evicts_the_least_recently_used_entry() -> None:
    store = RenderCache(max_entries=2, max_bytes=1_000)
    store.put("a", answer(1))
    store.put("b", answer(1))
    store.get("a")

    store.put("c", answer(1))

    assert store.get("a") is not None
    assert store.get("b") is None
    assert store.get("c") is not None


def test_render_cache_bounds_the_bytes_held() -> None:
    store = RenderCache(max_entries=100, max_bytes=250)
    for name in "abcde":
        store.put(name, answer(100))

    assert store.size_bytes <= 250
    assert len(store) == 2


def test_render_cache_refuses_an_answer_larger_than_the_budget() -> None:
    store = RenderCache(max_entries=10, max_bytes=50)

    store.put("big", answer(51))

    assert store.get("big") is None
    assert store.size_bytes == 0


def test_render_cache_replacing_a_key_keeps_the_byte_count() -> None:
    store = RenderCache(max_entries=10, max_bytes=1_000)
    store.put("a", answer(100))

    store.put("a", answer(30))

    assert store.size_bytes == 30


def test_post_diagram_same_input_is_drawn_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = render.render_diagram

    def counting(*args: object) -> bytes:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "render_diagram", counting)

    first = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)
    second = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)

    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    assert len(calls) == 1


def test_post_diagram_logs_cache_miss_then_hit(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="service.web.logs"):
        client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)
        client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)

    lines = [r.getMessage() for r in caplog.records if r.name == "service.web.logs"]
    assert "cache=miss" in lines[0]
    assert "cache=hit" in lines[1]


def test_post_diagram_matching_if_none_match_answers_304_without_drawing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML).headers["etag"]
    client.app.state.renderer.cache.clear()  # type: ignore[attr-defined]
    monkeypatch.setattr(render, "render_diagram", _must_not_render)

    response = client.post(
        "/api/v1/diagram", content=COMPOSE, headers={**YAML, "If-None-Match": etag}
    )

    assert response.status_code == 304
    assert response.headers["etag"] == etag


def test_post_diagram_etag_depends_on_the_options(client: TestClient) -> None:
    default = client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)
    no_legend = client.post(
        "/api/v1/diagram", params={"legend": "false"}, content=COMPOSE, headers=YAML
    )

    assert default.headers["etag"] != no_legend.headers["etag"]


def test_post_diagram_stale_etag_answers_200(client: TestClient) -> None:
    response = client.post(
        "/api/v1/diagram", content=COMPOSE, headers={**YAML, "If-None-Match": '"old"'}
    )

    assert response.status_code == 200


def test_post_model_matching_etag_answers_304(client: TestClient) -> None:
    etag = client.post("/api/v1/model", content=COMPOSE, headers=YAML).headers["etag"]

    response = client.post(
        "/api/v1/model", content=COMPOSE, headers={**YAML, "If-None-Match": etag}
    )

    assert response.status_code == 304


def test_post_model_show_values_has_its_own_etag(client: TestClient) -> None:
    hidden = client.post("/api/v1/model", content=COMPOSE, headers=YAML)
    shown = client.post(
        "/api/v1/model",
        params={"show_values": "true"},
        content=COMPOSE,
        headers={**YAML, "If-None-Match": hidden.headers["etag"]},
    )

    assert shown.status_code == 200
    assert shown.headers["etag"] != hidden.headers["etag"]


def test_etag_for_is_a_quoted_strong_tag() -> None:
    tag = etag_for("0123456789abcdef" * 4)

    assert tag.startswith('"') and tag.endswith('"')
    assert not tag.startswith("W/")


def _must_not_render(*args: object) -> bytes:
    raise AssertionError("A 304 must not draw the diagram.")


def test_post_diagram_new_diagram_writes_one_info_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        client.post("/api/v1/diagram", content=COMPOSE, headers=YAML)

    ours = [r for r in caplog.records if r.name.startswith("service.")]
    assert [r.name for r in ours if r.levelno == logging.INFO] == ["service.web.logs"]
