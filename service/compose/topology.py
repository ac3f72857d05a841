"""Turn a merged, completed Compose project into the topology model.

This is where Compose's view (services with settings) becomes ours: which
images exist and who builds and runs each one, which containers a service
creates, what each container changes on top of its image's Dockerfile, and
from where each port can be reached.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from service.compose.dockerfile import parse_dockerfile
from service.compose.dotenv import parse_dotenv, parse_raw_env
from service.compose.findings import build_findings
from service.compose.inputs import FileSource
from service.compose.normalize import is_remote
from service.compose.overrides import collect_overrides, compare_with_image
from service.compose.ports import (
    PortBudget,
    build_port_binding,
    count_expose,
    parse_expose,
)
from service.errors import ComposeValidationError, InputError
from service.model import (
    BuildSpec,
    Dependency,
    EnvironmentVariable,
    Image,
    ImageDefaults,
    Mount,
    Network,
    NetworkAttachment,
    PortBinding,
    Project,
    Service,
    Volume,
    Warning,
)
from service.types import LocateInProject

if TYPE_CHECKING:
    from service.compose.completion import CompletedProject


@dataclass
class TopologyContext:
    """What the model builder needs besides the merged project."""

    project_name: str
    project_directory: str
    environment: Mapping[str, str]
    sources: FileSource
    locate: LocateInProject
    budget: PortBudget
    #: The reader's warnings, joined by those found while building the model
    #: (unreadable Dockerfiles, expose entries that are not ports).
    warnings: list[Warning]


def build_topology(project: CompletedProject, context: TopologyContext) -> Project:
    """Return the topology model of a completed project."""
    services = [
        _build_service(name, project.enabled[name], context)
        for name in sorted(project.enabled)
    ]
    images = _build_images(project, services, context)
    defaults = {image.ref: image.defaults for image in images}
    services = [compare_with_image(s, defaults.get(s.image)) for s in services]
    model = Project(
        project=context.project_name,
        images=tuple(images),
        services=tuple(services),
        networks=_build_networks(project, services),
        volumes=_build_volumes(project, services),
        warnings=tuple(context.warnings),
    )
    findings = build_findings(model, project.enabled)
    return dataclasses.replace(model, findings=findings)


# --- services ---------------------------------------------------------------------


def image_ref(name: str, service: Mapping[str, Any], project: str) -> str:
    """Return a service's image; a build without ``image:`` gets Compose's name."""
    image = service.get("image")
    if isinstance(image, str) and image:
        return image
    return f"{project}-{name}"


def replica_count(service: Mapping[str, Any]) -> int:
    """Return how many containers Compose starts (``scale`` or ``deploy.replicas``)."""
    scale = service.get("scale")
    if isinstance(scale, int):
        return scale
    deploy = service.get("deploy")
    replicas = deploy.get("replicas") if isinstance(deploy, dict) else None
    return replicas if isinstance(replicas, int) else 1


def container_names(
    name: str, service: Mapping[str, Any], project: str, replicas: int | None = None
) -> tuple[str, ...]:
    """Return the names Compose v2 gives the service's containers.

    ``replicas`` spares counting them again when the caller already has.
    """
    if replicas is None:
        replicas = replica_count(service)
    if replicas <= 0:
        return ()
    fixed = service.get("container_name")
    if isinstance(fixed, str) and fixed:
        return (fixed,)
    return tuple(f"{project}-{name}-{n}" for n in range(1, replicas + 1))


def _build_service(name: str, raw: dict[str, Any], context: TopologyContext) -> Service:
    network_mode = raw.get("network_mode")
    mode = network_mode if isinstance(network_mode, str) else None
    _check_label_files(name, raw, context)
    environment = _resolve_environment(name, raw, context)
    raw_build = raw.get("build")
    replicas = replica_count(raw)
    return Service(
        name=name,
        image=image_ref(name, raw, context.project_name),
        build=None if raw_build is None else _build_spec(raw_build, context),
        replicas=replicas,
        containers=container_names(name, raw, context.project_name, replicas),
        overrides=collect_overrides(name, raw, environment, context.locate),
        environment=environment,
        ports=tuple(build_port_binding(p, mode) for p in raw.get("ports") or []),
        expose=_build_expose(name, raw, context),
        networks=_build_attachments(raw),
        network_mode=mode,
        depends_on=_build_dependencies(raw),
        profiles=tuple(str(p) for p in raw.get("profiles") or []),
        volumes=_build_mounts(raw, context),
        location=context.locate(("services", name)),
    )


def _build_expose(
    name: str, raw: dict[str, Any], context: TopologyContext
) -> tuple[PortBinding, ...]:
    entries = raw.get("expose") or []
    if not entries:
        return ()
    location = context.locate(("services", name, "expose"))
    context.budget.spend(sum(count_expose(e) for e in entries), location, name)
    ports: list[PortBinding] = []
    for entry in entries:
        try:
            ports.extend(parse_expose(entry))
        except ValueError:
            # Compose passes any expose text on to the engine unchecked; the
            # model can only list real ports, so it says what it left out.
            context.warnings.append(
                Warning(
                    message=f"Service {name!r} exposes {entry!r}, which is not a "
                    "port or range; it is left out of the model.",
                    location=location,
                    code="expose",
                )
            )
    return tuple(ports)


def _build_attachments(raw: Mapping[str, Any]) -> tuple[NetworkAttachment, ...]:
    networks = raw.get("networks") or {}
    attachments = []
    for network in sorted(networks):
        options = networks[network]
        if not isinstance(options, dict) or not options:
            # The common ``networks: [front]`` form: no aliases, no addresses.
            attachments.append(NetworkAttachment(network=network))
            continue
        attachments.append(
            NetworkAttachment(
                network=network,
                aliases=tuple(str(a) for a in options.get("aliases") or []),
                ipv4_address=options.get("ipv4_address"),
                ipv6_address=options.get("ipv6_address"),
            )
        )
    return tuple(attachments)


def _build_dependencies(raw: Mapping[str, Any]) -> tuple[Dependency, ...]:
    depends_on = raw.get("depends_on")
    if not depends_on:
        return ()
    return tuple(
        Dependency(
            service=name,
            condition=str(options.get("condition", "service_started")),
            required=bool(options.get("required", True)),
            restart=bool(options.get("restart", False)),
        )
        for name, options in sorted(depends_on.items())
        if isinstance(options, dict)
    )


def _build_mounts(
    raw: Mapping[str, Any], context: TopologyContext
) -> tuple[Mount, ...]:
    mounts = []
    for volume in raw.get("volumes") or []:
        if not isinstance(volume, dict) or not volume.get("target"):
            continue
        source = volume.get("source")
        if volume.get("type") == "bind" and isinstance(source, str):
            source = project_path(source, context.project_directory)
        mounts.append(
            Mount(
                type=str(volume.get("type", "volume")),
                target=str(volume["target"]),
                source=source if isinstance(source, str) and source else None,
                read_only=bool(volume.get("read_only", False)),
            )
        )
    return tuple(mounts)


def absolute_path(path: str, directory: str) -> str:
    """Return ``path`` (relative to the project folder) as Compose reports it."""
    if posixpath.isabs(path) or path.startswith("~"):
        return path
    return posixpath.normpath(posixpath.join(directory, path))


def project_path(path: str, directory: str) -> str:
    """Return ``path`` relative to the project folder when it lies inside it.

    Compose reports absolute paths, but those name the machine that read the
    file; a diagram committed to a docs repository must not change with it.
    """
    absolute = absolute_path(path, directory)
    root = directory.rstrip("/") or "/"
    if absolute == root:
        return "."
    if absolute.startswith(root.rstrip("/") + "/"):
        return posixpath.relpath(absolute, root)
    return absolute


# --- environment --------------------------------------------------------------------


def _resolve_environment(
    name: str, raw: Mapping[str, Any], context: TopologyContext
) -> tuple[EnvironmentVariable, ...]:
    """Return the container's variables as Compose resolves them.

    Env files are read in order (a later file wins), each able to refer to
    variables set before it; ``environment`` then wins over them all. A bare
    ``NAME`` in ``environment`` takes the shell's value, or stays unset.
    """
    if "env_file" not in raw and "environment" not in raw:
        return ()
    variables: dict[str, tuple[str | None, str]] = {}
    for entry in raw.get("env_file") or []:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(path, str):
            continue
        values = _read_env_file(name, entry, path, variables, context)
        for key, from_file in values.items():
            variables[key] = (from_file, path)
    for key, written in (raw.get("environment") or {}).items():
        value = written if written is not None else context.environment.get(key)
        variables[key] = (value, "environment")
    return tuple(
        EnvironmentVariable(name=key, value=value, source=source)
        for key, (value, source) in sorted(variables.items())
    )


def _check_label_files(
    service: str, raw: Mapping[str, Any], context: TopologyContext
) -> None:
    # Compose reads label files to accept the project, as it reads env files.
    for path in raw.get("label_file") or []:
        if context.sources.read(str(path)) is None:
            raise ComposeValidationError(
                f"Service {service!r} reads label file {str(path)!r}, which was not "
                "supplied; add it to the uploaded files or remove it.",
                location=context.locate(("services", service, "label_file")),
                service=service,
                key="label_file",
            )


def _read_env_file(
    service: str,
    entry: Mapping[str, Any],
    path: str,
    known: Mapping[str, tuple[str | None, str]],
    context: TopologyContext,
) -> dict[str, str]:
    text = context.sources.read(path)
    if text is None:
        if entry.get("required", True) is False:
            return {}
        raise ComposeValidationError(
            f"Service {service!r} reads env file {path!r}, which was not supplied; "
            "add it to the uploaded files or mark it 'required: false'.",
            location=context.locate(("services", service, "env_file")),
            service=service,
            key="env_file",
        )

    if entry.get("format") == "raw":
        return parse_raw_env(text, path)

    def lookup(variable: str) -> str | None:
        found = known.get(variable)
        if found is not None and found[0] is not None:
            return found[0]
        return context.environment.get(variable)

    return parse_dotenv(text, path, lookup)


# --- images -------------------------------------------------------------------------


def _build_images(
    project: CompletedProject, services: list[Service], context: TopologyContext
) -> list[Image]:
    builders: dict[str, list[str]] = {}
    users: dict[str, list[str]] = {}
    for service in services:
        users.setdefault(service.image, []).append(service.name)
        if project.enabled[service.name].get("build") is not None:
            builders.setdefault(service.image, []).append(service.name)
    images = []
    for ref in sorted(users):
        built_by = builders.get(ref, [])
        build = defaults = None
        if built_by:
            raw_build = project.enabled[built_by[0]]["build"]
            build = _build_spec(raw_build, context)
            defaults = _image_defaults(built_by[0], raw_build, context)
        images.append(
            Image(
                ref=ref,
                source="build" if built_by else "pull",
                built_by=tuple(built_by),
                used_by=tuple(users[ref]),
                build=build,
                defaults=defaults,
            )
        )
    return images


def _build_spec(build: Mapping[str, Any], context: TopologyContext) -> BuildSpec:
    build_context = str(build.get("context") or ".")
    if not is_remote(build_context):
        build_context = project_path(build_context, context.project_directory)
    target = build.get("target")
    return BuildSpec(
        context=build_context,
        dockerfile=str(build.get("dockerfile") or "Dockerfile"),
        target=target if isinstance(target, str) else None,
    )


def dockerfile_path(build: Mapping[str, Any]) -> str | None:
    """Return the project-relative path of a build's Dockerfile, or None if remote."""
    build_context = str(build.get("context") or ".")
    if is_remote(build_context):
        return None
    dockerfile = str(build.get("dockerfile") or "Dockerfile")
    if posixpath.isabs(dockerfile):
        return dockerfile
    return posixpath.normpath(posixpath.join(build_context, dockerfile))


