"""Build the diagram's graph from a topology model.

The layout reads left to right: images (the classes) on the left, one node
per service (the instances) in the middle, and on the right the host with the
ports it publishes, grouped by how far they reach. Port edges are written
service-to-port with the arrow turned back, so Graphviz ranks the host after
the services while the arrow still points from the host port into the
container.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from service.errors import UnknownServiceError
from service.model import (
    Finding,
    Image,
    Mount,
    Project,
    Service,
    hide_values,
)
from service.render import styles
from service.render.dependencies import (
    DependencyPlan,
    build_dependency_edge,
    build_dependency_plan,
)
from service.render.graph import Edge, Graph, Node, Region
from service.render.ids import element_id, image_id, service_id, volume_id
from service.render.labels import Html, html_text, shorten
from service.render.layout import (
    COLUMNS_FROM,
    count_columns,
    depth_layers,
    needed_services,
    split_columns,
)
from service.render.nodes import (
    build_image_label,
    build_legend_label,
    build_port_label,
    build_service_label,
    build_service_tooltip,
    reach_of,
    region_label,
)
from service.render.options import DiagramOptions
from service.render.ports import HOST_EXPOSURES, PortRun, build_port_runs
from service.render.regions import build_network_regions

NAME_LIMIT = 60
TITLE_SEPARATOR = " \u00b7 "

#: Port labels other than a fixed port open to the network are set smaller.
_QUIET = ' POINT-SIZE="9"'


def build_graph(project: Project, options: DiagramOptions) -> Graph:
    """Return every node, edge and region the diagram of ``project`` draws."""
    if not options.show_values:
        project = hide_values(project)
    services = select_services(project, options.service)
    # Most parts of the diagram refer to service nodes: their ids are
    # encoded once here, not again by every part.
    node_ids = {service.name: service_id(service.name) for service in services}
    published = _published_runs(services)
    graph = Graph(
        title=_build_title(project, services, options.service, published),
        direction=options.direction,
    )

    plan = build_dependency_plan(services if options.depends_on else ())
    host = _add_host_region(graph)
    image_ids = _add_images(graph, project, services)
    _add_services(graph, project, services, node_ids, plan, options)
    _add_image_edges(graph, project, services, node_ids, image_ids)
    _add_ports(graph, host, services, node_ids, published)
    _add_host_network_services(host, services, node_ids)
    if options.networks:
        _add_network_regions(graph, project, services, node_ids)
    if options.depends_on:
        _add_dependencies(graph, services, node_ids, plan, options.direction)
    if options.volumes:
        _add_volumes(graph, services)
    if options.legend:
        _add_legend(graph)
    if not _has_network_regions(graph, host):
        _arrange_columns(graph, services, node_ids)

    graph.regions = [region for region in graph.regions if not region.is_empty()]
    host.regions = [region for region in host.regions if not region.is_empty()]
    return graph


def select_services(project: Project, focus: str | None) -> tuple[Service, ...]:
    """Return the services to draw, sorted: all, or ``focus`` and what it needs.

    A focused service needs its ``depends_on`` targets and the service whose
    network stack it borrows (``network_mode: service:x``), transitively.
    """
    by_name = {service.name: service for service in project.services}
    if focus is None:
        return tuple(sorted(by_name.values(), key=lambda service: service.name))
    if focus not in by_name:
        raise UnknownServiceError(
            f"There is no service {shorten(focus, NAME_LIMIT)!r} in this project; "
            "choose one of the services listed in the model.",
            service=focus,
            key="service",
        )

    wanted, queue = {focus}, deque([focus])
    while queue:
        for needed in needed_services(by_name[queue.popleft()]):
            if needed in by_name and needed not in wanted:
                wanted.add(needed)
                queue.append(needed)
    return tuple(by_name[name] for name in sorted(wanted))


def _published_runs(services: tuple[Service, ...]) -> dict[str, list[PortRun]]:
    """Return the runs of host ports each service publishes, by service name.

    A service on the host network publishes nothing: its ports are the
    host's already. The title counts these runs and the host region draws
    them, so they are built once.
    """
    return {
        service.name: build_port_runs(
            port for port in service.ports if port.exposure in HOST_EXPOSURES
        )
        for service in services
        if service.network_mode != "host"
    }


def _build_title(
    project: Project,
    services: tuple[Service, ...],
    focus: str | None,
    published: dict[str, list[PortRun]],
) -> Html:
    """Return the caption, e.g. ``project cryphos · 6 services, 3 images, ...``."""
    images = {service.image for service in services}
    counts = ", ".join(
        (
            _count(len(services), "service"),
            _count(len(images), "image"),
            _count(sum(len(runs) for runs in published.values()), "published port"),
        )
    )
    parts = [f"project {shorten(project.project, NAME_LIMIT)}"]
    if focus is not None:
        parts.append(f"{shorten(focus, NAME_LIMIT)} and what it needs")
    parts.append(counts)
    title = html_text(TITLE_SEPARATOR.join(parts), 200)
    return Html(f'<B>{title}</B><BR ALIGN="LEFT"/>')


def _count(number: int, noun: str) -> str:
    if number == 0:
        return f"no {noun}s"
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _images_of(project: Project, services: tuple[Service, ...]) -> list[Image]:
    known = {image.ref: image for image in project.images}
    refs = sorted({service.image for service in services})
    return [known.get(ref, Image(ref=ref, source="pull")) for ref in refs]


def _add_images(
    graph: Graph, project: Project, services: tuple[Service, ...]
) -> dict[str, str]:
    """Add a node per image the services run; return each one's node id by ref."""
    compact = len(services) >= COLUMNS_FROM
    node_ids: dict[str, str] = {}
    for image in _images_of(project, services):
        node_ids[image.ref] = image_id(image.ref)
        is_built = image.source == "build"
        graph.styles.add("built-image" if is_built else "pulled-image")
        fill, line = (
            (styles.BUILT_FILL, styles.BUILT_LINE)
            if is_built
            else (styles.PULLED_FILL, styles.PULLED_LINE)
        )
        graph.add_node(
            Node(
                id=node_ids[image.ref],
                label=build_image_label(image, compact=compact),
                tooltip=_image_tooltip(image),
                attrs={
                    "shape": "box",
                    "style": "filled,bold" if is_built else "filled,dashed",
                    "fillcolor": fill,
                    "color": line,
                    "penwidth": "2.5" if is_built else "1.2",
                },
            )
        )
    return node_ids


