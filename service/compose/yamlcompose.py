"""Build plain Python values from PyYAML's parser events, counting as it goes.

PyYAML's own composer resolves scalars by YAML 1.1 and expands aliases
without a bound, so only its event parser is used; this module composes the
nodes itself. While it does, it:

* enforces the node, depth and alias-expansion limits, so an alias bomb is
  refused before its expansion exists in memory;
* records the line and column of every key and list item (``Positions``);
* applies ``<<`` merge keys, where the mapping's own keys win and a
  ``!reset`` key gives way to the same key from the merge (Compose's loader
  drops reset keys before merging);
* refuses what go-yaml or Compose refuse: duplicate keys, keys that are not
  strings, a ``!!`` tag that does not fit its node, a root that is not a
  mapping;
* wraps nodes tagged ``!reset`` or ``!override`` in ``Tagged`` and ignores
  other local tags, as Compose does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, TypeAlias

from yaml import events
from yaml._yaml import CParser

from service.compose.yamlscalars import (
    YAML_TAG,
    Timestamp,
    format_go_float,
    resolve_plain,
    resolve_tagged,
)
from service.errors import (
    ComposeValidationError,
    LimitExceededError,
    SourceLocation,
    YamlSyntaxError,
)
from service.limits import Limits
from service.types import NodePath

#: The line and column (from 1) where each key or list item was written.
Positions: TypeAlias = dict[NodePath, tuple[int, int]]

RESET_TAG = "!reset"
OVERRIDE_TAG = "!override"
_CUSTOM_TAGS = (RESET_TAG, OVERRIDE_TAG)
_MERGE_KEY = "<<"


@dataclass(frozen=True)
class Tagged:
    """A node carrying Compose's ``!reset`` or ``!override`` tag."""

    tag: str
    value: Any


@dataclass(frozen=True)
class ComposedDocument:
    """The value of one YAML document and where its nodes were written."""

    data: dict[str, Any]
    positions: Positions
    #: Whether any node carries ``!reset`` or ``!override``; most files have
    #: none, and then the walk that resolves them can be skipped.
    has_tags: bool = True


def compose_documents(text: str, file: str, limits: Limits) -> list[ComposedDocument]:
    """Return every document of ``text`` as plain values with their positions.

    Raises our errors for what it refuses; PyYAML's own errors (and
    ``RecursionError`` for nesting deeper than Python allows) pass through
    for the caller to translate.
    """
    return _Composer(text, file, limits).compose_all()


@dataclass
class _Anchor:
    value: Any
    size: int
    is_mapping: bool


@dataclass
class _MergeSource:
    """The value of one ``<<`` key, and whether it was written as a mapping."""

    value: Any
    is_mapping: bool
    event: events.Event