def _read_dockerfile(
    service: str, build: Mapping[str, Any], context: TopologyContext
) -> tuple[str, str] | None:
    """Return the name and text of a build's Dockerfile, or None if not supplied."""
    inline = build.get("dockerfile_inline")
    if isinstance(inline, str):
        return f"{service} (dockerfile_inline)", inline
    path = dockerfile_path(build)
    text = context.sources.read(path) if path else None
    if path is None or text is None:
        return None
    return path, text


def _image_defaults(
    service: str, build: Mapping[str, Any], context: TopologyContext
) -> ImageDefaults | None:
    dockerfile = _read_dockerfile(service, build, context)
    if dockerfile is None:
        return None
    name, text = dockerfile
    target = build.get("target") if isinstance(build.get("target"), str) else None
    args = build.get("args")
    build_args = (
        {str(k): str(v) for k, v in args.items() if v is not None}
        if isinstance(args, dict)
        else {}
    )

    try:
        return parse_dockerfile(text, name, target=target, build_args=build_args)
    except InputError as exc:
        # Compose does not read the Dockerfile to accept a project, so a
        # Dockerfile we cannot read only costs the comparison with it.
        context.warnings.append(
            Warning(
                message=f"Service {service!r}: {exc.message} The overrides are "
                "listed without comparing them with the Dockerfile.",
                location=exc.location,
                code="dockerfile",
            )
        )
        return None


