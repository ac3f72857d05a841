"""Typed keyword options for building a ``ProjectInput`` in tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from service.compose.inputs import ComposeFile, FileSource


class InputOptions(TypedDict, total=False):
    """The ``ProjectInput`` fields a test may set besides its compose files."""

    env_file: ComposeFile | None
    variables: Mapping[str, str]
    project_name: str | None
    profiles: tuple[str, ...]
    project_directory: str
    sources: FileSource
