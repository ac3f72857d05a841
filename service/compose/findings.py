"""Point out what a reviewer of a compose file should know.

Each finding has a stable code (for filtering and for tests), a severity
(``danger`` for exposure or host compromise, ``warning`` for things that
break or surprise at run time, ``info`` for context), the service, and one
sentence that says what is wrong and why it matters.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from service.model import Finding, PortBinding, Project, Service
from service.types import Severity

#: Images whose ports should never face the internet directly.
_DATA_STORES = re.compile(
    r"(^|/)(postgres|postgis|mysql|mariadb|mongo|mongodb|redis|valkey|keydb|"
    r"memcached|elasticsearch|opensearch|cassandra|couchdb|couchbase|influxdb|"
    r"clickhouse|clickhouse-server|neo4j|mssql|mssql-server|cockroach|etcd|"
    r"rabbitmq|zookeeper|minio|timescaledb|questdb|scylla|dragonfly)"
    r"([:@-]|$)"
)
_DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
_DANGEROUS_CAPABILITIES = ("ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE")


def build_findings(
    project: Project, raw_services: Mapping[str, Mapping[str, Any]]
) -> tuple[Finding, ...]:
    """Return every finding for the project, most severe first, then by service."""
    found: list[Finding] = []
    for check in (
        _data_store_public,
        _host_port_conflicts,
        _replicated_fixed_port,
        _image_built_twice,
        _built_image_without_dependency,
        _host_network,
        _ports_on_host_network,
    ):
        found.extend(check(project))
    for service in project.services:
        raw = raw_services.get(service.name, {})
        found.extend(_host_access(service, raw))
        found.extend(_host_mounts(service))
        found.extend(_untagged_image(service, raw))
    order = {"danger": 0, "warning": 1, "info": 2}
    found.sort(key=lambda f: (order[f.severity], f.service or "", f.code))
    return tuple(found)


def _finding(
    code: str, severity: Severity, message: str, service: Service | None
) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        message=message,
        service=service.name if service else None,
        location=service.location if service else None,
    )


def is_data_store(image: str) -> bool:
    """Say whether an image looks like a database, cache or broker."""
    return bool(_DATA_STORES.search(image.lower()))


def _data_store_public(project: Project) -> Iterator[Finding]:
    for service in project.services:
        if not is_data_store(service.image):
            continue
        for port in service.ports:
            if port.exposure in ("public", "host-network"):
                where = port.published or "a random host port"
                yield _finding(
                    "data-store-port-public",
                    "danger",
                    f"Service {service.name!r} runs {service.image!r} and publishes "
                    f"container port {port.target} on {where} on all host interfaces; "
                    "bind it to 127.0.0.1 or drop the mapping.",
                    service,
                )


def _fixed_host_port(port: PortBinding) -> int | None:
    """Return the one host port a binding takes, or None when Docker picks it."""
    if port.published is None:
        return None
    first, _, last = port.published.partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        return None
    if last and last != first:
        # A host range is a pool Docker picks one free port from.
        return None
    return int(first)


def _addresses_overlap(a: str | None, b: str | None) -> bool:
    def is_any(address: str | None) -> bool:
        if not address:
            return True
        try:
            return ipaddress.ip_address(address.strip("[]")).is_unspecified
        except ValueError:
            return False

    return is_any(a) or is_any(b) or a == b


def _host_port_conflicts(project: Project) -> Iterator[Finding]:
    seen: list[tuple[Service, PortBinding, int]] = []
    reported: set[tuple[str, int, str]] = set()
    for service in project.services:
        if service.network_mode == "host":
            continue
        for port in service.ports:
            number = _fixed_host_port(port)
            if number is None:
                continue
            other = next(
                (
                    other
                    for other, other_port, other_number in seen
                    if other_number == number
                    and other_port.protocol == port.protocol
                    and _addresses_overlap(other_port.host_ip, port.host_ip)
                ),
                None,
            )
            key = (service.name, number, port.protocol)
            if other is not None and key not in reported:
                reported.add(key)
                yield _conflict(service, other, number, port.protocol)
            seen.append((service, port, number))


def _conflict(service: Service, other: Service, number: int, protocol: str) -> Finding:
    whom = "itself" if other.name == service.name else f"service {other.name!r}"
    return _finding(
        "host-port-conflict",
        "danger",
        f"Service {service.name!r} binds host port {number}/{protocol}, which "
        f"{whom} also binds; the second container will fail to start.",
        service,
    )


def _replicated_fixed_port(project: Project) -> Iterator[Finding]:
    for service in project.services:
        if service.replicas <= 1 or service.network_mode == "host":
            continue
        fixed = sorted(
            {str(p.published) for p in service.ports if _fixed_host_port(p) is not None}
        )
        if fixed:
            yield _finding(
                "replicas-fixed-host-port",
                "danger",
                f"Service {service.name!r} runs {service.replicas} replicas but binds "
                f"fixed host port(s) {', '.join(str(p) for p in fixed)}; only one "
                "replica can bind each, so the others will fail to start.",
                service,
            )


def _image_built_twice(project: Project) -> Iterator[Finding]:
    for image in project.images:
        if len(image.built_by) > 1:
            builders = ", ".join(repr(name) for name in image.built_by)
            yield _finding(
                "image-built-twice",
                "warning",
                f"Image {image.ref!r} is built by several services ({builders}); "
                "the last build wins and the others' containers run it.",
                project.service(image.built_by[0]),
            )


def _depends_transitively(
    services: Mapping[str, Service], start: str, target: str
) -> bool:
    pending, seen = [start], set()
    while pending:
        name = pending.pop()
        if name == target:
            return True
        if name in seen or name not in services:
            continue
        seen.add(name)
        pending.extend(d.service for d in services[name].depends_on)
    return False


def _built_image_without_dependency(project: Project) -> Iterator[Finding]:
    # Looked up by name once: a big stack asks about every user of every image.
    services = {service.name: service for service in project.services}
    for image in project.images:
        if not image.built_by:
            continue
        for user in image.used_by:
            if user in image.built_by:
                continue
            if any(_depends_transitively(services, user, b) for b in image.built_by):
                continue
            service = services[user]
            yield _finding(
                "built-image-without-dependency",
                "warning",
                f"Service {user!r} runs image {image.ref!r}, which service "
                f"{image.built_by[0]!r} builds, but does not depend on it; on a fresh "
                "host Compose may try to pull the image before it is built.",
                service,
            )


def _host_network(project: Project) -> Iterator[Finding]:
    for service in project.services:
        if service.network_mode == "host":
            yield _finding(
                "network-mode-host",
                "warning",
                f"Service {service.name!r} uses the host's network: every port it "
                "listens on is reachable as the host is, with no isolation.",
                service,
            )


def _ports_on_host_network(project: Project) -> Iterator[Finding]:
    for service in project.services:
        if service.network_mode == "host" and service.ports:
            yield _finding(
                "ports-ignored-host-network",
                "info",
                f"Service {service.name!r} uses the host's network, so its 'ports' "
                "mappings are ignored; the container listens on the host directly.",
                service,
            )


def _host_access(service: Service, raw: Mapping[str, Any]) -> Iterator[Finding]:
    if raw.get("privileged") is True:
        yield _finding(
            "privileged",
            "danger",
            f"Service {service.name!r} runs privileged: the container has full "
            "access to the host's devices and kernel.",
            service,
        )
    for key in ("pid", "ipc", "uts"):
        if raw.get(key) == "host":
            yield _finding(
                f"{key}-host",
                "warning",
                f"Service {service.name!r} shares the host's {key.upper()} namespace.",
                service,
            )
    added = {str(c).upper().removeprefix("CAP_") for c in raw.get("cap_add") or []}
    for capability in _DANGEROUS_CAPABILITIES:
        if capability in added:
            yield _finding(
                "dangerous-capability",
                "warning",
                f"Service {service.name!r} adds capability {capability}, which lets "
                "the container reach beyond itself.",
                service,
            )


def _host_mounts(service: Service) -> Iterator[Finding]:
    for mount in service.volumes:
        if mount.source in _DOCKER_SOCKETS or mount.target in _DOCKER_SOCKETS:
            yield _finding(
                "docker-socket-mounted",
                "danger",
                f"Service {service.name!r} mounts the Docker socket: whoever controls "
                "the container controls the host.",
                service,
            )
        elif mount.type == "bind" and mount.source == "/" and not mount.read_only:
            yield _finding(
                "host-root-mounted",
                "danger",
                f"Service {service.name!r} mounts the host's root folder writable.",
                service,
            )


def _untagged_image(service: Service, raw: Mapping[str, Any]) -> Iterator[Finding]:
    untagged = ":" not in service.image.rsplit("/", 1)[-1] and "@" not in service.image
    if untagged and raw.get("build") is None:
        yield _finding(
            "image-without-tag",
            "info",
            f"Service {service.name!r} runs {service.image!r} without a tag, so "
            "it gets whatever 'latest' is when pulled.",
            service,
        )
