"""Load compose YAML the way Docker Compose v2 (go-yaml v3) reads it.

PyYAML resolves plain scalars by YAML 1.1 rules (``yes`` is true, ``22:22``
is a sexagesimal number), Compose by go-yaml v3's: YAML 1.2 core booleans
and nulls, Go's integer syntax after dropping underscores (``0755`` and
``0o755`` are octal, ``0x1F`` hex, ``0b101`` binary), and floats. So only
PyYAML's event parser is used here; nodes are composed and resolved by this
module, which also enforces the size limits while composing, so an alias
bomb is refused before its expansion exists in memory.

What the caller gets, per document:

* plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``;
* ``Tagged`` for a node tagged ``!reset`` or ``!override`` (the merge of
  several files gives them meaning, so they are handed on untouched, except
  that a ``!reset`` key gives way to the same key from a ``<<`` merge in the
  same mapping, as Compose's loader drops reset keys before merging);
* ``Timestamp`` (a ``str``) for a plain scalar go-yaml reads as a date or
  time: Compose keeps it in ``x-`` fields but rejects it where the schema
  wants a string, so validation needs to tell it apart;
* other tags (``!foo x``) are ignored as Compose ignores them.

Several ``---`` documents in one file are merged by Compose as if they were
successive ``-f`` files: ``Document.documents`` holds each one. A file with
no document at all (empty, or comments only) has ``data`` None: Compose
calls that an "empty compose file" when it is alone, but accepts it as an
extra ``-f``. A document whose root is not a mapping is rejected here.
"""

from __future__ import annotations

import base64
import binascii
import copy
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import yaml
from yaml import events
from yaml._yaml import CParser

from service.errors import (
    ComposeValidationError,
    LimitExceededError,
    SourceLocation,
    YamlSyntaxError,
)
from service.limits import Limits
from service.types import NodePath

RESET_TAG = "!reset"
OVERRIDE_TAG = "!override"
_CUSTOM_TAGS = (RESET_TAG, OVERRIDE_TAG)
_YAML_TAG = "tag:yaml.org,2002:"
_MERGE_KEY = "<<"


@dataclass(frozen=True)
class Tagged:
    """A node carrying Compose's ``!reset`` or ``!override`` tag."""

    tag: str
    value: Any


class Timestamp(str):
    """A plain scalar that go-yaml resolves to a time, in Go's RFC 3339 text."""

    __slots__ = ()


