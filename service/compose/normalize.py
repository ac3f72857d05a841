"""Rewrite one compose file's data into the long forms Compose merges and reports.

Compose accepts many spellings of the same thing (``build: .`` or a mapping,
``depends_on`` as a list or a mapping, ports and volumes in short or long
syntax). Before files are merged, each is brought to one canonical form so
that the merge rules only ever compare like with like; this mirrors the
``transform`` step of compose-go. Relative paths are rebased on the folder
the file's paths are relative to (the project folder, or an included or
extended file's own folder) and kept relative to the project folder.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from service.compose.decoding import read_boolean
from service.compose.ports import PortBudget, normalise_ports
from service.errors import ComposeValidationError
from service.types import LocateInProject


def is_remote(path: str) -> bool:
    """Say whether a build context names a remote source rather than a folder."""
    return "://" in path or path.startswith("git@") or path.startswith("github.com/")


def rebase_path(path: str, base: str) -> str:
    """Return ``path`` relative to the project folder, given the folder it was in.

    Absolute and home-relative paths are left alone; the result is
    normalised, with ``.`` for the project folder itself.
    """
    if posixpath.isabs(path) or path.startswith("~"):
        return path
    return (
        posixpath.normpath(posixpath.join(base, path))
        if base
        else (posixpath.normpath(path))
    )


def normalise_file(
    data: dict[str, Any], base: str, locate: LocateInProject, budget: PortBudget
) -> dict[str, Any]:
    """Return ``data`` with every service and resource in canonical form."""
    result = dict(data)
    services = result.get("services")
    if isinstance(services, dict):
        result["services"] = {
            name: normalise_service(name, service, base, locate, budget)
            for name, service in services.items()
        }
    for key in ("networks", "volumes", "secrets", "configs"):
        resources = result.get(key)
        if isinstance(resources, dict):
            result[key] = {
                name: _normalise_resource(value) for name, value in resources.items()
            }
    return result


def _normalise_resource(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        return value
    resource = dict(value)
    external = resource.get("external")
    # The deprecated ``external: {name: x}`` form means ``name: x`` plus
    # ``external: true``.
    if isinstance(external, dict):
        if external.get("name") is not None:
            resource["name"] = external["name"]
        resource["external"] = True
    return resource


def normalise_service(
    name: str, service: Any, base: str, locate: LocateInProject, budget: PortBudget
) -> Any:
    """Return one service definition in canonical form (None stays None)."""
    if not isinstance(service, dict):
        return service
    result = dict(service)
    for key in ("ports", "volumes", "expose"):
        if key in result and not isinstance(result[key], list | type(None)):
            raise ComposeValidationError(
                f"Service {name!r}: '{key}' must be a list.",
                location=locate(("services", name, key)),
                service=name,
                key=key,
            )
    # Each transform rewrites its own key only and none can fail, so the
    # service's keys are walked (a few) rather than the whole table.
    for key in [key for key in result if key in _SERVICE_TRANSFORMS]:
        if result[key] is not None:
            result[key] = _SERVICE_TRANSFORMS[key](result[key], base)
    if isinstance(result.get("ports"), list):
        result["ports"] = normalise_ports(
            result["ports"],
            service=name,
            location=locate(("services", name, "ports")),
            budget=budget,
        )
    if isinstance(result.get("volumes"), list):
        result["volumes"] = [
            _normalise_volume(entry, base, name, locate) for entry in result["volumes"]
        ]
    return result


def _normalise_build(value: Any, base: str) -> Any:
    build = {"context": value} if isinstance(value, str) else value
    if not isinstance(build, dict):
        return value
    build = dict(build)
    context = build.get("context")
    if isinstance(context, str) and not is_remote(context):
        build["context"] = rebase_path(context, base)
    elif "context" not in build and base:
        build["context"] = base
    args = build.get("args")
    if isinstance(args, list):
        build["args"] = key_value_mapping(args)
    return build


def _normalise_depends_on(value: Any, base: str) -> Any:
    if isinstance(value, list):
        return {
            str(name): {"condition": "service_started", "required": True}
            for name in value
        }
    if isinstance(value, dict):
        return {name: _dependency_defaults(entry) for name, entry in value.items()}
    return value


def _dependency_defaults(entry: Any) -> Any:
    if entry is None:
        return {"condition": "service_started", "required": True}
    if not isinstance(entry, dict):
        return entry
    result = dict(entry)
    result.setdefault("condition", "service_started")
    result.setdefault("required", True)
    if "restart" in result:
        result["restart"] = read_boolean(result["restart"])
    return result


def _normalise_env_file(value: Any, base: str) -> Any:
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list):
        return value
    result: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            result.append({"path": rebase_path(entry, base), "required": True})
        elif isinstance(entry, dict) and isinstance(entry.get("path"), str):
            item = dict(entry)
            item["path"] = rebase_path(entry["path"], base)
            item["required"] = read_boolean(item.get("required", True))
            result.append(item)
        else:
            result.append(entry)
    return result


def _normalise_extends(value: Any, base: str) -> Any:
    if isinstance(value, str):
        return {"service": value}
    return value


def _normalise_networks(value: Any, base: str) -> Any:
    if isinstance(value, list):
        return {str(name): None for name in value}
    return value


def _normalise_environment(value: Any, base: str) -> Any:
    if isinstance(value, list):
        return key_value_mapping(value)
    if isinstance(value, dict):
        return {key: _env_value(entry) for key, entry in value.items()}
    return value


def _normalise_string_list(value: Any, base: str) -> Any:
    return [value] if isinstance(value, str) else value


def _normalise_label_file(value: Any, base: str) -> Any:
    paths = _normalise_string_list(value, base)
    if not isinstance(paths, list):
        return value
    return [
        rebase_path(path, base) if isinstance(path, str) else path for path in paths
    ]


def _normalise_labels(value: Any, base: str) -> Any:
    if isinstance(value, list):
        return key_value_mapping(value)
    return value


def _normalise_expose(value: Any, base: str) -> Any:
    if isinstance(value, list):
        return [str(entry) if isinstance(entry, int) else entry for entry in value]
    return value


def _env_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def key_value_mapping(entries: list[Any]) -> dict[str, str | None]:
    """Turn ``["A=1", "B"]`` into ``{"A": "1", "B": None}``; later keys win."""
    result: dict[str, str | None] = {}
    for entry in entries:
        text = str(entry)
        key, sep, value = text.partition("=")
        result[key] = value if sep else None
    return result


def _normalise_count(value: Any, base: str) -> Any:
    # YAML may spell a whole number as 2.0; Compose counts it as 2.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _normalise_deploy(value: Any, base: str) -> Any:
    if not isinstance(value, dict) or "replicas" not in value:
        return value
    return {**value, "replicas": _normalise_count(value["replicas"], base)}


_SERVICE_TRANSFORMS: dict[str, Callable[[Any, str], Any]] = {
    "scale": _normalise_count,
    "label_file": _normalise_label_file,
    "deploy": _normalise_deploy,
    "build": _normalise_build,
    "depends_on": _normalise_depends_on,
    "env_file": _normalise_env_file,
    "extends": _normalise_extends,
    "networks": _normalise_networks,
    "environment": _normalise_environment,
    "labels": _normalise_labels,
    "annotations": _normalise_labels,
    "dns": _normalise_string_list,
    "tmpfs": _normalise_string_list,
    "expose": _normalise_expose,
    "profiles": _normalise_string_list,
}


def _normalise_volume(
    entry: Any, base: str, service: str, locate: LocateInProject
) -> Any:
    if isinstance(entry, dict):
        mount = dict(entry)
        if mount.get("type") == "bind" and isinstance(mount.get("source"), str):
            mount["source"] = rebase_path(mount["source"], base)
        return mount
    if not isinstance(entry, str):
        return entry
    try:
        mount = parse_volume(entry)
    except ValueError as exc:
        raise ComposeValidationError(
            f"Service {service!r} has an invalid volume {entry!r}: {exc}.",
            location=locate(("services", service, "volumes")),
            service=service,
            key="volumes",
        ) from exc
    if mount["type"] == "bind":
        mount["source"] = rebase_path(mount["source"], base)
    return mount


def parse_volume(spec: str) -> dict[str, Any]:
    """Parse a short-syntax volume ``[source:]target[:options]`` as Compose does.

    Raise ValueError when a section between colons is empty or there are
    too many colons.
    """
    if not spec:
        raise ValueError("invalid empty volume spec")
    if len(spec) <= 2:
        return {"type": "volume", "target": spec, "volume": {}}
    sections = _split_volume(spec)
    source, target, options = "", "", ""
    if len(sections) == 1:
        target = sections[0]
    elif len(sections) == 2:
        source, target = sections
    elif len(sections) == 3:
        source, target, options = sections
    else:
        raise ValueError("too many colons")
    return _build_volume(source, target, options)


def _split_volume(spec: str) -> list[str]:
    sections: list[str] = []
    current = ""
    for index, char in enumerate(spec):
        # A Windows drive letter (``C:``) is part of the path, not a separator.
        if char == ":" and not _is_drive(current, spec, index):
            if not current:
                raise ValueError("empty section between colons")
            sections.append(current)
            current = ""
        else:
            current += char
    if not current:
        raise ValueError("empty section between colons")
    sections.append(current)
    return sections


def _is_drive(current: str, spec: str, index: int) -> bool:
    return (
        len(current) == 1
        and current.isalpha()
        and spec[index + 1 : index + 2]
        in (
            "\\",
            "/",
        )
    )


def _build_volume(source: str, target: str, options: str) -> dict[str, Any]:
    mount: dict[str, Any] = {"type": "volume", "target": clean_path(target)}
    if source:
        mount["source"] = source
    is_bind = (
        source[:1] in (".", "/", "~")
        or source.startswith("\\\\")
        or (len(source) > 1 and source[1] == ":" and source[0].isalpha())
    )
    if is_bind:
        mount["type"] = "bind"
        mount["bind"] = {"create_host_path": True}
    else:
        mount["volume"] = {}
    for option in options.split(",") if options else ():
        _apply_volume_option(mount, option)
    return mount


_PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")


def _apply_volume_option(mount: dict[str, Any], option: str) -> None:
    if option == "ro":
        mount["read_only"] = True
    elif option == "rw":
        mount.pop("read_only", None)
    elif option == "nocopy":
        mount["volume"] = {"nocopy": True}
    elif option in ("z", "Z") and mount["type"] == "bind":
        mount["bind"] = {**mount["bind"], "selinux": option}
    elif option in _PROPAGATIONS and mount["type"] == "bind":
        mount["bind"] = {**mount["bind"], "propagation": option}


def clean_path(path: str) -> str:
    """Return ``path`` cleaned as Go's ``filepath.Clean`` does (no trailing slash)."""
    if not path:
        return path
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned
