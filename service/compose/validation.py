"""Reject compose files that Docker Compose v2 rejects for their structure.

Runs on one file's data after interpolation and casting (so ``scale: "3"``
is already 3), before files are merged. The rules are our own code, written
from facts of the Compose specification: which keys exist at the top level,
in a service and in ``build``; the shapes of the keys the topology reads;
the name pattern of services and networks. Keys we do not read are checked
for existence only, never for shape, so nothing Compose accepts is refused
for a reason we cannot explain well.

Every error names the file, line and column (through ``locate``), the
service and the key, and says what would be accepted instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

from service.compose.interpolation import format_path
from service.compose.yamlload import RESET_TAG, Tagged, Timestamp
from service.errors import ComposeValidationError, SourceLocation

Path = tuple[str | int, ...]
Locate = Callable[[Path], SourceLocation]
Check = Callable[["_Validator", Any, Path], None]

TOP_LEVEL_KEYS = frozenset(
    {"version", "name", "include", "services", "models", "networks", "volumes"}
    | {"secrets", "configs"}
)
SERVICE_KEYS = frozenset(
    """annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent
    command configs container_name cpu_count cpu_percent cpu_period cpu_quota
    cpu_rt_period cpu_rt_runtime cpu_shares cpus cpuset credential_spec depends_on
    deploy develop device_cgroup_rules devices dns dns_opt dns_search domainname
    entrypoint env_file environment expose extends external_links extra_hosts gpus
    group_add healthcheck hostname image init ipc isolation label_file labels links
    logging mac_address mem_limit mem_reservation mem_swappiness memswap_limit
    models network_mode networks oom_kill_disable oom_score_adj pid pids_limit
    platform ports post_start pre_stop privileged profiles provider pull_policy
    pull_refresh_after read_only restart runtime scale secrets security_opt
    shm_size stdin_open stop_grace_period stop_signal storage_opt sysctls tmpfs
    tty ulimits use_api_socket user userns_mode uts volumes volumes_from
    working_dir""".split()
)
BUILD_KEYS = frozenset(
    """context dockerfile dockerfile_inline entitlements args ssh labels cache_from
    cache_to no_cache no_cache_filter additional_contexts network provenance sbom
    pull target shm_size extra_hosts isolation privileged secrets tags ulimits
    platforms""".split()
)
DEPENDENCY_CONDITIONS = (
    "service_started",
    "service_healthy",
    "service_completed_successfully",
)
_NAME = re.compile(r"[a-zA-Z0-9._-]+")


def validate_compose(data: Any, locate: Locate) -> None:
    """Raise ``ComposeValidationError`` if Compose would reject ``data``'s shape."""
    _Validator(locate).validate(data)


class _Validator:
    def __init__(self, locate: Locate) -> None:
        self.locate = locate

    def fail(self, path: Path, message: str) -> ComposeValidationError:
        service = str(path[1]) if len(path) > 1 and path[0] == "services" else None
        key = format_path(path[2:]) if service is not None else format_path(path)
        return ComposeValidationError(
            message, location=self.locate(path), service=service, key=key or None
        )

    def validate(self, data: Any) -> None:
        if not isinstance(data, dict):
            raise self.fail((), "The top level of a compose file must be a mapping.")
        for key in data:
            if key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
                raise self.fail((key,), _unknown_key(key, "top level", TOP_LEVEL_KEYS))

        if "name" in data:
            self.expect_string(data["name"], ("name",))
        services = data.get("services")
        if services is not None:
            self.validate_services(services)
        for section in ("networks", "volumes", "secrets", "configs", "models"):
            if data.get(section) is not None:
                self.validate_resources(data[section], (section,))

    # --- services -----------------------------------------------------------

    def validate_services(self, services: Any) -> None:
        path: Path = ("services",)
        if not isinstance(services, dict):
            raise self.fail(
                path,
                f"services must be a mapping of service names, not {_kind(services)}.",
            )
        for name, service in services.items():
            if not _NAME.fullmatch(name):
                raise self.fail(
                    (*path, name),
                    f'The service name "{name}" may only use letters, digits, '
                    '".", "_" and "-".',
                )
            self.validate_service(name, service)

    def validate_service(self, name: str, service: Any) -> None:
        path: Path = ("services", name)
        if not isinstance(service, dict):
            raise self.fail(
                path,
                f'The service "{name}" must be a mapping of settings '
                f"(image, build, ports, ...), not {_kind(service)}.",
            )
        for key, value in service.items():
            if key.startswith("x-"):
                continue
            if key not in SERVICE_KEYS:
                where = f'service "{name}"'
                raise self.fail((*path, key), _unknown_key(key, where, SERVICE_KEYS))
            if isinstance(value, Tagged):
                # A !reset value only clears the key; an !override one is checked.
                if value.tag == RESET_TAG:
                    continue
                value = value.value
            check = _SERVICE_CHECKS.get(key)
            if check is not None:
                check(self, value, (*path, key))

    # --- shapes -------------------------------------------------------------

    def expect_string(self, value: Any, path: Path) -> None:
        if not _is_string(value):
            raise self.fail(
                path, f"{_where(path)} must be a string, not {_kind(value)}."
            )

    def expect_mapping(self, value: Any, path: Path) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(
                path, f"{_where(path)} must be a mapping, not {_kind(value)}."
            )
        return value

    def expect_list(self, value: Any, path: Path) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"{_where(path)} must be a list, not {_kind(value)}.")
        return value

    def validate_resources(self, value: Any, path: Path) -> None:
        resources = self.expect_mapping(value, path)
        for name, options in resources.items():
            if path[0] == "networks" and not _NAME.fullmatch(name):
                raise self.fail(
                    (*path, name),
                    f'The network name "{name}" may only use letters, digits, '
                    '".", "_" and "-".',
                )
            if options is not None:
                self.expect_mapping(options, (*path, name))


