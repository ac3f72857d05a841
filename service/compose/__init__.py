"""Read Compose files the way Docker Compose v2 does, into the topology model.

The one entry point is ``parse_project``. It does no I/O: the caller hands it
the text of the compose files and a ``FileSource`` that answers for every
other file the project names (``.env``, ``env_file``, ``extends.file``,
``include``, Dockerfiles). The CLI gives it a source backed by the disk; the
web service gives it one backed by the uploaded files only.
"""

from __future__ import annotations

from service.compose.inputs import ComposeFile, FileSource, MappingSource, ProjectInput
from service.compose.project import parse_project

__all__ = [
    "ComposeFile",
    "FileSource",
    "MappingSource",
    "ProjectInput",
    "parse_project",
]