def _image_tooltip(image: Image) -> str:
    kind = "Built image" if image.source == "build" else "Pulled image"
    lines = [f"{kind} {shorten(image.ref, 200)}"]
    if image.built_by:
        lines.append("Built by " + ", ".join(image.built_by))
    if image.build is not None:
        lines.append(f"Context {shorten(image.build.context, 200)}")
        lines.append(f"Dockerfile {shorten(image.build.dockerfile, 200)}")
    if image.used_by:
        lines.append("Runs in " + ", ".join(image.used_by))
    return "\n".join(lines)


def _add_services(
    graph: Graph,
    project: Project,
    services: tuple[Service, ...],
    node_ids: Mapping[str, str],
    plan: DependencyPlan,
    options: DiagramOptions,
) -> None:
    compact = len(services) >= COLUMNS_FROM
    findings_of = _findings_by_service(project)
    builders = _builders_by_image(project)
    for service in services:
        needed_by = plan.needed_by.get(service.name, ())
        findings = findings_of.get(service.name, [])
        worst = _worst_severity(findings)
        line = styles.SEVERITY_COLOURS.get(worst or "", styles.SERVICE_LINE)
        graph.styles.update(("service", reach_of(service), worst or "service"))
        graph.add_node(
            Node(
                id=node_ids[service.name],
                label=build_service_label(
                    service,
                    findings,
                    options,
                    compact=compact,
                    needed_by=needed_by if plan.is_big else (),
                    builds=service.name in builders.get(service.image, ()),
                ),
                tooltip=build_service_tooltip(service, findings, needed_by),
                attrs={
                    "shape": "box",
                    "style": "rounded,filled",
                    "fillcolor": styles.SERVICE_FILL,
                    "color": line,
                    "penwidth": "3" if worst in ("danger", "warning") else "1.5",
                },
            )
        )


