"""Turn untrusted Compose text into safe DOT: HTML-like labels and quoted strings.

Every name and value in a compose file comes from whoever wrote it. Two
escapes keep it inert. Text inside an HTML-like label is entity-escaped, so
``<`` can neither close the label nor open a tag. Text in a quoted DOT
attribute (tooltips) has its quote and backslashes escaped for both the DOT
lexer and Graphviz's own backslash sequences such as ``\\N``, and ``&``, ``<``
and ``>`` written as entities, which Graphviz's SVG writer passes through, so
it never mistakes input for an entity and the DOT text holds no raw markup.
Characters that XML cannot carry are replaced before either escape.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NewType

ELLIPSIS = "\u2026"
REPLACEMENT = "\ufffd"

#: Unicode bidirectional controls, which can make text read differently from
#: what it is (the "trojan source" trick).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: The control characters of ASCII other than tab and newline: the only
#: characters of ASCII that ``clean_text`` replaces.
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

#: Markup that is already safe to place inside an HTML-like label. A type
#: only: at run time it is the ``str`` itself, so marking text costs nothing.
Html = NewType("Html", str)


def clean_text(text: str) -> str:
    """Return ``text`` with characters XML cannot hold replaced, newlines kept.

    Nearly every label needs no change: text that ``str.isprintable`` accepts
    has no character of the categories Other or Separator (bidirectional
    controls are Other, format), and ASCII with no control character but tab
    and newline has none that is replaced. Such text is returned as it is,
    without looking up each character's category.
    """
    if text.isprintable():
        return text
    if text.isascii() and _ASCII_CONTROLS.search(text) is None:
        return text
    return "".join(_clean_char(char) for char in text)


def _clean_char(char: str) -> str:
    if char in "\n\t":
        return char
    if char in _BIDI_CONTROLS:
        return REPLACEMENT
    category = unicodedata.category(char)
    if category in ("Cc", "Cs", "Co", "Cn"):
        return REPLACEMENT
    if char in "\ufffe\uffff":
        return REPLACEMENT
    return char


def shorten(text: str, limit: int) -> str:
    """Return ``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    if not text.isprintable():
        text = " ".join(clean_text(text).split())
    elif " " in text:
        # The plain space is the only whitespace ``isprintable`` accepts, so
        # a printable word (a name, a key, an image) is already one line.
        text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def escape_html(text: str) -> Html:
    """Return ``text`` escaped for an HTML-like label (content or attribute)."""
    if not text.isprintable():
        text = clean_text(text)
    return _escape_clean_html(text)


def html_text(text: str, limit: int) -> Html:
    """Return ``text`` shortened to ``limit`` characters and escaped for a label."""
    # ``shorten`` has cleaned the text already; it is escaped without a second look.
    return _escape_clean_html(shorten(text, limit))


def _escape_clean_html(text: str) -> Html:
    # Most labels hold none of these characters. Testing for each is cheaper
    # than a regular expression or a translation table (whose per-character
    # lookups cost more than five replacements), and makes no new string.
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        text = (
            text.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
            .replace("'", "&#39;")
        )
    return Html(text)


def quote(text: str) -> str:
    """Return ``text`` as a double-quoted DOT string whose content Graphviz shows as is.

    The DOT lexer turns ``\\\\`` into one backslash and Graphviz's escape
    strings turn the next pair into one again, hence four for one.
    """
    escaped = (
        clean_text(text)
        .replace("\\", "\\\\\\\\")
        .replace('"', '\\"')
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\t", " ")
        .replace("\n", "\\n")
    )
    return f'"{escaped}"'


def quote_trusted(text: str) -> str:
    """Return a double-quoted DOT string for text we wrote ourselves (ids, colours)."""
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
