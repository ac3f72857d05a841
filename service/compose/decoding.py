"""Reject values Compose cannot read into its own types after the schema passed.

The schema lets many keys be "a string" so that ``${VAR}`` can stand in for
a number, a duration or a size; Compose then reads the string into the real
type and refuses the file when it cannot (``mem_limit: lots``,
``healthcheck.interval: 5``, ``extra_hosts: [myhost]``). This module repeats
those readings on the merged project (as Compose reads only what the last
file left standing), so the same files are refused, with the file, line,
service and key.

The syntaxes are Compose's: durations as Go writes them plus ``d`` and
``w`` units (``1m30s``, ``1.5h``, ``2d``); sizes as a number with an
optional ``b``, ``k``, ``m``, ``g``, ``t`` or ``p`` unit (``512m``,
``1.5GiB``); booleans as true/false/yes/no/on/off/y/n in any case; file
modes as octal digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from service.compose.interpolation import format_path
from service.compose.ports import is_ip_address
from service.errors import ComposeValidationError
from service.types import LocateInProject, NodePath

#: A check returns what is wrong with a value, as the end of a sentence, or None.
Check = Callable[[Any], str | None]

_DURATION_UNITS = {
    "ns": Decimal(1),
    "us": Decimal(1000),
    "\u00b5s": Decimal(1000),
    "\u03bcs": Decimal(1000),
    "ms": Decimal(10**6),
    "s": Decimal(10**9),
    "m": Decimal(60 * 10**9),
    "h": Decimal(3600 * 10**9),
    "d": Decimal(86400 * 10**9),
    "w": Decimal(7 * 86400 * 10**9),
}
_DURATION_PART = re.compile(
    r"([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d|w)"
)
_MAX_NANOSECONDS = Decimal(2**63)
_SIZE_UNITS = "kmgtp"
_GO_FLOAT = re.compile(
    r"[-+]?(?:(?:[0-9](?:_?[0-9])*)?\.?(?:[0-9](?:_?[0-9])*)?(?:[eE][-+]?[0-9]+)?"
    r"|0[xX][0-9a-fA-F_.]+[pP][-+]?[0-9]+|inf(?:inity)?|nan)",
    re.IGNORECASE,
)
_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n"})
_DIGITS = tuple("0123456789")
#: The characters ``_CommandSplitter`` does more with than add to the word or,
#: for the blanks in ``_BLANKS``, end it.
_SHELL_SYNTAX = re.compile(r"[\\'\"`();&|<>]")
_BLANKS = re.compile(r"[ \t\r\n]+")
_HEALTHCHECK_TESTS = ("CMD", "CMD-SHELL", "NONE")


def check_values(data: dict[str, Any], locate: LocateInProject) -> None:
    """Raise ``ComposeValidationError`` for the first value Compose cannot read."""
    services = data.get("services")
    for name, service in (services if isinstance(services, dict) else {}).items():
        if isinstance(service, dict):
            _check_service(name, service, locate)
    for section, check_resource in _RESOURCE_CHECKS.items():
        resources = data.get(section)
        for key, resource in (resources if isinstance(resources, dict) else {}).items():
            problem = check_resource(resource) if isinstance(resource, dict) else None
            if problem is not None:
                raise ComposeValidationError(
                    f'The {section[:-1]} "{key}" {problem}.',
                    location=locate((section, key)),
                    key=f"{section}.{key}",
                )


def _check_service(name: str, service: dict[str, Any], locate: LocateInProject) -> None:
    # The checks run in table order, so that of several bad values the same one
    # is reported every time. Each pattern starts with a key, and a service sets
    # only a few of the keys the table names: only the patterns of the keys it
    # sets are walked, found through the service's keys rather than by asking
    # about every pattern of the table.
    indices = sorted(i for key in service for i in _CHECKS_BY_KEY.get(key, ()))
    for index in indices:
        pattern, check = _SERVICE_CHECKS[index]
        for path, value in _values_at(service, pattern, ()):
            problem = check(value)
            if problem is not None:
                raise _error(name, path, value, problem, locate)


def _error(
    service: str, path: NodePath, value: Any, problem: str, locate: LocateInProject
) -> ComposeValidationError:
    key = format_path(path)
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    return ComposeValidationError(
        f'The value {shown} of "{key}" in service "{service}" {problem}.',
        location=locate(("services", service, *path)),
        service=service,
        key=key,
    )


def _values_at(node: Any, pattern: tuple[str, ...], path: NodePath) -> Iterator[Any]:
    # ``*`` stands for any key of a mapping, ``[]`` for any item of a list.
    if not pattern:
        yield path, node
        return
    step, rest = pattern[0], pattern[1:]
    if step == "[]" and isinstance(node, list):
        for index, item in enumerate(node):
            yield from _values_at(item, rest, (*path, index))
    elif step == "*" and isinstance(node, dict):
        for key, item in node.items():
            yield from _values_at(item, rest, (*path, key))
    elif isinstance(node, dict) and step in node:
        yield from _values_at(node[step], rest, (*path, step))


# --- readings ----------------------------------------------------------------


def parse_duration(text: str) -> Decimal | None:
    """Return the length of duration ``text`` in nanoseconds (sign aside), or None."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return Decimal(0)
    total = Decimal(0)
    position = 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None or match.group(1).strip(".") == "":
            return None
        total += (
            Decimal("0" + match.group(1).rstrip(".")) * _DURATION_UNITS[match.group(2)]
        )
        position = match.end()
    if position == 0 or total > _MAX_NANOSECONDS:
        return None
    return total