def _builders_by_image(project: Project) -> dict[str, tuple[str, ...]]:
    """Return the services that build each image, looked up once per diagram."""
    builders: dict[str, tuple[str, ...]] = {}
    for image in project.images:
        builders.setdefault(image.ref, image.built_by)
    return builders


def _findings_by_service(project: Project) -> dict[str | None, list[Finding]]:
    """Return each service's findings in project order, gathered in one pass."""
    grouped: dict[str | None, list[Finding]] = {}
    for finding in project.findings:
        grouped.setdefault(finding.service, []).append(finding)
    return grouped


def _worst_severity(findings: Iterable[Finding]) -> str | None:
    severities = {finding.severity for finding in findings}
    return next((s for s in ("danger", "warning", "info") if s in severities), None)


def _add_image_edges(
    graph: Graph,
    project: Project,
    services: tuple[Service, ...],
    node_ids: Mapping[str, str],
    image_ids: Mapping[str, str],
) -> None:
    """Add the edge from each service's image to the service."""
    built = {image.ref for image in project.images if image.source == "build"}
    for service in services:
        tail, head = image_ids[service.image], node_ids[service.name]
        _add_image_edge(graph, service, tail, head, is_built=service.image in built)


def _add_image_edge(
    graph: Graph, service: Service, tail: str, head: str, *, is_built: bool
) -> None:
    graph.add_edge(
        Edge(
            tail=tail,
            head=head,
            id=element_id("edge", "image", service.image, service.name),
            tooltip=f"{service.name} runs {shorten(service.image, 200)}",
            attrs={
                "color": styles.BUILT_LINE if is_built else styles.PULLED_LINE,
                "penwidth": "2.2" if is_built else "1.2",
            },
        )
    )


#: The groups of the host region, in drawing order: exposure, title and note.
_BINDING_GROUPS = (
    ("public", "All interfaces", "open to the network"),
    ("interface", "One interface", "reachable on that address"),
    ("loopback", "Loopback", "local to this host"),
    ("host-network", "network_mode: host", "shares the host"),
)

#: The host region's captions and ids never change, so they are written once,
#: when the module loads, instead of for every diagram.
_HOST_LABEL = region_label("Host machine", "published ports live here", styles.INK)
_GROUP_IDS = {
    exposure: element_id("host", exposure) for exposure, _, _ in _BINDING_GROUPS
}
_GROUP_LABELS = {
    exposure: region_label(title, note, styles.EXPOSURE_STYLES[exposure][1])
    for exposure, title, note in _BINDING_GROUPS
}


def _add_host_region(graph: Graph) -> Region:
    host = Region(
        id=element_id("host"),
        label=_HOST_LABEL,
        tooltip="The machine Docker runs on, with the ports it publishes",
        attrs={
            "style": "rounded,filled",
            "fillcolor": styles.HOST_FILL,
            "color": styles.HOST_LINE,
        },
        regions=[_binding_region(*group) for group in _BINDING_GROUPS],
    )
    graph.regions.append(host)
    return host


def _binding_region(exposure: str, title: str, note: str) -> Region:
    _, line, _ = styles.EXPOSURE_STYLES[exposure]
    return Region(
        id=_GROUP_IDS[exposure],
        label=_GROUP_LABELS[exposure],
        tooltip=f"{title}: {note}",
        attrs={
            "style": "rounded,filled,bold"
            if exposure == "public"
            else "rounded,filled",
            "fillcolor": "#ffffff",
            "color": line,
            "penwidth": "2.5" if exposure == "public" else "1.5",
        },
    )


