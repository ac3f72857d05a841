from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.compose.yamlload import Tagged, load_yaml
from service.errors import (
    ComposeTopologyError,
    ComposeValidationError,
    LimitExceededError,
    SourceLocation,
    YamlSyntaxError,
)
from service.limits import Limits

LIMITS = Limits()


def load(text: str, limits: Limits = LIMITS) -> Any:
    return load_yaml(text, "compose.yaml", limits).data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"0755"', "0755"),
        ("'yes'", "yes"),
        ('"true"', "true"),
        ("!!str 123", "123"),
        ('!!int "12"', 12),
        ("!!float 1", 1.0),
        ("!!bool true", True),
        ("!!null ~", None),
        ("!!binary aGVsbG8=", "hello"),
        ("!foo bar", "bar"),
        ("! 12", "12"),
        ("|\n  text\n", "text\n"),
    ],
    ids=[
        "double-quoted",
        "single-quoted",
        "quoted-bool",
        "str-tag",
        "int-tag",
        "float-tag",
        "bool-tag",
        "null-tag",
        "binary-tag",
        "unknown-tag-ignored",
        "non-specific-tag",
        "block-literal",
    ],
)
def test_load_yaml_quoted_and_tagged_scalars_resolve(text: str, expected: Any) -> None:
    assert load(f"x: {text}")["x"] == expected


# --- structure ------------------------------------------------------------------


def test_load_yaml_merge_keys_explicit_keys_win() -> None:
    text = """
x-a: &a {image: a, command: from-a, user: a}
x-b: &b {command: from-b, working_dir: /b}
services:
  s:
    <<: [*a, *b]
    image: own
"""
    service = load(text)["services"]["s"]

    assert service == {
        "image": "own",
        "command": "from-a",
        "user": "a",
        "working_dir": "/b",
    }


def test_load_yaml_inline_merge_map_applies() -> None:
    assert load("s:\n  <<: {a: 1}\n  b: 2\n")["s"] == {"a": 1, "b": 2}


def test_load_yaml_alias_copies_are_independent() -> None:
    data = load("a: &x {k: [1]}\nb: *x\n")

    data["a"]["k"].append(2)

    assert data["b"] == {"k": [1]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("e: !reset {}", Tagged("!reset", {})),
        ("e: !reset null", Tagged("!reset", None)),
        ("e: !override [a]", Tagged("!override", ["a"])),
        ("e: !override {B: 2}", Tagged("!override", {"B": 2})),
    ],
    ids=["reset-map", "reset-null", "override-list", "override-map"],
)
def test_load_yaml_compose_tags_stay_tagged(text: str, expected: Tagged) -> None:
    assert load(text)["e"] == expected


def test_load_yaml_reset_key_gives_way_to_merge() -> None:
    # Compose drops a !reset key before applying << in the same mapping.
    text = "x: &a {env: {A: 1}}\ns:\n  <<: *a\n  env: !reset {}\n"

    assert load(text)["s"] == {"env": {"A": 1}}


def test_load_yaml_several_documents_are_kept_apart() -> None:
    document = load_yaml("services: {a: {}}\n---\nservices: {b: {}}\n", "c.yml", LIMITS)

    assert [part.data for part in document.documents] == [
        {"services": {"a": {}}},
        {"services": {"b": {}}},
    ]
    assert document.data == {"services": {"a": {}}}


@pytest.mark.parametrize(
    "text", ["", "# only a comment\n", "\n\n"], ids=["empty", "comment", "blank"]
)
def test_load_yaml_no_document_gives_none(text: str) -> None:
    document = load_yaml(text, "c.yml", LIMITS)

    assert document.data is None
    assert document.documents == ()


def test_load_yaml_positions_point_at_keys() -> None:
    text = "services:\n  web:\n    image: nginx\n    ports:\n      - 80:80\n"
    document = load_yaml(text, "c.yml", LIMITS)

    assert document.positions[("services", "web", "image")] == (3, 5)
    assert document.positions[("services", "web", "ports", 0)] == (5, 9)
    assert document.locate(("services", "web", "image")) == SourceLocation(
        "c.yml", 3, 5
    )


def test_locate_unknown_path_falls_back_to_ancestor() -> None:
    document = load_yaml("services:\n  web:\n    image: x\n", "c.yml", LIMITS)

    assert document.locate(("services", "web", "missing", 3)) == SourceLocation(
        "c.yml", 2, 3
    )


# --- errors -------------------------------------------------------------------

