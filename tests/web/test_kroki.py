"""The Kroki-compatible routes and the URL encoding they share with Kroki clients."""

from __future__ import annotations

import base64
import tracemalloc
import zlib

import pytest
from fastapi.testclient import TestClient

from service.errors import InputError, LimitExceededError
from service.web.kroki import decode_diagram_source, encode_diagram_source
from service.web.settings import Settings
from tests.web.samples import BROKEN_YAML, COMPOSE, SECRET

SIMPLE = "services:\n  web:\n    image: nginx\n"


def kroki_encode(text: str, *, padding: bool) -> str:
    """Encode as Kroki clients do: zlib level 9, then URL-safe base64."""
    encoded = base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9))
    text_form = encoded.decode("ascii")
    return text_form if padding else text_form.rstrip("=")


@pytest.mark.parametrize(
    "text",
    [SIMPLE, COMPOSE, "services:\n  café:\n    image: nginx  # ünïcode\n", ""],
    ids=["simple", "sample", "unicode", "empty"],
)
@pytest.mark.parametrize("padding", [True, False], ids=["padded", "unpadded"])
def test_decode_kroki_encoding_round_trips(text: str, padding: bool) -> None:
    encoded = kroki_encode(text, padding=padding)

    assert decode_diagram_source(encoded, 1_000_000) == text


def test_encode_diagram_source_is_read_back_by_decode() -> None:
    assert decode_diagram_source(encode_diagram_source(COMPOSE), 10_000) == COMPOSE


def test_decode_standard_alphabet_is_accepted() -> None:
    raw = zlib.compress(("x: " + "?>" * 300).encode(), 9)
    standard = base64.b64encode(raw).decode()

    assert decode_diagram_source(standard, 10_000).startswith("x: ")


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param("not base64 at all!", id="bad-alphabet"),
        pytest.param("eJw", id="bad-length"),
        pytest.param(base64.urlsafe_b64encode(b"plain text").decode(), id="not-zlib"),
        pytest.param(
            base64.urlsafe_b64encode(zlib.compress(b"services: {}")[:-6]).decode(),
            id="truncated",
        ),
        pytest.param(
            base64.urlsafe_b64encode(zlib.compress(b"a: 1") + b"junk").decode(),
            id="trailing-bytes",
        ),
        pytest.param(
            base64.urlsafe_b64encode(zlib.compress(b"\xff\xfe bad")).decode(),
            id="not-utf8",
        ),
    ],
)
def test_decode_malformed_segment_raises_input_error(encoded: str) -> None:
    with pytest.raises(InputError) as excinfo:
        decode_diagram_source(encoded, 10_000)

    assert not isinstance(excinfo.value, LimitExceededError)


