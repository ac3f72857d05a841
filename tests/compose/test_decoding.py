"""How Compose reads durations, sizes, booleans and command lines from text.

Every expected value here was checked against ``docker compose config``.
"""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.compose.decoding import (
    _split_shell_words,
    check_values,
    parse_command_line,
    parse_duration,
    parse_size,
    read_boolean,
)
from service.errors import ComposeValidationError, SourceLocation
from service.types import NodePath

SECOND = Decimal(10**9)


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        pytest.param("1m30s", 90 * SECOND, id="minutes-seconds"),
        pytest.param("1.5h", 5400 * SECOND, id="fraction"),
        pytest.param("2d", 172800 * SECOND, id="days"),
        pytest.param("1w", 604800 * SECOND, id="weeks"),
        pytest.param("-1s", SECOND, id="negative-sign-kept-out"),
        pytest.param("0", Decimal(0), id="bare-zero"),
        pytest.param("+0", Decimal(0), id="signed-zero"),
        pytest.param(".5s", SECOND / 2, id="leading-point"),
        pytest.param("5.s", 5 * SECOND, id="trailing-point"),
        pytest.param("1h1h", 7200 * SECOND, id="repeated-unit"),
        pytest.param("1\u00b5s", Decimal(1000), id="micro-sign"),
        pytest.param("10", None, id="no-unit"),
        pytest.param("", None, id="empty"),
        pytest.param("1y", None, id="years"),
        pytest.param("1h30", None, id="trailing-number"),
        pytest.param(" 1s", None, id="leading-space"),
        pytest.param("1S", None, id="capital-unit"),
        pytest.param("00", None, id="double-zero"),
        pytest.param(".s", None, id="no-digits"),
        pytest.param("1e3s", None, id="exponent"),
        pytest.param("9999999999h", None, id="overflow"),
    ],
)
def test_parse_duration_as_compose(text: str, nanoseconds: Decimal | None) -> None:
    parsed = parse_duration(text)

    assert parsed == (None if nanoseconds is None else abs(nanoseconds))


@pytest.mark.parametrize(
    ("text", "size"),
    [
        pytest.param("100", 100.0, id="bytes"),
        pytest.param("1g", 1024.0**3, id="gigabytes"),
        pytest.param("1.5GB", 1.5 * 1024**3, id="fraction-with-b"),
        pytest.param("1kib", 1024.0, id="kib"),
        pytest.param("1 g", 1024.0**3, id="space-before-unit"),
        pytest.param("1B", 1.0, id="plain-b"),
        pytest.param("1e3", 1000.0, id="exponent"),
        pytest.param("1_0", 10.0, id="underscore"),
        pytest.param("", None, id="empty"),
        pytest.param("-1", None, id="negative"),
        pytest.param("1.2.3m", None, id="two-points"),
        pytest.param("1bb", None, id="double-b"),
        pytest.param("1E", None, id="exa-unknown"),
        pytest.param(" 1g", None, id="leading-space"),
        pytest.param("1gi", None, id="i-without-b"),
        pytest.param("0x10", None, id="hex"),
    ],
)
def test_parse_size_as_compose(text: str, size: float | None) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("a 'b c' \"d e\"", ["a", "b c", "d e"], id="quotes"),
        pytest.param("a && b", ["a"], id="and-ends-command"),
        pytest.param("a;b", ["a"], id="semicolon-ends-command"),
        pytest.param("a|b", ["a"], id="pipe-ends-command"),
        pytest.param("a 2>x", ["a"], id="stream-number-dropped"),
        pytest.param("a1>x", ["a1"], id="word-before-redirect-kept"),
        pytest.param('echo "a\\nb"', ["echo", "anb"], id="backslash-in-double-quotes"),
        pytest.param(
            "echo 'a\\nb'", ["echo", "a\\nb"], id="backslash-in-single-quotes"
        ),
        pytest.param("a\\ b", ["a b"], id="escaped-space"),
        pytest.param("a ''", ["a", ""], id="empty-quoted-word"),
        pytest.param("a # b", ["a", "#", "b"], id="hash-is-a-word"),
        pytest.param("a $(b c) d", ["a", "$(b c)", "d"], id="dollar-parens-kept"),
        pytest.param("a `b c` d", ["a", "`b c`", "d"], id="backticks-kept"),
        pytest.param('"a;b"', ["a;b"], id="quoted-semicolon"),
        pytest.param("", [], id="empty"),
        pytest.param("echo 'x", None, id="open-single-quote"),
        pytest.param('echo "x', None, id="open-double-quote"),
        pytest.param("echo `x", None, id="open-backtick"),
        pytest.param("echo $(x", None, id="open-dollar-parens"),
        pytest.param("a (b", None, id="bare-parenthesis"),
        pytest.param("a\\", None, id="trailing-backslash"),
    ],
)
def test_parse_command_line_as_compose(text: str, words: list[str] | None) -> None:
    assert parse_command_line(text) == words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(
            "celery -A apis worker", ["celery", "-A", "apis", "worker"], id="words"
        ),
        pytest.param(" a\t\tb\r\nc ", ["a", "b", "c"], id="runs-of-blanks"),
        pytest.param("a\x0bb\xa0c", ["a\x0bb\xa0c"], id="other-spaces-in-words"),
        pytest.param("echo $HOME ${X}", ["echo", "$HOME", "${X}"], id="dollar-kept"),
        pytest.param("   ", [], id="only-blanks"),
    ],
)
def test_parse_command_line_plain_words_split_at_blanks(
    text: str, words: list[str]
) -> None:
    assert parse_command_line(text) == words


