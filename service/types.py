"""Type aliases shared by every layer."""

from __future__ import annotations

from typing import Literal, TypeAlias

JSONScalar: TypeAlias = str | int | float | bool | None
JSONValue: TypeAlias = JSONScalar | list["JSONValue"] | dict[str, "JSONValue"]

#: How far a port can be reached from, most open first.
Exposure: TypeAlias = Literal[
    "public", "interface", "loopback", "host-network", "internal"
]

#: How much a finding matters to a reviewer of the file.
Severity: TypeAlias = Literal["danger", "warning", "info"]

#: Where an image comes from.
ImageSource: TypeAlias = Literal["build", "pull"]

#: The container settings Compose can set on top of an image's defaults.
OverrideKey: TypeAlias = Literal[
    "command", "entrypoint", "environment", "env_file", "working_dir", "user", "volumes"
]

#: How a container setting relates to the image's Dockerfile default.
OverrideRelation: TypeAlias = Literal["overrides", "sets", "unknown"]
