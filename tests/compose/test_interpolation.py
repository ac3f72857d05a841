from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.compose.interpolation import (
    SERVICE_CASTS,
    TOP_LEVEL_CASTS,
    Caster,
    CastIndex,
    format_path,
    interpolate,
    iter_unset_messages,
    substitute,
)
from service.compose.yamlload import Tagged, Timestamp, load_yaml
from service.errors import ComposeTopologyError, InterpolationError, SourceLocation
from service.limits import Limits
from service.types import NodePath
from tests.compose.reference import run_compose

ENV = {"SET": "v", "EMPTY": "", "PORT": "8080", "FLAG": "true"}
HERE = SourceLocation("compose.yaml", 4, 7)


def nowhere(path: NodePath) -> SourceLocation:
    return SourceLocation("compose.yaml")


# Each row: template, expected value, expected unset names, id. Every row
# was checked against Docker Compose v2.40.3 (see the reference test below).
TEMPLATES = [
    ("$SET", "v", [], "dollar-name"),
    ("${SET}", "v", [], "braced"),
    ("plain text", "plain text", [], "no-reference"),
    ("${UNSET:-d}", "d", [], "colon-default-unset"),
    ("${EMPTY:-d}", "d", [], "colon-default-empty"),
    ("${EMPTY-d}", "", [], "default-empty-kept"),
    ("${UNSET-d}", "d", [], "default-unset"),
    ("${SET:+alt}", "alt", [], "colon-alt-set"),
    ("${EMPTY:+alt}", "", [], "colon-alt-empty"),
    ("${EMPTY+alt}", "alt", [], "alt-empty-is-set"),
    ("${UNSET+alt}", "", [], "alt-unset"),
    ("${UNSET:-${SET:-x}}", "v", [], "nested-default-set"),
    ("${UNSET:-${UNSET2:-x}}", "x", [], "nested-default-unset"),
    ("${UNSET:-${A:-${B}}}}", "}", ["B"], "deep-nesting-extra-brace"),
    ("$$SET", "$SET", [], "escaped-dollar"),
    ("$$$SET", "$v", [], "escape-then-variable"),
    ("a$SET-b", "av-b", [], "name-stops-at-dash"),
    ("$SET_x", "", ["SET_x"], "name-takes-underscore"),
    ("${UNSET:-a}b}", "ab}", [], "first-brace-closes"),
    ("$1", "$1", [], "digit-after-dollar-literal"),
    ("$", "$", [], "lone-dollar-literal"),
    ("a $ b", "a $ b", [], "spaced-dollar-literal"),
    ("$-x", "$-x", [], "dash-after-dollar-literal"),
    ("${UNSET:-$SET}", "v", [], "unbraced-in-default"),
    ("${SET:+${UNSET:-y}}", "y", [], "nested-alt"),
    ("${UNSET:-}", "", [], "empty-default"),
    ("${UNSET:-a:b}", "a:b", [], "colon-in-default"),
    ("${UNSET:-{a}}", "{a}", [], "plain-brace-in-default"),
    ("${UNSET:-$$}", "$", [], "escape-in-default"),
    ("${SET:-${UNSETW}}", "v", ["UNSETW"], "unused-default-still-warns"),
    ("${UNSET:-a${UNSETZ}b}", "ab", ["UNSETZ"], "unset-inside-default"),
    ("${SET:-x}}}", "v}}", [], "trailing-braces"),
    ("$$}", "$}", [], "escape-then-brace"),
    ("${A}}", "}", ["A"], "unset-then-brace"),
    ("${EMPTY?ok}", "", [], "question-empty-is-set"),
    ("${SET:?${UNSET:-e}}", "v", [], "required-set"),
    ("${set}", "", ["set"], "names-are-case-sensitive"),
    ("${SET:-a}${SET}", "vv", [], "two-references"),
    ("$SET$SET", "vv", [], "adjacent-references"),
    ("${UNSET:-'q'}", "'q'", [], "quotes-kept"),
    ("x${UNSET:-}y", "xy", [], "empty-default-middle"),
]


@pytest.mark.parametrize(
    ("template", "expected", "unset"),
    [row[:3] for row in TEMPLATES],
    ids=[row[3] for row in TEMPLATES],
)
def test_substitute_template_gives_compose_value(
    template: str, expected: str, unset: list[str]
) -> None:
    value, unset_names = substitute(template, ENV.get, HERE)

    assert value == expected
    assert unset_names == unset


