"""Load compose YAML the way Docker Compose v2 (go-yaml v3) reads it.

This is the reader's entry point: ``load_yaml`` turns text into one
``Document`` per ``---`` section and turns every failure of the YAML parser
into our own errors, with the line and column when known. The work is done
by ``yamlcompose`` (nodes, limits, positions, merge keys, tags) and
``yamlscalars`` (what a scalar means by go-yaml's rules).

What the caller gets, per document:

* plain ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``;
* ``Tagged`` for a node tagged ``!reset`` or ``!override`` (the merge of
  several files gives them meaning, so they are handed on untouched);
* ``Timestamp`` (a ``str``) for a plain scalar go-yaml reads as a date or
  time: Compose keeps it in ``x-`` fields but rejects it where the schema
  wants a string, so validation needs to tell it apart;
* other tags (``!foo x``) are ignored as Compose ignores them.

Several ``---`` documents in one file are merged by Compose as if they were
successive ``-f`` files: ``Document.documents`` holds each one. A file with
no document at all (empty, or comments only) has ``data`` None: Compose
calls that an "empty compose file" when it is alone, but accepts it as an
extra ``-f``. A document whose root is not a mapping is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from service.compose.yamlcompose import (
    OVERRIDE_TAG,
    RESET_TAG,
    Positions,
    Tagged,
    compose_documents,
)
from service.compose.yamlscalars import Timestamp
from service.errors import (
    ComposeTopologyError,
    LimitExceededError,
    SourceLocation,
    YamlSyntaxError,
)
from service.limits import Limits
from service.types import NodePath

__all__ = [
    "OVERRIDE_TAG",
    "RESET_TAG",
    "Document",
    "Tagged",
    "Timestamp",
    "load_yaml",
]


@dataclass
class Document:
    """One YAML document of a compose file, with where each node came from."""

    file: str
    data: Any
    positions: Positions = field(default_factory=dict)
    documents: tuple[Document, ...] = ()
    #: False when the composer saw no ``!reset``/``!override`` tag in it.
    has_tags: bool = True

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
        composed = compose_documents(text, file, limits)
    except (
        yaml.YAMLError,
        RecursionError,
        UnicodeError,
        ValueError,
        TypeError,
        MemoryError,
    ) as exc:
        raise _as_our_error(exc, text, file) from exc

    parsed = [
        Document(file, part.data, part.positions, has_tags=part.has_tags)
        for part in composed
    ]
    if not parsed:
        return Document(file=file, data=None, positions={}, documents=())
    first = parsed[0]
    first.documents = tuple(parsed)
    for later in parsed[1:]:
        later.documents = (later,)
    return first


# --- parser failures as our errors ------------------------------------------------


def _as_our_error(exc: BaseException, text: str, file: str) -> ComposeTopologyError:
    if isinstance(exc, yaml.MarkedYAMLError):
        return _syntax_error(exc, text, file)
    if isinstance(exc, yaml.reader.ReaderError):
        return YamlSyntaxError(
            f"The file is not readable as YAML: {exc.reason} "
            f"({_codepoint(exc.character)}); remove it or save the file as UTF-8.",
            location=_offset_location(text, exc.position, file),
        )
    if isinstance(exc, yaml.YAMLError):
        return YamlSyntaxError(
            f"The file is not readable as YAML: {_first_line(str(exc))}.",
            location=SourceLocation(file),
        )
    if isinstance(exc, RecursionError):
        return LimitExceededError(
            "The YAML is nested too deeply to read.",
            limit="max_yaml_depth",
            location=SourceLocation(file),
        )
    return YamlSyntaxError(
        "The file is not readable as YAML text; "
        "check that it is UTF-8 and free of control characters.",
        location=SourceLocation(file),
    )


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