def test_decode_zip_bomb_stops_at_the_limit_without_inflating() -> None:
    bomb = encode_diagram_source("a" * 50_000_000)
    assert len(bomb) < 100_000

    tracemalloc.start()
    try:
        with pytest.raises(LimitExceededError) as excinfo:
            decode_diagram_source(bomb, 100_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert excinfo.value.limit == "max_body_bytes"
    assert peak < 2_000_000


def test_decode_oversize_segment_is_refused_before_decoding() -> None:
    with pytest.raises(LimitExceededError):
        decode_diagram_source("A" * 50_000, 1_000)


def test_get_compose_svg_answers_a_cacheable_image(client: TestClient) -> None:
    response = client.get(f"/compose/svg/{kroki_encode(COMPOSE, padding=False)}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.content.lstrip().startswith((b"<?xml", b"<svg", b"<!DOCTYPE"))
    assert "public" in response.headers["cache-control"]
    assert "max-age=" in response.headers["cache-control"]
    assert response.headers["etag"].startswith('"')
    assert SECRET.encode() not in response.content


def test_get_compose_padded_and_unpadded_give_the_same_answer(
    client: TestClient,
) -> None:
    padded = client.get(f"/compose/dot/{kroki_encode(COMPOSE, padding=True)}")
    unpadded = client.get(f"/compose/dot/{kroki_encode(COMPOSE, padding=False)}")

    assert padded.status_code == unpadded.status_code == 200
    assert padded.content == unpadded.content
    assert padded.headers["etag"] == unpadded.headers["etag"]


def test_get_compose_with_matching_etag_answers_304(client: TestClient) -> None:
    url = f"/compose/svg/{kroki_encode(COMPOSE, padding=False)}"
    first = client.get(url)

    second = client.get(url, headers={"If-None-Match": first.headers["etag"]})

    assert second.status_code == 304
    assert second.content == b""
    assert second.headers["etag"] == first.headers["etag"]


def test_get_compose_options_in_the_query_change_the_diagram(
    client: TestClient,
) -> None:
    url = f"/compose/dot/{kroki_encode(COMPOSE, padding=False)}"

    left_right = client.get(url)
    top_bottom = client.get(url, params={"direction": "TB"})

    assert top_bottom.status_code == 200
    assert top_bottom.content != left_right.content
    assert top_bottom.headers["etag"] != left_right.headers["etag"]


def test_get_compose_unknown_format_answers_404(client: TestClient) -> None:
    response = client.get(f"/compose/gif/{kroki_encode(SIMPLE, padding=False)}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "gif" in response.json()["detail"]


def test_get_compose_broken_yaml_answers_an_error_svg(client: TestClient) -> None:
    response = client.get(f"/compose/svg/{kroki_encode(BROKEN_YAML, padding=False)}")

    assert response.status_code == 400
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-store"
    assert b"<svg" in response.content
    assert b"compose.yaml" in response.content


def test_get_compose_bad_encoding_answers_an_error_svg(client: TestClient) -> None:
    response = client.get("/compose/png/%21%21not-base64%21%21")

    assert response.status_code == 400
    assert response.headers["content-type"] == "image/svg+xml"


def test_get_compose_zip_bomb_answers_413(
    client: TestClient, settings: Settings
) -> None:
    bomb = encode_diagram_source(" " * (settings.limits.max_body_bytes * 20))

    response = client.get(
        f"/compose/svg/{bomb}", headers={"Accept": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["limit"] == "max_body_bytes"


def test_post_compose_plain_text_body_answers_the_diagram(client: TestClient) -> None:
    response = client.post(
        "/compose/svg", content=COMPOSE, headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-cache"


def test_post_compose_kroki_json_body_applies_diagram_options(
    client: TestClient,
) -> None:
    plain = client.post("/compose/dot", json={"diagram_source": COMPOSE})
    options = client.post(
        "/compose/dot",
        json={"diagram_source": COMPOSE, "diagram_options": {"direction": "TB"}},
    )

    assert plain.status_code == options.status_code == 200
    assert plain.content != options.content


def test_post_compose_unknown_diagram_option_answers_400(client: TestClient) -> None:
    response = client.post(
        "/compose/dot",
        json={"diagram_source": COMPOSE, "diagram_options": {"theme": "dark"}},
    )

    assert response.status_code == 400
    assert response.json()["key"] == "theme"


def test_post_compose_unknown_format_answers_404(client: TestClient) -> None:
    response = client.post(
        "/compose/jpeg", content=SIMPLE, headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 404


def test_post_compose_wrong_media_type_answers_415(client: TestClient) -> None:
    response = client.post(
        "/compose/dot", content=b"\x00\x01", headers={"Content-Type": "image/png"}
    )

    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


def test_post_root_kroki_request_answers_the_diagram(client: TestClient) -> None:
    response = client.post(
        "/",
        json={
            "diagram_source": COMPOSE,
            "diagram_type": "compose",
            "output_format": "png",
            "diagram_options": {"depends-on": "false", "legend": False},
        },
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("body", "key"),
    [
        pytest.param(
            {"diagram_source": SIMPLE, "diagram_type": "plantuml"},
            "diagram_type",
            id="other-diagram-type",
        ),
        pytest.param(
            {
                "diagram_source": SIMPLE,
                "diagram_type": "compose",
                "output_format": "gif",
            },
            "output_format",
            id="unknown-format",
        ),
        pytest.param(
            {
                "diagram_source": SIMPLE,
                "diagram_type": "compose",
                "diagram_options": {"overrides": "maybe"},
            },
            "overrides",
            id="bad-boolean",
        ),
    ],
)
def test_post_root_bad_request_answers_400(
    client: TestClient, body: dict[str, object], key: str
) -> None:
    response = client.post("/", json=body)

    assert response.status_code == 400
    assert response.json()["key"] == key


def test_post_root_missing_source_answers_422(client: TestClient) -> None:
    response = client.post("/", json={"diagram_type": "compose"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "diagram_source"]


def test_post_root_non_json_body_answers_415(client: TestClient) -> None:
    response = client.post(
        "/", content=SIMPLE, headers={"Content-Type": "application/yaml"}
    )

    assert response.status_code == 415
