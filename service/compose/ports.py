"""Parse Compose port specifications and say who can reach each port.

The short syntax follows the rules Docker Compose v2 inherits from Docker's
``nat.ParsePortSpec``: ``[ip:][host:]container[/protocol]``, where any part
may be a range, the IP may be IPv6 with or without brackets, and an empty
host part means "pick a random host port". A range of container ports
expands to one binding per port, listed in the order Compose lists them
(sorted as text, so ``10000`` comes before ``9998``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.errors import ComposeValidationError, LimitExceededError, SourceLocation
from service.model import PortBinding
from service.types import Exposure

PROTOCOLS = ("tcp", "udp", "sctp")
MAX_PORT = 65535

#: A dotted-quad IPv4 address exactly as ``ipaddress`` accepts one: four
#: decimal parts from 0 to 255, without leading zeros.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def is_ip_address(text: str) -> bool:
    """Say whether ``text`` is an IPv4 or IPv6 address (no brackets).

    Host addresses in ports are nearly always IPv4, which a regular
    expression recognises several times faster than ``ipaddress`` parses
    it; anything else is left to ``ipaddress``.
    """
    if _IPV4.fullmatch(text) is not None:
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass
class PortBudget:
    """Count expanded ports across a project so a huge range fails before expanding."""

    limit: int
    used: int = 0

    def spend(self, count: int, location: SourceLocation | None, service: str) -> None:
        """Reserve ``count`` more ports or raise LimitExceededError."""
        self.used += count
        if self.used > self.limit:
            raise LimitExceededError(
                f"The project declares more than {self.limit} ports after range "
                "expansion; split it or raise the max_ports limit.",
                limit="max_ports",
                location=location,
                service=service,
                key="ports",
            )


def parse_port_range(text: str) -> tuple[int, int]:
    """Return the first and last port of ``"80"`` or ``"8000-8010"``.

    Raise ValueError when the text is not a port or a rising range of ports.
    """
    start_text, dash, end_text = text.partition("-")
    start = _parse_port_number(start_text)
    end = _parse_port_number(end_text) if dash else start
    if end < start:
        raise ValueError(text)
    return start, end


def _parse_port_number(text: str) -> int:
    if not text.isdigit() or len(text) > 5:
        raise ValueError(text)
    number = int(text)
    if number > MAX_PORT:
        raise ValueError(text)
    return number


def _split_short_port(spec: str) -> tuple[str, str, str]:
    # Split on every colon and take the last two parts as host and container
    # ports, so an unbracketed IPv6 address keeps its own colons.
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _parse_host_ip(raw: str) -> str:
    address = raw
    if address.startswith("["):
        if not address.endswith("]"):
            raise ValueError(f"invalid IP address {raw}")
        address = address[1:-1]
    if not is_ip_address(address):
        raise ValueError(f"invalid IP address: {raw}")
    return address


@dataclass(frozen=True)
class _ShortPort:
    host_ip: str
    host_range: tuple[int, int] | None
    container_range: tuple[int, int]
    protocol: str


def _read_short_port(spec: str) -> _ShortPort:
    ip_text, host_text, container_text = _split_short_port(spec)
    container_text, _, protocol = container_text.partition("/")
    protocol = protocol.lower() if protocol else "tcp"
    host_ip = _parse_host_ip(ip_text) if ip_text else ""
    if not container_text:
        raise ValueError(f"no port specified: {spec}<empty>")
    try:
        container_range = parse_port_range(container_text)
    except ValueError as exc:
        raise ValueError(f"invalid containerPort: {container_text}") from exc
    host_range = None
    if host_text:
        try:
            host_range = parse_port_range(host_text)
        except ValueError as exc:
            raise ValueError(f"invalid hostPort: {host_text}") from exc
    _check_range_sizes(container_range, host_range, container_text, host_text)
    if protocol not in PROTOCOLS:
        raise ValueError(f"invalid proto: {protocol}")
    return _ShortPort(host_ip, host_range, container_range, protocol)


def _check_range_sizes(
    container: tuple[int, int],
    host: tuple[int, int] | None,
    container_text: str,
    host_text: str,
) -> None:
    # A host range wider than a single container port is allowed: Docker picks
    # one free port from it. Two ranges must have the same length.
    if host is None or container[1] - container[0] == host[1] - host[0]:
        return
    if container[0] != container[1]:
        raise ValueError(
            "invalid ranges specified for container and host Ports: "
            f"{container_text} and {host_text}"
        )


def count_short_port(spec: str) -> int:
    """Return how many bindings ``spec`` expands to, without expanding it."""
    return _binding_count(_read_short_port(spec))


def _binding_count(parsed: _ShortPort) -> int:
    return parsed.container_range[1] - parsed.container_range[0] + 1


def expand_short_port(spec: str) -> list[dict[str, Any]]:
    """Expand a short-syntax port into Compose's long-syntax mappings.

    Raise ValueError with Compose's wording when the spec is malformed.
    """
    return _expand(_read_short_port(spec))


def _expand(parsed: _ShortPort) -> list[dict[str, Any]]:
    first, last = parsed.container_range
    entries: list[tuple[str, dict[str, Any]]] = []
    for offset in range(last - first + 1):
        target = first + offset
        entry: dict[str, Any] = {"mode": "ingress", "target": target}
        if parsed.host_ip:
            entry["host_ip"] = parsed.host_ip
        published = _published_for(parsed, offset)
        if published is not None:
            entry["published"] = published
        entry["protocol"] = parsed.protocol
        entries.append((f"{target}/{parsed.protocol}", entry))
    entries.sort(key=lambda pair: pair[0])
    return [entry for _, entry in entries]


def _published_for(parsed: _ShortPort, offset: int) -> str | None:
    if parsed.host_range is None:
        return None
    host_first, host_last = parsed.host_range
    if parsed.container_range[0] == parsed.container_range[1]:
        if host_first != host_last:
            return f"{host_first}-{host_last}"
        return str(host_first)
    return str(host_first + offset)


def count_expose(value: Any) -> int:
    """Return how many container ports an ``expose`` entry names after expansion."""
    text = str(value).partition("/")[0]
    try:
        first, last = parse_port_range(text)
    except ValueError:
        return 1
    return last - first + 1


def parse_expose(value: Any) -> list[PortBinding]:
    """Expand one ``expose`` entry (``"80"``, ``"80-85"``, ``"53/udp"``) into ports.

    Raise ValueError when the entry is not a port or range.
    """
    text, _, protocol = str(value).partition("/")
    protocol = protocol.lower() or "tcp"
    first, last = parse_port_range(text)
    return [
        PortBinding(target=port, protocol=protocol, exposure="internal")
        for port in range(first, last + 1)
    ]


def classify_exposure(host_ip: str | None, network_mode: str | None) -> Exposure:
    """Say from where a published port can be reached.

    A container on the host network ignores port mappings: everything it
    listens on is reachable as the host is, so that wins over the address.
    """
    if network_mode == "host":
        return "host-network"
    if not host_ip:
        return "public"
    text = host_ip.strip("[]")
    if _IPV4.fullmatch(text) is not None:
        # The common case, read without parsing: 0.0.0.0 is every interface,
        # 127.0.0.0/8 the loopback network.
        if text == "0.0.0.0":
            return "public"
        return "loopback" if text.startswith("127.") else "interface"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return "interface"
    if address.is_unspecified:
        return "public"
    if address.is_loopback:
        return "loopback"
    return "interface"


def build_port_binding(
    entry: Mapping[str, Any], network_mode: str | None
) -> PortBinding:
    """Turn one normalised long-syntax port into the model's binding."""
    published = entry.get("published")
    published_text = None if published in (None, "") else str(published)
    host_ip = entry.get("host_ip") or None
    return PortBinding(
        target=int(entry["target"]),
        protocol=str(entry.get("protocol") or "tcp"),
        published=published_text,
        host_ip=host_ip,
        exposure=classify_exposure(host_ip, network_mode),
        random_host_port=published_text is None or "-" in published_text,
        name=entry.get("name"),
        app_protocol=entry.get("app_protocol"),
        mode=entry.get("mode"),
    )


