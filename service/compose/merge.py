"""Combine compose files the way Docker Compose v2 does.

Later ``-f`` files override earlier ones, key by key: mappings merge,
sequences append (then lose duplicates by each key's own identity: a port by
address and protocol, a volume by its target, an environment variable by its
name), scalars are replaced, and ``command``/``entrypoint``/
``healthcheck.test`` are always replaced whole. ``!reset`` removes what
earlier files set and ``!override`` replaces it instead of merging. The same
rules merge a service with the one it ``extends``. ``include`` brings in the
resources of other files; profiles decide which services are enabled.

Both sides are in canonical form (see ``normalize``) when they meet here, so
every rule compares like with like.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from service.compose.yamlload import OVERRIDE_TAG, RESET_TAG, Tagged
from service.errors import ComposeValidationError
from service.types import LocateInProject

#: A path as the merge rules see it: mapping keys, with list indexes written as
#: strings, so it can be matched against patterns where ``*`` is any key.
KeyPath = tuple[str, ...]

#: Paths whose value a later file always replaces whole.
_REPLACED = (
    ("services", "*", "command"),
    ("services", "*", "entrypoint"),
    ("services", "*", "healthcheck", "test"),
)


#: Paths of single entries in mappings of names to values.
_KEY_VALUE_ENTRIES = (
    ("services", "*", "environment", "*"),
    ("services", "*", "labels", "*"),
    ("services", "*", "annotations", "*"),
    ("services", "*", "build", "args", "*"),
    ("services", "*", "build", "labels", "*"),
)


def _matches(path: KeyPath, pattern: KeyPath) -> bool:
    if len(path) != len(pattern):
        return False
    return all(want in ("*", part) for part, want in zip(path, pattern, strict=True))


# --- !reset and !override --------------------------------------------------


@dataclass
class TagResult:
    """A file's data with its tags resolved, and the paths they named."""

    data: Any
    paths: list[KeyPath] = field(default_factory=list)


def resolve_tags(data: Any) -> TagResult:
    """Drop ``!reset`` nodes and unwrap ``!override`` ones, remembering both paths.

    The remembered paths are cleared from what earlier files built before
    this file is merged on top (``apply_resets``), which is what makes a
    reset erase and an override replace.
    """
    result = TagResult(data=None)
    result.data = _resolve(data, (), result.paths)
    return result


_DROP = object()


def _resolve(value: Any, path: KeyPath, paths: list[KeyPath]) -> Any:
    if isinstance(value, Tagged):
        paths.append(path)
        if value.tag == RESET_TAG:
            return _DROP
        if value.tag == OVERRIDE_TAG:
            return _resolve(value.value, path, paths)
        return value.value
    if isinstance(value, dict):
        resolved = {}
        for key, item in value.items():
            child = _resolve(item, (*path, str(key)), paths)
            if child is not _DROP:
                resolved[key] = child
        return resolved
    if isinstance(value, list):
        items = (_resolve(item, (*path, str(i)), paths) for i, item in enumerate(value))
        return [item for item in items if item is not _DROP]
    return value


def apply_resets(target: dict[str, Any], paths: Iterable[KeyPath]) -> None:
    """Delete from ``target`` every mapping key found at one of ``paths``."""
    for path in paths:
        _delete_path(target, path)


def _delete_path(node: Any, path: KeyPath) -> None:
    if not path or not isinstance(node, dict):
        return
    head, rest = path[0], path[1:]
    if head not in node:
        return
    if not rest:
        del node[head]
        return
    _delete_path(node[head], rest)


# --- merging ----------------------------------------------------------------


