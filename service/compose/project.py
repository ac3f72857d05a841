"""Assemble a Compose project from its files, as ``docker compose config`` does.

The steps follow Docker Compose v2's loader: work out the variables (shell
over ``.env``) and the project name, then read each ``-f`` file in turn
(interpolate, validate, rewrite into canonical form, apply ``extends`` and
``include``, clear what ``!reset``/``!override`` name) and merge it over the
files before it. The merged project is then completed the way Compose
completes it (default network, implicit dependencies, resource names),
filtered by profiles, checked for consistency, and finally turned into the
topology model.
"""

from __future__ import annotations

import logging
import posixpath
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.compose import merge
from service.compose.completion import complete_project
from service.compose.decoding import check_values
from service.compose.dotenv import parse_dotenv
from service.compose.inputs import ProjectInput
from service.compose.interpolation import (
    Interpolated,
    interpolate,
    iter_unset_messages,
    substitute,
)
from service.compose.normalize import normalise_file, rebase_path
from service.compose.ports import PortBudget
from service.compose.topology import TopologyContext, build_topology
from service.compose.validation import validate_compose
from service.compose.yamlload import Document, load_yaml
from service.errors import (
    ComposeValidationError,
    LimitExceededError,
    SourceLocation,
)
from service.limits import DEFAULT_LIMITS, Limits
from service.model import Project, Warning
from service.types import NodePath

logger = logging.getLogger(__name__)


_NAME_PATTERN = re.compile(r"[a-z0-9_-]")

OBSOLETE_VERSION = (
    "the attribute `version` is obsolete, it will be ignored, please remove it "
    "to avoid potential confusion"
)