def _host_group(host: Region, exposure: str) -> Region:
    wanted = _GROUP_IDS[exposure]
    return next(region for region in host.regions if region.id == wanted)


def _add_ports(
    graph: Graph,
    host: Region,
    services: tuple[Service, ...],
    node_ids: Mapping[str, str],
    published: dict[str, list[PortRun]],
) -> None:
    groups = {exposure: _host_group(host, exposure) for exposure in HOST_EXPOSURES}
    for service in services:
        runs = published.get(service.name)
        if not runs:
            continue
        tail = node_ids[service.name]
        for run in runs:
            node_id = _port_id(service, run)
            if node_id not in graph.nodes:
                groups[run.exposure].nodes.append(node_id)
                graph.add_node(_port_node(node_id, run))
            graph.styles.add(run.exposure)
            graph.add_edge(_port_edge(tail, node_id, service, run))


def _port_id(service: Service, run: PortRun) -> str:
    """Return a host port's node id; a random port belongs to its service alone."""
    if run.published is None:
        return element_id(
            "port", run.host_text, "random", service.name, run.target_text
        )
    return element_id("port", run.host_text, run.published_text, run.protocol)


def _is_loud(run: PortRun) -> bool:
    """Tell whether a port is drawn bold: a fixed port open to the network."""
    return run.exposure == "public" and run.published is not None


def _port_node(node_id: str, run: PortRun) -> Node:
    fill, line, words = styles.EXPOSURE_STYLES[run.exposure]
    is_loud = _is_loud(run)
    return Node(
        id=node_id,
        label=build_port_label(run),
        tooltip=f"Host port {run.host_text}:{run.published_text}/{run.protocol}, "
        f"{words}",
        attrs={
            "shape": "box",
            "style": "rounded,filled,bold" if is_loud else "rounded,filled",
            "fillcolor": fill,
            "color": line,
            "penwidth": "2.5" if is_loud else "1.2",
        },
    )


def _port_edge(tail: str, node_id: str, service: Service, run: PortRun) -> Edge:
    _, line, words = styles.EXPOSURE_STYLES[run.exposure]
    return Edge(
        tail=tail,
        head=node_id,
        id=element_id("edge", node_id, service.name, run.target_text),
        tooltip=f"{run.binding_text} ({service.name}, {words})",
        label=Html(
            f'<FONT COLOR="{line}"{"" if _is_loud(run) else _QUIET}>'
            f"{html_text(run.binding_text, 80)}</FONT>"
        ),
        attrs={
            "dir": "back",
            "color": line,
            "penwidth": "2.2" if _is_loud(run) else "1.2",
        },
    )


def _add_host_network_services(
    host: Region, services: tuple[Service, ...], node_ids: Mapping[str, str]
) -> None:
    group = _host_group(host, "host-network")
    group.nodes.extend(
        node_ids[service.name] for service in services if service.network_mode == "host"
    )


def _add_network_regions(
    graph: Graph,
    project: Project,
    services: tuple[Service, ...],
    node_ids: Mapping[str, str],
) -> None:
    """Add one region per network set; a lone region becomes a caption instead.

    When every drawn service shares one network, a frame around all of them
    says nothing and pushes the images away from their containers.
    """
    regions = build_network_regions(project, services, node_ids)
    if any(region.attrs.get("style", "").endswith("dashed") for region in regions):
        graph.styles.add("internal-network")
    networked = [s for s in services if s.network_mode not in ("host", "none")]
    if len(regions) == 1 and len(regions[0].nodes) == len(networked):
        graph.title = Html(f'{graph.title}{regions[0].label}<BR ALIGN="LEFT"/>')
        return
    graph.regions.extend(regions)


def _add_dependencies(
    graph: Graph,
    services: tuple[Service, ...],
    node_ids: Mapping[str, str],
    plan: DependencyPlan,
    direction: str,
) -> None:
    """Add the planned depends_on arrows, and say in the legend how they are drawn."""
    column = {s.name for s in services if s.network_mode != "host"}
    for service, dependency in plan.arrows:
        graph.styles.add("depends_on")
        edge = build_dependency_edge(
            service, dependency, column, node_ids, direction=direction
        )
        graph.add_edge(edge)
    if plan.is_big and plan.needed_by:
        graph.styles.add("depends_on-rows")


