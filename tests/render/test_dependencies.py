"""The depends_on layer: words in every box, arrows beside the column when small.

A small stack draws an arrow per direct need that no longer path shows,
leaving from the box's needs row and arriving at the needed box's name row,
both on the side away from the images. A big stack writes the layer out
("needs", "needed by") and draws no arrows.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from service.limits import Limits
from service.model import (
    Dependency,
    Image,
    NetworkAttachment,
    Project,
    Service,
)
from service.render import DiagramOptions, render_diagram, render_dot, styles
from service.render.build import build_graph
from service.render.graph import Edge, Graph
from service.render.graphviz import find_dot
from service.render.ids import element_id, service_id

needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz is not installed")

SVG = "{http://www.w3.org/2000/svg}"
DEPENDS_ON_EDGE = element_id("edge", "depends_on")
HEALTHY = "service_healthy"


def _project(needs: dict[str, tuple[Dependency, ...]], **modes: str) -> Project:
    """Return a project whose services need what ``needs`` says, one image each."""
    services = tuple(
        Service(
            name=name,
            image=f"example/{name}:1",
            depends_on=dependencies,
            network_mode=modes.get(name),
            networks=() if name in modes else (NetworkAttachment("default"),),
        )
        for name, dependencies in sorted(needs.items())
    )
    images = tuple(
        Image(ref=s.image, source="pull", used_by=(s.name,)) for s in services
    )
    return Project(project="deps", images=images, services=services)


def _netbox_like() -> Project:
    """Return six services: a web app needing three stores, two workers needing it."""
    return _project(
        {
            "web": (
                Dependency("postgres"),
                Dependency("redis"),
                Dependency("cache", required=False),
            ),
            "worker": (Dependency("web", condition=HEALTHY),),
            "housekeeping": (Dependency("web", condition=HEALTHY),),
            "postgres": (),
            "redis": (),
            "cache": (),
        }
    )


def _big_stack() -> Project:
    """Return twelve services: ten apps need a collector, a gateway needs two apps."""
    apps = [f"app-{index:02d}" for index in range(10)]
    needs: dict[str, tuple[Dependency, ...]] = {
        name: (Dependency("collector"),) for name in apps
    }
    needs["gateway"] = (Dependency("app-00"), Dependency("app-01", condition=HEALTHY))
    needs["collector"] = ()
    return _project(needs)


def _arrows(graph: Graph) -> dict[tuple[str, str], Edge]:
    return {
        (edge.tail, edge.head): edge
        for edge in graph.edges
        if edge.id.startswith(DEPENDS_ON_EDGE)
    }


def test_small_stack_arrows_leave_the_needs_row_and_reach_the_name_row() -> None:
    graph = build_graph(_netbox_like(), DiagramOptions())

    arrows = _arrows(graph)

    assert set(arrows) == {
        (service_id("web"), service_id(name)) for name in ("cache", "postgres", "redis")
    } | {(service_id(name), service_id("web")) for name in ("housekeeping", "worker")}
    for arrow in arrows.values():
        assert arrow.attrs["tailport"] == "needs:e"
        assert arrow.attrs["headport"] == "name:e"
        assert arrow.attrs["constraint"] == "false"
        assert arrow.label is None


def test_small_stack_ports_name_cells_of_both_boxes() -> None:
    graph = build_graph(_netbox_like(), DiagramOptions())

    web = graph.nodes[service_id("web")].label
    postgres = graph.nodes[service_id("postgres")].label

    assert 'PORT="needs"' in web and 'PORT="name"' in web
    assert 'PORT="name"' in postgres and 'PORT="needs"' not in postgres


@pytest.mark.parametrize(
    ("service", "row"),
    [
        pytest.param("web", "cache (optional), postgres, redis", id="optional"),
        pytest.param("worker", "web (healthy)", id="healthy"),
    ],
)
def test_needs_row_with_conditions_lists_every_direct_need(
    service: str, row: str
) -> None:
    graph = build_graph(_netbox_like(), DiagramOptions())

    label = graph.nodes[service_id(service)].label

    assert f"needs</FONT> {row}" in label


def test_arrow_implied_by_a_longer_path_is_left_to_the_needs_row() -> None:
    project = _project(
        {
            "app": (Dependency("api"), Dependency("db")),
            "api": (Dependency("db"),),
            "db": (),
        }
    )

    graph = build_graph(project, DiagramOptions())

    assert set(_arrows(graph)) == {
        (service_id("app"), service_id("api")),
        (service_id("api"), service_id("db")),
    }
    assert "needs</FONT> api, db" in graph.nodes[service_id("app")].label


def test_top_to_bottom_arrows_use_the_bottom_of_the_boxes() -> None:
    graph = build_graph(_netbox_like(), DiagramOptions(direction="TB"))

    ports = {
        (a.attrs["tailport"], a.attrs["headport"]) for a in _arrows(graph).values()
    }

    assert ports == {("s", "s")}


def test_arrow_to_host_network_service_leaves_the_route_to_graphviz() -> None:
    project = _project(
        {"app": (Dependency("proxy"),), "proxy": ()},
        proxy="host",
    )

    graph = build_graph(project, DiagramOptions())

    arrow = _arrows(graph)[(service_id("app"), service_id("proxy"))]
    assert "tailport" not in arrow.attrs and "headport" not in arrow.attrs


def test_big_stack_draws_no_arrows_and_says_who_needs_whom() -> None:
    graph = build_graph(_big_stack(), DiagramOptions())

    collector = graph.nodes[service_id("collector")].label
    app = graph.nodes[service_id("app-01")].label
    legend = graph.nodes[element_id("legend")].label

    assert not _arrows(graph)
    assert f'<B><FONT COLOR="{styles.DEPENDS_LINE}"' in collector
    assert "needed by (10)" in collector
    assert "needed by</FONT> gateway" in app
    assert f'<B><FONT COLOR="{styles.DEPENDS_LINE}"' not in app
    assert "needs</FONT> collector" in app
    assert "needs / needed by" in legend and "dashed arrow" not in legend


def test_big_stack_tooltip_names_every_service_that_needs_it() -> None:
    graph = build_graph(_big_stack(), DiagramOptions())

    tooltip = graph.nodes[service_id("collector")].tooltip

    assert "Needed by " + ", ".join(f"app-{i:02d}" for i in range(10)) in tooltip


@pytest.mark.parametrize(
    "project",
    [pytest.param(_netbox_like(), id="small"), pytest.param(_big_stack(), id="big")],
)
def test_depends_on_off_removes_arrows_rows_and_legend_entries(
    project: Project,
) -> None:
    graph = build_graph(project, DiagramOptions(depends_on=False))

    labels = "".join(node.label for node in graph.nodes.values())
    tooltips = "".join(node.tooltip for node in graph.nodes.values())

    assert not _arrows(graph)
    assert "needs" not in labels and "needed by" not in labels
    assert "Needed by" not in tooltips
    assert "depends_on" not in graph.nodes[element_id("legend")].label


def test_small_stack_with_depends_on_is_byte_identical() -> None:
    first = render_dot(_netbox_like(), DiagramOptions(), Limits())
    second = render_dot(_netbox_like(), DiagramOptions(), Limits())

    assert first == second
    assert len(re.findall(r'tailport="needs:e"', first)) == 5


@needs_dot
def test_svg_small_stack_keeps_ids_and_draws_arrows_beside_the_column() -> None:
    svg = render_diagram(_netbox_like(), "svg", DiagramOptions(), Limits())

    root = ET.fromstring(svg)
    ids = {element.get("id") for element in root.iter(f"{SVG}g")}
    boxes = {
        element.get("id"): element
        for element in root.iter(f"{SVG}g")
        if (element.get("id") or "").startswith("service-")
    }

    assert element_id("edge", "depends_on", "web", "postgres") in ids
    assert service_id("web") in ids and service_id("postgres") in ids
    right_edges = [_right_edge(box) for box in boxes.values()]
    for element in root.iter(f"{SVG}g"):
        if (element.get("id") or "").startswith(DEPENDS_ON_EDGE):
            path = next(element.iter(f"{SVG}path"))
            assert _leftmost_x(path.get("d") or "") >= min(right_edges) - 1


def _right_edge(box: ET.Element) -> float:
    shape = next(box.iter(f"{SVG}path"))
    return max(_xs(shape.get("d") or ""))


def _leftmost_x(path: str) -> float:
    return min(_xs(path))


def _xs(path: str) -> list[float]:
    numbers = re.findall(r"(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)", path)
    return [float(x) for x, _ in numbers]
