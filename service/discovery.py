"""Find and read a project's files on disk the way ``docker compose`` does.

The core reads text and does no I/O; this module is the disk side for the CLI
(and for tests). Without ``-f`` it follows Compose v2's rules, checked against
the reference binary:

- ``COMPOSE_FILE`` (from the environment or the working directory's ``.env``)
  names the files, separated by ``COMPOSE_PATH_SEPARATOR`` or ``:``;
- otherwise the working directory, then each parent in turn, is searched for
  the first of ``compose.yaml``, ``compose.yml``, ``docker-compose.yml``,
  ``docker-compose.yaml``, and the first override file beside it;
- the project directory is ``--project-directory``, else the directory of the
  first file; ``.env`` is read from the working directory and from the project
  directory, the first one read winning for a variable both define;
- the shell environment wins over every ``.env``. (``COMPOSE_PROJECT_NAME`` and
  ``COMPOSE_PROFILES`` from either are applied by the core, like other variables.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from service.compose import ComposeFile, ProjectInput
from service.compose.dotenv import parse_dotenv
from service.errors import InputError, LimitExceededError
from service.files import DirectorySource
from service.limits import DEFAULT_LIMITS, Limits

logger = logging.getLogger(__name__)

COMPOSE_FILE_NAMES = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
)
OVERRIDE_FILE_NAMES = (
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
STDIN_NAME = "-"
DOTENV_NAME = ".env"


@dataclass(frozen=True)
class ComposeOptions:
    """The ``docker compose`` flags that choose and shape a project."""

    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: Path | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()


def find_compose_files(start: Path) -> tuple[Path, ...]:
    """Return the default compose file nearest ``start`` (or a parent) and its override.

    When a directory holds several candidates Compose picks the first name in
    its list and warns; we do the same and log the warning.
    """
    for directory in (start, *start.parents):
        found = _existing(directory, COMPOSE_FILE_NAMES)
        if found:
            overrides = _existing(directory, OVERRIDE_FILE_NAMES)
            return (found[0], *overrides[:1])
    return ()


def _existing(directory: Path, names: tuple[str, ...]) -> list[Path]:
    found = [directory / name for name in names if (directory / name).is_file()]
    if len(found) > 1:
        logger.warning(
            "Found several files with supported names in %s; using %s",
            directory,
            found[0].name,
        )
    return found


def load_project_input(
    options: ComposeOptions,
    *,
    environ: Mapping[str, str],
    cwd: Path,
    stdin: TextIO | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ProjectInput:
    """Read what ``docker compose`` reads for ``options`` into a ``ProjectInput``."""
    working_dir = _working_directory(options, cwd)
    env_paths = _env_file_paths(options, cwd, working_dir)
    early_env = _load_variables(
        env_paths, environ, limits, later_wins=bool(options.env_files)
    )

    paths = _compose_paths(options, early_env, cwd, working_dir)
    project_dir = _project_directory(options, paths, cwd)
    files = tuple(
        _load_compose_file(path, project_dir, stdin, limits) for path in paths
    )
    _check_total_size(files, limits)

    env_file, variables = _project_env(options, env_paths, project_dir, environ, limits)
    return ProjectInput(
        files=files,
        env_file=env_file,
        variables=variables,
        project_name=options.project_name,
        profiles=options.profiles,
        project_directory=str(project_dir),
        sources=DirectorySource(project_dir),
    )


def _working_directory(options: ComposeOptions, cwd: Path) -> Path:
    # Compose resolves its working directory before it knows the files: the
    # explicit project directory, else the first named file's directory.
    if options.project_directory is not None:
        return _absolute(options.project_directory, cwd)
    for name in options.files:
        if name != STDIN_NAME:
            return _absolute(Path(name), cwd).parent
    return cwd


def _env_file_paths(
    options: ComposeOptions, cwd: Path, working_dir: Path
) -> tuple[Path, ...]:
    if options.env_files:
        return tuple(_absolute(Path(name), cwd) for name in options.env_files)
    dotenv = working_dir / DOTENV_NAME
    return (dotenv,) if dotenv.is_file() else ()


def _compose_paths(
    options: ComposeOptions, env: Mapping[str, str], cwd: Path, working_dir: Path
) -> tuple[Path, ...]:
    if options.files:
        return tuple(
            Path(name) if name == STDIN_NAME else _absolute(Path(name), cwd)
            for name in options.files
        )
    from_env = env.get("COMPOSE_FILE")
    if from_env:
        separator = env.get("COMPOSE_PATH_SEPARATOR") or ":"
        return tuple(
            _absolute(Path(name), cwd) for name in from_env.split(separator) if name
        )
    found = find_compose_files(working_dir)
    if not found:
        names = ", ".join(COMPOSE_FILE_NAMES)
        raise InputError(
            f"No compose file found in {str(working_dir)!r} or its parents "
            f"(looked for {names}). Name one with -f FILE."
        )
    return found


def _project_directory(
    options: ComposeOptions, paths: tuple[Path, ...], cwd: Path
) -> Path:
    if options.project_directory is not None:
        return _absolute(options.project_directory, cwd)
    first = paths[0]
    return cwd if first == Path(STDIN_NAME) else first.parent


def _load_compose_file(
    path: Path, project_dir: Path, stdin: TextIO | None, limits: Limits
) -> ComposeFile:
    if path == Path(STDIN_NAME):
        if stdin is None:
            raise InputError(
                "'-f -' reads the compose file from stdin, but there is none."
            )
        return ComposeFile(name="-", text=stdin.read(limits.max_body_bytes + 1))
    return ComposeFile(
        name=_display_name(path, project_dir), text=_read_text(path, limits)
    )


def _project_env(
    options: ComposeOptions,
    early_paths: tuple[Path, ...],
    project_dir: Path,
    environ: Mapping[str, str],
    limits: Limits,
) -> tuple[ComposeFile | None, dict[str, str]]:
    """Return the env file for the core and the variables that win over it.

    A single env file goes to the core as text, so its errors keep their line
    numbers. Compose layers several (each ``--env-file`` over the previous
    one; or the working directory's ``.env`` over the project directory's),
    and then we merge them here and hand over plain variables.
    """
    paths = early_paths
    if not options.env_files:
        late = project_dir / DOTENV_NAME
        if late.is_file() and late not in paths:
            paths = (*paths, late)
    if len(paths) == 1:
        return _load_env_file(paths[0], project_dir, limits), dict(environ)
    later_wins = bool(options.env_files)
    return None, _load_variables(paths, environ, limits, later_wins=later_wins)


def _load_variables(
    paths: tuple[Path, ...],
    environ: Mapping[str, str],
    limits: Limits,
    *,
    later_wins: bool,
) -> dict[str, str]:
    """Return ``environ`` over the variables the env files at ``paths`` define."""
    merged: dict[str, str] = {}
    for path in paths:
        env_file = _load_env_file(path, path.parent, limits)
        lookup = {**merged, **environ}.get
        for name, value in parse_dotenv(env_file.text, env_file.name, lookup).items():
            if later_wins or name not in merged:
                merged[name] = value
    return {**merged, **environ}


def _load_env_file(path: Path, project_dir: Path, limits: Limits) -> ComposeFile:
    return ComposeFile(
        name=_display_name(path, project_dir), text=_read_text(path, limits)
    )


def _read_text(path: Path, limits: Limits) -> str:
    try:
        size = path.stat().st_size
        if size > limits.max_body_bytes:
            raise _too_large(str(path), size, limits)
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"File {str(path)!r} does not exist.") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"File {str(path)!r} is not UTF-8 text.") from exc
    except OSError as exc:
        raise InputError(f"Cannot read {str(path)!r}: {exc.strerror or exc}.") from exc


def _check_total_size(files: tuple[ComposeFile, ...], limits: Limits) -> None:
    total = sum(len(file.text.encode("utf-8")) for file in files)
    if total > limits.max_body_bytes:
        raise _too_large("the compose files", total, limits)


def _too_large(what: str, size: int, limits: Limits) -> LimitExceededError:
    return LimitExceededError(
        f"{what} hold {size} bytes, more than the limit of {limits.max_body_bytes}; "
        "raise COMPOSE_TOPOLOGY_MAX_BODY_BYTES to read it.",
        limit="max_body_bytes",
    )


def _display_name(path: Path, project_dir: Path) -> str:
    """Name ``path`` relative to the project directory, as messages should show it."""
    try:
        return path.relative_to(project_dir).as_posix()
    except ValueError:
        return path.as_posix()


def _absolute(path: Path, cwd: Path) -> Path:
    # Like Go's filepath.Abs: join and clean `..`, without resolving symlinks.
    return Path(os.path.normpath(cwd / path))
