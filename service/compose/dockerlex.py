"""Split a Dockerfile into its logical instructions, as BuildKit's parser does.

This is only the lexing: which lines make one instruction and which are not
instructions at all. Parser directives (``# escape=`` ``) count only at the
very top and choose the escape character; a line ending in it continues on
the next, and comment or blank lines inside a continuation are dropped;
other comment lines are skipped; the bodies of heredocs (``RUN <<EOF``) are
skipped, since only ``RUN``, ``COPY`` and ``ADD`` take them and none of
those shape a container's defaults. What the instructions mean is
``dockerfile``'s concern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.errors import ComposeValidationError, SourceLocation

_INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_DIRECTIVE = re.compile(r"#\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*?)\s*")


@dataclass(frozen=True)
class Instruction:
    """One logical Dockerfile line: keyword, the text after it, and its line."""

    keyword: str
    rest: str
    line: int


def split_instructions(text: str, file: str) -> tuple[list[Instruction], str]:
    """Return the logical instructions of ``text`` and its escape character.

    Raises ``ComposeValidationError`` with the line for an unknown
    instruction, a bad or repeated directive, or a heredoc never closed.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    escape, first = _read_directives(lines, file)

    instructions: list[Instruction] = []
    index = first
    while index < len(lines):
        if _is_comment_or_blank(lines[index]):
            index += 1
            continue
        start = index
        logical, index = _join_continuation(lines, index, escape)
        instruction = _make_instruction(logical, start + 1, file)
        if instruction is None:
            continue
        instructions.append(instruction)
        if instruction.keyword in _HEREDOC_INSTRUCTIONS:
            index = _skip_heredocs(instruction, lines, index, file)
    return instructions, escape


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _read_directives(lines: list[str], file: str) -> tuple[str, int]:
    escape = "\\"
    seen: set[str] = set()
    for number, line in enumerate(lines):
        match = _DIRECTIVE.fullmatch(line.strip()) if line.strip() else None
        if match is None:
            return escape, number
        name = match.group(1).lower()
        if name in seen:
            raise ComposeValidationError(
                f'The parser directive "{name}" is given twice.',
                location=SourceLocation(file, number + 1),
            )
        seen.add(name)
        if name == "escape":
            escape = _escape_character(match.group(2), file, number + 1)
    return escape, len(lines)


def _escape_character(value: str, file: str, line: int) -> str:
    if value not in ("\\", "`"):
        raise ComposeValidationError(
            f'The escape directive must be "\\" or "`", not "{value}".',
            location=SourceLocation(file, line),
        )
    return value


def _join_continuation(lines: list[str], index: int, escape: str) -> tuple[str, int]:
    """Join the lines of one instruction; return it and the next line's index."""
    parts: list[str] = []
    while index < len(lines):
        line = lines[index]
        index += 1
        body = line.rstrip()
        if body.endswith(escape):
            parts.append(body[: -len(escape)])
            # Inside a continuation, comment and empty lines are dropped entirely.
            while index < len(lines) and _is_comment_or_blank(lines[index]):
                index += 1
            continue
        parts.append(line)
        break
    return "".join(parts), index


def _make_instruction(logical: str, line: int, file: str) -> Instruction | None:
    stripped = logical.strip()
    if not stripped:
        return None
    keyword, _, rest = stripped.partition(" ")
    if "\t" in keyword:
        keyword, _, more = keyword.partition("\t")
        rest = f"{more} {rest}".strip()
    keyword = keyword.upper()
    if keyword not in _INSTRUCTIONS:
        raise ComposeValidationError(
            f'The Dockerfile has an unknown instruction "{keyword}".',
            location=SourceLocation(file, line),
            key=keyword,
        )
    return Instruction(keyword, rest.strip(), line)


def _skip_heredocs(
    instruction: Instruction, lines: list[str], index: int, file: str
) -> int:
    for match in _HEREDOC.finditer(instruction.rest):
        strip_tabs, word = match.group(1) == "-", match.group(3)
        while True:
            if index >= len(lines):
                raise ComposeValidationError(
                    f'The heredoc "<<{word}" is never closed by a line "{word}".',
                    location=SourceLocation(file, instruction.line),
                )
            line = lines[index]
            index += 1
            if (line.lstrip("\t") if strip_tabs else line) == word:
                break
    return index