# Each row: template, the text the error must quote, id.
INVALID = [
    ("${}", "${}", "empty-braces"),
    ("${VAR", "${VAR", "unclosed"),
    ("${A B}", "${A B}", "space-in-name"),
    ("${1A}", "${1A}", "digit-first"),
    ("${A:=x}", "${A:=x}", "assign-operator"),
    ("${A:x}", "${A:x}", "bare-colon"),
    ("${A!}", "${A!}", "bang"),
    ("${ A}", "${ A}", "leading-space"),
    ("${A.B}", "${A.B}", "dot-in-name"),
    ("${A:-${B}", "${B", "unclosed-inner"),
    ("${SET:-${}}", "${}", "invalid-unused-default"),
    ("a ${} b", "a ${} b", "invalid-in-middle"),
    ("${SET}text${", "${SET}text${", "trailing-open"),
]


@pytest.mark.parametrize(
    ("template", "quoted"),
    [row[:2] for row in INVALID],
    ids=[row[2] for row in INVALID],
)
def test_substitute_invalid_template_raises_with_text(
    template: str, quoted: str
) -> None:
    with pytest.raises(InterpolationError) as caught:
        substitute(template, ENV.get, HERE, where="services.a.image")

    assert f'"{quoted}"' in caught.value.message
    assert "services.a.image" in caught.value.message
    assert caught.value.location == HERE


REQUIRED = [
    ("a ${UNSET:?must be set} b", "UNSET", "must be set", "colon-unset"),
    ("${EMPTY:?}", "EMPTY", "is empty", "colon-empty-no-message"),
    ("${UNSET?msg here}", "UNSET", "msg here", "plain-unset"),
    ("${UNSET:-${X:?inner}}", "X", "inner", "inside-default"),
    ("${EMPTY:?${UNSET:-dyn}}", "EMPTY", "dyn", "message-is-substituted"),
]


@pytest.mark.parametrize(
    ("template", "name", "words"),
    [row[:3] for row in REQUIRED],
    ids=[row[3] for row in REQUIRED],
)
def test_substitute_required_variable_missing_raises(
    template: str, name: str, words: str
) -> None:
    with pytest.raises(InterpolationError) as caught:
        substitute(template, ENV.get, HERE, where="services.a.image")

    assert f'"{name}"' in caught.value.message
    assert words in caught.value.message
    assert caught.value.key == "services.a.image"


def test_interpolate_values_not_keys() -> None:
    data = {"x-$SET": {"$SET": "$SET"}, "services": {"a": {"labels": {"$SET": "k"}}}}

    result = interpolate(data, ENV.get, nowhere)

    assert result.data == {
        "x-$SET": {"$SET": "v"},
        "services": {"a": {"labels": {"$SET": "k"}}},
    }


def test_interpolate_leaves_non_strings_alone() -> None:
    stamp = Timestamp("2001-12-14T00:00:00Z")
    data = {"a": [1, 2.5, True, None, stamp], "b": Tagged("!reset", "$SET")}

    result = interpolate(data, ENV.get, nowhere)

    assert result.data == {"a": [1, 2.5, True, None, stamp], "b": Tagged("!reset", "v")}


def test_interpolate_unset_reports_first_place_once() -> None:
    text = "services:\n  a:\n    image: $NOPE\n    command: [$NOPE, $OTHER]\n"
    document = load_yaml(text, "compose.yaml", Limits())

    result = interpolate(document.data, ENV.get, document.locate)

    assert result.unset == (
        ("NOPE", SourceLocation("compose.yaml", 3, 5)),
        ("OTHER", SourceLocation("compose.yaml", 4, 22)),
    )
    assert [message for message, _ in iter_unset_messages(result)] == [
        'The "NOPE" variable is not set. Defaulting to a blank string.',
        'The "OTHER" variable is not set. Defaulting to a blank string.',
    ]


def test_interpolate_error_names_place_and_path() -> None:
    text = "services:\n  web:\n    ports:\n      - ${P:?give a port}\n"
    document = load_yaml(text, "compose.yaml", Limits())

    with pytest.raises(InterpolationError) as caught:
        interpolate(document.data, ENV.get, document.locate)

    assert caught.value.location == SourceLocation("compose.yaml", 4, 9)
    assert "services.web.ports[0]" in caught.value.message