def merge_documents(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` overridden by ``other``, both canonical, building on their parts.

    The merge changes ``base`` in place and moves parts of ``other`` into the
    result, so the caller hands both over and uses neither again. The reader
    can: each file's data is built fresh for this one reading (interpolation
    copies every mapping and list) and the model before it is thrown away.
    Copying them first would cost a deep copy of every file, for nothing.
    """
    merged = _merge(base, other, ())
    assert isinstance(merged, dict)
    return merged


def merge_service(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Return service ``base`` extended by ``other``, as ``extends`` merges them."""
    merged = _merge(copy.deepcopy(base), copy.deepcopy(other), ("services", "x"))
    assert isinstance(merged, dict)
    return merged


def _merge(current: Any, other: Any, path: KeyPath) -> Any:
    if any(_matches(path, pattern) for pattern in _REPLACED):
        return other
    if _matches(path, ("services", "*", "logging")):
        return _merge_logging(current, other, path)
    if other is None:
        # A later ``A: null`` (or bare ``- A``) in a list of variables or
        # labels replaces the value; anywhere else null leaves it alone.
        is_entry = any(_matches(path, pattern) for pattern in _KEY_VALUE_ENTRIES)
        return None if is_entry else current
    if isinstance(current, dict) and isinstance(other, dict):
        for key, value in other.items():
            if key not in current or key.startswith("x-"):
                current[key] = value
            else:
                current[key] = _merge(current[key], value, (*path, key))
        return current
    if isinstance(current, list) and isinstance(other, list):
        return current + other
    if _matches(path, ("services", "*", "build")):
        return _merge_build(current, other, path)
    if isinstance(current, dict | list) and current is not None:
        raise ComposeValidationError(
            f"Cannot override {'.'.join(path)}: a later file gives it another type.",
            key=".".join(path[2:]) or None,
            service=path[1] if len(path) > 1 and path[0] == "services" else None,
        )
    return other


def _merge_build(current: Any, other: Any, path: KeyPath) -> Any:
    def as_mapping(value: Any) -> dict[str, Any]:
        return {"context": value} if isinstance(value, str) else dict(value or {})

    return _merge(as_mapping(current), as_mapping(other), path)


def _merge_logging(current: Any, other: Any, path: KeyPath) -> Any:
    # Options only carry over when both files use the same driver (or one
    # names none); a new driver starts from scratch.
    if not isinstance(current, dict) or not isinstance(other, dict):
        return other if other is not None else current
    if (
        "driver" in other
        and "driver" in current
        and other["driver"] != current["driver"]
    ):
        return other
    for key, value in other.items():
        current[key] = (
            _merge(current.get(key), value, (*path, key)) if key in current else value
        )
    return current


# --- removing duplicates ------------------------------------------------------


def _port_key(entry: Any) -> str:
    if not isinstance(entry, dict):
        return repr(entry)
    host = entry.get("host_ip") or "0.0.0.0"
    published, target = entry.get("published"), entry.get("target")
    return f"{host}:{published}:{target}/{entry.get('protocol', 'tcp')}"


def _volume_key(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(entry.get("target"))
    return repr(entry)


def _env_file_key(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(entry.get("path"))
    return repr(entry)


def _plain_key(entry: Any) -> str:
    if isinstance(entry, str):
        return entry.partition("=")[0]
    return repr(entry)


def _mount_key(default_path: str) -> Callable[[Any], str]:
    def key(entry: Any) -> str:
        if isinstance(entry, dict):
            target = entry.get("target")
            if target is not None:
                return str(target)
            return f"{default_path}/{entry.get('source')}"
        return f"{default_path}/{entry}"

    return key


_UNIQUE: dict[str, Callable[[Any], str]] = {
    "ports": _port_key,
    "volumes": _volume_key,
    "env_file": _env_file_key,
    "expose": _plain_key,
    "profiles": _plain_key,
    "cap_add": _plain_key,
    "cap_drop": _plain_key,
    "dns": _plain_key,
    "dns_opt": _plain_key,
    "dns_search": _plain_key,
    "links": _plain_key,
    "tmpfs": _plain_key,
    "devices": _plain_key,
    "secrets": _mount_key("/run/secrets"),
    "configs": _mount_key(""),
}


def remove_duplicates(data: dict[str, Any]) -> None:
    """Keep one entry per identity in each service list; a later entry wins in place."""
    services = data.get("services")
    if not isinstance(services, dict):
        return
    for service in services.values():
        if not isinstance(service, dict):
            continue
        # Only the service's own keys are looked up: it sets few of the
        # many lists that need deduplicating.
        for key in [key for key in service if key in _UNIQUE]:
            if isinstance(service[key], list):
                service[key] = deduplicate(service[key], _UNIQUE[key])
        _dedupe_aliases(service)


def _dedupe_aliases(service: dict[str, Any]) -> None:
    networks = service.get("networks")
    if not isinstance(networks, dict):
        return
    for attachment in networks.values():
        if isinstance(attachment, dict) and isinstance(attachment.get("aliases"), list):
            attachment["aliases"] = deduplicate(attachment["aliases"], _plain_key)


def deduplicate(entries: list[Any], identity: Callable[[Any], str]) -> list[Any]:
    """Return ``entries`` with one item per identity, later items replacing earlier."""
    result: list[Any] = []
    positions: dict[str, int] = {}
    for entry in entries:
        key = identity(entry)
        if key in positions:
            result[positions[key]] = entry
        else:
            positions[key] = len(result)
            result.append(entry)
    return result


# --- extends ----------------------------------------------------------------

#: Loads the services of another file for ``extends.file``, canonical form.
LoadServices = Callable[[str, str], dict[str, Any]]


def apply_extends(
    services: dict[str, Any],
    file: str,
    load_services: LoadServices,
    locate: LocateInProject,
    resets: Iterable[KeyPath] = (),
) -> None:
    """Replace every service that ``extends`` another by the merge of the two.

    ``load_services(path, from_file)`` returns the canonical services of
    another file. Chains are followed; a cycle is an error, as in Compose.
    ``resets`` are the extending file's ``!reset``/``!override`` paths: they
    clear what the base service set, as they clear what earlier files set.
    """
    extender = _Extender(file, load_services, locate, list(resets))
    for name in list(services):
        services[name] = extender.extend(name, services, file, ())


@dataclass
class _Extender:
    file: str
    load_services: LoadServices
    locate: LocateInProject
    resets: list[KeyPath]

    def extend(
        self,
        name: str,
        services: dict[str, Any],
        file: str,
        seen: tuple[tuple[str, str], ...],
    ) -> Any:
        """Return service ``name`` of ``services`` merged over what it extends."""
        service = services.get(name)
        if not isinstance(service, dict) or not isinstance(
            service.get("extends"), dict
        ):
            return service
        location = self.locate(("services", name, "extends"))
        if (file, name) in seen:
            chain = " -> ".join(f"{f}:{s}" for f, s in (*seen, (file, name)))
            raise ComposeValidationError(
                f"Service {name!r} extends itself through a cycle: {chain}.",
                location=location,
                service=name,
                key="extends",
            )
        ref, source_services, source_file = self._base_of(name, service, services, file)
        base = self.extend(ref, source_services, source_file, (*seen, (file, name)))
        merged = dict(service)
        if base is not None:
            base = copy.deepcopy(base)
            apply_resets({"services": {name: base}}, self.resets)
            merged = merge_service(base, service)
        merged.pop("extends", None)
        remove_duplicates({"services": {name: merged}})
        services[name] = merged
        return merged

    def _base_of(
        self, name: str, service: dict[str, Any], services: dict[str, Any], file: str
    ) -> tuple[str, dict[str, Any], str]:
        extends = service["extends"]
        ref = extends.get("service")
        source_services, source_file = services, file
        other = extends.get("file")
        if isinstance(other, str):
            source_services = self.load_services(other, file)
            source_file = other
        if not isinstance(ref, str) or ref not in source_services:
            raise self._not_found(
                name, ref, file, other if isinstance(other, str) else None
            )
        return ref, source_services, source_file

    def _not_found(
        self, name: str, ref: Any, file: str, other: str | None
    ) -> ComposeValidationError:
        where = f" in {other}" if other else ""
        return ComposeValidationError(
            f"Cannot extend service {name!r} in {file}: service {ref!r} not found"
            f"{where}.",
            location=self.locate(("services", name, "extends")),
            service=name,
            key="extends",
        )


# --- include ----------------------------------------------------------------

#: Loads one ``include`` entry and returns the model it defines.
LoadInclude = Callable[[Any, int], dict[str, Any]]

_INCLUDED_RESOURCES = (
    "services",
    "volumes",
    "networks",
    "secrets",
    "configs",
    "models",
)


def apply_include(model: dict[str, Any], load_include: LoadInclude) -> None:
    """Bring the resources of every ``include`` entry into ``model``.

    A name both files define is a conflict, as in Compose, unless the two
    definitions are identical.
    """
    entries = model.pop("include", None)
    if entries is None:
        return
    if not isinstance(entries, list):
        raise ComposeValidationError("'include' must be a list.", key="include")
    for index, entry in enumerate(entries):
        imported = load_include(entry, index)
        _import_resources(imported, model)


def _import_resources(source: dict[str, Any], target: dict[str, Any]) -> None:
    for key in _INCLUDED_RESOURCES:
        incoming = source.get(key)
        if not isinstance(incoming, dict):
            continue
        existing = target.get(key)
        merged = dict(existing) if isinstance(existing, dict) else {}
        for name, value in incoming.items():
            if name in merged and merged[name] != value:
                raise ComposeValidationError(
                    f"{key}.{name} is defined both here and in an included file; "
                    "rename one of them (Compose does not merge included resources).",
                    service=name if key == "services" else None,
                    key=key,
                )
            merged[name] = value
        target[key] = merged


# --- profiles -----------------------------------------------------------------


def is_enabled(service: dict[str, Any], profiles: Iterable[str]) -> bool:
    """Say whether a service runs with these active profiles.

    A service without profiles always runs; ``*`` enables every profile.
    """
    own = service.get("profiles") or []
    if not own:
        return True
    active = set(profiles)
    return "*" in active or any(profile in active for profile in own)
