"""Reject compose files that Docker Compose v2 rejects for their structure.

Runs on one file's data after interpolation and casting (so ``scale: "3"``
is already 3), before files are merged, as Compose does. The shapes come
from ``schema``: every key Compose knows, including the many the topology
never reads, because Compose refuses a file for a wrong ``healthcheck`` or
``logging`` as readily as for a wrong ``ports``.

Every error names the file, line and column (through ``locate``), the
service and the key, and says what would be accepted instead.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from typing import Any

from service.compose.interpolation import format_path
from service.compose.schema import (
    BOOLEAN,
    COMPOSE_FILE,
    INTEGER,
    NULL,
    NUMBER,
    STRING,
    Anything,
    Either,
    Node,
    Record,
    Scalar,
    Sequence,
    Table,
)
from service.compose.yamlload import RESET_TAG, Tagged, Timestamp
from service.errors import ComposeValidationError
from service.types import LocateInDocument, NodePath

_NUMBER_TEXT = re.compile(r"[-+]?[0-9]+(\.[0-9]*)?")
_KIND_WORDS = {
    STRING: "a string",
    INTEGER: "a whole number",
    NUMBER: "a number",
    BOOLEAN: "true or false",
    NULL: "empty",
}
_NAME_HINTS: dict[NodePath, str] = {
    ("services",): "service name",
    ("networks",): "network name",
    ("volumes",): "volume name",
    ("secrets",): "secret name",
    ("configs",): "config name",
    ("models",): "model name",
}


def validate_compose(data: Any, locate: LocateInDocument) -> None:
    """Raise ``ComposeValidationError`` if Compose would reject ``data``'s shape."""
    if not isinstance(data, dict):
        raise _Validator(locate).fail(
            (), "The top level of a compose file must be a mapping."
        )
    _Validator(locate).check(COMPOSE_FILE, data, ())


class _Validator:
    def __init__(self, locate: LocateInDocument) -> None:
        self.locate = locate

    def fail(self, path: NodePath, message: str) -> ComposeValidationError:
        service = str(path[1]) if len(path) > 1 and path[0] == "services" else None
        key = format_path(path[2:]) if service is not None else format_path(path)
        return ComposeValidationError(
            message[0].upper() + message[1:],
            location=self.locate(path),
            service=service,
            key=key or None,
        )

    def check(self, node: Node, value: Any, path: NodePath) -> None:
        if isinstance(value, Tagged):
            # A !reset value only clears the key; an !override one is checked.
            if value.tag == RESET_TAG:
                return
            value = value.value
        if isinstance(node, Anything):
            return
        if isinstance(node, Either):
            self.check_either(node, value, path)
        elif not accepts_kind(node, value):
            raise self.fail(
                path, f"{_where(path)} must be {describe(node)}, not {_kind(value)}."
            )
        elif isinstance(node, Scalar):
            self.check_scalar(node, value, path)
        elif isinstance(node, Sequence):
            self.check_sequence(node, value, path)
        elif isinstance(node, Record):
            self.check_record(node, value, path)
        else:
            self.check_table(node, value, path)

    def check_either(self, node: Either, value: Any, path: NodePath) -> None:
        candidates = [choice for choice in node.choices if accepts_kind(choice, value)]
        if not candidates:
            raise self.fail(
                path, f"{_where(path)} must be {describe(node)}, not {_kind(value)}."
            )
        first_error: ComposeValidationError | None = None
        for choice in candidates:
            try:
                self.check(choice, value, path)
            except ComposeValidationError as error:
                first_error = first_error or error
            else:
                return
        assert first_error is not None
        raise first_error

    def check_scalar(self, node: Scalar, value: Any, path: NodePath) -> None:
        if node.choices and value not in node.choices:
            raise self.fail(
                path,
                f'{_where(path)} is "{value}", but Compose only accepts '
                f"{_or_list(node.choices)}.",
            )
        if node.pattern is not None and _PATTERNS[node.pattern].search(value) is None:
            raise self.fail(
                path,
                f'{_where(path)} has the value "{value}", which Compose '
                f"does not accept here; {_pattern_hint(path)}.",
            )
        if node.minimum is not None and value < node.minimum:
            raise self.fail(path, f"{_where(path)} must be at least {node.minimum}.")
        if node.maximum is not None and value > node.maximum:
            raise self.fail(path, f"{_where(path)} must be at most {node.maximum}.")

    def check_sequence(self, node: Sequence, value: list[Any], path: NodePath) -> None:
        seen: dict[object, int] = {}
        for index, item in enumerate(value):
            self.check(node.items, item, (*path, index))
            if not node.unique:
                continue
            identity = _identity(item)
            if identity in seen:
                raise self.fail(
                    (*path, index),
                    f"{_where(path)} lists {_show(item)} twice (items "
                    f"{seen[identity] + 1} and {index + 1}); remove one of them.",
                )
            seen[identity] = index

    def check_record(self, node: Record, value: dict[str, Any], path: NodePath) -> None:
        for key, item in value.items():
            child = node.keys.get(key)
            if child is not None:
                self.check(child, item, (*path, key))
            elif node.extensions and key.startswith("x-"):
                continue
            elif node.closed:
                raise self.fail((*path, key), _unknown_key(key, path, node.keys))
        for key in node.required:
            if key not in value:
                raise self.fail(path, f'{_where(path)} needs the key "{key}".')

    def check_table(self, node: Table, value: dict[str, Any], path: NodePath) -> None:
        for key, item in value.items():
            if _is_name(node, key):
                self.check(node.values, item, (*path, key))
            elif node.extensions and key.startswith("x-"):
                continue
            elif node.closed:
                raise self.fail((*path, key), _bad_name(key, path, node))
            elif not accepts_kind(node.values, item):
                # Compose skips the schema for such a name but still cannot
                # read a value of the wrong kind.
                raise self.fail(
                    (*path, key),
                    f"{_where((*path, key))} must be {describe(node.values)}, "
                    f"not {_kind(item)}.",
                )


