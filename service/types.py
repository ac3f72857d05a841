"""Type aliases shared across modules, each defined once here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias

from service.errors import SourceLocation

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

#: Where a node sits in a compose document: the mapping keys and list indexes
#: that lead to it from the root, such as ``("services", "web", "ports", 0)``.
NodePath: TypeAlias = tuple[str | int, ...]

#: Find where a node was written in one YAML document. There is always an
#: answer: the nearest ancestor whose place is known, else the file alone.
LocateInDocument: TypeAlias = Callable[[NodePath], SourceLocation]

#: Find where a node was written in any of a project's files (later files
#: first); None when no file wrote it, as for a value completion filled in.
LocateInProject: TypeAlias = Callable[[NodePath], SourceLocation | None]

#: Look a variable up by name; None when it is not set.
Lookup: TypeAlias = Callable[[str], str | None]