# --- networks and volumes ----------------------------------------------------------


def _build_networks(
    project: CompletedProject, services: list[Service]
) -> tuple[Network, ...]:
    members = _members(services, _networks_of)
    networks = []
    for key in sorted(project.networks):
        options = project.networks[key]
        networks.append(
            Network(
                name=key,
                full_name=str(options.get("name")),
                driver=options.get("driver"),
                internal=options.get("internal") is True,
                external=options.get("external") is True,
                is_default=key == "default",
                services=members.get(key, ()),
            )
        )
    return tuple(networks)


def _build_volumes(
    project: CompletedProject, services: list[Service]
) -> tuple[Volume, ...]:
    members = _members(services, _volumes_of)
    volumes = []
    for key in sorted(project.volumes):
        options = project.volumes[key]
        volumes.append(
            Volume(
                name=key,
                full_name=str(options.get("name")),
                driver=options.get("driver"),
                external=options.get("external") is True,
                services=members.get(key, ()),
            )
        )
    return tuple(volumes)


def _members(
    services: list[Service], resources_of: Callable[[Service], list[str]]
) -> dict[str, tuple[str, ...]]:
    """Return the services that use each resource, each once and in service order.

    One pass over the services: asking every service about every network or
    volume would grow with their product, which a big stack makes slow.
    """
    members: dict[str, list[str]] = {}
    for service in services:
        for resource in dict.fromkeys(resources_of(service)):
            members.setdefault(resource, []).append(service.name)
    return {resource: tuple(names) for resource, names in members.items()}


def _networks_of(service: Service) -> list[str]:
    return [attachment.network for attachment in service.networks]


def _volumes_of(service: Service) -> list[str]:
    return [
        mount.source
        for mount in service.volumes
        if mount.type == "volume" and mount.source is not None
    ]
