"""Findings: what a reviewer of a compose file should be told."""

from __future__ import annotations

import pytest

from service.compose import parse_project
from service.compose.findings import is_data_store
from service.compose.inputs import ComposeFile, ProjectInput
from service.errors import SourceLocation
from service.model import Finding


def _findings(text: str) -> list[Finding]:
    files = (ComposeFile("compose.yaml", text),)
    return list(parse_project(ProjectInput(files=files, project_name="p")).findings)


def _codes(text: str) -> dict[str, list[str | None]]:
    codes: dict[str, list[str | None]] = {}
    for finding in _findings(text):
        codes.setdefault(finding.code, []).append(finding.service)
    return codes


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        pytest.param("postgres:16", True, id="postgres"),
        pytest.param("bitnami/redis:7", True, id="namespaced-redis"),
        pytest.param("mysql", True, id="mysql-untagged"),
        pytest.param("ghcr.io/acme/postgresql-exporter", False, id="exporter"),
        pytest.param("nginx:1.27", False, id="nginx"),
    ],
)
def test_is_data_store_by_image_name(image: str, expected: bool) -> None:
    assert is_data_store(image) is expected


def test_database_published_on_all_interfaces_is_danger() -> None:
    text = (
        "services:\n  db:\n    image: postgres:16\n    ports: ['5432:5432']\n"
        "  safe:\n    image: redis:7\n    ports: ['127.0.0.1:6379:6379']\n"
    )

    findings = [f for f in _findings(text) if f.code == "data-store-port-public"]

    assert [(f.service, f.severity) for f in findings] == [("db", "danger")]
    assert findings[0].location is not None and findings[0].location.line == 2


def test_same_host_port_bound_twice_reported() -> None:
    text = (
        "services:\n  a:\n    image: x:1\n    ports: ['8080:80']\n"
        "  b:\n    image: y:1\n    ports: ['127.0.0.1:8080:81']\n"
        "  c:\n    image: z:1\n    ports: ['8080:82/udp']\n"
    )

    assert _codes(text)["host-port-conflict"] == ["b"]


def test_fixed_host_port_with_replicas_reported() -> None:
    text = "services:\n  w:\n    image: x:1\n    scale: 2\n    ports: ['80:80', '81']\n"

    assert _codes(text)["replicas-fixed-host-port"] == ["w"]


def test_image_built_by_two_services_reported() -> None:
    text = (
        "services:\n  a:\n    build: ./a\n    image: app:1\n"
        "  b:\n    build: ./b\n    image: app:1\n"
    )

    findings = [f for f in _findings(text) if f.code == "image-built-twice"]

    assert [f.service for f in findings] == ["a"]
    assert findings[0].location == SourceLocation("compose.yaml", 2, 3)


def test_built_image_used_without_dependency_reported() -> None:
    text = (
        "services:\n  builder:\n    build: .\n    image: app:1\n"
        "  worker:\n    image: app:1\n"
        "  waiter:\n    image: app:1\n    depends_on: [builder]\n"
    )

    assert _codes(text)["built-image-without-dependency"] == ["worker"]


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        pytest.param("    privileged: true\n", "privileged", id="privileged"),
        pytest.param(
            "    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n",
            "docker-socket-mounted",
            id="docker-socket",
        ),
        pytest.param(
            "    network_mode: host\n", "network-mode-host", id="host-network"
        ),
        pytest.param("    pid: host\n", "pid-host", id="pid-host"),
        pytest.param("    cap_add: [SYS_ADMIN]\n", "dangerous-capability", id="cap"),
    ],
)
def test_risky_setting_reported(settings: str, code: str) -> None:
    text = "services:\n  w:\n    image: x:1\n" + settings

    assert _codes(text)[code] == ["w"]


def test_findings_ordered_by_severity() -> None:
    text = (
        "services:\n  a:\n    image: nginx\n"
        "  b:\n    image: x:1\n    privileged: true\n"
    )

    severities = [f.severity for f in _findings(text)]

    assert severities == sorted(severities, key=["danger", "warning", "info"].index)
    assert severities[0] == "danger"
