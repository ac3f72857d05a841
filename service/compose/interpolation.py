"""Substitute ``${VARIABLE}`` references the way Docker Compose v2 does.

Compose interpolates every string *value* of a file, ``x-`` extension fields
included, and never a mapping key. Non-string values (numbers, booleans,
dates) are left alone. The forms are those of compose-go's template package:

* ``$NAME`` and ``${NAME}``: the value, or a blank string and an "unset"
  warning when the variable is not set;
* ``${NAME:-default}`` / ``${NAME-default}``: the default when unset or
  empty / only when unset;
* ``${NAME:+alt}`` / ``${NAME+alt}``: ``alt`` when set and non-empty / set;
* ``${NAME:?message}`` / ``${NAME?message}``: an error when unset or empty /
  unset;
* ``$$``: a literal ``$``. A ``$`` followed by anything else that cannot
  start a name (``$1``, ``$-``, a lone ``$``) stays as it is.

The text after the operator is itself a template and, as in Compose, it is
substituted whether or not it is used: an invalid or required reference in
an unused default still fails, and an unset variable there still warns.

Type casting. After substitution Compose turns the strings at a few fixed
paths into numbers or booleans (``scale: "3"``, ``read_only: "true"``,
``deploy.replicas: ${N:-2}``, ``ports[].target``, ``networks.*.internal``
...). ``interpolate`` does that too (``cast=True``, the default), because it
must happen per file, before files are merged. ``yes``/``no``/``on``/``off``
/``y``/``n`` are accepted there as booleans with a warning, as Compose does.
Sizes (``shm_size``) and durations stay strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from service.compose.yamlload import Tagged, Timestamp
from service.errors import InterpolationError, SourceLocation
from service.types import LocateInDocument, Lookup, NodePath

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_BRACED = re.compile(
    r"(?P<name>[_a-zA-Z][_a-zA-Z0-9]*)(?P<op>:?[-+?])?(?P<rest>.*)", re.S
)
_HINT = (
    'write "$$" for a literal "$", or use $NAME, ${NAME}, ${NAME:-default}, '
    "${NAME:?message} or ${NAME:+alternative}"
)


@dataclass(frozen=True)
class Interpolated:
    """The substituted data and what Compose would warn about while doing it.

    ``unset`` lists each variable used while unset (first use only), for
    Compose's 'The "X" variable is not set. Defaulting to a blank string.'
    ``warnings`` holds other sentences Compose prints, with their place.
    """

    data: Any
    unset: tuple[tuple[str, SourceLocation], ...] = ()
    warnings: tuple[tuple[str, SourceLocation], ...] = ()


def interpolate(
    data: Any, lookup: Lookup, locate: LocateInDocument, *, cast: bool = True
) -> Interpolated:
    """Substitute variables in every string value under ``data``.

    Raises ``InterpolationError`` naming the place (via ``locate``) for a
    malformed reference, an unset required variable, or a value that cannot
    be cast to the type Compose expects at its path.
    """
    walker = _Walker(lookup, locate, cast)
    result = walker.walk(data, ())
    return Interpolated(
        data=result,
        unset=tuple(walker.unset.items()),
        warnings=tuple(walker.warnings),
    )


def substitute(
    text: str, lookup: Lookup, location: SourceLocation, *, where: str = ""
) -> tuple[str, list[str]]:
    """Substitute variables in one string; return it and the unset names used.

    ``where`` names the key for messages (e.g. ``services.web.image``).
    """
    unset: list[str] = []
    result = _Template(lookup, location, where, unset).render(text)
    return result, unset


class _Template:
    """One substitution run: the lookup, where we are, and what was unset."""

    def __init__(
        self, lookup: Lookup, location: SourceLocation, where: str, unset: list[str]
    ) -> None:
        self.lookup = lookup
        self.location = location
        self.where = where
        self.unset = unset

    def render(self, text: str) -> str:
        out: list[str] = []
        index = 0
        while True:
            dollar = text.find("$", index)
            if dollar < 0:
                out.append(text[index:])
                return "".join(out)
            out.append(text[index:dollar])
            replacement, index = self._expand_at(text, dollar)
            out.append(replacement)

    def _expand_at(self, text: str, dollar: int) -> tuple[str, int]:
        """Expand the reference starting at ``text[dollar]``; return it and the end."""
        following = text[dollar + 1 : dollar + 2]
        if following == "$":
            return "$", dollar + 2
        if following == "{":
            return self._expand_braced(text, dollar)
        named = _NAME.match(text, dollar + 1)
        if named is None:
            return "$", dollar + 1
        return self._plain_value(named.group()), named.end()

    def _expand_braced(self, text: str, dollar: int) -> tuple[str, int]:
        closing = _closing_brace(text, dollar)
        if closing < 0:
            raise self._invalid(text)
        inner = text[dollar + 2 : closing]
        match = _BRACED.fullmatch(inner)
        if match is None or (match.group("op") is None and match.group("rest")):
            raise self._invalid(text)

        name, operator = match.group("name"), match.group("op")
        if operator is None:
            return self._plain_value(name), closing + 1
        argument = self.render(match.group("rest"))
        return self._apply(name, operator, argument), closing + 1

    def _plain_value(self, name: str) -> str:
        value = self.lookup(name)
        if value is None:
            if name not in self.unset:
                self.unset.append(name)
            return ""
        return value

    def _apply(self, name: str, operator: str, argument: str) -> str:
        value = self.lookup(name)
        is_set = value is not None
        is_filled = bool(value)
        need = is_filled if operator.startswith(":") else is_set

        if operator.endswith("-"):
            return value if need and value is not None else argument
        if operator.endswith("+"):
            return argument if need else ""
        if not need:
            raise self._required(name, argument, is_set)
        return value or ""

    def _invalid(self, text: str) -> InterpolationError:
        place = f" in {self.where}" if self.where else ""
        return InterpolationError(
            f'The value "{text}"{place} has an invalid variable reference; {_HINT}.',
            location=self.location,
            key=self.where or None,
        )

    def _required(self, name: str, message: str, is_set: bool) -> InterpolationError:
        place = f" by {self.where}" if self.where else ""
        state = "is empty" if is_set else "is not set"
        detail = f": {message}" if message else ""
        return InterpolationError(
            f'The variable "{name}" is required{place} but {state}{detail}. '
            f"Set it in the environment or in the .env file.",
            location=self.location,
            key=self.where or None,
        )


def _closing_brace(text: str, dollar: int) -> int:
    """Return the index of the ``}`` closing the ``${`` at ``dollar``, or -1.

    Only ``${`` opens a level, as in compose-go, so ``${A:-{x}}`` closes at
    the first ``}``. Without a balanced close, the last ``}`` is taken, which
    makes Compose report the inner malformed reference instead.
    """
    depth = 0
    index = dollar
    while index < len(text):
        if text.startswith("${", index):
            depth += 1
            index += 2
            continue
        if text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return text.rfind("}", dollar + 2)


# --- walking a document -----------------------------------------------------


class _Walker:
    def __init__(self, lookup: Lookup, locate: LocateInDocument, cast: bool) -> None:
        self.lookup = lookup
        self.locate = locate
        self.cast = cast
        self.unset: dict[str, SourceLocation] = {}
        self.warnings: list[tuple[str, SourceLocation]] = []

    def walk(self, value: Any, path: NodePath) -> Any:
        if isinstance(value, Tagged):
            return Tagged(value.tag, self.walk(value.value, path))
        if isinstance(value, dict):
            return {key: self.walk(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.walk(item, (*path, n)) for n, item in enumerate(value)]
        if isinstance(value, str) and not isinstance(value, Timestamp):
            return self._walk_string(value, path)
        return value

    def _walk_string(self, text: str, path: NodePath) -> Any:
        if "$" in text:
            location = self.locate(path)
            text, unset = substitute(
                text, self.lookup, location, where=format_path(path)
            )
            for name in unset:
                self.unset.setdefault(name, location)
        if not self.cast:
            return text
        caster = _caster_for(path)
        return text if caster is None else caster(text, path, self)


def format_path(path: NodePath) -> str:
    """Return ``path`` as people write it: ``services.web.ports[0].target``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