def parse_size(text: str) -> float | None:
    """Return ``text`` in bytes the way Compose reads a size, or None."""
    split = max(text.rfind(character) for character in "0123456789. ")
    if split < 0:
        return None
    number = text[:split] if text[split] == " " else text[: split + 1]
    suffix = text[split + 1 :].lower()
    size = _parse_go_float(number)
    if size is None or size < 0 or len(suffix) > 3:
        return None
    if suffix in ("", "b"):
        return size
    if suffix[0] not in _SIZE_UNITS or suffix[1:] not in ("", "b", "ib"):
        return None
    return size * 1024.0 ** (_SIZE_UNITS.index(suffix[0]) + 1)


def _parse_go_float(text: str) -> float | None:
    if not text or _GO_FLOAT.fullmatch(text) is None:
        return None
    try:
        if "x" in text.lower():
            return float.fromhex(text.replace("_", ""))
        return float(Decimal(text.replace("_", "")))
    except (ValueError, InvalidOperation):
        return None


def read_boolean(value: Any) -> Any:
    """Return a boolean written as a word (``"yes"``, ``"False"``) as a bool.

    Anything else is returned unchanged; ``check_values`` has refused the
    words Compose does not know.
    """
    if isinstance(value, str) and value.lower() in _BOOLEAN_WORDS:
        return value.lower() in ("true", "yes", "on", "y")
    return value


def parse_command_line(text: str) -> list[str] | None:
    """Split ``text`` into words as Compose does, or return None if it cannot.

    Compose's splitter is not a shell: a backslash escapes the next
    character everywhere but inside single quotes (so ``"a\\nb"`` is
    ``anb``), and an unquoted ``;``, ``&``, ``|``, ``<`` or ``>`` ends the
    command, so ``npm ci && npm start`` runs ``npm ci`` alone. An open quote,
    backtick or ``$(`` makes the string unreadable.
    """
    if _SHELL_SYNTAX.search(text) is None:
        # Nothing to unquote, escape or cut short: the words are what the
        # blanks separate, and a regular expression finds them much faster.
        return [word for word in _BLANKS.split(text) if word]
    return _split_shell_words(text)


def _split_shell_words(text: str) -> list[str] | None:
    """Split ``text`` one character at a time, minding quotes, escapes and operators.

    ``parse_command_line`` only comes here for text holding a character this
    splitter treats specially; for any other text the two agree.
    """
    splitter = _CommandSplitter()
    for character in text:
        if not splitter.feed(character):
            break
    return splitter.finish()


class _CommandSplitter:
    def __init__(self) -> None:
        self.words: list[str] = []
        self.word = ""
        self.has_word = False
        self.escaped = self.single = self.double = False
        self.backtick = self.dollar = False
        self.broken = False

    def is_quoted(self) -> bool:
        return self.single or self.double or self.backtick or self.dollar

    def feed(self, character: str) -> bool:
        """Take one character; return False where the command ends early."""
        if self.escaped:
            self.escaped = False
            self.append(character)
        elif character == "\\" and not self.single:
            self.escaped = True
        elif character in " \t\r\n" and not self.is_quoted():
            self.end_word()
        elif character in ";&|<>" and not self.is_quoted():
            if character == ">" and self.word[:1] in _DIGITS:
                # ``2>file``: the number names a stream, it is not a word.
                self.word, self.has_word = "", False
            return False
        else:
            self.feed_special(character)
        return not self.broken

    def feed_special(self, character: str) -> None:
        if character == '"' and not self.single and not self.dollar:
            self.has_word = True
            self.double = not self.double
        elif character == "'" and not self.double and not self.dollar:
            self.has_word = True
            self.single = not self.single
        elif character == "(" and not (self.single or self.double or self.backtick):
            if self.dollar or not self.word.endswith("$"):
                self.broken = True
            self.dollar = True
            self.append(character)
        else:
            if character == ")" and not (self.single or self.double or self.backtick):
                self.dollar = not self.dollar
            elif character == "`" and not (self.single or self.double or self.dollar):
                self.backtick = not self.backtick
            self.append(character)

    def append(self, character: str) -> None:
        self.word += character
        self.has_word = True

    def end_word(self) -> None:
        if self.has_word:
            self.words.append(self.word)
        self.word = ""
        self.has_word = False

    def finish(self) -> list[str] | None:
        if self.broken or self.escaped or self.is_quoted():
            return None
        self.end_word()
        return self.words