@dataclass
class Document:
    """One YAML document of a compose file, with where each node came from."""

    file: str
    data: Any
    positions: dict[NodePath, tuple[int, int]] = field(default_factory=dict)
    documents: tuple[Document, ...] = ()

    def locate(self, path: NodePath) -> SourceLocation:
        """Return the place of ``path``, or of its nearest ancestor we know."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return SourceLocation(self.file, found[0], found[1])
        return SourceLocation(self.file)


def load_yaml(text: str, file: str, limits: Limits) -> Document:
    """Parse ``text`` into a ``Document`` as Compose would read it.

    The returned document is the first of the file; ``documents`` lists
    all of them (itself first). Raises ``YamlSyntaxError``,
    ``ComposeValidationError`` (non-mapping root, non-string key, bad tag)
    or ``LimitExceededError``; never anything else.
    """
    try:
        parsed = _Composer(text, file, limits).compose_all()
    except (YamlSyntaxError, ComposeValidationError, LimitExceededError):
        raise
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, file) from exc
    except yaml.reader.ReaderError as exc:
        raise YamlSyntaxError(
            f"The file is not readable as YAML: {exc.reason} "
            f"({_codepoint(exc.character)}); remove it or save the file as UTF-8.",
            location=_offset_location(text, exc.position, file),
        ) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(
            f"The file is not readable as YAML: {_first_line(str(exc))}.",
            location=SourceLocation(file),
        ) from exc
    except RecursionError as exc:
        raise LimitExceededError(
            "The YAML is nested too deeply to read.",
            limit="max_yaml_depth",
            location=SourceLocation(file),
        ) from exc
    except (UnicodeError, ValueError, TypeError, MemoryError) as exc:
        raise YamlSyntaxError(
            "The file is not readable as YAML text; "
            "check that it is UTF-8 and free of control characters.",
            location=SourceLocation(file),
        ) from exc

    if not parsed:
        return Document(file=file, data=None, positions={}, documents=())
    first = parsed[0]
    first.documents = tuple(parsed)
    for later in parsed[1:]:
        later.documents = (later,)
    return first


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, file: str) -> YamlSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    location = SourceLocation(file)
    line_text = ""
    if mark is not None:
        location = SourceLocation(file, mark.line + 1, mark.column + 1)
        lines = text.splitlines()
        line_text = lines[mark.line] if mark.line < len(lines) else ""
    problem = exc.problem or exc.context or "unreadable YAML"
    hint = ""
    if "cannot start any token" in problem and "\t" in line_text:
        hint = " (YAML does not allow tabs for indentation; use spaces)"
    return YamlSyntaxError(
        f"The YAML is not valid here: {problem}{hint}.", location=location
    )


def _offset_location(text: str, offset: int, file: str) -> SourceLocation:
    before = text[:offset]
    line = before.count("\n") + 1
    return SourceLocation(file, line, offset - (before.rfind("\n") + 1) + 1)


def _codepoint(character: object) -> str:
    number = ord(character) if isinstance(character, str) else character
    return f"U+{number:04X}" if isinstance(number, int) else "a control character"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


# --- composing ----------------------------------------------------------


@dataclass
class _Anchor:
    value: Any
    size: int
    is_mapping: bool


class _Composer:
    """Build plain values from parser events, counting as it goes."""

    def __init__(self, text: str, file: str, limits: Limits) -> None:
        self.parser = CParser(text)
        self.file = file
        self.limits = limits
        self.nodes = 0
        self.expansions = 0
        self.anchors: dict[str, _Anchor] = {}
        self.positions: dict[NodePath, tuple[int, int]] = {}

    def compose_all(self) -> list[Document]:
        self._expect(events.StreamStartEvent)
        documents = []
        while not self.parser.check_event(events.StreamEndEvent):
            documents.append(self._compose_document())
        self.parser.get_event()
        return documents

    def _compose_document(self) -> Document:
        self._expect(events.DocumentStartEvent)
        self.anchors = {}
        self.positions = {}
        start = self._location(self._peek())
        self.positions[()] = (start.line or 1, start.column or 1)
        data, _ = self._compose_node((), 0)
        self._expect(events.DocumentEndEvent)

        if not isinstance(data, dict):
            raise ComposeValidationError(
                "The top level of a compose file must be a mapping of keys such "
                "as services, networks and volumes, not "
                f"{_describe(data)}.",
                location=start,
            )
        return Document(file=self.file, data=data, positions=self.positions)

    def _peek(self) -> events.Event:
        event = self.parser.peek_event()
        if event is None:
            raise YamlSyntaxError(
                "The YAML ended unexpectedly.", location=SourceLocation(self.file)
            )
        return event

    def _next(self) -> events.Event:
        event = self._peek()
        self.parser.get_event()
        return event

    def _expect(self, kind: type[events.Event]) -> events.Event:
        event = self._next()
        if not isinstance(event, kind):
            raise YamlSyntaxError(
                "The YAML event stream ended unexpectedly.",
                location=self._location(event),
            )
        return event

    def _location(self, event: events.Event) -> SourceLocation:
        mark = event.start_mark
        if mark is None:
            return SourceLocation(self.file)
        return SourceLocation(self.file, mark.line + 1, mark.column + 1)

    def _count_node(self, event: events.Event, depth: int) -> None:
        self.nodes += 1
        if self.nodes > self.limits.max_yaml_nodes:
            raise LimitExceededError(
                f"The file has more than {self.limits.max_yaml_nodes} YAML nodes; "
                "split it or raise the max_yaml_nodes limit.",
                limit="max_yaml_nodes",
                location=self._location(event),
            )
        if depth > self.limits.max_yaml_depth:
            raise LimitExceededError(
                f"The YAML is nested more than {self.limits.max_yaml_depth} levels "
                "deep.",
                limit="max_yaml_depth",
                location=self._location(event),
            )

    def _compose_node(self, path: NodePath, depth: int) -> tuple[Any, int]:
        """Return the value of the next node and its expanded size in nodes."""
        event = self._next()
        if isinstance(event, events.AliasEvent):
            return self._expand_alias(event)
        self._count_node(event, depth)

        if isinstance(event, events.ScalarEvent):
            value: Any = self._resolve_scalar(event)
            size = 1
        elif isinstance(event, events.SequenceStartEvent):
            value, size = self._compose_sequence(path, depth)
        elif isinstance(event, events.MappingStartEvent):
            value, size = self._compose_mapping(path, depth)
        else:
            raise YamlSyntaxError(
                "The YAML has a node of an unexpected kind.",
                location=self._location(event),
            )

        value = self._apply_tag(event, value)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.anchors[anchor] = _Anchor(
                value, size, isinstance(event, events.MappingStartEvent)
            )
        return value, size

    def _expand_alias(self, event: events.AliasEvent) -> tuple[Any, int]:
        anchor = self.anchors.get(event.anchor or "")
        if anchor is None:
            raise YamlSyntaxError(
                f"The alias *{event.anchor} refers to an anchor &{event.anchor} "
                "that is not defined before it in this document.",
                location=self._location(event),
            )
        self.expansions += anchor.size
        if self.expansions > self.limits.max_alias_expansions:
            raise LimitExceededError(
                "The YAML aliases expand to more than "
                f"{self.limits.max_alias_expansions} nodes; this looks like an "
                "alias bomb.",
                limit="max_alias_expansions",
                location=self._location(event),
            )
        # A copy, so a later merge that changes one use leaves the others be;
        # its size is bounded by the check above.
        return copy.deepcopy(anchor.value), anchor.size

    def _compose_sequence(self, path: NodePath, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        size = 1
        while not self.parser.check_event(events.SequenceEndEvent):
            item_path = (*path, len(items))
            self._remember(item_path, self._peek())
            value, item_size = self._compose_node(item_path, depth + 1)
            items.append(value)
            size += item_size
        self.parser.get_event()
        return items, size

    def _remember(self, path: NodePath, event: events.Event) -> None:
        mark = event.start_mark
        if mark is not None and path not in self.positions:
            self.positions[path] = (mark.line + 1, mark.column + 1)

    def _compose_mapping(
        self, path: NodePath, depth: int
    ) -> tuple[dict[str, Any], int]:
        explicit: dict[str, Any] = {}
        seen: dict[tuple[str, str], int] = {}
        merges: list[tuple[Any, bool, events.Event]] = []
        size = 1

        while not self.parser.check_event(events.MappingEndEvent):
            key_event = self._peek()
            self._check_duplicate(key_event, seen)
            key, key_size = self._compose_node((*path, "<key>"), depth + 1)
            if _is_merge_key(key_event):
                value_event = self._peek()
                value, value_size = self._compose_node((*path, _MERGE_KEY), depth + 1)
                merges.append((value, self._is_mapping_node(value_event), value_event))
            else:
                key = self._string_key(key, key_event, path)
                self._remember((*path, key), key_event)
                value, value_size = self._compose_node((*path, key), depth + 1)
                explicit[key] = value
            size += key_size + value_size
        self.parser.get_event()

        if merges:
            explicit = self._merge(explicit, merges)
        return explicit, size

    def _is_mapping_node(self, event: events.Event) -> bool:
        if isinstance(event, events.AliasEvent):
            anchor = self.anchors.get(event.anchor or "")
            return anchor is not None and anchor.is_mapping
        return isinstance(event, events.MappingStartEvent)

    def _check_duplicate(
        self, event: events.Event, seen: dict[tuple[str, str], int]
    ) -> None:
        # go-yaml compares the key's node kind and raw text, so "1" and 1
        # clash while 1 and 01 do not.
        if not isinstance(event, events.ScalarEvent):
            return
        line = self._location(event).line or 0
        identity = ("scalar", event.value)
        if identity in seen:
            raise ComposeValidationError(
                f'The mapping key "{event.value}" is already defined at line '
                f"{seen[identity]}; remove or rename one of them.",
                location=self._location(event),
                key=event.value,
            )
        seen[identity] = line

    def _string_key(self, key: Any, event: events.Event, path: NodePath) -> str:
        if isinstance(key, str) and not isinstance(key, Timestamp):
            return key
        where = _dotted(path) or "the top level"
        if isinstance(key, dict | list | Tagged):
            raise ComposeValidationError(
                f"A key in {where} is a {_kind(key)}; Compose only accepts "
                "string keys.",
                location=self._location(event),
            )
        raw = str(event.value) if isinstance(event, events.ScalarEvent) else ""
        raise ComposeValidationError(
            f"The key {raw} in {where} reads as a {_kind(key)}, not a string; "
            f'Compose only accepts string keys, so quote it ("{raw}").',
            location=self._location(event),
            key=raw,
        )

    def _merge(
        self,
        explicit: dict[str, Any],
        merges: list[tuple[Any, bool, events.Event]],
    ) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for value, is_mapping, event in merges:
            sources = _merge_sources(value, is_mapping)
            if sources is None:
                raise ComposeValidationError(
                    "A << merge key needs a mapping or a list of mappings as its "
                    "value.",
                    location=self._location(event),
                    key=_MERGE_KEY,
                )
            for source in sources:
                for key, item in source.items():
                    merged.setdefault(key, item)

        result: dict[str, Any] = {}
        for key, item in explicit.items():
            # Compose drops a !reset key before merging, so a merged value wins.
            if isinstance(item, Tagged) and item.tag == RESET_TAG and key in merged:
                continue
            result[key] = item
        for key, item in merged.items():
            result.setdefault(key, item)
        return result

    # --- scalars and tags ---------------------------------------------------

    def _resolve_scalar(self, event: events.ScalarEvent) -> Any:
        tag = event.tag
        is_plain = event.style in (None, "") and tag in (None, *_CUSTOM_TAGS)
        if is_plain:
            return resolve_plain(event.value)
        if tag is None or tag == "!" or not tag.startswith(_YAML_TAG):
            return event.value
        return self._resolve_explicit(event, tag[len(_YAML_TAG) :])

    def _resolve_explicit(self, event: events.ScalarEvent, name: str) -> Any:
        text = event.value
        resolved = resolve_plain(text)
        if name == "str":
            return text
        if name == "binary":
            return self._decode_binary(event)
        if name == "timestamp" and isinstance(resolved, Timestamp):
            return resolved
        if name == "null" and resolved is None:
            return None
        if name == "bool" and isinstance(resolved, bool):
            return resolved
        if name == "int" and _is_int(resolved):
            return resolved
        if name == "float" and (_is_int(resolved) or isinstance(resolved, float)):
            return float(resolved)
        if name not in ("str", "binary", "timestamp", "null", "bool", "int", "float"):
            return text
        raise ComposeValidationError(
            f'The value "{text}" cannot be read as the !!{name} its tag asks for.',
            location=self._location(event),
        )

    def _decode_binary(self, event: events.ScalarEvent) -> str:
        try:
            raw = base64.b64decode("".join(event.value.split()), validate=True)
            return raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ComposeValidationError(
                "The !!binary value is not valid base64-encoded UTF-8 text.",
                location=self._location(event),
            ) from exc

    def _apply_tag(self, event: events.Event, value: Any) -> Any:
        tag = getattr(event, "tag", None)
        if tag in _CUSTOM_TAGS:
            return Tagged(tag=tag, value=value)
        if (
            tag is None
            or not tag.startswith(_YAML_TAG)
            or isinstance(event, events.ScalarEvent)
        ):
            return value
        wanted = tag[len(_YAML_TAG) :]
        if (wanted == "map" and isinstance(value, dict)) or (
            wanted == "seq" and isinstance(value, list)
        ):
            return value
        raise ComposeValidationError(
            f"The tag !!{wanted} does not fit a "
            f"{'mapping' if isinstance(value, dict) else 'sequence'}.",
            location=self._location(event),
        )


def _is_merge_key(event: events.Event) -> bool:
    return (
        isinstance(event, events.ScalarEvent)
        and event.value == _MERGE_KEY
        and event.style in (None, "")
        and event.tag is None
    )


def _merge_sources(value: Any, is_mapping: bool) -> list[dict[str, Any]] | None:
    if isinstance(value, dict) and is_mapping:
        return [value]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return list(value)
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, Timestamp):
        return "date"
    if isinstance(value, Tagged):
        return f"value tagged {value.tag}"
    return "mapping" if isinstance(value, dict) else "list"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    if value is None:
        return "an empty document"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Tagged):
        return f"a value tagged {value.tag}"
    return f'the scalar "{_go_text(value)}"'


def _dotted(path: NodePath) -> str:
    return ".".join(str(part) for part in path)


def _go_text(value: Any) -> str:
    """Return ``value`` as Go's ``%v`` would print it, for messages."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_go_float(value)
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return str(value)


