"""Group services into regions by the Compose networks they sit on.

Graphviz cannot put one node in two clusters, so a region holds the services
that share exactly one set of networks and is captioned with that set. Most
stacks use one network and get one region; a service on ``frontend`` and
``backend`` sits in a region named for both, which is what it can reach.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from service.model import Network, Project, Service
from service.render import styles
from service.render.graph import Region
from service.render.ids import network_id
from service.render.labels import shorten
from service.render.nodes import region_label

NAME_LIMIT = 40


def build_network_regions(
    project: Project, services: tuple[Service, ...], node_ids: Mapping[str, str]
) -> list[Region]:
    """Return one region per distinct set of networks among ``services``.

    ``node_ids`` maps each service's name to the id of its node.
    """
    by_name = {service.name: service for service in project.services}
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for service in services:
        key = _network_key(service, by_name)
        if key:
            groups[key].append(service.name)

    networks = {network.name: network for network in project.networks}
    return [
        _build_region(key, [node_ids[name] for name in sorted(groups[key])], networks)
        for key in sorted(groups)
    ]


def _network_key(service: Service, by_name: dict[str, Service]) -> tuple[str, ...]:
    """Return the networks whose region holds ``service``; empty for none.

    A service borrowing another's network stack (``service:x``) sits with x.
    """
    mode = service.network_mode
    seen = {service.name}
    while mode is not None and mode.startswith("service:"):
        owner = by_name.get(mode.removeprefix("service:"))
        if owner is None or owner.name in seen:
            return ()
        seen.add(owner.name)
        service, mode = owner, owner.network_mode
    if mode is not None:
        return ()
    return tuple(sorted({attachment.network for attachment in service.networks}))


def _build_region(
    key: tuple[str, ...], members: list[str], networks: dict[str, Network]
) -> Region:
    """Return the region of the networks ``key`` holding the nodes ``members``."""
    known = [networks[name] for name in key if name in networks]
    internal = [network.name for network in known if network.internal]
    is_isolated = bool(key) and len(internal) == len(key)

    title = ("network " if len(key) == 1 else "networks ") + ", ".join(
        shorten(name, NAME_LIMIT) for name in key
    )
    if is_isolated:
        note = "internal: no outside access"
    elif internal:
        note = "internal: " + ", ".join(internal) + " (no outside access)"
    else:
        note = "containers reach each other here"
    colour = styles.INTERNAL_LINE if is_isolated else styles.NETWORK_LINE
    return Region(
        id=network_id(key),
        label=region_label(title, note, colour),
        tooltip=f"{title}: {note}",
        attrs={
            "style": "rounded,filled,dashed" if is_isolated else "rounded,filled",
            "fillcolor": styles.INTERNAL_NETWORK_FILL
            if is_isolated
            else styles.NETWORK_FILL,
            "color": colour,
        },
        nodes=members,
    )