# --- checks per service key ---------------------------------------------------


def _string(v: _Validator, value: Any, path: Path) -> None:
    v.expect_string(value, path)


def _command(v: _Validator, value: Any, path: Path) -> None:
    if value is None or _is_string(value):
        return
    items = _list_or_fail(v, value, path, "a string or a list of strings")
    for index, item in enumerate(items):
        v.expect_string(item, (*path, index))


def _list_of_strings(v: _Validator, value: Any, path: Path) -> None:
    items = v.expect_list(value, path)
    for index, item in enumerate(items):
        v.expect_string(item, (*path, index))


def _list_or_dict(v: _Validator, value: Any, path: Path) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if item is not None and not _is_scalar(item):
                raise v.fail(
                    (*path, key),
                    f"{_where((*path, key))} must be a string, number, boolean or "
                    f"null, not {_kind(item)}.",
                )
        return
    items = _list_or_fail(v, value, path, 'a mapping or a list of "KEY=VALUE" strings')
    for index, item in enumerate(items):
        v.expect_string(item, (*path, index))


def _string_or_list(v: _Validator, value: Any, path: Path) -> None:
    if not _is_string(value):
        _list_of_strings(v, value, path)


def _env_file(v: _Validator, value: Any, path: Path) -> None:
    if _is_string(value):
        return
    items = _list_or_fail(v, value, path, "a file name or a list of file names")
    for index, item in enumerate(items):
        if isinstance(item, dict):
            v.expect_string(item.get("path"), (*path, index, "path"))
        else:
            v.expect_string(item, (*path, index))


def _build(v: _Validator, value: Any, path: Path) -> None:
    if _is_string(value):
        return
    build = v.expect_mapping(value, path)
    for key, item in build.items():
        if key.startswith("x-"):
            continue
        if key not in BUILD_KEYS:
            raise v.fail((*path, key), _unknown_key(key, "build", BUILD_KEYS))
        if key in ("context", "dockerfile", "dockerfile_inline", "target"):
            v.expect_string(item, (*path, key))
        elif key == "args":
            _list_or_dict(v, item, (*path, key))


def _ports(v: _Validator, value: Any, path: Path) -> None:
    for index, item in enumerate(v.expect_list(value, path)):
        if isinstance(item, dict):
            if "target" not in item:
                raise v.fail(
                    (*path, index), f"{_where((*path, index))} needs a target port."
                )
        elif not _is_string(item) and not _is_number(item):
            raise v.fail(
                (*path, index),
                f'{_where((*path, index))} must be a port such as "8080:80", '
                f"a number or a mapping, not {_kind(item)}.",
            )


def _expose(v: _Validator, value: Any, path: Path) -> None:
    for index, item in enumerate(v.expect_list(value, path)):
        if not _is_string(item) and not _is_number(item):
            raise v.fail(
                (*path, index),
                f"{_where((*path, index))} must be a port number or range, "
                f"not {_kind(item)}.",
            )


