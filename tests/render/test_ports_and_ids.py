"""Port runs keep big ranges to one node; element ids are stable and never collide."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.model import PortBinding
from service.render.ids import (
    HASHED_ID_LENGTH,
    MAX_ID_LENGTH,
    element_id,
    encode_name,
    image_id,
    service_id,
)
from service.render.ports import build_port_runs, format_host_ip


def _range(first: int, last: int, host_ip: str | None = None) -> list[PortBinding]:
    return [
        PortBinding(
            target=port, published=str(port), host_ip=host_ip, exposure="public"
        )
        for port in range(first, last + 1)
    ]


def test_port_runs_with_range_collapse_to_one_run() -> None:
    runs = build_port_runs(_range(8000, 8010))

    assert [run.published_text for run in runs] == ["8000-8010"]
    assert runs[0].binding_text == "0.0.0.0:8000-8010 \u2192 8000-8010/tcp"


def test_port_runs_with_full_range_stay_one_run() -> None:
    assert len(build_port_runs(_range(1, 65535))) == 1


def test_port_runs_with_gap_split_into_two() -> None:
    runs = build_port_runs([*_range(80, 81), *_range(443, 443)])

    assert [run.published_text for run in runs] == ["80-81", "443"]


def test_port_runs_with_different_addresses_stay_apart() -> None:
    runs = build_port_runs([*_range(80, 80, "127.0.0.1"), *_range(81, 81)])

    assert sorted(run.host_text for run in runs) == ["0.0.0.0", "127.0.0.1"]


@pytest.mark.parametrize(
    ("host_ip", "shown"),
    [
        pytest.param(None, "0.0.0.0", id="none-is-all"),
        pytest.param("::1", "[::1]", id="ipv6-bracketed"),
        pytest.param("[::]", "[::]", id="ipv6-already-bracketed"),
        pytest.param("10.0.0.5", "10.0.0.5", id="ipv4"),
    ],
)
def test_format_host_ip_with_address_shows_docker_form(
    host_ip: str | None, shown: str
) -> None:
    assert format_host_ip(host_ip) == shown


@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        pytest.param(service_id, "celery-beat", "service-celery-beat", id="plain"),
        pytest.param(image_id, "postgres:16", "image-postgres_3a_16", id="colon"),
        pytest.param(service_id, "my_app", "service-my_5f_app", id="underscore"),
    ],
)
def test_element_id_with_name_is_readable(
    make: object, name: str, expected: str
) -> None:
    assert make(name) == expected  # type: ignore[operator]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("a:b",), ("a/b",), id="different-punctuation"),
        pytest.param(("a_3a_b",), ("a:b",), id="escape-lookalike"),
        pytest.param(("a", "b"), ("a__b",), id="join-versus-underscores"),
        pytest.param(("a", "b-c"), ("a-b", "c"), id="hyphen-split"),
    ],
)
def test_element_id_with_different_names_never_collides(
    first: tuple[str, ...], second: tuple[str, ...]
) -> None:
    assert element_id("port", *first) != element_id("port", *second)


def test_encode_name_with_hostile_text_uses_safe_characters() -> None:
    encoded = encode_name('<script>"x" & \u202e 服')

    assert set(encoded) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
    )


ID_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"


def spell_by_character(name: str) -> str:
    """Encode the slow, obvious way: each character kept or written as hex."""
    return "".join(char if char in ID_SAFE else f"_{ord(char):x}_" for char in name)


@pytest.mark.parametrize(
    ("name", "encoded"),
    [
        pytest.param("celery-beat", "celery-beat", id="plain-kept"),
        pytest.param("", "", id="empty"),
        pytest.param("db_1", "db_5f_1", id="underscore-escaped"),
        pytest.param("a\n", "a_a_", id="trailing-newline-escaped"),
        pytest.param("\u00e9", "_e9_", id="non-ascii-letter-escaped"),
    ],
)
def test_encode_name_spells_each_character(name: str, encoded: str) -> None:
    assert encode_name(name) == encoded


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from([*ID_SAFE, "_", " ", "\n", "\u00e9", "/"])))
def test_encode_name_agrees_with_character_spelling(name: str) -> None:
    assert encode_name(name) == spell_by_character(name)


def test_element_id_with_long_name_is_capped_with_a_digest() -> None:
    long_id = service_id("a" * 500)

    assert len(long_id) == HASHED_ID_LENGTH
    assert long_id.startswith("service-aaaa")
    assert re.fullmatch(r"[0-9a-f]{32}", long_id.rsplit("-", 1)[1])
    assert service_id("a" * 500) == long_id


def test_element_id_with_long_names_sharing_a_prefix_never_collides() -> None:
    first = service_id("a" * 300 + "x")
    second = service_id("a" * 300 + "y")

    assert first != second
    assert first[:MAX_ID_LENGTH] == second[:MAX_ID_LENGTH]


def test_element_id_with_short_name_spelling_a_capped_id_never_equals_it() -> None:
    capped = service_id("b" * 300)
    lookalike = capped.removeprefix("service-")

    assert service_id(lookalike) != capped
    assert len(service_id("c" * (MAX_ID_LENGTH - len("service-")))) <= MAX_ID_LENGTH