def normalise_ports(
    value: Any,
    *,
    service: str,
    location: SourceLocation | None,
    budget: PortBudget,
) -> list[Any]:
    """Return a service's ``ports`` list in long syntax, as Compose normalises it.

    The size of every entry is counted against ``budget`` before any range is
    expanded, so ``1-65535:1-65535`` fails fast instead of allocating.
    """
    if not isinstance(value, list):
        raise ComposeValidationError(
            f"Service {service!r}: 'ports' must be a list.",
            location=location,
            service=service,
            key="ports",
        )
    result: list[Any] = []
    for entry in value:
        result.extend(_normalise_port_entry(entry, service, location, budget))
    return result


def _normalise_port_entry(
    entry: Any, service: str, location: SourceLocation | None, budget: PortBudget
) -> list[Any]:
    if isinstance(entry, Mapping):
        budget.spend(1, location, service)
        return [_normalise_long_port(entry, service, location)]
    if isinstance(entry, bool) or not isinstance(entry, int | str):
        raise _port_error(f"unsupported port value {entry!r}", service, location)
    spec = str(entry)
    try:
        # Read once; the budget is spent before a range is expanded, so a
        # huge range is refused without being built.
        parsed = _read_short_port(spec)
        budget.spend(_binding_count(parsed), location, service)
        return _expand(parsed)
    except ValueError as exc:
        raise _port_error(str(exc), service, location) from exc


def _normalise_long_port(
    entry: Mapping[str, Any], service: str, location: SourceLocation | None
) -> dict[str, Any]:
    result = dict(entry)
    try:
        result["target"] = _as_port(entry.get("target"))
    except ValueError as exc:
        raise _port_error(
            f"invalid target port {entry.get('target')!r}", service, location
        ) from exc
    published = entry.get("published")
    if published is not None:
        result["published"] = str(published)
        try:
            if result["published"]:
                parse_port_range(result["published"])
        except ValueError as exc:
            raise _port_error(
                f"invalid published port {published!r}", service, location
            ) from exc
    result.setdefault("mode", "ingress")
    result["protocol"] = str(result.get("protocol") or "tcp").lower()
    return result


def _as_port(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int) and 0 <= value <= MAX_PORT:
        return value
    if isinstance(value, str):
        return _parse_port_number(value)
    raise ValueError(value)


def _port_error(
    detail: str, service: str, location: SourceLocation | None
) -> ComposeValidationError:
    return ComposeValidationError(
        f"Service {service!r} has an invalid port: {detail}.",
        location=location,
        service=service,
        key="ports",
    )