def _networks(v: _Validator, value: Any, path: Path) -> None:
    if isinstance(value, list):
        _list_of_strings(v, value, path)
        return
    networks = _mapping_or_fail(v, value, path, "a list or a mapping of networks")
    for name, options in networks.items():
        if options is None:
            continue
        settings = v.expect_mapping(options, (*path, name))
        if "aliases" in settings and settings["aliases"] is not None:
            _list_of_strings(v, settings["aliases"], (*path, name, "aliases"))


def _depends_on(v: _Validator, value: Any, path: Path) -> None:
    if isinstance(value, list):
        _list_of_strings(v, value, path)
        return
    dependencies = _mapping_or_fail(v, value, path, "a list or a mapping of services")
    for name, options in dependencies.items():
        settings = v.expect_mapping(options, (*path, name))
        condition = settings.get("condition")
        if condition is not None and condition not in DEPENDENCY_CONDITIONS:
            raise v.fail(
                (*path, name, "condition"),
                f'The depends_on condition "{condition}" is not one of '
                f"{', '.join(DEPENDENCY_CONDITIONS)}.",
            )


def _deploy(v: _Validator, value: Any, path: Path) -> None:
    if value is None:
        return
    deploy = v.expect_mapping(value, path)
    replicas = deploy.get("replicas")
    if replicas is not None and not _is_integer(replicas):
        raise v.fail(
            (*path, "replicas"),
            f"{_where((*path, 'replicas'))} must be a whole number, "
            f"not {_kind(replicas)}.",
        )


def _integer(v: _Validator, value: Any, path: Path) -> None:
    if not _is_integer(value):
        raise v.fail(
            path, f"{_where(path)} must be a whole number, not {_kind(value)}."
        )


def _volumes(v: _Validator, value: Any, path: Path) -> None:
    for index, item in enumerate(v.expect_list(value, path)):
        if isinstance(item, dict):
            if "type" not in item:
                raise v.fail(
                    (*path, index),
                    f"{_where((*path, index))} needs a type (bind, volume, tmpfs, "
                    "...).",
                )
        else:
            v.expect_string(item, (*path, index))


def _extends(v: _Validator, value: Any, path: Path) -> None:
    if _is_string(value):
        return
    extends = _mapping_or_fail(v, value, path, "a service name or a mapping")
    for key in extends:
        if key not in ("service", "file"):
            raise v.fail(
                (*path, key), _unknown_key(key, "extends", {"service", "file"})
            )
    v.expect_string(extends.get("service"), (*path, "service"))


def _boolean(v: _Validator, value: Any, path: Path) -> None:
    if not isinstance(value, bool) and not _is_string(value):
        raise v.fail(path, f"{_where(path)} must be true or false, not {_kind(value)}.")


def _list_or_fail(v: _Validator, value: Any, path: Path, wanted: str) -> list[Any]:
    if not isinstance(value, list):
        raise v.fail(path, f"{_where(path)} must be {wanted}, not {_kind(value)}.")
    return value


def _mapping_or_fail(
    v: _Validator, value: Any, path: Path, wanted: str
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise v.fail(path, f"{_where(path)} must be {wanted}, not {_kind(value)}.")
    return value


_SERVICE_CHECKS: dict[str, Check] = {
    "image": _string,
    "build": _build,
    "command": _command,
    "entrypoint": _command,
    "environment": _list_or_dict,
    "labels": _list_or_dict,
    "env_file": _env_file,
    "working_dir": _string,
    "user": _string,
    "container_name": _string,
    "network_mode": _string,
    "hostname": _string,
    "platform": _string,
    "ports": _ports,
    "expose": _expose,
    "networks": _networks,
    "depends_on": _depends_on,
    "profiles": _list_of_strings,
    "deploy": _deploy,
    "scale": _integer,
    "volumes": _volumes,
    "extends": _extends,
    "read_only": _boolean,
    "privileged": _boolean,
    "dns": _string_or_list,
    "tmpfs": _string_or_list,
    "links": _list_of_strings,
}


# --- words --------------------------------------------------------------------


def _unknown_key(key: str, where: str, known: frozenset[str] | set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f' Did you mean "{close[0]}"?' if close else ""
    return (
        f'The {where} has a key "{key}" that Compose does not know; '
        f"extension keys must start with x-.{hint}"
    )


def _where(path: Path) -> str:
    if len(path) > 2 and path[0] == "services":
        return f'"{format_path(path[2:])}" of service "{path[1]}"'
    return f'"{format_path(path)}"'


def _kind(value: Any) -> str:
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, Timestamp):
        return f"the date {value}"
    if isinstance(value, str):
        return f'the string "{value}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _is_string(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, Timestamp)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return _is_string(value) or isinstance(value, bool) or _is_number(value)