class _Composer:
    """Build plain values from parser events, counting as it goes."""

    def __init__(self, text: str, file: str, limits: Limits) -> None:
        self.parser = CParser(text)
        self.file = file
        self.limits = limits
        self.max_nodes = limits.max_yaml_nodes
        self.max_depth = limits.max_yaml_depth
        self.nodes = 0
        self.expansions = 0
        self.anchors: dict[str, _Anchor] = {}
        self.positions: Positions = {}
        self.has_tags = False

    def compose_all(self) -> list[ComposedDocument]:
        self._expect(events.StreamStartEvent)
        documents = []
        while not self.parser.check_event(events.StreamEndEvent):
            documents.append(self._compose_document())
        self.parser.get_event()
        return documents

    def _compose_document(self) -> ComposedDocument:
        self._expect(events.DocumentStartEvent)
        self.anchors = {}
        self.positions = {}
        self.has_tags = False
        root = self._next()
        start = self._location(root)
        self.positions[()] = (start.line or 1, start.column or 1)
        data, _ = self._compose_node(root, (), 0)
        self._expect(events.DocumentEndEvent)

        if not isinstance(data, dict):
            raise ComposeValidationError(
                "The top level of a compose file must be a mapping of keys such "
                "as services, networks and volumes, not "
                f"{_describe(data)}.",
                location=start,
            )
        return ComposedDocument(data, self.positions, self.has_tags)

    # --- the event stream -----------------------------------------------------

    def _next(self) -> events.Event:
        # Each event is fetched once and handed down to the node it starts,
        # rather than peeked at and fetched again: one call into the parser.
        event = self.parser.get_event()
        if event is None:
            raise self._ended()
        return event

    def _ended(self) -> YamlSyntaxError:
        return YamlSyntaxError(
            "The YAML ended unexpectedly.", location=SourceLocation(self.file)
        )

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

    def _remember(self, path: NodePath, event: events.Event) -> None:
        mark = event.start_mark
        if mark is not None and path not in self.positions:
            self.positions[path] = (mark.line + 1, mark.column + 1)

    # --- limits -----------------------------------------------------------------

    def _too_big(self, event: events.Event, depth: int) -> LimitExceededError:
        if self.nodes > self.max_nodes:
            return LimitExceededError(
                f"The file has more than {self.max_nodes} YAML nodes; "
                "split it or raise the max_yaml_nodes limit.",
                limit="max_yaml_nodes",
                location=self._location(event),
            )
        return LimitExceededError(
            f"The YAML is nested more than {self.max_depth} levels deep.",
            limit="max_yaml_depth",
            location=self._location(event),
        )

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

    # --- nodes --------------------------------------------------------------------

    def _compose_node(
        self, event: events.Event, path: NodePath, depth: int
    ) -> tuple[Any, int]:
        """Return the value of the node ``event`` starts and its size in nodes."""
        if isinstance(event, events.AliasEvent):
            return self._expand_alias(event)
        self.nodes += 1
        if self.nodes > self.max_nodes or depth > self.max_depth:
            raise self._too_big(event, depth)

        value: Any
        if isinstance(event, events.ScalarEvent):
            value, size = self._resolve_scalar(event), 1
        elif isinstance(event, events.MappingStartEvent):
            value, size = self._compose_mapping(path, depth)
        elif isinstance(event, events.SequenceStartEvent):
            value, size = self._compose_sequence(path, depth)
        else:
            raise YamlSyntaxError(
                "The YAML has a node of an unexpected kind.",
                location=self._location(event),
            )

        if event.tag is not None:
            value = self._apply_tag(event, value)
        if event.anchor is not None:
            is_mapping = isinstance(event, events.MappingStartEvent)
            self.anchors[event.anchor] = _Anchor(value, size, is_mapping)
        return value, size

    def _compose_sequence(self, path: NodePath, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        size = 1
        event = self._next()
        while type(event) is not events.SequenceEndEvent:
            item_path = (*path, len(items))
            self._remember(item_path, event)
            value, item_size = self._compose_node(event, item_path, depth + 1)
            items.append(value)
            size += item_size
            event = self._next()
        return items, size

    def _compose_mapping(
        self, path: NodePath, depth: int
    ) -> tuple[dict[str, Any], int]:
        explicit: dict[str, Any] = {}
        seen: dict[str, int] = {}
        merges: list[_MergeSource] = []
        size = 1

        key_event = self._next()
        while type(key_event) is not events.MappingEndEvent:
            self._check_duplicate(key_event, seen)
            key, key_size = self._compose_node(key_event, (*path, "<key>"), depth + 1)
            if _is_merge_key(key_event):
                value_event = self._next()
                value, value_size = self._compose_node(
                    value_event, (*path, _MERGE_KEY), depth + 1
                )
                is_mapping = self._is_mapping_node(value_event)
                merges.append(_MergeSource(value, is_mapping, value_event))
            else:
                if type(key) is not str:
                    key = self._string_key(key, key_event, path)
                key_path = (*path, key)
                self._remember(key_path, key_event)
                value_event = self._next()
                value, value_size = self._compose_node(value_event, key_path, depth + 1)
                explicit[key] = value
            size += key_size + value_size
            key_event = self._next()

        if merges:
            explicit = self._merge(explicit, merges)
        return explicit, size

    # --- keys -----------------------------------------------------------------------

    def _check_duplicate(self, event: events.Event, seen: dict[str, int]) -> None:
        # go-yaml compares the key's node kind and raw text, so "1" and 1
        # clash while 1 and 01 do not; only scalar keys are compared, so
        # ``seen`` holds their raw text and the line each was written on.
        if type(event) is not events.ScalarEvent:
            return
        text = event.value
        if text in seen:
            raise ComposeValidationError(
                f'The mapping key "{text}" is already defined at line '
                f"{seen[text]}; remove or rename one of them.",
                location=self._location(event),
                key=text,
            )
        mark = event.start_mark
        seen[text] = mark.line + 1 if mark is not None else 0

    def _string_key(self, key: Any, event: events.Event, path: NodePath) -> str:
        # Called for keys that are not a plain ``str`` (the common case is
        # checked inline by the caller), so this is mostly the refusal.
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

    # --- merge keys -------------------------------------------------------------

    def _is_mapping_node(self, event: events.Event) -> bool:
        if isinstance(event, events.AliasEvent):
            anchor = self.anchors.get(event.anchor or "")
            return anchor is not None and anchor.is_mapping
        return isinstance(event, events.MappingStartEvent)

    def _merge(
        self, explicit: dict[str, Any], merges: list[_MergeSource]
    ) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for merge in merges:
            for source in self._merge_sources(merge):
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

    def _merge_sources(self, merge: _MergeSource) -> list[dict[str, Any]]:
        value = merge.value
        if isinstance(value, dict) and merge.is_mapping:
            return [value]
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            return list(value)
        raise ComposeValidationError(
            "A << merge key needs a mapping or a list of mappings as its value.",
            location=self._location(merge.event),
            key=_MERGE_KEY,
        )

    # --- scalars and tags -------------------------------------------------------

    def _resolve_scalar(self, event: events.ScalarEvent) -> Any:
        is_plain = event.style in (None, "") and event.tag in (None, *_CUSTOM_TAGS)
        if is_plain:
            return resolve_plain(event.value)
        try:
            return resolve_tagged(event.value, event.tag)
        except ValueError as exc:
            raise ComposeValidationError(
                str(exc), location=self._location(event)
            ) from exc

    def _apply_tag(self, event: events.Event, value: Any) -> Any:
        tag = getattr(event, "tag", None)
        if tag in _CUSTOM_TAGS:
            self.has_tags = True
            return Tagged(tag=tag, value=value)
        if (
            tag is None
            or not tag.startswith(YAML_TAG)
            or isinstance(event, events.ScalarEvent)
        ):
            return value
        wanted = tag[len(YAML_TAG) :]
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


# --- words for messages -----------------------------------------------------------


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