# --- kinds ---------------------------------------------------------------------


_NULL_KINDS = frozenset({NULL})
_BOOLEAN_KINDS = frozenset({BOOLEAN})
_WHOLE_KINDS = frozenset({INTEGER, NUMBER})
_NUMBER_KINDS = frozenset({NUMBER})
_STRING_KINDS = frozenset({STRING})
_NO_KINDS: frozenset[str] = frozenset()
#: The kinds of the types whose every value has the same kinds; a float's
#: depend on its value and a ``Timestamp`` (a ``str``) has none.
_KINDS_BY_TYPE: dict[type, frozenset[str]] = {
    type(None): _NULL_KINDS,
    bool: _BOOLEAN_KINDS,
    int: _WHOLE_KINDS,
    str: _STRING_KINDS,
}


def kinds_of(value: Any) -> frozenset[str]:
    """Return the JSON Schema kinds ``value`` belongs to (empty for a date)."""
    kinds = _KINDS_BY_TYPE.get(type(value))
    if kinds is not None:
        return kinds
    if value is None:
        return _NULL_KINDS
    if isinstance(value, bool):
        return _BOOLEAN_KINDS
    if isinstance(value, int):
        return _WHOLE_KINDS
    if isinstance(value, float):
        return _WHOLE_KINDS if value.is_integer() else _NUMBER_KINDS
    if isinstance(value, str) and not isinstance(value, Timestamp):
        return _STRING_KINDS
    return _NO_KINDS


def accepts_kind(node: Node, value: Any) -> bool:
    """Return whether ``node`` takes values of ``value``'s kind at all."""
    if isinstance(node, Anything):
        return True
    if isinstance(node, Either):
        return any(accepts_kind(choice, value) for choice in node.choices)
    if isinstance(node, Scalar):
        return not kinds_of(value).isdisjoint(node.kinds)
    if isinstance(node, Sequence):
        return isinstance(value, list)
    return isinstance(value, dict)


