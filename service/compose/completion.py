"""Complete a merged project as Compose does, and check that it holds together.

After the files are merged, Compose fills in what a project implies (the
default network, the dependencies that ``links``, ``network_mode:
service:x`` and ``volumes_from`` create, resource names), splits services by
the active profiles, and refuses a project whose parts do not fit: a service
on an undeclared network, a secret that was never defined, a dependency
cycle, one container name used twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from service.compose import merge
from service.errors import ComposeValidationError
from service.types import LocateInProject, NodePath

_SERVICE_PREFIX = "service:"
_CONTAINER_PREFIX = "container:"


@dataclass
class CompletedProject:
    """The merged project after Compose's completion steps, split by profile."""

    name: str
    enabled: dict[str, dict[str, Any]]
    disabled: dict[str, dict[str, Any]]
    networks: dict[str, dict[str, Any]]
    volumes: dict[str, dict[str, Any]]
    profiles: tuple[str, ...]


def complete_project(
    model: dict[str, Any],
    name: str,
    profiles: tuple[str, ...],
    locate: LocateInProject,
) -> CompletedProject:
    """Apply defaults, implicit dependencies, profiles and consistency checks."""
    services = model.get("services") or {}
    if not isinstance(services, dict):
        raise ComposeValidationError(
            "'services' must be a mapping of service names to definitions.",
            location=locate(("services",)),
            key="services",
        )
    for service_name, service in services.items():
        if not isinstance(service, dict):
            raise ComposeValidationError(
                f"Service {service_name!r} must be a mapping.",
                location=locate(("services", service_name)),
                service=service_name,
            )
        _apply_service_defaults(service)
    networks = _name_resources(model.get("networks") or {}, name)
    if _uses_default_network(services) or "default" in networks:
        networks.setdefault("default", {"name": f"{name}_default"})
    volumes = _name_resources(model.get("volumes") or {}, name)

    enabled = {k: v for k, v in services.items() if merge.is_enabled(v, profiles)}
    disabled = {k: v for k, v in services.items() if k not in enabled}
    project = CompletedProject(name, enabled, disabled, networks, volumes, profiles)
    check_consistency(project, model, locate)
    _drop_unused_resources(project)
    return project


def _apply_service_defaults(service: dict[str, Any]) -> None:
    build = service.get("build")
    if isinstance(build, dict):
        build.setdefault("context", ".")
        if build.get("dockerfile") is None and build.get("dockerfile_inline") is None:
            build["dockerfile"] = "Dockerfile"
    depends_on = _implicit_dependencies(service)
    if depends_on:
        service["depends_on"] = depends_on
    # A provider service is run by a plugin, not as a container on a network.
    is_container = "provider" not in service
    if is_container and "network_mode" not in service and not service.get("networks"):
        service["networks"] = {"default": None}


