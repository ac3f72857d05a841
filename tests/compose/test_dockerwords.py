from __future__ import annotations

import re

import pytest

from service.compose.dockerwords import process_word, split_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${V#*/}", "b/a"),
        ("${V##*/}", "a"),
        ("${V%/*}", "a/b"),
        ("${V%%/*}", "a"),
        ("${V/a/X}", "X/b/a"),
        ("${V//a/X}", "X/b/X"),
        ("${V:+set}", "set"),
        ("${NOPE+set}", ""),
        ("$V$", "a/b/a$"),
        ("\"$V\" '$V'", "a/b/a $V"),
    ],
    ids=[
        "prefix",
        "long-prefix",
        "suffix",
        "long-suffix",
        "replace",
        "replace-all",
        "alternative",
        "alternative-unset",
        "trailing-dollar",
        "quotes",
    ],
)
def test_process_word_shell_forms(text: str, expected: str) -> None:
    assert process_word(text, {"V": "a/b/a"}.get) == expected


def test_split_words_keeps_quoted_spaces() -> None:
    assert split_words("A=\"x y\" B='p q' C=r\\ s") == ['A="x y"', "B='p q'", "C=r\\ s"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("'open", "single quote"),
        ('"open', "double quote"),
        ("${", "variable name"),
        ("${V", 'missing "}"'),
        ("${NOPE?needed}", "NOPE: needed"),
        ("${NOPE:?}", "NOPE: is not set"),
    ],
    ids=["single", "double", "no-name", "no-brace", "required", "required-empty"],
)
def test_process_word_malformed_raises_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        process_word(text, {"V": "v"}.get)


def test_process_word_backtick_escape_keeps_backslash() -> None:
    assert process_word("C:\\app`$V", {"V": "v"}.get, escape="`") == "C:\\app$V"
