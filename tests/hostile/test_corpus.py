"""Send every hostile input through the real app and check the answer it gets.

Each case of ``tests.hostile.corpus`` goes to the model route, the diagram
route and the Kroki GET route (unless the case says otherwise). Whatever the
route, the answer has the expected status and problem type, arrives within
the case's time bound, carries no secret and no live markup, and the service
has read no file and reached no host the input named.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import zlib
from pathlib import Path
from xml.etree import ElementTree

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.hostile.conftest import Touched
from tests.hostile.corpus import (
    CASES,
    DIAGRAM,
    KROKI_GET,
    MODEL,
    HostileCase,
)

PROBLEM = "application/problem+json"
SVG = "image/svg+xml"

#: SVG elements that run script, load content or restyle the page.
UNSAFE_ELEMENTS = frozenset(
    {"script", "foreignObject", "iframe", "object", "embed", "style", "image"}
)


def send(client: TestClient, case: HostileCase, route: str) -> httpx2.Response:
    """Send the case's body to ``route`` as a client of that route would."""
    body = case.body()
    if route == KROKI_GET:
        encoded = base64.urlsafe_b64encode(zlib.compress(body)).decode("ascii")
        return client.get(f"/compose/svg/{encoded}")

    headers = {"content-type": case.media_type, "accept": "application/json"}
    if route == MODEL:
        return client.post("/api/v1/model", content=body, headers=headers)
    params = {"format": "svg"}
    return client.post("/api/v1/diagram", params=params, content=body, headers=headers)


HOSTILE_PARAMS = [
    pytest.param(case, route, id=f"{case.id}-{route}")
    for case in CASES
    for route in case.routes
]


# A case's ``seconds`` is what it takes on an idle machine; the assertion only
# has to tell a bounded answer from a hang, so it allows a loaded CI machine
# several times that. Speed itself is measured by bench/load.py.
HANG_SLACK = 4


@pytest.mark.parametrize(("case", "route"), HOSTILE_PARAMS)
def test_hostile_input_gets_its_expected_answer(
    client: TestClient,
    touched: Touched,
    caplog: pytest.LogCaptureFixture,
    case: HostileCase,
    route: str,
) -> None:
    with caplog.at_level(logging.INFO):
        started = time.monotonic()
        response = send(client, case, route)
        elapsed = time.monotonic() - started

    assert response.status_code == case.status, response.text[:500]
    assert elapsed < case.seconds * HANG_SLACK
    check_body(response, case, route)
    check_nothing_leaked(response, case, caplog)
    check_nothing_touched(touched, case)


def check_body(response: httpx2.Response, case: HostileCase, route: str) -> None:
    """Check the answer's media type and content for its route and status."""
    media_type = response.headers["content-type"].split(";")[0]
    if route == KROKI_GET or (route == DIAGRAM and case.status == 200):
        assert media_type == SVG
        assert_inert_svg(response.content)
        return
    if case.status == 200:
        assert media_type == "application/json"
        json.loads(response.content)
        return

    assert media_type == PROBLEM
    problem = response.json()
    assert problem["status"] == case.status
    assert problem["type"].endswith(f":{case.problem}")
    assert problem.get("limit") == case.limit
    assert problem["detail"][:1].isupper()


def check_nothing_leaked(
    response: httpx2.Response, case: HostileCase, caplog: pytest.LogCaptureFixture
) -> None:
    """Check that no secret is in the answer and no input text in the log."""
    answer = response.content.decode("utf-8", "replace") + str(response.headers)
    for secret in case.never_answered:
        assert secret not in answer

    lines = [record.getMessage() for record in caplog.records]
    for secret in case.never_logged:
        assert not [line for line in lines if secret in line]
    assert all("\n" not in line and "\r" not in line for line in lines)

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    if case.status >= 400:
        assert len(warnings) == 1
        assert warnings[0].levelno == logging.WARNING
        assert f"status={case.status}" in warnings[0].getMessage()


def check_nothing_touched(touched: Touched, case: HostileCase) -> None:
    """Check that no named server file was opened and no host was reached."""
    for path in case.read_paths:
        assert not touched.opened(path), path
    assert touched.network == []
    for program in touched.programs:
        assert program[-1].startswith("-T") or program[-1] == "-V", program


def assert_inert_svg(document: bytes) -> None:
    """Check that an SVG parses and holds nothing that can run or load content."""
    root = ElementTree.fromstring(document)
    for element in root.iter():
        name = element.tag.rpartition("}")[2]
        assert name not in UNSAFE_ELEMENTS, name
        for attribute, value in element.attrib.items():
            local = attribute.rpartition("}")[2].lower()
            assert not local.startswith("on"), (attribute, value)
            if local == "href":
                assert not value.strip().lower().startswith("javascript:"), value


def test_markup_in_names_is_shown_as_text(client: TestClient) -> None:
    body = send(client, next(c for c in CASES if c.id == "markup-everywhere"), DIAGRAM)

    root = ElementTree.fromstring(body.content)
    texts = " ".join("".join(element.itertext()) for element in root.iter())

    assert "<img src=x onerror=alert('image')>" in texts
    assert b"<img" not in body.content


def test_witness_sees_a_file_the_process_reads(touched: Touched) -> None:
    with open("/etc/passwd", "rb") as handle:
        handle.read(1)

    assert touched.opened("/etc/passwd")


def test_server_file_named_everywhere_is_never_read(
    client: TestClient, touched: Touched, tmp_path: Path
) -> None:
    secret = tmp_path / "server-secret.env"
    secret.write_text("SERVER_ONLY=hostile-server-file-0d4e\n")
    compose = (
        "services:\n"
        "  web:\n"
        "    image: nginx:1.27\n"
        f"    env_file: [{{path: {secret}, required: false}}]\n"
        f"    volumes: ['{tmp_path}:/data', '{secret}:/run/secret']\n"
        f"    build: {{context: {tmp_path}, dockerfile: {secret.name}}}\n"
    )
    touched.forget()

    response = client.post(
        "/api/v1/model",
        params={"show_values": "true"},
        content=compose,
        headers={"content-type": "application/yaml"},
    )

    assert response.status_code == 200
    assert "hostile-server-file-0d4e" not in response.text
    assert not touched.opened(str(secret))
    assert touched.network == []