def format_go_float(value: float) -> str:
    """Format a float as Go's ``%v`` does (``strconv`` 'g', shortest digits).

    Compose turns numbers into strings this way where a string is expected
    (a label ``1.0`` becomes ``"1"``, ``1e6`` becomes ``"1e+06"``).
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"

    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(d) for d in digit_tuple)
    assert isinstance(exponent, int)
    point = len(digits) + exponent
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{point - 1:+03d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{prefix}{digits}{'0' * (point - len(digits))}"
    return f"{prefix}{digits[:point]}.{digits[point:]}"


# --- plain scalar resolution (go-yaml v3) ---------------------------------

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUES = frozenset({"true", "True", "TRUE"})
_FALSES = frozenset({"false", "False", "FALSE"})
_SPECIAL_FLOATS = {
    ".nan": math.nan,
    ".NaN": math.nan,
    ".NAN": math.nan,
    ".inf": math.inf,
    ".Inf": math.inf,
    ".INF": math.inf,
    "+.inf": math.inf,
    "+.Inf": math.inf,
    "+.INF": math.inf,
    "-.inf": -math.inf,
    "-.Inf": -math.inf,
    "-.INF": -math.inf,
}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(
    r"(?P<sign>[-+]?)(?:0[xX](?P<hex>[0-9a-fA-F]+)|0[bB](?P<bin>[01]+)"
    r"|0[oO](?P<oct>[0-7]+)|(?P<legacy>0[0-7]*)|(?P<dec>[1-9][0-9]*))"
)
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1
_TIMESTAMP = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})"
    r"(?:[.,](?P<frac>[0-9]+))?"
    r"(?P<tz>Z|[-+][0-9]{2}:[0-9]{2})?)?"
)


def resolve_plain(text: str) -> Any:
    """Resolve an untagged plain scalar as go-yaml v3 does.

    ``yes``/``no``/``on``/``off`` stay strings (YAML 1.2); ``22:22`` stays a
    string; Go's integer syntax applies after underscores are dropped, so
    ``0755`` is 493 and ``1_000`` is 1000.
    """
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]

    first = text[0]
    if first == ".":
        parsed = _parse_float(text.replace("_", ""))
        return text if parsed is None else parsed
    if first.isdigit() or first in "+-":
        return _resolve_number_like(text)
    return text


def _resolve_number_like(text: str) -> Any:
    timestamp = _parse_timestamp(text)
    if timestamp is not None:
        return timestamp

    plain = text.replace("_", "")
    integer = _parse_go_int(plain)
    if integer is not None:
        return integer
    if _YAML_FLOAT.fullmatch(plain):
        parsed = _parse_float(plain)
        if parsed is not None:
            return parsed
    return text


def _parse_go_int(plain: str) -> int | None:
    match = _GO_INT.fullmatch(plain)
    if match is None:
        return None
    groups = match.groupdict()
    if groups["hex"] is not None:
        value = int(groups["hex"], 16)
    elif groups["bin"] is not None:
        value = int(groups["bin"], 2)
    elif groups["oct"] is not None:
        value = int(groups["oct"], 8)
    elif groups["legacy"] is not None:
        value = int(groups["legacy"], 8)
    else:
        value = int(groups["dec"])

    if groups["sign"] == "-":
        value = -value
    if _INT64[0] <= value <= _INT64[1]:
        return value
    if groups["sign"] == "" and value <= _UINT64_MAX:
        return value
    return None


def _parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _parse_timestamp(text: str) -> Timestamp | None:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    if parts["sep"] == " " and parts["tz"] is not None:
        return None
    if parts["sep"] in ("T", "t") and parts["tz"] is None:
        return None
    try:
        moment = _build_datetime(parts)
    except ValueError:
        return None
    return Timestamp(_format_rfc3339(moment, (parts["frac"] or "")[:9]))


def _build_datetime(parts: dict[str, str | None]) -> datetime:
    tz = UTC
    offset = parts["tz"]
    if offset not in (None, "Z"):
        assert offset is not None
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return datetime(
        int(parts["y"] or 0),
        int(parts["mo"] or 0),
        int(parts["d"] or 0),
        int(parts["h"] or 0),
        int(parts["mi"] or 0),
        int(parts["s"] or 0),
        tzinfo=tz,
    )


def _format_rfc3339(moment: datetime, fraction: str) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = fraction.rstrip("0")
    if fraction:
        text += "." + fraction
    offset = moment.utcoffset()
    if not offset:
        return text + "Z"
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{text}{sign}{total // 60:02d}:{total % 60:02d}"
