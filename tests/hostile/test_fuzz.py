"""Property-based fuzzing: every body gets a model, a diagram or a clean 4xx problem.

Hypothesis builds compose projects from Compose's own vocabulary (some valid,
many subtly wrong), arbitrary YAML trees under the top-level keys, mutated
YAML text, and raw bytes. Whatever arrives, the answer is a 200 with a
readable body or a 4xx ``application/problem+json`` with a sentence, within
a bounded time; never a 5xx, a traceback or a hang.
"""

from __future__ import annotations

import base64
import json
import os
import time
import zlib
from typing import Any
from xml.etree import ElementTree

import httpx2
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Examples per property; raise it for a longer local run.
EXAMPLES = int(os.environ.get("HOSTILE_FUZZ_EXAMPLES", "120"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

CLIENT_ERRORS = frozenset({400, 404, 413, 415, 422})
SECONDS_PER_ANSWER = 10.0

# Compose's vocabulary, so generated projects reach deep into the reader.
names = st.from_regex(r"[a-z][a-z0-9_.-]{0,12}", fullmatch=True)
odd_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), odd_text, names
)
yaml_trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(names, odd_text), children, max_size=4),
    ),
    max_leaves=20,
)
port_numbers = st.one_of(st.integers(0, 70_000), st.just(65535))
ports = st.one_of(
    port_numbers.map(str),
    st.tuples(port_numbers, port_numbers).map(lambda p: f"{p[0]}:{p[1]}"),
    st.tuples(port_numbers, port_numbers, port_numbers).map(
        lambda p: f"{p[0]}-{p[1]}:{p[2]}/udp"
    ),
    st.tuples(
        st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "[::]", "10.1.2.3"]),
        port_numbers,
        port_numbers,
    ).map(lambda p: f"{p[0]}:{p[1]}:{p[2]}"),
    st.fixed_dictionaries(
        {"target": port_numbers},
        optional={
            "published": st.one_of(port_numbers, port_numbers.map(str)),
            "host_ip": st.sampled_from(["127.0.0.1", "0.0.0.0", "bad"]),
            "protocol": st.sampled_from(["tcp", "udp", "sctp", "icmp"]),
            "mode": st.sampled_from(["host", "ingress"]),
        },
    ),
    odd_text,
)
variables = st.one_of(
    names.map(lambda n: f"${{{n.upper()}}}"),
    names.map(lambda n: f"${{{n.upper()}:-default}}"),
    names.map(lambda n: f"${{{n.upper()}:?it is required}}"),
    st.just("${"),
    st.just("$$literal"),
)


def service_strategy(others: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Return a strategy for one service, depending only on ``others``."""
    depends = st.lists(st.sampled_from(others), max_size=3) if others else st.just([])
    return st.fixed_dictionaries(
        {},
        optional={
            "image": st.one_of(names, variables, odd_text),
            "build": st.one_of(
                st.just("."),
                st.fixed_dictionaries(
                    {"context": st.sampled_from([".", "/etc", "../..", "app"])},
                    optional={"dockerfile": st.sampled_from(["Dockerfile", "x"])},
                ),
            ),
            "ports": st.lists(ports, max_size=4),
            "expose": st.lists(st.one_of(port_numbers, odd_text), max_size=2),
            "environment": st.one_of(
                st.dictionaries(names, st.one_of(scalars, variables), max_size=4),
                st.lists(st.one_of(names, odd_text), max_size=3),
            ),
            "depends_on": depends,
            "command": st.one_of(odd_text, st.lists(odd_text, max_size=3)),
            "entrypoint": st.one_of(odd_text, st.lists(odd_text, max_size=2)),
            "network_mode": st.sampled_from(["host", "bridge", "none", "service:a"]),
            "networks": st.lists(names, max_size=3),
            "volumes": st.lists(
                st.one_of(odd_text, st.just("data:/data"), st.just("/etc:/x")),
                max_size=3,
            ),
            "profiles": st.lists(names, max_size=2),
            "extends": st.fixed_dictionaries({"service": names}),
            "labels": st.dictionaries(names, odd_text, max_size=2),
            "x-extra": yaml_trees,
        },
    )


@st.composite
def compose_projects(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a compose project that Compose may or may not accept."""
    service_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    services = {
        name: draw(service_strategy(service_names[:index]))
        for index, name in enumerate(service_names)
    }
    project: dict[str, Any] = {"services": services}
    if draw(st.booleans()):
        project["networks"] = draw(st.dictionaries(names, yaml_trees, max_size=3))
    if draw(st.booleans()):
        project["volumes"] = draw(st.dictionaries(names, yaml_trees, max_size=3))
    if draw(st.booleans()):
        project[draw(st.sampled_from(["include", "name", "version", "x-top"]))] = draw(
            yaml_trees
        )
    return project


def dump(document: object) -> str:
    """Return ``document`` as YAML text."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@st.composite
def mutated_yaml(draw: st.DrawFn) -> bytes:
    """Draw a valid-looking project's text with a few bytes cut, added or swapped."""
    data = bytearray(dump(draw(compose_projects())).encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "insert", "replace"]))
        piece = draw(
            st.sampled_from(
                [
                    b"\x00",
                    b"\xff",
                    b":",
                    b"- ",
                    b"\t",
                    b"&a",
                    b"*a",
                    b"{",
                    b"'",
                    b"\n  ",
                    b"<<: *a",
                ]
            )
        )
        if action == "cut":
            del data[position : position + draw(st.integers(1, 8))]
        elif action == "insert":
            data[position:position] = piece
        else:
            data[position : position + len(piece)] = piece
    return bytes(data)