# --- casting ----------------------------------------------------------------

Caster = Callable[[str, NodePath, _Walker], Any]
#: The steps of a cast pattern after its first key, and what it casts with.
_Pattern = tuple[tuple[str, ...], Caster]
#: A pattern's length and first key: a path can only match patterns filed under its own.
_GroupKey = tuple[int, str | int]
#: ``*`` stands for any mapping key, ``[]`` for any list index.
_WILDCARDS = frozenset({"*", "[]"})

_TRUTHY = {"true": True, "false": False}
_LEGACY_BOOLEANS = {
    "yes": True,
    "y": True,
    "on": True,
    "no": False,
    "n": False,
    "off": False,
}


def _to_bool(text: str, path: NodePath, walker: _Walker) -> bool:
    lowered = text.lower()
    if lowered in _TRUTHY:
        return _TRUTHY[lowered]
    if lowered in _LEGACY_BOOLEANS:
        value = _LEGACY_BOOLEANS[lowered]
        walker.warnings.append(
            (
                f'"{text}" at {format_path(path)} is read as '
                f"{str(value).lower()}, but YAML 1.2 booleans are only true and "
                f"false; write {str(value).lower()}.",
                walker.locate(path),
            )
        )
        return value
    raise _cast_error(text, path, walker, "true or false")


def _to_int(text: str, path: NodePath, walker: _Walker) -> int:
    # Go's strconv.Atoi: an optional sign and decimal digits, nothing else.
    if re.fullmatch(r"[-+]?[0-9]+", text) is None:
        raise _cast_error(text, path, walker, "a whole number")
    return int(text)


