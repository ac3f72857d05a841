"""What a container sets on top of its image, compared with the image's Dockerfile.

An override is one of ``command``, ``entrypoint``, ``environment``,
``env_file``, ``working_dir``, ``user`` or ``volumes`` written on a service.
When the Dockerfile of the service's image was supplied, each override is
marked as one that ``overrides`` the image's own default or one that only
``sets`` what the image leaves empty, and the image defaults the service
keeps are listed as inherited.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from service.compose.decoding import parse_command_line
from service.errors import ComposeValidationError, SourceLocation
from service.model import EnvironmentVariable, ImageDefaults, Override, Service
from service.types import LocateInProject, OverrideKey, OverrideRelation


def split_command(
    value: Any, *, service: str, key: str, location: SourceLocation | None
) -> tuple[str, ...] | None:
    """Return a command as a list of words, splitting a string as Compose does.

    ``service``, ``key`` and ``location`` say where the command was written,
    for the error raised when a string cannot be split.
    """
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(str(word) for word in value)
    words = parse_command_line(str(value))
    if words is None:
        raise ComposeValidationError(
            f"The {key} {value!r} of service {service!r} cannot be split into "
            "words; close its quotes.",
            location=location,
            service=service,
            key=key,
        )
    return tuple(words)


_TEXT_KEYS: tuple[OverrideKey, ...] = ("working_dir", "user")


def collect_overrides(
    name: str,
    raw: Mapping[str, Any],
    environment: tuple[EnvironmentVariable, ...],
    locate: LocateInProject,
) -> tuple[Override, ...]:
    """Return what service ``name`` sets on top of its image, in a fixed key order."""
    overrides: list[Override] = []
    for key in ("command", "entrypoint"):
        value = raw.get(key)
        if value is None:
            continue
        # Looked up only for a command that is set: most services set none.
        location = locate(("services", name, key))
        words = split_command(value, service=name, key=key, location=location)
        if words is not None:
            overrides.append(Override(key=key, value=words))
    if environment:
        explicit = sorted(v.name for v in environment if v.source == "environment")
        if explicit:
            overrides.append(Override(key="environment", value=tuple(explicit)))
    env_files = tuple(
        entry["path"]
        for entry in raw.get("env_file") or ()
        if isinstance(entry, dict) and isinstance(entry.get("path"), str)
    )
    if env_files:
        overrides.append(Override(key="env_file", value=env_files))
    for text_key in _TEXT_KEYS:
        value = raw.get(text_key)
        if isinstance(value, str | int) and value != "":
            overrides.append(Override(key=text_key, value=str(value)))
    targets = tuple(
        str(v["target"])
        for v in raw.get("volumes") or []
        if isinstance(v, dict) and v.get("target")
    )
    if targets:
        overrides.append(Override(key="volumes", value=targets))
    return tuple(overrides)


def compare_with_image(service: Service, defaults: ImageDefaults | None) -> Service:
    """Set each override's relation to the image's Dockerfile default."""
    if defaults is None:
        return service
    overrides = tuple(_relate(o, defaults) for o in service.overrides)
    environment = tuple(
        dataclasses.replace(
            v,
            relation="overrides" if v.name in defaults.env else "sets",
            image_default=defaults.env.get(v.name),
        )
        for v in service.environment
    )
    overridden = {o.key for o in overrides}
    inherited = tuple(
        key
        for key, value in _image_settings(defaults).items()
        if value and key not in overridden
    )
    return dataclasses.replace(
        service, overrides=overrides, environment=environment, inherited=inherited
    )


def _image_settings(defaults: ImageDefaults) -> dict[OverrideKey, Any]:
    return {
        "command": defaults.cmd,
        "entrypoint": defaults.entrypoint,
        "environment": tuple(sorted(defaults.env)) or None,
        "working_dir": defaults.workdir,
        "user": defaults.user,
    }


def _relate(override: Override, defaults: ImageDefaults) -> Override:
    settings = _image_settings(defaults)
    image_default: Any = settings.get(override.key)
    if override.key == "environment":
        shared = tuple(n for n in override.value if n in defaults.env)
        image_default = shared or None
    relation: OverrideRelation = "overrides" if image_default else "sets"
    return dataclasses.replace(override, relation=relation, image_default=image_default)