def parse_project(input: ProjectInput, limits: Limits = DEFAULT_LIMITS) -> Project:
    """Read the compose files of ``input`` into the topology model.

    Raises only ``ComposeTopologyError`` subclasses: ``YamlSyntaxError``,
    ``ComposeValidationError`` (with ``InterpolationError``) and
    ``LimitExceededError``, each pointing at the file, line and column,
    service and key when known.
    """
    if not input.files:
        raise ComposeValidationError("No compose file was given; pass at least one.")
    if len(input.files) > limits.max_files:
        raise LimitExceededError(
            f"{len(input.files)} compose files were given; at most "
            f"{limits.max_files} are allowed.",
            limit="max_files",
        )

    try:
        return _parse(input, limits)
    except (
        TypeError,
        AttributeError,
        KeyError,
        ValueError,
        IndexError,
        ArithmeticError,
    ) as exc:
        # Validation refuses every shape Compose refuses, so getting here is a
        # bug in the reader. The caller still gets our error, never a crash; the
        # log keeps where it happened but not the exception's text, which may
        # quote the file's content or an environment value.
        logger.error(
            "Reading a project failed with %s, a bug in the reader:\n%s",
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        raise ComposeValidationError(
            "The compose file has a shape Compose would reject; check the types "
            "of its keys against the Compose specification."
        ) from exc


def _parse(input: ProjectInput, limits: Limits) -> Project:
    environment = load_environment(input)
    documents = [load_yaml(f.text, f.name, limits) for f in input.files]
    reader = _Reader(input, environment, limits)
    for document in documents:
        reader.count_services(document)
    name = resolve_project_name(input, environment, documents)
    environment.setdefault("COMPOSE_PROJECT_NAME", name)
    profiles = resolve_profiles(input, environment)

    model = reader.read_files(documents)
    # Compose reads values into its types (commands, durations, sizes) only
    # once the files are merged, so a value a later file replaces is never read.
    check_values(model, reader.locate)
    project = complete_project(model, name, profiles, reader.locate)
    # DEBUG, not INFO: the web service writes one INFO line per request, and
    # the project's name is the user's text.
    logger.debug(
        "Read a project: %d services from %d files",
        len(project.enabled),
        len(input.files),
    )
    return build_topology(project, reader.topology_context(name))


# --- variables, name, profiles ------------------------------------------------


def load_environment(input: ProjectInput) -> dict[str, str]:
    """Return the variables Compose interpolates with: the shell over ``.env``."""
    environment: dict[str, str] = {}
    if input.env_file is not None:
        environment.update(
            parse_dotenv(input.env_file.text, input.env_file.name, input.variables.get)
        )
    environment.update(input.variables)
    return environment


def normalise_project_name(name: str) -> str:
    """Lower-case ``name`` and keep only what Compose allows in a project name."""
    kept = "".join(_NAME_PATTERN.findall(name.lower()))
    return kept.lstrip("_-")


def resolve_project_name(
    input: ProjectInput, environment: Mapping[str, str], documents: list[Document]
) -> str:
    """Return the project name by Compose's precedence.

    An explicit name (``-p``, then ``COMPOSE_PROJECT_NAME``) must already be
    valid; a top-level ``name:`` (the last file that sets one) and the
    folder's base name are normalised instead.
    """
    explicit = input.project_name or environment.get("COMPOSE_PROJECT_NAME")
    if explicit:
        if normalise_project_name(explicit) != explicit:
            raise ComposeValidationError(
                f"Invalid project name {explicit!r}: it must consist only of "
                "lowercase letters, digits, hyphens and underscores, and start "
                "with a letter or digit.",
                key="name",
            )
        return explicit

    name = normalise_project_name(_name_from_files(documents, environment))
    if not name:
        base = posixpath.basename(input.project_directory.rstrip("/"))
        name = normalise_project_name(base)
    if not name:
        raise ComposeValidationError(
            "The project name must not be empty; set a top-level 'name:' or "
            "pass a project name.",
            key="name",
        )
    return name


def _name_from_files(documents: list[Document], environment: Mapping[str, str]) -> str:
    found = ""
    location: SourceLocation | None = None
    for document in documents:
        data = document.data
        if (
            isinstance(data, dict)
            and isinstance(data.get("name"), str)
            and data["name"]
        ):
            found = data["name"]
            location = document.locate(("name",))
    if not found:
        return ""
    value, _ = substitute(
        found, environment.get, location or SourceLocation(""), where="name"
    )
    return value


def resolve_profiles(
    input: ProjectInput, environment: Mapping[str, str]
) -> tuple[str, ...]:
    """Return the active profiles: those asked for, else ``COMPOSE_PROFILES``."""
    if input.profiles:
        return tuple(input.profiles)
    raw = environment.get("COMPOSE_PROFILES", "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


# --- reading files --------------------------------------------------------------


@dataclass
class _Layer:
    """How one file is read: its name, its folder, and the variables it sees."""

    file: str
    base: str
    environment: Mapping[str, str]
    included: tuple[str, ...] = ()


@dataclass
class _Reader:
    """Read and merge compose files, remembering where everything came from."""

    input: ProjectInput
    environment: dict[str, str]
    limits: Limits
    documents: list[Document] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    service_names: set[str] = field(default_factory=set)
    files_read: int = 0
    _extended: dict[str, dict[str, Any]] = field(default_factory=dict)
    _seen_warnings: set[tuple[str, str, int | None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.budget = PortBudget(self.limits.max_ports)

    # where things are

    def locate(self, path: NodePath) -> SourceLocation | None:
        """Return the place ``path`` was written, searching later files first."""
        for end in range(len(path), 0, -1):
            prefix = path[:end]
            for document in reversed(self.documents):
                found = document.positions.get(prefix)
                if found is not None:
                    return SourceLocation(document.file, found[0], found[1])
        return None

    def count_services(self, document: Document) -> None:
        """Refuse a project with more services than the limit, before any work."""
        for part in document.documents or (document,):
            services = (
                part.data.get("services") if isinstance(part.data, dict) else None
            )
            if isinstance(services, dict):
                self.service_names.update(str(name) for name in services)
        if len(self.service_names) > self.limits.max_services:
            raise LimitExceededError(
                f"The project defines more than {self.limits.max_services} "
                "services; split it or raise the max_services limit.",
                limit="max_services",
                location=SourceLocation(document.file),
            )

    # the -f files

    def read_files(self, documents: list[Document]) -> dict[str, Any]:
        """Merge the ``-f`` files in order and return the merged model."""
        model: dict[str, Any] = {}
        has_content = False
        for document in documents:
            layer = _Layer(document.file, "", self.environment, (document.file,))
            for part in document.documents or (document,):
                if part.data is None:
                    continue
                has_content = has_content or bool(part.data)
                model = self.read_layer(part, layer, model)
        if not has_content:
            raise ComposeValidationError(
                "The compose file is empty; define at least 'services:'.",
                location=SourceLocation(documents[-1].file),
            )
        model.pop("name", None)
        return model

    def read_layer(
        self, document: Document, layer: _Layer, model: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge one YAML document over ``model`` and return the result."""
        self.documents.append(document)
        data, resets = self.prepare(document, layer)
        self.warn_version(data, document)

        services = data.get("services")
        if isinstance(services, dict):
            merge.apply_extends(
                services,
                layer.file,
                self._extends_loader(layer),
                self.locate,
                resets,
            )
        merge.apply_resets(model, resets)
        merge.apply_include(data, self._include_loader(layer))

        merged = merge.merge_documents(model, data)
        merge.remove_duplicates(merged)
        return merged

    def prepare(
        self, document: Document, layer: _Layer
    ) -> tuple[dict[str, Any], list[merge.KeyPath]]:
        """Resolve tags, interpolate, validate and canonicalise one document.

        Also return the paths its ``!reset``/``!override`` tags name.
        """
        tags = _resolve_tags(document)
        result = interpolate(tags.data, layer.environment.get, document.locate)
        self._warn_interpolation(result)
        data = result.data
        if not isinstance(data, dict):
            raise ComposeValidationError(
                "The top level of a compose file must be a mapping.",
                location=SourceLocation(document.file),
            )
        validate_compose(data, document.locate)
        normalised = normalise_file(data, layer.base, self.locate, self.budget)
        return normalised, tags.paths

    def warn_version(self, data: dict[str, Any], document: Document) -> None:
        """Warn, as Compose does, that a top-level ``version`` is ignored."""
        if "version" not in data:
            return
        data.pop("version")
        self.warnings.append(
            Warning(
                message=f"{document.file}: {OBSOLETE_VERSION}",
                location=document.locate(("version",)),
                code="obsolete-version",
            )
        )

    def _warn_interpolation(self, result: Interpolated) -> None:
        for message, location in iter_unset_messages(result):
            self._warn(message, location, "unset-variable")
        for message, location in result.warnings:
            self._warn(message, location, "interpolation")

    def _warn(self, message: str, location: SourceLocation, code: str) -> None:
        key = (message, location.file, location.line)
        if key in self._seen_warnings:
            return
        self._seen_warnings.add(key)
        self.warnings.append(Warning(message=message, location=location, code=code))

    # other files: extends.file and include

    def read_other(
        self, path: str, reason: str, location: SourceLocation | None
    ) -> Document:
        """Load another project file through the input's file source."""
        self.files_read += 1
        if self.files_read + len(self.input.files) > self.limits.max_files:
            raise LimitExceededError(
                f"The project reads more than {self.limits.max_files} files.",
                limit="max_files",
                location=location,
            )
        text = self.input.sources.read(path)
        if text is None:
            raise ComposeValidationError(
                f"The file {path!r} named by {reason} was not supplied; add it to "
                "the files you upload, or remove the reference.",
                location=location,
                key=reason,
            )
        document = load_yaml(text, path, self.limits)
        self.count_services(document)
        return document

    def _extends_loader(self, layer: _Layer) -> merge.LoadServices:
        def load_services(path: str, from_file: str) -> dict[str, Any]:
            base = (
                posixpath.dirname(from_file) if from_file != layer.file else layer.base
            )
            full = rebase_path(path, base)
            if full not in self._extended:
                self._extended[full] = self._read_extended(full, layer)
            return self._extended[full]

        return load_services

    def _read_extended(self, path: str, layer: _Layer) -> dict[str, Any]:
        document = self.read_other(path, "extends", None)
        self.documents.append(document)
        if not isinstance(document.data, dict):
            raise ComposeValidationError(
                f"Cannot extend a service from {path}: it has no services section.",
                location=SourceLocation(path),
                key="extends",
            )
        inner = _Layer(path, posixpath.dirname(path), layer.environment)
        data = self._prepare_unvalidated(document, inner)
        services = data.get("services")
        if not isinstance(services, dict):
            raise ComposeValidationError(
                f"Cannot extend a service from {path}: it has no services section.",
                location=SourceLocation(path),
                key="extends",
            )
        return services

    def _prepare_unvalidated(self, document: Document, layer: _Layer) -> dict[str, Any]:
        # Compose skips validation of a file read only for ``extends``: the
        # service built from it is validated where it is used.
        tags = _resolve_tags(document)
        result = interpolate(tags.data, layer.environment.get, document.locate)
        self._warn_interpolation(result)
        data = result.data if isinstance(result.data, dict) else {}
        return normalise_file(data, layer.base, self.locate, self.budget)

    def _include_loader(self, layer: _Layer) -> merge.LoadInclude:
        def load_include(entry: Any, index: int) -> dict[str, Any]:
            return self._read_include(entry, index, layer)

        return load_include

    def _read_include(self, entry: Any, index: int, layer: _Layer) -> dict[str, Any]:
        location = self.locate(("include", index))
        paths, project_directory, env_files = _include_entry(entry, location)
        paths = [rebase_path(path, layer.base) for path in paths]
        if project_directory is None:
            directory = posixpath.dirname(paths[0])
        else:
            directory = rebase_path(project_directory, layer.base)
        if paths[0] in layer.included:
            chain = "\n include ".join((*layer.included, paths[0]))
            raise ComposeValidationError(
                f"Include cycle detected:\n{chain}", location=location, key="include"
            )
        environment = self._include_environment(layer, directory, env_files, location)
        inner = _Layer(paths[0], directory, environment, (*layer.included, paths[0]))
        model: dict[str, Any] = {}
        for path in paths:
            document = self.read_other(path, "include", location)
            for part in document.documents or (document,):
                if part.data is not None:
                    model = self.read_layer(part, inner, model)
        return model

    def _include_environment(
        self,
        layer: _Layer,
        directory: str,
        env_files: list[str] | None,
        location: SourceLocation | None,
    ) -> dict[str, str]:
        # Variables already known win over the included project's env files.
        if env_files is None:
            candidates = [rebase_path(".env", directory)]
            required = False
        else:
            candidates = [
                rebase_path(f, layer.base) for f in env_files if f != "/dev/null"
            ]
            required = True
        from_files: dict[str, str] = {}
        for path in candidates:
            text = self.input.sources.read(path)
            if text is None:
                if required:
                    raise ComposeValidationError(
                        f"The env file {path!r} named by include was not supplied.",
                        location=location,
                        key="include",
                    )
                continue
            from_files.update(parse_dotenv(text, path, layer.environment.get))
        return {**from_files, **layer.environment}

    def topology_context(self, name: str) -> TopologyContext:
        """Return what the model builder needs beyond the merged project."""
        return TopologyContext(
            project_name=name,
            project_directory=self.input.project_directory,
            environment=self.environment,
            sources=self.input.sources,
            locate=self.locate,
            budget=self.budget,
            warnings=list(self.warnings),
        )


def _resolve_tags(document: Document) -> merge.TagResult:
    """Resolve the document's ``!reset``/``!override`` tags, if it has any.

    Without tags the resolution would only copy the data, which interpolation
    copies again anyway; most files have none, so the walk is skipped.
    """
    if not document.has_tags:
        return merge.TagResult(data=document.data)
    return merge.resolve_tags(document.data)


def _include_entry(
    entry: Any, location: SourceLocation | None
) -> tuple[list[str], str | None, list[str] | None]:
    if isinstance(entry, str):
        return [entry], None, None
    if not isinstance(entry, dict):
        raise ComposeValidationError(
            "An include entry must be a path or a mapping with 'path'.",
            location=location,
            key="include",
        )
    raw_paths = entry.get("path")
    paths = [raw_paths] if isinstance(raw_paths, str) else raw_paths
    if (
        not isinstance(paths, list)
        or not paths
        or not all(isinstance(p, str) for p in paths)
    ):
        raise ComposeValidationError(
            "An include entry needs 'path': a file name or a list of them.",
            location=location,
            key="include",
        )
    directory = entry.get("project_directory")
    raw_env = entry.get("env_file")
    env_files = [raw_env] if isinstance(raw_env, str) else raw_env
    return (
        list(paths),
        directory if isinstance(directory, str) else None,
        ([str(f) for f in env_files] if isinstance(env_files, list) else None),
    )
