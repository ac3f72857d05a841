"""Group a service's port bindings into runs, so a range is one node and not hundreds.

Compose expands ``8000-8010:8000-8010`` into eleven bindings; a reader wants
one box saying ``8000-8010``. A run is a set of bindings that differ only by
consecutive port numbers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from service.model import PortBinding
from service.types import Exposure

#: Exposures that put a port on the host's own addresses.
HOST_EXPOSURES: tuple[Exposure, ...] = ("public", "interface", "loopback")

#: The characters of an IPv4 address in dotted decimal.
_DOTTED_DECIMAL = frozenset("0123456789.")


@dataclass(frozen=True)
class PortRun:
    """Consecutive bindings of one service that share address, protocol and exposure."""

    exposure: Exposure
    host_ip: str | None
    protocol: str
    random_host_port: bool
    published: tuple[str, str] | None
    target: tuple[int, int]
    #: The host address as ``docker ps`` shows it (IPv6 in brackets), read
    #: once when the run starts: ids, labels and tooltips all show it.
    host_text: str

    @property
    def published_text(self) -> str:
        """Return the host port or range, or ``random`` when Compose picks one."""
        if self.published is None:
            return "random"
        return _span(*self.published)

    @property
    def target_text(self) -> str:
        """Return the container port or range with its protocol, e.g. ``80/tcp``."""
        return f"{_span(str(self.target[0]), str(self.target[1]))}/{self.protocol}"

    @property
    def binding_text(self) -> str:
        """Return ``host_ip:published -> target/protocol`` with a real arrow."""
        return f"{self.host_text}:{self.published_text} \u2192 {self.target_text}"


def format_host_ip(host_ip: str | None) -> str:
    """Return the address a binding listens on; no address means all IPv4 and IPv6."""
    if not host_ip:
        return "0.0.0.0"
    if _DOTTED_DECIMAL.issuperset(host_ip):
        # Such an address is either written as ``ipaddress`` writes it (which
        # allows no leading zeros) or not an address at all: shown as it is
        # either way, without parsing.
        return host_ip
    try:
        address = ipaddress.ip_address(host_ip.strip("[]"))
    except ValueError:
        return host_ip
    return f"[{address}]" if address.version == 6 else str(address)


def build_port_runs(bindings: Iterable[PortBinding]) -> list[PortRun]:
    """Return the bindings merged into runs of consecutive ports, in a stable order."""
    runs: list[PortRun] = []
    for binding in sorted(bindings, key=_binding_order):
        if runs and _extends(runs[-1], binding):
            runs[-1] = _grow(runs[-1], binding)
        else:
            runs.append(_start(binding))
    return runs


def _binding_order(binding: PortBinding) -> tuple[object, ...]:
    published = binding.published or ""
    return (
        binding.exposure,
        binding.host_ip or "",
        binding.protocol,
        binding.random_host_port,
        len(published),
        published,
        binding.target,
    )


def _start(binding: PortBinding) -> PortRun:
    published = None
    if binding.published is not None:
        published = (binding.published, binding.published)
    return PortRun(
        exposure=binding.exposure,
        host_ip=binding.host_ip,
        protocol=binding.protocol,
        random_host_port=binding.random_host_port or binding.published is None,
        published=published,
        target=(binding.target, binding.target),
        host_text=format_host_ip(binding.host_ip),
    )


def _extends(run: PortRun, binding: PortBinding) -> bool:
    same_kind = (
        run.exposure == binding.exposure
        and run.host_ip == binding.host_ip
        and run.protocol == binding.protocol
        and (run.published is None) == (binding.published is None)
    )
    if not same_kind or binding.target != run.target[1] + 1:
        return False
    if run.published is None or binding.published is None:
        return True
    return _is_next(run.published[1], binding.published)


def _is_next(last: str, candidate: str) -> bool:
    if not (last.isdigit() and candidate.isdigit()):
        return False
    return int(candidate) == int(last) + 1


def _grow(run: PortRun, binding: PortBinding) -> PortRun:
    published = None
    if run.published is not None and binding.published is not None:
        published = (run.published[0], binding.published)
    return PortRun(
        exposure=run.exposure,
        host_ip=run.host_ip,
        protocol=run.protocol,
        random_host_port=run.random_host_port,
        published=published,
        target=(run.target[0], binding.target),
        host_text=run.host_text,
    )


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}-{last}"