CASTS = [
    ({"scale": "3"}, ("scale",), 3, "scale"),
    ({"scale": "${N:-2}"}, ("scale",), 2, "scale-from-default"),
    ({"deploy": {"replicas": "${N:-4}"}}, ("deploy", "replicas"), 4, "replicas"),
    ({"read_only": "TRUE"}, ("read_only",), True, "upper-bool"),
    ({"read_only": "$FLAG"}, ("read_only",), True, "bool-from-variable"),
    ({"tty": "false"}, ("tty",), False, "false"),
    ({"cpus": "1.5"}, ("cpus",), 1.5, "float"),
    ({"ports": [{"target": "80"}]}, ("ports", 0, "target"), 80, "port-target"),
    ({"ports": [{"published": "${PORT}"}]}, ("ports", 0, "published"), "8080", "pub"),
    ({"ulimits": {"nofile": "10"}}, ("ulimits", "nofile"), 10, "ulimit"),
    ({"ulimits": {"nofile": {"soft": "5"}}}, ("ulimits", "nofile", "soft"), 5, "soft"),
    ({"shm_size": "${X:-1g}"}, ("shm_size",), "1g", "size-stays-string"),
    ({"image": "3"}, ("image",), "3", "image-stays-string"),
]


@pytest.mark.parametrize(
    ("service", "path", "expected"),
    [row[:3] for row in CASTS],
    ids=[row[3] for row in CASTS],
)
def test_interpolate_casts_like_compose(
    service: dict[str, Any], path: NodePath, expected: Any
) -> None:
    result = interpolate({"services": {"a": service}}, ENV.get, nowhere)

    value: Any = result.data["services"]["a"]
    for step in path:
        value = value[step]
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("yes", True), ("y", True), ("on", True), ("no", False), ("OFF", False)],
    ids=["yes", "y", "on", "no", "upper-off"],
)
def test_interpolate_legacy_boolean_casts_with_warning(
    text: str, expected: bool
) -> None:
    result = interpolate({"services": {"a": {"init": text}}}, ENV.get, nowhere)

    assert result.data["services"]["a"]["init"] is expected
    assert len(result.warnings) == 1
    assert "YAML 1.2" in result.warnings[0][0]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"services": {"a": {"read_only": "1"}}}, "true or false"),
        ({"services": {"a": {"scale": " 3"}}}, "whole number"),
        ({"services": {"a": {"scale": "3.0"}}}, "whole number"),
        ({"services": {"a": {"cpus": "lots"}}}, "a number"),
        ({"networks": {"n": {"internal": "maybe"}}}, "true or false"),
    ],
    ids=["bool-digit", "int-space", "int-decimal", "float-word", "network-flag"],
)
def test_interpolate_bad_cast_raises(data: dict[str, Any], words: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        interpolate(data, ENV.get, nowhere)

    assert words in caught.value.message


def test_interpolate_without_cast_keeps_strings() -> None:
    result = interpolate(
        {"services": {"a": {"scale": "3"}}}, ENV.get, nowhere, cast=False
    )

    assert result.data == {"services": {"a": {"scale": "3"}}}


def scan_casts(
    table: Mapping[tuple[str, ...], Caster], path: NodePath
) -> Caster | None:
    """Find a caster the slow, obvious way: every pattern, in table order."""
    for pattern, caster in table.items():
        if len(pattern) == len(path) and all(
            step_matches(word, step) for word, step in zip(pattern, path, strict=True)
        ):
            return caster
    return None


def step_matches(word: str, step: str | int) -> bool:
    if word == "[]":
        return isinstance(step, int)
    if word == "*":
        return isinstance(step, str)
    return word == step


# Steps a path is drawn from: every word of the tables (wildcards included,
# as literal keys a file could use), list indices, and keys no pattern names.
PATH_STEPS: list[str | int] = sorted(
    {word for table in (SERVICE_CASTS, TOP_LEVEL_CASTS) for p in table for word in p}
    | {"x", "services"}
) + [0, 1]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(PATH_STEPS), max_size=5).map(tuple))
def test_cast_index_finds_what_a_table_scan_finds(path: NodePath) -> None:
    for table in (SERVICE_CASTS, TOP_LEVEL_CASTS):
        assert CastIndex(table).find(path) is scan_casts(table, path)