def describe(node: Node) -> str:
    """Return what ``node`` accepts, as words: "a string or a list of strings"."""
    if isinstance(node, Anything):
        return "any value"
    if isinstance(node, Either):
        return _or_list(describe(choice) for choice in node.choices)
    if isinstance(node, Scalar):
        if node.choices:
            return _or_list(f'"{choice}"' for choice in node.choices)
        return _or_list(_KIND_WORDS[kind] for kind in node.kinds)
    if isinstance(node, Sequence):
        items = node.items
        if isinstance(items, Scalar) and items.kinds == (STRING,):
            return "a list of strings"
        return "a list"
    return "a mapping"


def _is_name(node: Table, key: str) -> bool:
    if node.names is None:
        return key != ""
    return _PATTERNS[node.names].fullmatch(key) is not None


def _compile_patterns(root: Node) -> dict[str, re.Pattern[str]]:
    """Return every pattern of the schema under ``root``, compiled once.

    Names and values are matched for every key of every file; compiling the
    schema's few patterns at import spares ``re`` a cache lookup per match.
    """
    patterns: dict[str, re.Pattern[str]] = {}
    pending: list[Node] = [root]
    seen: set[int] = set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        text = node.names if isinstance(node, Table) else None
        if isinstance(node, Scalar):
            text = node.pattern
        if text is not None:
            patterns[text] = re.compile(text)
        pending.extend(_children(node))
    return patterns


def _children(node: Node) -> Iterable[Node]:
    if isinstance(node, Either):
        return node.choices
    if isinstance(node, Sequence):
        return (node.items,)
    if isinstance(node, Record):
        return node.keys.values()
    if isinstance(node, Table):
        return (node.values,)
    return ()


def _identity(item: Any) -> object:
    # JSON Schema's equality: 1 and 1.0 are equal, true and 1 are not.
    if isinstance(item, str) and _NUMBER_TEXT.fullmatch(item) is None:
        # Most items are such strings, equal only to the same text: a tagged
        # tuple stands for them without JSON encoding each one.
        return ("string", str(item))
    return json.dumps(_canonical(item), sort_keys=True, default=str)


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        # Compose also finds "01" and 1 equal in a list that must be distinct.
        number = float(value)
        return int(number) if number.is_integer() else number
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    return value


# --- words ---------------------------------------------------------------------


def _unknown_key(key: str, path: NodePath, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f' Did you mean "{close[0]}"?' if close else ""
    return (
        f'{_owner(path)} has a key "{key}" that Compose does not know; '
        f"extension keys must start with x-.{hint}"
    )


def _owner(path: NodePath) -> str:
    if not path:
        return "The top level"
    if len(path) == 2 and path[0] == "services":
        return f'The service "{path[1]}"'
    return _where(path)


def _bad_name(key: str, path: NodePath, node: Table) -> str:
    if key == "" or node.names is None:
        return f"{_owner(path)} has an empty key; give it a name."
    what = _NAME_HINTS.get(path, f"name in {_where(path)}")
    return (
        f'The {what} "{key}" may only use letters, digits, ".", "_" and "-"; rename it.'
    )


def _pattern_hint(path: NodePath) -> str:
    if path[-1] == "pull_policy":
        return (
            "use always, never, missing, if_not_present, build, refresh, daily, "
            "weekly or every_<duration>"
        )
    return "it must start with a letter or digit followed by letters, digits, _ . -"


def _or_list(words: Iterable[str]) -> str:
    unique = list(dict.fromkeys(words))
    if len(unique) == 1:
        return unique[0]
    return ", ".join(unique[:-1]) + " or " + unique[-1]


def _where(path: NodePath) -> str:
    if len(path) > 2 and path[0] == "services":
        return f'the key "{format_path(path[2:])}" of service "{path[1]}"'
    return f'the key "{format_path(path)}"'


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return json.dumps(value, default=str)


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


_PATTERNS = _compile_patterns(COMPOSE_FILE)