# Text of plain characters and blanks (the four the splitter ends words at,
# and other spaces it keeps in a word), with at most one other character
# put in: any printable ASCII one, so a character the fast path should have
# left to the splitter shows up.
PLAIN_CHARACTERS = list(" \t\r\n\x0b\xa0\u2028ab2$#")


@settings(max_examples=2000, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(PLAIN_CHARACTERS), max_size=12),
    st.sampled_from(["", *string.printable]),
    st.integers(min_value=0, max_value=12),
)
def test_parse_command_line_agrees_with_character_splitter(
    plain: str, extra: str, where: int
) -> None:
    text = plain[:where] + extra + plain[where:]

    assert parse_command_line(text) == _split_shell_words(text)


@pytest.mark.parametrize(
    ("value", "result"),
    [
        pytest.param("yes", True, id="yes"),
        pytest.param("Off", False, id="off-capital"),
        pytest.param("TRUE", True, id="true-capitals"),
        pytest.param("n", False, id="n"),
        pytest.param("maybe", "maybe", id="unknown-word-kept"),
        pytest.param(False, False, id="already-boolean"),
    ],
)
def test_read_boolean_words(value: object, result: object) -> None:
    assert read_boolean(value) == result


def _locate(path: NodePath) -> SourceLocation:
    return SourceLocation("compose.yaml", len(path), 1)


def test_check_values_names_service_key_and_place() -> None:
    data = {"services": {"web": {"deploy": {"restart_policy": {"delay": "soon"}}}}}

    with pytest.raises(ComposeValidationError) as caught:
        check_values(data, _locate)

    error = caught.value
    assert error.service == "web"
    assert error.key == "deploy.restart_policy.delay"
    assert error.location == SourceLocation("compose.yaml", 5, 1)
    assert '"soon"' in error.message and "duration" in error.message


def test_check_values_resource_problem_names_resource() -> None:
    data = {"configs": {"site": {"file": "a", "content": "b"}}}

    with pytest.raises(ComposeValidationError) as caught:
        check_values(data, _locate)

    assert caught.value.key == "configs.site"
    assert caught.value.message == (
        'The config "site" sets file and content; keep only one of them.'
    )


def test_check_values_interpolated_numbers_left_to_schema() -> None:
    data = {"services": {"web": {"mem_limit": 512, "stop_grace_period": "10s"}}}

    check_values(data, _locate)


@pytest.mark.parametrize(
    ("service", "key"),
    [
        pytest.param(
            {"healthcheck": {"test": ["RUN"]}, "stop_grace_period": "soon"},
            "stop_grace_period",
            id="duration-before-healthcheck-test",
        ),
        pytest.param(
            {"command": "a 'b", "mem_limit": "lots", "attach": "maybe"},
            "mem_limit",
            id="size-before-boolean-before-command",
        ),
        pytest.param(
            {"ports": [{"host_ip": "x"}], "extra_hosts": ["h"], "devices": ["a:b:c:d"]},
            "extra_hosts[0]",
            id="order-of-table-not-of-file",
        ),
    ],
)
def test_check_values_several_problems_reports_first_in_table(
    service: dict[str, object], key: str
) -> None:
    with pytest.raises(ComposeValidationError) as caught:
        check_values({"services": {"web": service}}, _locate)

    assert caught.value.key == key