def _add_volumes(graph: Graph, services: tuple[Service, ...]) -> None:
    for service in services:
        for mount in sorted(service.volumes, key=lambda m: (m.target, m.source or "")):
            if mount.type != "volume" or not mount.source:
                continue
            graph.styles.add("volume")
            graph.add_node(_volume_node(mount.source))
            graph.add_edge(_volume_edge(service, mount, mount.source))


def _volume_node(name: str) -> Node:
    return Node(
        id=volume_id(name),
        label=Html(
            f'<FONT POINT-SIZE="9" COLOR="{styles.MUTED}">volume</FONT>'
            f"<BR/>{html_text(name, NAME_LIMIT)}"
        ),
        tooltip=f"Named volume {name}",
        attrs={
            "shape": "cylinder",
            "style": "filled",
            "fillcolor": styles.VOLUME_FILL,
            "color": styles.VOLUME_LINE,
        },
    )


def _volume_edge(service: Service, mount: Mount, name: str) -> Edge:
    target = mount.target + (" (read-only)" if mount.read_only else "")
    return Edge(
        tail=service_id(service.name),
        head=volume_id(name),
        id=element_id("edge", "volume", service.name, name),
        tooltip=f"{service.name} mounts {name} at {target}",
        label=Html(
            f'<FONT POINT-SIZE="9" COLOR="{styles.VOLUME_LINE}">'
            f"{html_text(target, 40)}</FONT>"
        ),
        attrs={"color": styles.VOLUME_LINE, "style": "dotted"},
    )


def _add_legend(graph: Graph) -> None:
    graph.add_node(
        Node(
            id=element_id("legend"),
            label=build_legend_label(graph.styles),
            tooltip="What the colours and shapes mean",
            attrs={"shape": "plain"},
        )
    )


def _has_network_regions(graph: Graph, host: Region) -> bool:
    """Tell whether services sit in network regions (Graphviz clusters).

    Graphviz cannot put a column of services side by side when the column
    crosses several clusters: from about 200 services its ranking fails
    ("trouble in init_rank"). A stack split into networks keeps the network
    regions as its structure instead of columns.
    """
    return any(region is not host and not region.is_empty() for region in graph.regions)


def _arrange_columns(
    graph: Graph, services: tuple[Service, ...], node_ids: Mapping[str, str]
) -> None:
    """Spread a big stack's services over columns, with the host ports after them.

    Invisible edges two ranks long keep one rank free between columns for
    the images of the next column's services.
    """
    placed = [s for s in services if s.network_mode != "host"]
    weights = {
        s.name: graph.nodes[node_ids[s.name]].label.count("<TR>") + 1 for s in placed
    }
    wanted = count_columns(len(placed), sum(weights.values()))
    if wanted < 2:
        # One column is what Graphviz draws unaided; ordering by depth first
        # would change nothing.
        return
    columns = split_columns(depth_layers(placed), weights, wanted)
    if len(columns) < 2:
        return

    heads = [node_ids[column[0]] for column in columns]
    graph.ranks.extend([node_ids[name] for name in column] for column in columns)
    for left, right in zip(heads, heads[1:], strict=False):
        graph.add_edge(_layout_edge(left, right, minlen=2))
    ports = [node_id for node_id in graph.nodes if node_id.startswith("port-")]
    if ports:
        graph.ranks.append(ports)
        graph.add_edge(_layout_edge(heads[-1], ports[0], minlen=1))


def _layout_edge(tail: str, head: str, *, minlen: int) -> Edge:
    return Edge(
        tail=tail,
        head=head,
        id=element_id("edge", "layout", tail, head),
        tooltip="",
        attrs={"style": "invis", "minlen": str(minlen)},
    )
