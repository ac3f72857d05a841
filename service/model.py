"""The topology model: what a Compose project will run, and who can reach it.

This is the one definition of the records that every layer shares. The compose
reader builds it, the renderer draws it, and the web layer serves it as JSON,
so the API schema is these dataclasses and nothing else.

An image is the class and a container the instance: ``Image.used_by`` lists
every service that runs an image, which makes "one image, many containers"
explicit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from service.errors import SourceLocation
from service.types import (
    Exposure,
    ImageSource,
    OverrideKey,
    OverrideRelation,
    Severity,
)

HIDDEN_VALUE = "********"


@dataclass(frozen=True)
class BuildSpec:
    """Where and how a service builds its image."""

    context: str
    dockerfile: str = "Dockerfile"
    target: str | None = None


@dataclass(frozen=True)
class ImageDefaults:
    """What a Dockerfile gives every container of its image."""

    dockerfile: str
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    user: str | None = None
    expose: tuple[str, ...] = ()
    base_image: str | None = None


@dataclass(frozen=True)
class Image:
    """One distinct image reference and the services built from or running it.

    ``build`` is the first builder's build; when several services build the
    same tag (a finding), each one's own build is on ``Service.build``.
    """

    ref: str
    source: ImageSource
    built_by: tuple[str, ...] = ()
    used_by: tuple[str, ...] = ()
    build: BuildSpec | None = None
    defaults: ImageDefaults | None = None


@dataclass(frozen=True)
class PortBinding:
    """One container port and how it is published, after range expansion.

    ``published`` is None when Compose picks a random host port
    (``random_host_port`` says so) or when the port is not published at all
    (``exposure == "internal"``).
    """

    target: int
    protocol: str = "tcp"
    published: str | None = None
    host_ip: str | None = None
    exposure: Exposure = "internal"
    random_host_port: bool = False
    name: str | None = None
    app_protocol: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class EnvironmentVariable:
    """One variable set on a container; ``value`` is None when passed through unset."""

    name: str
    value: str | None
    source: str = "environment"
    relation: OverrideRelation = "unknown"
    image_default: str | None = None


@dataclass(frozen=True)
class Mount:
    """A volume, bind mount or tmpfs attached to a container."""

    type: str
    target: str
    source: str | None = None
    read_only: bool = False


@dataclass(frozen=True)
class Override:
    """One setting a container changes on top of its image.

    ``relation`` is ``overrides`` when the Dockerfile had its own value
    (kept in ``image_default``), ``sets`` when it had none, and ``unknown``
    when no Dockerfile was supplied for the image.

    Values by key: ``command``/``entrypoint`` a list of words (a string
    command is split as Compose splits it), ``working_dir``/``user`` a string,
    ``environment`` the sorted variable *names* only (values, which may be
    secrets, live in ``Service.environment``), ``env_file`` the file names,
    ``volumes`` the mount targets.
    """

    key: OverrideKey
    value: Any
    relation: OverrideRelation = "unknown"
    image_default: Any = None


@dataclass(frozen=True)
class NetworkAttachment:
    """A service's membership of a Compose network."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None


@dataclass(frozen=True)
class Dependency:
    """A ``depends_on`` entry."""

    service: str
    condition: str = "service_started"
    required: bool = True
    restart: bool = False


@dataclass(frozen=True)
class Service:
    """A service and the containers Compose will create for it."""

    name: str
    image: str
    build: BuildSpec | None = None
    replicas: int = 1
    containers: tuple[str, ...] = ()
    overrides: tuple[Override, ...] = ()
    environment: tuple[EnvironmentVariable, ...] = ()
    inherited: tuple[str, ...] = ()
    ports: tuple[PortBinding, ...] = ()
    expose: tuple[PortBinding, ...] = ()
    networks: tuple[NetworkAttachment, ...] = ()
    network_mode: str | None = None
    depends_on: tuple[Dependency, ...] = ()
    profiles: tuple[str, ...] = ()
    volumes: tuple[Mount, ...] = ()
    location: SourceLocation | None = None

    def override(self, key: OverrideKey) -> Override | None:
        """Return this container's override of ``key``, if it sets one."""
        return next((o for o in self.overrides if o.key == key), None)


@dataclass(frozen=True)
class Network:
    """A Compose network and the services on it."""

    name: str
    full_name: str
    driver: str | None = None
    internal: bool = False
    external: bool = False
    is_default: bool = False
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Volume:
    """A named volume and the services that mount it."""

    name: str
    full_name: str
    driver: str | None = None
    external: bool = False
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """Something a reviewer of the file should know about."""

    code: str
    severity: Severity
    message: str
    service: str | None = None
    location: SourceLocation | None = None


@dataclass(frozen=True)
class Warning:
    """Something Docker Compose itself would warn about."""

    message: str
    location: SourceLocation | None = None
    code: str = "compose"


@dataclass(frozen=True)
class Project:
    """The whole topology of one Compose project; ``project`` is its name."""

    project: str
    images: tuple[Image, ...] = ()
    services: tuple[Service, ...] = ()
    networks: tuple[Network, ...] = ()
    volumes: tuple[Volume, ...] = ()
    findings: tuple[Finding, ...] = ()
    warnings: tuple[Warning, ...] = ()

    def service(self, name: str) -> Service:
        """Return the service called ``name``; raise KeyError when there is none."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def image(self, ref: str) -> Image:
        """Return the image called ``ref``; raise KeyError when there is none."""
        for image in self.images:
            if image.ref == ref:
                return image
        raise KeyError(ref)


def hide_values(project: Project) -> Project:
    """Return a copy of ``project`` with every environment value masked.

    Environment values often hold passwords, so every public output goes
    through this unless the caller asked to see values.
    """
    services = tuple(_hide_service_values(service) for service in project.services)
    images = tuple(_hide_image_values(image) for image in project.images)
    return dataclasses.replace(project, services=services, images=images)


def _hide_service_values(service: Service) -> Service:
    if not service.environment:
        # Nothing to mask; the record is frozen, so it can be shared as is.
        return service
    environment = tuple(_hide_variable(v) for v in service.environment)
    return dataclasses.replace(service, environment=environment)


def _hide_variable(variable: EnvironmentVariable) -> EnvironmentVariable:
    # Built field by field: ``dataclasses.replace`` costs several times more
    # and runs for every variable of every diagram. A test fills every field
    # and fails if one is added here without being copied.
    return EnvironmentVariable(
        name=variable.name,
        value=None if variable.value is None else HIDDEN_VALUE,
        source=variable.source,
        relation=variable.relation,
        image_default=None if variable.image_default is None else HIDDEN_VALUE,
    )


def _hide_image_values(image: Image) -> Image:
    if image.defaults is None or not image.defaults.env:
        return image
    env = dict.fromkeys(image.defaults.env, HIDDEN_VALUE)
    defaults = dataclasses.replace(image.defaults, env=env)
    return dataclasses.replace(image, defaults=defaults)


def to_json(project: Project) -> dict[str, Any]:
    """Return the model as plain JSON-ready data, with the documented field names."""
    return dataclasses.asdict(project)
