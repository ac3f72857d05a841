"""Plan the depends_on layer: arrows where they help, words in the boxes always.

Every service box lists what it needs and the condition it waits for, so
the layer reads the same at every size. Arrows are added only to a small
stack, whose services sit in one column: there each direct need that no
longer path already shows gets a dashed arrow leaving and entering on the
side away from the images, so arrows bow out beside the column and never
cross the image edges.

A big stack (spread over columns, see ``layout.py``) draws no arrows. Its
columns already run in depends_on order, and its arrows, dozens of them
and most converging on a few hubs such as a telemetry collector, formed a
band across the whole picture that no reader could follow. Each box says
instead which services need it ("needed by (15) ad, cart, ..."); focusing
on one service draws a small stack again, with its arrows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from service.model import Dependency, Service
from service.render import styles
from service.render.graph import Edge
from service.render.ids import element_id
from service.render.labels import shorten
from service.render.layout import COLUMNS_FROM

#: A service needed by this many others is a hub: its needed-by row is bold.
HUB_FROM = 5

#: How a needs row names the condition a service waits for; plain start says nothing.
CONDITION_WORDS = {
    "service_healthy": "healthy",
    "service_completed_successfully": "completed",
}

#: The cells of a service box that arrows leave from and arrive at: the row
#: naming what the service needs, and the name row of the service needed.
NEEDS_PORT = "needs"
NAME_PORT = "name"

#: Where arrows leave and arrive, per direction. Left to right, the right
#: ends of the needs row and of the name row; top to bottom, a cell's bottom
#: side lies inside the box, so the arrow uses the box's own bottom instead.
_PORTS = {
    "LR": (f"{NEEDS_PORT}:e", f"{NAME_PORT}:e"),
    "TB": ("s", "s"),
}


@dataclass(frozen=True)
class DependencyPlan:
    """The depends_on arrows to draw, and who needs each service.

    ``arrows`` holds (service, dependency) pairs in drawing order, empty for
    a big stack; ``needed_by`` maps each needed service to the drawn
    services that need it, sorted; ``is_big`` tells a stack drawn in columns.
    """

    arrows: tuple[tuple[Service, Dependency], ...]
    needed_by: Mapping[str, tuple[str, ...]]
    is_big: bool


def build_dependency_plan(services: Sequence[Service]) -> DependencyPlan:
    """Return the depends_on arrows to draw among ``services`` and who needs whom."""
    drawn = {service.name for service in services}
    needs = {
        service.name: {d.service for d in service.depends_on if d.service in drawn}
        for service in services
    }
    is_big = len(services) >= COLUMNS_FROM

    arrows = tuple(
        (service, dependency)
        for service in ([] if is_big else services)
        for dependency in sorted(service.depends_on, key=lambda d: d.service)
        if dependency.service in needs[service.name]
        and not _is_implied(needs, service.name, dependency.service)
    )
    return DependencyPlan(arrows=arrows, needed_by=_needed_by(needs), is_big=is_big)


def _needed_by(needs: Mapping[str, set[str]]) -> dict[str, tuple[str, ...]]:
    users: dict[str, list[str]] = {}
    for name in sorted(needs):
        for target in needs[name]:
            users.setdefault(target, []).append(name)
    return {target: tuple(names) for target, names in sorted(users.items())}


def _is_implied(needs: Mapping[str, set[str]], start: str, target: str) -> bool:
    """Tell whether ``target`` is reachable from ``start`` without the direct edge.

    Drawing ``a -> c`` when ``a -> b -> c`` is drawn adds a line and no
    information; the needs row of ``a`` still names ``c``.
    """
    seen = {start}
    stack = [name for name in needs[start] if name != target]
    while stack:
        name = stack.pop()
        if name == target:
            return True
        if name in seen:
            continue
        seen.add(name)
        stack.extend(needs.get(name, ()))
    return False


def describe_needs(dependencies: Iterable[Dependency]) -> list[str]:
    """Return each dependency as a short phrase, e.g. ``postgres (healthy)``."""
    phrases = []
    for dependency in sorted(dependencies, key=lambda d: d.service):
        notes = [CONDITION_WORDS.get(dependency.condition, "")]
        if not dependency.required:
            notes.append("optional")
        note = ", ".join(word for word in notes if word)
        name = shorten(dependency.service, 200)
        phrases.append(f"{name} ({note})" if note else name)
    return phrases


def build_dependency_edge(
    service: Service,
    dependency: Dependency,
    column: Collection[str],
    node_ids: Mapping[str, str],
    *,
    direction: str,
) -> Edge:
    """Return the dashed arrow from ``service`` to what it needs.

    When both ends sit in the services' ``column`` the arrow leaves and
    enters on the side away from the images, left to right from the row
    that names the need; an end elsewhere (a service on the host network
    sits in the host region) leaves the route to Graphviz. ``node_ids`` maps
    each drawn service's name to the id of its node.
    """
    tooltip = f"{service.name} depends on {dependency.service}"
    condition = CONDITION_WORDS.get(dependency.condition)
    if condition:
        tooltip += f" (when {condition})"
    attrs = {
        "style": "dashed",
        "color": styles.DEPENDS_LINE,
        "arrowhead": "vee",
        "constraint": "false",
    }
    if service.name in column and dependency.service in column:
        tailport, headport = _PORTS[direction]
        attrs.update(tailport=tailport, headport=headport)
    return Edge(
        tail=node_ids[service.name],
        head=node_ids[dependency.service],
        id=element_id("edge", "depends_on", service.name, dependency.service),
        tooltip=tooltip,
        attrs=attrs,
    )