def _to_float(text: str, path: NodePath, walker: _Walker) -> float:
    if re.fullmatch(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", text) is None:
        raise _cast_error(text, path, walker, "a number")
    return float(text)


def _cast_error(text: str, path: NodePath, walker: _Walker, wanted: str) -> Exception:
    return InterpolationError(
        f'The value "{text}" of {format_path(path)} must be {wanted}.',
        location=walker.locate(path),
        key=format_path(path),
    )


# Paths (``*`` any key, ``[]`` any list item) whose string values Compose
# casts after interpolation; facts from compose-go's loader. Read-only, as the
# indexes below are built from them once.
SERVICE_CASTS: Mapping[tuple[str, ...], Caster] = MappingProxyType(
    {
        ("configs", "[]", "mode"): _to_int,
        ("secrets", "[]", "mode"): _to_int,
        ("cpu_count",): _to_int,
        ("cpu_percent",): _to_float,
        ("cpu_period",): _to_int,
        ("cpu_quota",): _to_int,
        ("cpu_rt_period",): _to_int,
        ("cpu_rt_runtime",): _to_int,
        ("cpus",): _to_float,
        ("cpu_shares",): _to_int,
        ("init",): _to_bool,
        ("deploy", "replicas"): _to_int,
        ("deploy", "update_config", "parallelism"): _to_int,
        ("deploy", "update_config", "max_failure_ratio"): _to_float,
        ("deploy", "rollback_config", "parallelism"): _to_int,
        ("deploy", "rollback_config", "max_failure_ratio"): _to_float,
        ("deploy", "restart_policy", "max_attempts"): _to_int,
        ("deploy", "placement", "max_replicas_per_node"): _to_int,
        ("healthcheck", "retries"): _to_int,
        ("healthcheck", "disable"): _to_bool,
        ("oom_kill_disable",): _to_bool,
        ("oom_score_adj",): _to_int,
        ("pids_limit",): _to_int,
        ("ports", "[]", "target"): _to_int,
        ("privileged",): _to_bool,
        ("read_only",): _to_bool,
        ("scale",): _to_int,
        ("stdin_open",): _to_bool,
        ("tty",): _to_bool,
        ("ulimits", "*"): _to_int,
        ("ulimits", "*", "hard"): _to_int,
        ("ulimits", "*", "soft"): _to_int,
        ("volumes", "[]", "read_only"): _to_bool,
        ("volumes", "[]", "volume", "nocopy"): _to_bool,
    }
)
TOP_LEVEL_CASTS: Mapping[tuple[str, ...], Caster] = MappingProxyType(
    {
        ("networks", "*", "external"): _to_bool,
        ("networks", "*", "internal"): _to_bool,
        ("networks", "*", "attachable"): _to_bool,
        ("networks", "*", "enable_ipv6"): _to_bool,
        ("volumes", "*", "external"): _to_bool,
        ("secrets", "*", "external"): _to_bool,
        ("configs", "*", "external"): _to_bool,
    }
)


class CastIndex:
    """The casters of a pattern table, grouped so a lookup tries only a few patterns.

    A pattern matches only paths of its own length that start with its own
    first key (no pattern starts with a wildcard), so the patterns are filed
    under that pair once, when the module loads. A lookup then tries the one
    group the path belongs to, in table order, and most paths (``image``,
    ``environment.X``) have no group at all. The index never changes after it
    is built, so the threads reading requests share it safely.
    """

    def __init__(self, table: Mapping[tuple[str, ...], Caster]) -> None:
        groups: dict[_GroupKey, list[_Pattern]] = {}
        for pattern, caster in table.items():
            if not pattern or pattern[0] in _WILDCARDS:
                raise ValueError(
                    f"The cast pattern {pattern!r} must start with a key, "
                    "not a wildcard."
                )
            group = groups.setdefault((len(pattern), pattern[0]), [])
            group.append((pattern[1:], caster))
        frozen = {key: tuple(group) for key, group in groups.items()}
        self._groups: Mapping[_GroupKey, tuple[_Pattern, ...]] = MappingProxyType(
            frozen
        )

    def find(self, path: NodePath) -> Caster | None:
        """Return the caster of the first pattern ``path`` matches, or None."""
        if not path:
            return None
        candidates = self._groups.get((len(path), path[0]), ())
        rest = path[1:]
        for pattern, caster in candidates:
            if all(_matches(p, s) for p, s in zip(pattern, rest, strict=True)):
                return caster
        return None


_SERVICE_CAST_INDEX = CastIndex(SERVICE_CASTS)
_TOP_LEVEL_CAST_INDEX = CastIndex(TOP_LEVEL_CASTS)


def _caster_for(path: NodePath) -> Caster | None:
    if len(path) >= 3 and path[0] == "services":
        return _SERVICE_CAST_INDEX.find(path[2:])
    return _TOP_LEVEL_CAST_INDEX.find(path)


def _matches(pattern: str, step: str | int) -> bool:
    if pattern == "[]":
        return isinstance(step, int)
    if pattern == "*":
        return isinstance(step, str)
    return pattern == step


def iter_unset_messages(result: Interpolated) -> Iterator[tuple[str, SourceLocation]]:
    """Yield Compose's warning sentence for each variable used while unset."""
    for name, location in result.unset:
        yield (
            f'The "{name}" variable is not set. Defaulting to a blank string.',
            location,
        )