def check_answer(response: httpx2.Response, elapsed: float) -> None:
    """Check that ``response`` is a readable success or a clean client error."""
    assert elapsed < SECONDS_PER_ANSWER
    status = response.status_code
    media_type = response.headers.get("content-type", "").split(";")[0]
    if status == 200:
        check_success(media_type, response.content)
        return

    assert status in CLIENT_ERRORS, response.text[:500]
    if media_type == "image/svg+xml":
        ElementTree.fromstring(response.content)
        return
    assert media_type == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:compose-topology:problem:")
    assert isinstance(problem["detail"], str) and problem["detail"]
    assert "Traceback" not in problem["detail"]


def check_success(media_type: str, content: bytes) -> None:
    """Check that a 200 body parses as what its media type says."""
    if media_type == "application/json":
        json.loads(content)
    elif media_type == "image/svg+xml":
        ElementTree.fromstring(content)
    else:
        assert media_type == "text/vnd.graphviz"
        assert content.startswith(b"digraph")


def post(client: TestClient, path: str, body: bytes, **params: str) -> None:
    """Send ``body`` as a raw compose file and check the answer."""
    headers = {"content-type": "application/yaml", "accept": "application/json"}
    started = time.monotonic()
    response = client.post(path, params=params, content=body, headers=headers)
    check_answer(response, time.monotonic() - started)


formats = st.sampled_from(["json", "dot", "dot", "svg"])


@FUZZ
@given(project=compose_projects(), fmt=formats)
def test_generated_project_gets_a_diagram_or_a_clean_problem(
    client: TestClient, project: dict[str, Any], fmt: str
) -> None:
    post(client, "/api/v1/diagram", dump(project).encode("utf-8"), format=fmt)


@FUZZ
@given(
    document=st.dictionaries(
        st.sampled_from(
            ["services", "networks", "volumes", "include", "name", "secrets"]
        ),
        yaml_trees,
        max_size=4,
    )
)
def test_arbitrary_yaml_tree_gets_a_model_or_a_clean_problem(
    client: TestClient, document: dict[str, Any]
) -> None:
    post(client, "/api/v1/model", dump(document).encode("utf-8"))


@FUZZ
@given(body=mutated_yaml(), fmt=formats)
def test_mutated_yaml_gets_a_diagram_or_a_clean_problem(
    client: TestClient, body: bytes, fmt: str
) -> None:
    post(client, "/api/v1/diagram", body, format=fmt)


@FUZZ
@given(body=st.binary(max_size=2_000))
def test_random_bytes_get_a_clean_problem(client: TestClient, body: bytes) -> None:
    post(client, "/api/v1/model", body)


@FUZZ
@given(
    segment=st.one_of(
        st.text(
            st.sampled_from("ABCDEFabcdef0123456789-_=eJxz"), min_size=1, max_size=80
        ),
        st.binary(max_size=300).map(
            lambda data: base64.urlsafe_b64encode(zlib.compress(data)).decode()
        ),
        compose_projects().map(
            lambda project: base64.urlsafe_b64encode(
                zlib.compress(dump(project).encode("utf-8"))
            ).decode()
        ),
    ),
    fmt=st.sampled_from(["svg", "dot", "json", "png"]),
)
def test_kroki_url_gets_a_diagram_or_a_clean_problem(
    client: TestClient, segment: str, fmt: str
) -> None:
    started = time.monotonic()
    response = client.get(
        f"/compose/{fmt}/{segment}", headers={"accept": "application/json"}
    )

    if fmt == "png" and response.status_code == 200:
        assert response.content.startswith(b"\x89PNG")
        return
    check_answer(response, time.monotonic() - started)


@FUZZ
@given(
    files=st.lists(
        st.tuples(
            st.one_of(names, odd_text, st.just("../../etc/passwd")),
            st.one_of(compose_projects().map(dump), odd_text),
        ),
        min_size=1,
        max_size=3,
    ),
    env=st.one_of(st.none(), odd_text),
    variables=st.dictionaries(names, odd_text, max_size=3),
)
def test_json_project_gets_a_model_or_a_clean_problem(
    client: TestClient,
    files: list[tuple[str, str]],
    env: str | None,
    variables: dict[str, str],
) -> None:
    body = {
        "files": [{"name": name, "content": content} for name, content in files],
        "env_file": env,
        "variables": variables,
    }

    started = time.monotonic()
    response = client.post("/api/v1/model", json=body)
    check_answer(response, time.monotonic() - started)
