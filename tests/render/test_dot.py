"""The facts a reader must see, asserted on the graph and the DOT text."""

from __future__ import annotations

import dataclasses
import re

import pytest

from service.errors import LimitExceededError, UnknownServiceError
from service.limits import Limits
from service.model import Dependency, Project
from service.render import DiagramOptions, render_dot
from service.render.build import build_graph
from service.render.graph import Graph
from service.render.ids import element_id, image_id, service_id
from tests.render.conftest import APP, APP_USERS, find_region

LIMITS = Limits()


def _edges_from(graph: Graph, node_id: str) -> list[str]:
    return sorted(edge.head for edge in graph.edges if edge.tail == node_id)


def test_shared_image_with_four_users_fans_out_to_each(
    example_project: Project,
) -> None:
    graph = build_graph(example_project, DiagramOptions())

    heads = _edges_from(graph, image_id(APP))

    assert heads == sorted(service_id(name) for name in APP_USERS)


def test_built_image_with_builder_names_builder_and_context(
    example_project: Project,
) -> None:
    graph = build_graph(example_project, DiagramOptions())

    label = graph.nodes[image_id(APP)].label

    assert "BUILT IMAGE" in label
    assert "backend" in label
    assert "context" in label and "dockerfile" in label


def test_pulled_and_built_images_with_defaults_differ_in_style(
    example_project: Project,
) -> None:
    graph = build_graph(example_project, DiagramOptions())

    built = graph.nodes[image_id(APP)].attrs
    pulled = graph.nodes[image_id("postgres:16")].attrs

    assert "dashed" in pulled["style"] and "dashed" not in built["style"]
    assert built["fillcolor"] != pulled["fillcolor"]


def test_public_and_loopback_ports_with_example_sit_in_distinct_styles(
    example_project: Project,
) -> None:
    graph = build_graph(example_project, DiagramOptions())
    public_id = element_id("port", "0.0.0.0", "8000", "tcp")
    loopback_id = element_id("port", "127.0.0.1", "5432", "tcp")

    public = find_region(graph, element_id("host", "public"))
    loopback = find_region(graph, element_id("host", "loopback"))

    assert public.nodes == [public_id]
    assert loopback.nodes == [loopback_id]
    assert (
        graph.nodes[public_id].attrs["color"] != graph.nodes[loopback_id].attrs["color"]
    )
    assert "open to the network" in graph.nodes[public_id].label
    assert "this host only" in graph.nodes[loopback_id].label


def test_port_edge_with_binding_is_labelled_host_to_target(
    example_project: Project,
) -> None:
    graph = build_graph(example_project, DiagramOptions())

    labels = {
        edge.tail: edge.label for edge in graph.edges if edge.head.startswith("port-")
    }

    assert "0.0.0.0:8000 \u2192 8000/tcp" in str(labels[service_id("backend")])
    assert "127.0.0.1:5432 \u2192 5432/tcp" in str(labels[service_id("db")])


def test_redis_without_ports_is_marked_internal_only(example_project: Project) -> None:
    graph = build_graph(example_project, DiagramOptions())

    label = graph.nodes[service_id("redis")].label

    assert "internal only" in label
    assert not [edge for edge in graph.edges if edge.tail == service_id("redis")]


def test_celery_overrides_with_default_options_are_listed(
    example_project: Project,
) -> None:
    graph = build_graph(example_project, DiagramOptions())

    label = graph.nodes[service_id("celery")].label

    assert "command" in label and "celery -A apis worker" in label
    assert "working_dir" in label and "/app/apis" in label
    assert "environment" in label and "PYTHONPATH" in label
    assert "/app<" not in label.replace("/app/apis", "")


def test_celery_environment_with_show_values_shows_value(
    example_project: Project,
) -> None:
    graph = build_graph(example_project, DiagramOptions(show_values=True))

    assert "PYTHONPATH=/app" in graph.nodes[service_id("celery")].label


