"""Read the words of a Dockerfile instruction and substitute ``$VAR`` in them.

Docker's builder does not use a shell for ``ENV``, ``ARG``, ``WORKDIR``,
``USER``, ``EXPOSE`` and ``FROM``: it splits the text on unquoted
whitespace itself, then removes quotes and escapes and substitutes
variables with a small shell-like language of its own. That language is
here: ``$VAR``, ``${VAR}``, the ``:-``, ``-``, ``:+``, ``+``, ``:?`` and
``?`` modifiers, and the ``#``, ``##``, ``%``, ``%%``, ``/`` and ``//``
pattern forms. Single quotes keep ``$`` literal; the escape character is the
one the Dockerfile's directive chose.
"""

from __future__ import annotations

import fnmatch
import re

from service.types import Lookup

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_OR_DIGIT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]")
_MODIFIER = re.compile(r":?[-+?]|##?|%%?|//?")


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes in each word."""
    words: list[str] = []
    current: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if char == escape and index + 1 < len(text) and quote != "'":
            current.append(text[index : index + 2])
            index += 2
            continue
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char.isspace():
            if current:
                words.append("".join(current))
                current = []
            index += 1
            continue
        current.append(char)
        index += 1
    if current:
        words.append("".join(current))
    return words


def process_word(text: str, lookup: Lookup, escape: str = "\\") -> str:
    """Remove quotes and escapes from ``text`` and substitute ``$VAR`` as Docker does.

    Raises ``ValueError`` for an unclosed quote or ``${`` and for a
    ``${VAR?message}`` whose variable is unset.
    """
    return _WordProcessor(text, lookup, escape).run()


class _WordProcessor:
    def __init__(self, text: str, lookup: Lookup, escape: str) -> None:
        self.text = text
        self.lookup = lookup
        self.escape = escape
        self.index = 0

    def run(self, stop: str = "") -> str:
        out: list[str] = []
        while self.index < len(self.text):
            char = self.text[self.index]
            if stop and char == stop:
                return "".join(out)
            self.index += 1
            if char == self.escape:
                out.append(self._escaped())
            elif char == "'":
                out.append(self._single_quoted())
            elif char == '"':
                out.append(self._double_quoted())
            elif char == "$":
                out.append(self._variable())
            else:
                out.append(char)
        if stop:
            raise ValueError(f'missing "{stop}"')
        return "".join(out)

    def _escaped(self) -> str:
        if self.index >= len(self.text):
            return ""
        char = self.text[self.index]
        self.index += 1
        return char

    def _single_quoted(self) -> str:
        end = self.text.find("'", self.index)
        if end < 0:
            raise ValueError("a single quote is not closed")
        value = self.text[self.index : end]
        self.index = end + 1
        return value

    def _double_quoted(self) -> str:
        out: list[str] = []
        while self.index < len(self.text):
            char = self.text[self.index]
            self.index += 1
            if char == '"':
                return "".join(out)
            if char == self.escape and self.index < len(self.text):
                following = self.text[self.index]
                if following in ('"', "$", self.escape):
                    out.append(following)
                    self.index += 1
                    continue
            if char == "$":
                out.append(self._variable())
                continue
            out.append(char)
        raise ValueError("a double quote is not closed")

    def _variable(self) -> str:
        if self.text.startswith("{", self.index):
            self.index += 1
            return self._braced()
        match = _NAME_OR_DIGIT.match(self.text, self.index)
        if match is None:
            return "$"
        self.index = match.end()
        return self.lookup(match.group()) or ""

    def _braced(self) -> str:
        match = _NAME.match(self.text, self.index)
        if match is None:
            raise ValueError("${ is not followed by a variable name")
        name = match.group()
        self.index = match.end()
        value = self.lookup(name)
        if self.text.startswith("}", self.index):
            self.index += 1
            return value or ""

        operator_match = _MODIFIER.match(self.text, self.index)
        if self.index >= len(self.text):
            raise ValueError(f'missing "}}" after ${{{name}')
        if operator_match is None:
            raise ValueError(f"bad substitution after ${{{name}")
        operator = operator_match.group()
        self.index = operator_match.end()
        word = self.run(stop="}")
        self.index += 1
        if operator[0] in "#%/":
            return _apply_pattern(value or "", operator, word)
        return _apply_modifier(name, value, operator, word)


def _apply_pattern(value: str, operator: str, word: str) -> str:
    """Apply the shell's ``#``/``%`` trimming and ``/`` replacement (glob patterns)."""
    if operator in ("#", "##"):
        return _trim_prefix(value, word, longest=operator == "##")
    if operator in ("%", "%%"):
        return _trim_suffix(value, word, longest=operator == "%%")
    pattern, _, replacement = word.partition("/")
    if not pattern:
        return value
    body = fnmatch.translate(pattern).removeprefix("(?s:").removesuffix(")\\Z")
    regex = re.compile(body, re.S)
    count = 0 if operator == "//" else 1
    return regex.sub(lambda _: replacement, value, count=count)


def _trim_prefix(value: str, pattern: str, *, longest: bool) -> str:
    cuts = range(len(value) + 1)
    for cut in reversed(cuts) if longest else cuts:
        if fnmatch.fnmatchcase(value[:cut], pattern):
            return value[cut:]
    return value


def _trim_suffix(value: str, pattern: str, *, longest: bool) -> str:
    cuts = range(len(value), -1, -1)
    for cut in reversed(cuts) if longest else cuts:
        if fnmatch.fnmatchcase(value[cut:], pattern):
            return value[:cut]
    return value


def _apply_modifier(name: str, value: str | None, operator: str, word: str) -> str:
    present = bool(value) if operator.startswith(":") else value is not None
    if operator.endswith("-"):
        return value if present and value is not None else word
    if operator.endswith("+"):
        return word if present else ""
    if not present:
        raise ValueError(f"{name}: {word or 'is not set'}")
    return value or ""