ERRORS = [
    ("services:\n  a:\n\timage: x\n", YamlSyntaxError, (3, 1), "tabs", "tab"),
    ('a: "x\n', YamlSyntaxError, None, "end of stream", "unterminated-quote"),
    ("services: [a\n", YamlSyntaxError, (2, 1), "expected ','", "unclosed-flow"),
    ("a: *nope\n", YamlSyntaxError, (1, 4), "*nope", "unknown-alias"),
    ("a: 1\na: 2\n", ComposeValidationError, (2, 1), "line 1", "duplicate-key"),
    ('"a": 1\na: 2\n', ComposeValidationError, (2, 1), '"a"', "duplicate-quoted"),
    ("a: {<<: {b: 1}, <<: {c: 1}}\n", ComposeValidationError, None, "<<", "dup-merge"),
    ("a:\n  <<: 5\n", ComposeValidationError, (2, 7), "<<", "merge-scalar"),
    ("a:\n  <<: [1]\n", ComposeValidationError, (2, 7), "<<", "merge-list-scalar"),
    ("1: x\n", ComposeValidationError, (1, 1), "number", "int-key"),
    ("a:\n  true: x\n", ComposeValidationError, (2, 3), "boolean", "bool-key"),
    ("a:\n  null: x\n", ComposeValidationError, (2, 3), "null", "null-key"),
    ("a:\n  2001-12-14: x\n", ComposeValidationError, (2, 3), "date", "date-key"),
    ("? [1]\n: 2\n", ComposeValidationError, (1, 3), "list", "complex-key"),
    ("- a\n", ComposeValidationError, (1, 1), "mapping", "list-root"),
    ('"text"\n', ComposeValidationError, (1, 1), "mapping", "scalar-root"),
    ("null\n", ComposeValidationError, (1, 1), "mapping", "null-root"),
    ("---\n---\n", ComposeValidationError, None, "mapping", "empty-documents"),
    ("a: !!int abc\n", ComposeValidationError, (1, 4), "!!int", "bad-int-tag"),
    ("a: !!binary '*'\n", ComposeValidationError, (1, 4), "base64", "bad-binary"),
    ("a: !!seq {}\n", ComposeValidationError, (1, 4), "!!seq", "tag-mismatch"),
    ("a: \x00\n", YamlSyntaxError, (1, 4), "U+0000", "nul-byte"),
    ("a: \ud800\n", YamlSyntaxError, None, "UTF-8", "lone-surrogate"),
]


@pytest.mark.parametrize(
    ("text", "error", "place", "words"),
    [case[:4] for case in ERRORS],
    ids=[case[4] for case in ERRORS],
)
def test_load_yaml_bad_input_raises_our_error(
    text: str, error: type[Exception], place: tuple[int, int] | None, words: str
) -> None:
    with pytest.raises(error) as caught:
        load(text)

    assert isinstance(caught.value, ComposeTopologyError)
    assert words in caught.value.message
    assert caught.value.location is not None
    assert caught.value.location.file == "compose.yaml"
    if place is not None:
        assert (caught.value.location.line, caught.value.location.column) == place


def billion_laughs(levels: int = 9) -> str:
    text = "a: &a [" + ", ".join(['"lol"'] * 9) + "]\n"
    previous = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


def test_load_yaml_billion_laughs_refused_fast() -> None:
    started = time.perf_counter()

    with pytest.raises(LimitExceededError) as caught:
        load(billion_laughs())

    assert time.perf_counter() - started < 5.0  # an expanded bomb would take minutes
    assert caught.value.limit == "max_alias_expansions"
    assert caught.value.location is not None
    assert caught.value.location.line is not None


def test_load_yaml_modest_aliases_within_limit_load() -> None:
    data = load(billion_laughs(levels=3))

    assert len(data["c"]) == 9
    assert data["c"][0][0] == ["lol"] * 9


@pytest.mark.parametrize(
    ("text", "limits", "limit"),
    [
        ("a: " + "[" * 100_000, LIMITS, "max_yaml_depth"),
        ("a: " + "[" * 10 + "]" * 10, Limits(max_yaml_depth=5), "max_yaml_depth"),
        ("a: [" + "1," * 50 + "]", Limits(max_yaml_nodes=20), "max_yaml_nodes"),
        ("a: &a [1, 2]\nb: [*a, *a, *a]\n", Limits(max_alias_expansions=5), None),
    ],
    ids=["deep-flow", "configured-depth", "node-count", "alias-count"],
)
def test_load_yaml_over_limit_raises(
    text: str, limits: Limits, limit: str | None
) -> None:
    with pytest.raises(LimitExceededError) as caught:
        load(text, limits)

    assert caught.value.limit == (limit or "max_alias_expansions")


@pytest.mark.parametrize(
    "text",
    [
        bytes(range(256)).decode("latin-1"),
        "\ufeffservices: {}\n",
        "a: " + "x" * 200_000,
        "%YAML 1.2\n---\na: 1\n",
        "%TAG ! tag:example.com,2000:\n---\na: !x 1\n",
        "a: &x 1\n---\nb: *x\n",
        "{a: 1, b: [1, {c: d}]}",
        "a: |\n\tliteral tab\n",
    ],
    ids=[
        "binary-junk",
        "bom",
        "huge-scalar",
        "yaml-1.2-directive",
        "tag-directive",
        "anchor-from-other-document",
        "flow-root",
        "tab-in-block-scalar",
    ],
)
def test_load_yaml_ugly_input_raises_only_our_errors(text: str) -> None:
    try:
        load(text)
    except ComposeTopologyError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!<>|'\"#,?\n\t 01~.%@`"))))
def test_load_yaml_any_text_raises_only_our_errors(text: str) -> None:
    try:
        load_yaml(text, "fuzz.yml", LIMITS)
    except ComposeTopologyError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_load_yaml_any_unicode_raises_only_our_errors(text: str) -> None:
    try:
        load_yaml(text, "fuzz.yml", LIMITS)
    except ComposeTopologyError:
        pass
