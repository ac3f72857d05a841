"""Port syntax as Docker Compose v2 reads it, and who can reach each port."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.compose.ports import (
    PortBudget,
    build_port_binding,
    classify_exposure,
    expand_short_port,
    is_ip_address,
    normalise_ports,
    parse_expose,
)
from service.errors import ComposeValidationError, LimitExceededError


def _short(
    ip: str | None, published: str | None, target: int, proto: str = "tcp"
) -> dict[str, Any]:
    entry: dict[str, Any] = {"mode": "ingress", "target": target}
    if ip:
        entry["host_ip"] = ip
    if published is not None:
        entry["published"] = published
    entry["protocol"] = proto
    return entry


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param("80", [_short(None, None, 80)], id="container-only"),
        pytest.param("8080:80", [_short(None, "8080", 80)], id="host-container"),
        pytest.param(
            "127.0.0.1:5432:5432",
            [_short("127.0.0.1", "5432", 5432)],
            id="ipv4-host",
        ),
        pytest.param("[::1]:80:80", [_short("::1", "80", 80)], id="ipv6-brackets"),
        pytest.param("::1:81:81", [_short("::1", "81", 81)], id="ipv6-bare"),
        pytest.param("127.0.0.1::82", [_short("127.0.0.1", None, 82)], id="empty-host"),
        pytest.param(":83", [_short(None, None, 83)], id="leading-colon"),
        pytest.param("53:53/udp", [_short(None, "53", 53, "udp")], id="udp"),
        pytest.param("9:9/SCTP", [_short(None, "9", 9, "sctp")], id="sctp-upper"),
        pytest.param(
            "8000-8010:84", [_short(None, "8000-8010", 84)], id="host-range-one-port"
        ),
        pytest.param(
            "9998-10001:9998-10001",
            [
                _short(None, "10000", 10000),
                _short(None, "10001", 10001),
                _short(None, "9998", 9998),
                _short(None, "9999", 9999),
            ],
            id="range-sorted-as-text",
        ),
    ],
)
def test_expand_short_port_variant_matches_compose(
    spec: str, expected: list[dict[str, Any]]
) -> None:
    assert expand_short_port(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("", id="empty"),
        pytest.param("80:", id="no-container"),
        pytest.param("abc", id="not-number"),
        pytest.param("70000", id="too-large"),
        pytest.param("1.2.3:80:80", id="bad-ip"),
        pytest.param("80/icmp", id="bad-protocol"),
        pytest.param("8000-8001:80-82", id="range-length-mismatch"),
        pytest.param("90-80", id="falling-range"),
    ],
)
def test_expand_short_port_malformed_raises_value_error(spec: str) -> None:
    with pytest.raises(ValueError):
        expand_short_port(spec)


@pytest.mark.parametrize(
    ("host_ip", "network_mode", "exposure"),
    [
        pytest.param(None, None, "public", id="no-address"),
        pytest.param("0.0.0.0", None, "public", id="ipv4-any"),
        pytest.param("::", None, "public", id="ipv6-any"),
        pytest.param("127.0.0.1", None, "loopback", id="ipv4-loopback"),
        pytest.param("127.8.9.1", None, "loopback", id="loopback-range"),
        pytest.param("::1", None, "loopback", id="ipv6-loopback"),
        pytest.param("10.0.0.5", None, "interface", id="private-address"),
        pytest.param("fe80::1", None, "interface", id="ipv6-address"),
        pytest.param("127.0.0.1", "host", "host-network", id="host-network-wins"),
    ],
)
def test_classify_exposure_address_gives_reach(
    host_ip: str | None, network_mode: str | None, exposure: str
) -> None:
    assert classify_exposure(host_ip, network_mode) == exposure


def _is_address_by_stdlib(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("0.0.0.0", id="any"),
        pytest.param("255.255.255.255", id="top"),
        pytest.param("256.1.1.1", id="octet-too-big"),
        pytest.param("01.2.3.4", id="leading-zero"),
        pytest.param("1.2.3", id="three-parts"),
        pytest.param("1.2.3.4.5", id="five-parts"),
        pytest.param("1.2.3.4\n", id="trailing-newline"),
        pytest.param("\uff11.2.3.4", id="non-ascii-digit"),
        pytest.param("::ffff:1.2.3.4", id="ipv4-in-ipv6"),
        pytest.param("", id="empty"),
    ],
)
def test_is_ip_address_edge_cases_agree_with_ipaddress(text: str) -> None:
    assert is_ip_address(text) == _is_address_by_stdlib(text)


_OCTETS = st.one_of(
    st.integers(min_value=0, max_value=999).map(str),
    st.sampled_from(["00", "01", "007", "", " 1"]),
)


@settings(max_examples=300)
@given(parts=st.lists(_OCTETS, min_size=3, max_size=5))
def test_is_ip_address_dotted_text_agrees_with_ipaddress(parts: list[str]) -> None:
    text = ".".join(parts)
    assert is_ip_address(text) == _is_address_by_stdlib(text)


@settings(max_examples=300)
@given(parts=st.lists(st.integers(min_value=0, max_value=300), min_size=4, max_size=4))
def test_classify_exposure_dotted_quad_agrees_with_ipaddress(parts: list[int]) -> None:
    text = ".".join(str(part) for part in parts)
    if not _is_address_by_stdlib(text):
        assert classify_exposure(text, None) == "interface"
        return
    address = ipaddress.ip_address(text)
    expected = (
        "public"
        if address.is_unspecified
        else "loopback"
        if address.is_loopback
        else "interface"
    )
    assert classify_exposure(text, None) == expected


def test_build_port_binding_without_published_is_random() -> None:
    binding = build_port_binding({"target": 80, "protocol": "tcp"}, None)

    assert binding.published is None
    assert binding.random_host_port
    assert binding.exposure == "public"


def test_normalise_ports_long_syntax_keeps_fields() -> None:
    long_port = {
        "target": "87",
        "host_ip": "10.0.0.1",
        "published": 8087,
        "protocol": "UDP",
        "app_protocol": "http",
        "name": "web",
    }

    (entry,) = normalise_ports(
        [long_port], service="web", location=None, budget=PortBudget(10)
    )

    assert entry["target"] == 87
    assert entry["published"] == "8087"
    assert entry["protocol"] == "udp"
    assert entry["mode"] == "ingress"


def test_normalise_ports_huge_range_fails_before_expanding() -> None:
    budget = PortBudget(5_000)

    with pytest.raises(LimitExceededError) as caught:
        normalise_ports(
            ["1-65535:1-65535"], service="web", location=None, budget=budget
        )

    assert caught.value.limit == "max_ports"
    assert caught.value.service == "web"


def test_normalise_ports_bad_entry_names_service_and_key() -> None:
    with pytest.raises(ComposeValidationError) as caught:
        normalise_ports(["80/icmp"], service="web", location=None, budget=PortBudget(9))

    assert caught.value.service == "web"
    assert caught.value.key == "ports"
    assert "icmp" in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "targets", "protocol"),
    [
        pytest.param("80", [80], "tcp", id="single"),
        pytest.param(81, [81], "tcp", id="integer"),
        pytest.param("90-92", [90, 91, 92], "tcp", id="range"),
        pytest.param("53/udp", [53], "udp", id="udp"),
    ],
)
def test_parse_expose_entry_expands_internal_ports(
    entry: object, targets: list[int], protocol: str
) -> None:
    ports = parse_expose(entry)

    assert [p.target for p in ports] == targets
    assert {p.protocol for p in ports} == {protocol}
    assert {p.exposure for p in ports} == {"internal"}
