"""The tables beside the diagram: images, containers with their overrides, ports.

Each row carries the element id of its node in the diagram, so the page can
link the two. ``static/tables.js`` builds the same tables from the JSON model
for the live page and must write values the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from service.model import Image, Override, PortBinding, Project, Service
from service.render.ids import image_id, service_id

#: The reader's words for each exposure, as the ports table shows them.
_REACH = {
    "public": "every interface: the network",
    "interface": "one host interface",
    "loopback": "this host only",
    "host-network": "the host's network (network_mode: host)",
    "internal": "Compose networks only",
}

#: Characters of an override value shown before the rest folds away.
LONG_VALUE = 120

_WORD_NEEDS_QUOTES = re.compile(r"[\s\"']")


@dataclass(frozen=True)
class ImageRow:
    """One row of the images table."""

    ref: str
    source: str
    built_by: tuple[str, ...]
    used_by: tuple[str, ...]
    context: str | None
    dockerfile: str | None
    node_id: str


@dataclass(frozen=True)
class OverrideItem:
    """One override of a container, with its value written out for reading."""

    key: str
    value: str
    relation: str
    image_default: str


@dataclass(frozen=True)
class ContainerRow:
    """One row of the containers table: a service and what it overrides."""

    name: str
    image: str
    replicas: int
    containers: tuple[str, ...]
    network_mode: str | None
    overrides: tuple[OverrideItem, ...]
    node_id: str


@dataclass(frozen=True)
class PortRow:
    """One row of the ports table: a binding and who can reach it."""

    service: str
    binding: str
    target: str
    exposure: str
    reach: str
    node_id: str


@dataclass(frozen=True)
class Tables:
    """The three tables shown beside the diagram."""

    images: tuple[ImageRow, ...]
    containers: tuple[ContainerRow, ...]
    ports: tuple[PortRow, ...]


def build_tables(project: Project) -> Tables:
    """Build the images, containers and ports tables of ``project``."""
    return Tables(
        images=tuple(build_image_row(image) for image in project.images),
        containers=tuple(build_container_row(s) for s in project.services),
        ports=tuple(
            build_port_row(service, port)
            for service in project.services
            for port in service.ports + service.expose
        ),
    )


def build_image_row(image: Image) -> ImageRow:
    """Describe one image: where it comes from and who runs it."""
    return ImageRow(
        ref=image.ref,
        source=image.source,
        built_by=image.built_by,
        used_by=image.used_by,
        context=image.build.context if image.build else None,
        dockerfile=image.build.dockerfile if image.build else None,
        node_id=image_id(image.ref),
    )


def build_container_row(service: Service) -> ContainerRow:
    """Describe one service's containers and what they override."""
    return ContainerRow(
        name=service.name,
        image=service.image,
        replicas=service.replicas,
        containers=service.containers,
        network_mode=service.network_mode,
        overrides=tuple(build_override_item(o) for o in service.overrides),
        node_id=service_id(service.name),
    )


def build_override_item(override: Override) -> OverrideItem:
    """Write one override's value as a reader would type it."""
    return OverrideItem(
        key=override.key,
        value=describe_value(override.key, override.value),
        relation=override.relation,
        image_default=describe_value(override.key, override.image_default),
    )


def describe_value(key: str, value: object) -> str:
    """Show a value in a table cell; commands read as a command line."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        words = [str(word) for word in value]
        if key in ("command", "entrypoint"):
            return " ".join(_quote_word(word) for word in words)
        return ", ".join(words)
    return str(value)


def _quote_word(word: str) -> str:
    # Quoted as JSON, as static/tables.js quotes it, so both pages agree.
    if word and not _WORD_NEEDS_QUOTES.search(word):
        return word
    return json.dumps(word, ensure_ascii=False)


def build_port_row(service: Service, port: PortBinding) -> PortRow:
    """Describe one port: the host side, the container side, and its reach."""
    return PortRow(
        service=service.name,
        binding=describe_binding(port),
        target=f"{port.target}/{port.protocol}",
        exposure=port.exposure,
        reach=_REACH.get(port.exposure, ""),
        node_id=service_id(service.name),
    )


def describe_binding(port: PortBinding) -> str:
    """Return the host side of a port as ``ip:port``; ``random`` for a random port."""
    if port.exposure == "internal":
        return "not published"
    if port.exposure == "host-network":
        return f"host:{port.target}"
    published = "random" if port.random_host_port or not port.published else None
    host_port = published or str(port.published)
    host_ip = port.host_ip or "0.0.0.0"
    if ":" in host_ip:
        return f"[{host_ip}]:{host_port}"
    return f"{host_ip}:{host_port}"