@pytest.mark.parametrize(
    "path",
    [
        ("ports", 0, "target"),
        ("ulimits", "nofile"),
        ("ulimits", "nofile", "soft"),
        ("volumes", 3, "volume", "nocopy"),
        ("deploy", "update_config", "max_failure_ratio"),
    ],
    ids=["list-item", "any-key", "any-key-then-key", "deep", "shared-first-key"],
)
def test_cast_index_service_paths_find_their_caster(path: NodePath) -> None:
    found = CastIndex(SERVICE_CASTS).find(path)

    assert found is not None
    assert found is scan_casts(SERVICE_CASTS, path)


@pytest.mark.parametrize(
    "path",
    [
        (),
        ("image",),
        ("ports", "0", "target"),
        ("ulimits", 0),
        ("deploy", "replicas", "x"),
    ],
    ids=["empty", "unknown-key", "key-for-index", "index-for-key", "too-long"],
)
def test_cast_index_path_no_pattern_matches_finds_none(path: NodePath) -> None:
    assert CastIndex(SERVICE_CASTS).find(path) is None


def test_cast_index_overlapping_patterns_first_in_table_wins() -> None:
    def first(text: str, path: NodePath, walker: Any) -> str:
        return "first"

    def second(text: str, path: NodePath, walker: Any) -> str:
        return "second"

    index = CastIndex({("a", "*"): first, ("a", "b"): second})

    assert index.find(("a", "b")) is first


@pytest.mark.parametrize(
    "pattern", [(), ("*", "a"), ("[]",)], ids=["empty", "any-key", "list-item"]
)
def test_cast_index_pattern_without_leading_key_raises(
    pattern: tuple[str, ...],
) -> None:
    with pytest.raises(ValueError, match="must start with a key"):
        CastIndex({pattern: lambda text, path, walker: text})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), ""),
        (("services", "web", "ports", 0, "target"), "services.web.ports[0].target"),
    ],
    ids=["root", "nested"],
)
def test_format_path_reads_naturally(path: NodePath, expected: str) -> None:
    assert format_path(path) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("${}:-+?AB_1 $x'\"\\"))))
def test_substitute_any_text_raises_only_our_errors(text: str) -> None:
    try:
        value, _ = substitute(text, ENV.get, HERE)
    except ComposeTopologyError:
        return
    assert isinstance(value, str)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="$")))
def test_substitute_text_without_dollar_is_unchanged(text: str) -> None:
    assert substitute(text, ENV.get, HERE) == (text, [])


# --- against the reference ---------------------------------------------------


def run_reference(text: str, env: dict[str, str]) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "compose.yaml").write_text(text, encoding="utf-8")
        args = ["-f", "compose.yaml", "config", "--format", "json"]
        completed = run_compose(args, Path(folder), env)
    return completed.returncode, completed.stdout, completed.stderr


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.mark.reference
def test_substitute_templates_match_reference() -> None:
    lines = [f"      e{n}: {quoted(row[0])}" for n, row in enumerate(TEMPLATES)]
    text = "services:\n  a:\n    image: x\n    environment:\n" + "\n".join(lines)

    code, stdout, stderr = run_reference(text + "\n", ENV)

    assert code == 0, stderr
    environment = json.loads(stdout)["services"]["a"]["environment"]
    reference = {key: value.replace("$$", "$") for key, value in environment.items()}
    ours = {
        f"e{n}": substitute(row[0], ENV.get, HERE)[0] for n, row in enumerate(TEMPLATES)
    }
    assert ours == reference
    warned = {line.split('\\"')[1] for line in stderr.splitlines() if "not set" in line}
    assert warned == {name for row in TEMPLATES for name in row[2]}


@pytest.mark.reference
@pytest.mark.parametrize(
    "template",
    [row[0] for row in INVALID + REQUIRED],
    ids=[row[-1] for row in INVALID + REQUIRED],
)
def test_substitute_errors_match_reference(template: str) -> None:
    head = "services:\n  a:\n    image: x\n    environment:\n"
    text = f"{head}      e: {quoted(template)}\n"

    code, _, _ = run_reference(text, ENV)

    assert code != 0