# --- checks --------------------------------------------------------------------


def _duration(value: Any) -> str | None:
    if not isinstance(value, str) or parse_duration(value) is not None:
        return None
    return 'is not a duration; write a number with a unit, such as "30s" or "1m30s"'


def _size(value: Any) -> str | None:
    if not isinstance(value, str) or parse_size(value) is not None:
        return None
    return 'is not a size; write a number with an optional unit, such as "512m"'


def _cpus(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    number = _parse_go_float(value)
    if number is not None and number == number and abs(number) != float("inf"):
        return None
    return 'is not a number of CPUs; write a number such as "0.5"'


def _command(value: Any) -> str | None:
    if not isinstance(value, str) or parse_command_line(value) is not None:
        return None
    return "cannot be split into words; close its quotes, backticks and $( )"


def _integer(value: Any) -> str | None:
    if not isinstance(value, str) or re.fullmatch(r"[-+]?[0-9]+", value):
        return None
    return "is not a whole number"


def _count(value: Any) -> str | None:
    if value == "all":
        return None
    problem = _integer(value)
    return None if problem is None else 'is not a whole number or "all"'


def _boolean(value: Any) -> str | None:
    if not isinstance(value, str) or value.lower() in _BOOLEAN_WORDS:
        return None
    return "is not true or false"


def _file_mode(value: Any) -> str | None:
    if isinstance(value, str):
        if re.fullmatch(r"[0-7]+", value):
            return None
        return 'is not a file mode; write octal digits such as "0440"'
    if isinstance(value, float) and not value.is_integer():
        return "is not a file mode; write a whole number such as 0440"
    return None


def _weight(value: Any) -> str | None:
    if isinstance(value, str):
        return "must be written as a number, not a string"
    if isinstance(value, int) and value < 0:
        return "must not be negative"
    return None


def _extra_host(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    separator = "=" if "=" in value else ":"
    host, found, _ = value.partition(separator)
    if found and host:
        return None
    return 'is not a host entry; write "name:address" or "name=address"'


def _healthcheck_test(value: Any) -> str | None:
    if not isinstance(value, list) or not value or value[0] in _HEALTHCHECK_TESTS:
        return None
    return 'must start with "CMD", "CMD-SHELL" or "NONE"'


def _device(value: Any) -> str | None:
    if isinstance(value, str):
        if value.count(":") > 2:
            return "has too many parts; use the long syntax with source and target"
        return None
    if isinstance(value, dict) and "target" not in value:
        return 'needs a "target" (the path inside the container)'
    return None


def _ssh_key(value: Any) -> str | None:
    if not isinstance(value, str) or "=" in value or value == "default":
        return None
    return 'is not an SSH entry; write "default" or "id=path"'


def _key_value(value: Any) -> str | None:
    if not isinstance(value, str) or "=" in value:
        return None
    return 'is not a "name=value" entry'


def _group(value: Any) -> str | None:
    if isinstance(value, float):
        return "must be a group name or a whole number"
    return None


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _build_ulimit(value: Any) -> str | None:
    if isinstance(value, str):
        return "must be written as a number, not a string"
    if isinstance(value, dict) and any(
        isinstance(value.get(key), str) for key in ("soft", "hard")
    ):
        return "must give soft and hard as numbers, not strings"
    return None


def _port_address(value: Any) -> str | None:
    if not isinstance(value, dict) or "host_ip" not in value:
        return None
    if not is_ip_address(str(value["host_ip"])):
        return 'has a "host_ip" that is not an IP address (write IPv6 without brackets)'
    return None


def _watch_path(value: Any) -> str | None:
    return "must not be empty" if value == "" else None


def _device_request(value: Any) -> str | None:
    if isinstance(value, dict) and "count" in value and "device_ids" in value:
        return 'sets both "count" and "device_ids"; keep one of them'
    return None


def _file_object(*sources: str) -> Check:
    # A secret or config comes from exactly one place unless it is external.
    def check(resource: dict[str, Any]) -> str | None:
        if resource.get("external") is True:
            return None
        given = [source for source in sources if source in resource]
        if len(given) == 1:
            return None
        if given:
            return f"sets {' and '.join(given)}; keep only one of them"
        return f"needs one of {', '.join(sources)} (or external: true)"

    return check


def _volume_definition(resource: dict[str, Any]) -> str | None:
    if resource.get("external") is not True:
        return None
    for key in ("driver", "driver_opts", "labels"):
        if key in resource:
            return f'is external, so it cannot also set "{key}"; remove one of them'
    return None


_RESOURCE_CHECKS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "volumes": _volume_definition,
    "secrets": _file_object("file", "environment"),
    "configs": _file_object("file", "environment", "content"),
}
_DURATIONS = (
    ("healthcheck", "interval"),
    ("healthcheck", "timeout"),
    ("healthcheck", "start_period"),
    ("healthcheck", "start_interval"),
    ("stop_grace_period",),
    ("deploy", "update_config", "delay"),
    ("deploy", "update_config", "monitor"),
    ("deploy", "rollback_config", "delay"),
    ("deploy", "rollback_config", "monitor"),
    ("deploy", "restart_policy", "delay"),
    ("deploy", "restart_policy", "window"),
)
_SIZES = (
    ("mem_limit",),
    ("mem_reservation",),
    ("mem_swappiness",),
    ("memswap_limit",),
    ("shm_size",),
    ("build", "shm_size"),
    ("deploy", "resources", "limits", "memory"),
    ("deploy", "resources", "reservations", "memory"),
    ("blkio_config", "device_read_bps", "[]", "rate"),
    ("blkio_config", "device_read_iops", "[]", "rate"),
    ("blkio_config", "device_write_bps", "[]", "rate"),
    ("blkio_config", "device_write_iops", "[]", "rate"),
    ("volumes", "[]", "tmpfs", "size"),
)
_BOOLEANS = (
    ("attach",),
    ("build", "no_cache"),
    ("build", "pull"),
    ("build", "privileged"),
    ("post_start", "[]", "privileged"),
    ("pre_stop", "[]", "privileged"),
    ("develop", "watch", "[]", "exec", "privileged"),
    ("depends_on", "*", "restart"),
    ("env_file", "[]", "required"),
)
_SERVICE_CHECKS: tuple[tuple[tuple[str, ...], Check], ...] = (
    *((path, _duration) for path in _DURATIONS),
    *((path, _size) for path in _SIZES),
    *((path, _boolean) for path in _BOOLEANS),
    (("deploy", "resources", "limits", "cpus"), _cpus),
    (("deploy", "resources", "reservations", "cpus"), _cpus),
    (("deploy", "resources", "limits", "pids"), _integer),
    (
        (
            "deploy",
            "resources",
            "reservations",
            "generic_resources",
            "[]",
            "discrete_resource_spec",
            "value",
        ),
        _integer,
    ),
    (("deploy", "resources", "reservations", "devices", "[]", "count"), _count),
    (("gpus", "[]", "count"), _count),
    (("secrets", "[]", "mode"), _file_mode),
    (("configs", "[]", "mode"), _file_mode),
    (("build", "secrets", "[]", "mode"), _file_mode),
    (("volumes", "[]", "tmpfs", "mode"), _file_mode),
    (("blkio_config", "weight"), _weight),
    (("blkio_config", "weight_device", "[]", "weight"), _weight),
    (("extra_hosts", "[]"), _extra_host),
    (("build", "extra_hosts", "[]"), _extra_host),
    (("healthcheck", "test"), _healthcheck_test),
    (("devices", "[]"), _device),
    (("build", "ssh", "[]"), _ssh_key),
    (("build", "additional_contexts", "[]"), _key_value),
    (("build", "additional_contexts", "*"), _text),
    (("group_add", "[]"), _group),
    (("build", "ulimits", "*"), _build_ulimit),
    (("ports", "[]"), _port_address),
    (("command",), _command),
    (("entrypoint",), _command),
    (("post_start", "[]", "command"), _command),
    (("pre_stop", "[]", "command"), _command),
    (("develop", "watch", "[]", "exec", "command"), _command),
    (("develop", "watch", "[]", "path"), _watch_path),
    (("gpus", "[]"), _device_request),
    (("deploy", "resources", "reservations", "devices", "[]"), _device_request),
)


def _index_checks() -> dict[str, tuple[int, ...]]:
    """Return where in ``_SERVICE_CHECKS`` the patterns of each first key are."""
    by_key: dict[str, list[int]] = {}
    for index, (pattern, _) in enumerate(_SERVICE_CHECKS):
        by_key.setdefault(pattern[0], []).append(index)
    return {key: tuple(indices) for key, indices in by_key.items()}


_CHECKS_BY_KEY = _index_checks()