def _implicit_dependencies(service: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``depends_on`` with the services that links and shared namespaces imply.

    Compose starts a service after every service it links to, shares a
    namespace with (``network_mode: service:x`` and the like) or takes volumes
    from, as if ``depends_on`` named them; an explicit entry wins.
    """
    depends_on = dict(service.get("depends_on") or {})
    for link in service.get("links") or []:
        # A link is ``service`` or ``service:alias``.
        target = str(link).split(":")[0] if str(link).count(":") == 1 else str(link)
        depends_on.setdefault(target, _implicit_dependency(restart=True))
    for key in ("network_mode", "ipc", "pid", "uts", "cgroup"):
        value = service.get(key)
        if isinstance(value, str) and value.startswith(_SERVICE_PREFIX):
            shared = value[len(_SERVICE_PREFIX) :]
            depends_on.setdefault(shared, _implicit_dependency(restart=True))
    for source in service.get("volumes_from") or []:
        # ``container:name`` names a container outside the project; a service
        # may carry a ``:ro``/``:rw`` suffix.
        if not str(source).startswith(_CONTAINER_PREFIX):
            depends_on.setdefault(
                str(source).split(":")[0], _implicit_dependency(restart=False)
            )
    return depends_on


def _implicit_dependency(restart: bool) -> dict[str, Any]:
    return {"condition": "service_started", "restart": restart, "required": True}


def _uses_default_network(services: Mapping[str, Any]) -> bool:
    return any(
        isinstance(s, dict) and "default" in (s.get("networks") or {})
        for s in services.values()
    )


def _name_resources(
    resources: Mapping[str, Any], project: str
) -> dict[str, dict[str, Any]]:
    named: dict[str, dict[str, Any]] = {}
    for key, value in resources.items():
        resource = dict(value) if isinstance(value, dict) else {}
        if resource.get("name") is None:
            external = resource.get("external") is True
            resource["name"] = key if external else f"{project}_{key}"
        named[key] = resource
    return named


def check_consistency(
    project: CompletedProject,
    model: Mapping[str, Any],
    locate: LocateInProject,
) -> None:
    """Reject what Compose's consistency check rejects, service by service."""
    container_names: dict[str, str] = {}
    for name, service in project.enabled.items():
        _check_service(name, service, project, locate)
        _check_references(name, service, model, locate)
        container_name = service.get("container_name")
        if isinstance(container_name, str):
            if container_name in container_names:
                raise ComposeValidationError(
                    f"Service {name!r} uses container name {container_name!r}, "
                    f"which service {container_names[container_name]!r} already uses.",
                    location=locate(("services", name, "container_name")),
                    service=name,
                    key="container_name",
                )
            container_names[container_name] = name
    check_dependency_cycles(project.enabled, locate)


Fail = Callable[[str, str | None], ComposeValidationError]


def _check_service(
    name: str,
    service: dict[str, Any],
    project: CompletedProject,
    locate: LocateInProject,
) -> None:
    def fail(message: str, key: str | None) -> ComposeValidationError:
        path: NodePath = ("services", name, key) if key else ("services", name)
        return ComposeValidationError(
            message, location=locate(path), service=name, key=key
        )

    if (
        service.get("build") is None
        and not service.get("image")
        and not service.get("provider")
    ):
        raise fail(
            f"Service {name!r} has neither an image nor a build context; "
            "add 'image:' or 'build:'.",
            None,
        )
    _check_networks(name, service, project, fail)
    _check_dependencies(name, service, project, fail)
    _check_volumes(name, service, project, fail)
    _check_replicas(name, service, fail)


def _check_networks(
    name: str, service: dict[str, Any], project: CompletedProject, fail: Fail
) -> None:
    if service.get("network_mode") and "networks" in service:
        raise fail(
            f"Service {name!r} sets both 'network_mode' and 'networks'; "
            "they are mutually exclusive.",
            "network_mode",
        )
    for network in service.get("networks") or {}:
        if network not in project.networks:
            raise fail(
                f"Service {name!r} refers to undefined network {network!r}; "
                "declare it under the top-level 'networks:'.",
                "networks",
            )


def _check_dependencies(
    name: str, service: dict[str, Any], project: CompletedProject, fail: Fail
) -> None:
    for dependency, options in (service.get("depends_on") or {}).items():
        if dependency in project.enabled:
            continue
        required = not isinstance(options, dict) or options.get("required", True)
        if dependency in project.disabled and not required:
            continue
        reason = (
            " (it is in a profile that is not enabled)."
            if dependency in project.disabled
            else "."
        )
        raise fail(
            f"Service {name!r} depends on undefined service {dependency!r}{reason}",
            "depends_on",
        )
    # Checked after depends_on: ``service:x`` already made x a dependency, so
    # only a disabled x that a depends_on entry marks not required gets here.
    network_mode = service.get("network_mode")
    if isinstance(network_mode, str) and network_mode.startswith(_SERVICE_PREFIX):
        shared = network_mode[len(_SERVICE_PREFIX) :]
        if shared not in project.enabled:
            raise fail(
                f"Service {shared!r} not found for network_mode 'service:{shared}'.",
                "network_mode",
            )


def _check_volumes(
    name: str, service: dict[str, Any], project: CompletedProject, fail: Fail
) -> None:
    for volume in service.get("volumes") or []:
        if (
            isinstance(volume, dict)
            and volume.get("type") == "volume"
            and volume.get("source")
            and volume["source"] not in project.volumes
        ):
            raise fail(
                f"Service {name!r} refers to undefined volume {volume['source']!r}; "
                "declare it under the top-level 'volumes:'.",
                "volumes",
            )


def _check_replicas(name: str, service: dict[str, Any], fail: Fail) -> None:
    deploy = service.get("deploy") if isinstance(service.get("deploy"), dict) else {}
    replicas = deploy.get("replicas") if deploy else None
    scale = service.get("scale")
    if scale is not None and replicas is not None and scale != replicas:
        raise fail(
            f"Service {name!r} sets different values for 'scale' ({scale}) and "
            f"'deploy.replicas' ({replicas}); keep one.",
            "scale",
        )
    count = scale if scale is not None else replicas
    if service.get("container_name") and isinstance(count, int) and count > 1:
        raise fail(
            f"Service {name!r} sets 'container_name' and {count} replicas, but a "
            "container name must be unique; remove one of them.",
            "container_name",
        )


# What a service names, the top-level section that must define it, and how
# Compose words the kind of thing in its message.
_REFERENCES = (
    (("secrets",), "secrets", "secret"),
    (("configs",), "configs", "config"),
    (("build", "secrets"), "secrets", "build secret"),
    (("models",), "models", "model"),
)


def _check_references(
    name: str,
    service: Mapping[str, Any],
    model: Mapping[str, Any],
    locate: LocateInProject,
) -> None:
    for path, section, kind in _REFERENCES:
        if path[0] not in service:
            # The common case: a service names no secrets, configs or models.
            continue
        defined = model.get(section) or {}
        for reference in _referenced_names(_lookup(service, path)):
            if reference in defined:
                continue
            raise ComposeValidationError(
                f"Service {name!r} refers to undefined {kind} {reference!r}; "
                f"declare it under the top-level '{section}:'.",
                location=locate(("services", name, *path)),
                service=name,
                key=".".join(path),
            )


def _lookup(service: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = service
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    return value


def _referenced_names(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(key) for key in value]
    if not isinstance(value, list):
        return []
    names = []
    for item in value:
        source = item.get("source") if isinstance(item, dict) else item
        names.append("" if source is None else str(source))
    return names


def check_dependency_cycles(
    services: Mapping[str, dict[str, Any]],
    locate: LocateInProject,
) -> None:
    """Reject a ``depends_on`` cycle, naming it as Compose does."""
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dependency in sorted(services[name].get("depends_on") or {}):
            if dependency not in services:
                continue
            if state.get(dependency) == 1:
                cycle = trail[trail.index(dependency) :] + [dependency]
                raise ComposeValidationError(
                    "Dependency cycle detected: " + " -> ".join(cycle) + ".",
                    location=locate(("services", name, "depends_on")),
                    service=name,
                    key="depends_on",
                )
            if state.get(dependency) is None:
                visit(dependency, [*trail, dependency])
        state[name] = 2

    for name in sorted(services):
        if state.get(name) is None:
            visit(name, [name])


def _drop_unused_resources(project: CompletedProject) -> None:
    used_networks = {
        network
        for service in project.enabled.values()
        for network in (service.get("networks") or {})
    }
    project.networks = {k: v for k, v in project.networks.items() if k in used_networks}
    used_volumes = {
        volume.get("source")
        for service in project.enabled.values()
        for volume in service.get("volumes") or []
        if isinstance(volume, dict) and volume.get("type") == "volume"
    }
    project.volumes = {k: v for k, v in project.volumes.items() if k in used_volumes}
