"""The inputs of ``parse_project``: compose texts, variables, other files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ComposeFile:
    """The text of one file, named by its path relative to the project directory."""

    name: str
    text: str


class FileSource(Protocol):
    """Answers for the files a compose file refers to by path."""

    def read(self, path: str) -> str | None:
        """Return the text of ``path`` (project-relative), or None if absent."""
        ...


@dataclass(frozen=True)
class MappingSource:
    """A ``FileSource`` over files already in memory, e.g. uploaded ones."""

    files: Mapping[str, str] = field(default_factory=dict)

    def read(self, path: str) -> str | None:
        """Return the text stored under ``path`` (``./`` prefixes ignored), or None."""
        normalised = path[2:] if path.startswith("./") else path
        return self.files.get(normalised)


@dataclass(frozen=True)
class ProjectInput:
    """Everything ``parse_project`` reads, as ``docker compose`` would receive it.

    ``files`` are the ``-f`` files in order (later ones override earlier
    ones). ``env_file`` is the text of the project's ``.env`` (or
    ``--env-file``); ``variables`` play the part of the shell environment and
    win over ``env_file``. ``project_directory`` is the absolute path the
    project lives in: it gives the default project name (its base name) and
    makes relative paths absolute as Compose reports them.
    """

    files: tuple[ComposeFile, ...]
    env_file: ComposeFile | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    project_name: str | None = None
    profiles: tuple[str, ...] = ()
    project_directory: str = "/project"
    sources: FileSource = field(default_factory=MappingSource)