def test_overrides_turned_off_are_not_listed(example_project: Project) -> None:
    graph = build_graph(example_project, DiagramOptions(overrides=False))

    assert "celery -A apis worker" not in graph.nodes[service_id("celery")].label


def test_focus_on_celery_draws_it_and_its_image_only(example_project: Project) -> None:
    graph = build_graph(example_project, DiagramOptions(service="celery"))

    services = sorted(n for n in graph.nodes if n.startswith("service-"))

    assert services == [service_id("celery")]
    assert image_id(APP) in graph.nodes
    assert image_id("postgres:16") not in graph.nodes


def test_focus_on_unknown_service_raises_unknown_service_error(
    example_project: Project,
) -> None:
    with pytest.raises(UnknownServiceError, match="no service 'nope'") as caught:
        build_graph(example_project, DiagramOptions(service="nope"))

    assert caught.value.service == "nope"
    assert caught.value.key == "service"


def test_render_dot_with_same_input_is_byte_identical(
    example_project: Project,
) -> None:
    first = render_dot(example_project, DiagramOptions(), LIMITS)
    second = render_dot(example_project, DiagramOptions(), LIMITS)

    assert first == second
    assert first.startswith('digraph "topology" {')


@pytest.mark.parametrize(
    ("limits", "limit_name"),
    [
        pytest.param(Limits(max_diagram_nodes=5), "max_diagram_nodes", id="nodes"),
        pytest.param(Limits(max_diagram_edges=3), "max_diagram_edges", id="edges"),
    ],
)
def test_render_dot_over_limit_raises_limit_exceeded(
    example_project: Project, limits: Limits, limit_name: str
) -> None:
    with pytest.raises(LimitExceededError) as caught:
        render_dot(example_project, DiagramOptions(), limits)

    assert caught.value.limit == limit_name


def test_render_dot_with_example_has_one_edge_per_image_user(
    example_project: Project,
) -> None:
    dot = render_dot(example_project, DiagramOptions(legend=False), LIMITS)

    image_edges = re.findall(rf'"{image_id(APP)}" -> "service-', dot)

    assert len(image_edges) == 4


def test_legend_with_example_lists_only_styles_drawn(example_project: Project) -> None:
    graph = build_graph(example_project, DiagramOptions())

    legend = graph.nodes[element_id("legend")].label

    for drawn in ("built image", "pulled image", "all interfaces", "loopback"):
        assert drawn in legend
    assert "internal only" in legend and "warning finding" in legend
    for absent in ("one interface", "depends_on", "danger", "volume", "network_mode"):
        assert absent not in legend


def test_legend_with_depends_on_drawn_explains_the_dashed_arrow(
    example_project: Project,
) -> None:
    celery = example_project.service("celery")
    waits = dataclasses.replace(celery, depends_on=(Dependency(service="redis"),))
    services = tuple(
        waits if s.name == "celery" else s for s in example_project.services
    )
    project = dataclasses.replace(example_project, services=services)

    with_edges = build_graph(project, DiagramOptions())
    without_edges = build_graph(project, DiagramOptions(depends_on=False))

    assert "depends_on" in with_edges.nodes[element_id("legend")].label
    assert "depends_on" not in without_edges.nodes[element_id("legend")].label


@pytest.mark.parametrize(
    ("focus", "title"),
    [
        pytest.param(
            None,
            "project example \u00b7 6 services, 3 images, 2 published ports",
            id="whole",
        ),
        pytest.param(
            "redis",
            "project example \u00b7 redis and what it needs \u00b7 1 service, "
            "1 image, no published ports",
            id="focus",
        ),
    ],
)
def test_title_with_example_names_project_and_counts(
    example_project: Project, focus: str | None, title: str
) -> None:
    graph = build_graph(example_project, DiagramOptions(service=focus))

    assert graph.title.startswith(f"<B>{title}</B>")
