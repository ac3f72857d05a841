"""Big stacks spread over columns in depends_on order, with compact boxes."""

from __future__ import annotations

import dataclasses
import re

import pytest

from service.limits import Limits
from service.model import Dependency, Image, NetworkAttachment, PortBinding, Project
from service.model import Service as ServiceModel
from service.render import DiagramOptions, render_dot
from service.render.build import build_graph
from service.render.ids import element_id, service_id
from service.render.layout import count_columns, depth_layers, split_columns

DEPENDS_ON_EDGE = element_id("edge", "depends_on")


def _stack(size: int) -> Project:
    """Return a chain-and-fan stack: ``app-N`` all need ``db``; ``edge`` needs all."""
    apps = [f"app-{index:02d}" for index in range(size - 2)]
    services = [
        ServiceModel(
            name=name,
            image=f"example/{name}:1",
            depends_on=(Dependency(service="db"),),
            ports=(PortBinding(target=8000, exposure="public", random_host_port=True),),
            overrides=(),
            networks=(NetworkAttachment(network="default"),),
        )
        for name in apps
    ]
    services.append(
        ServiceModel(
            name="edge",
            image="nginx:1",
            depends_on=tuple(Dependency(service=name) for name in apps),
            ports=(PortBinding(target=80, published="80", exposure="public"),),
            networks=(NetworkAttachment(network="default"),),
        )
    )
    services.append(
        ServiceModel(
            name="db",
            image="postgres:16",
            networks=(NetworkAttachment(network="default"),),
        )
    )
    images = tuple(
        Image(ref=s.image, source="pull", used_by=(s.name,)) for s in services
    )
    return Project(project="big", images=images, services=tuple(services))


def test_depth_layers_with_chain_put_users_before_what_they_need() -> None:
    layers = depth_layers(_stack(6).services)

    assert layers == [["edge"], ["app-00", "app-01", "app-02", "app-03"], ["db"]]


@pytest.mark.parametrize(
    ("services", "rows", "columns"),
    [
        pytest.param(6, 40, 1, id="small-stays-one-column"),
        pytest.param(20, 130, 3, id="twenty-services"),
        pytest.param(28, 180, 3, id="otel-sized"),
        pytest.param(100, 600, 5, id="hundred"),
    ],
)
def test_count_columns_with_stack_size_grows_slowly(
    services: int, rows: int, columns: int
) -> None:
    assert count_columns(services, rows) == columns


def test_split_columns_with_even_layers_cuts_between_layers() -> None:
    layers = [["a", "b"], ["c", "d"], ["e", "f"]]

    columns = split_columns(layers, dict.fromkeys("abcdef", 1), 3)

    assert columns == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_split_columns_with_one_huge_layer_splits_inside_it() -> None:
    layers = [["top"], [f"s{index}" for index in range(9)]]

    columns = split_columns(layers, {"top": 1, **{f"s{i}": 1 for i in range(9)}}, 2)

    assert len(columns) == 2
    assert max(len(column) for column in columns) == 5


def test_big_stack_with_default_options_draws_columns_and_ports_after_them() -> None:
    dot = render_dot(_stack(24), DiagramOptions(), Limits())

    ranks = re.findall(r'\{rank="same"; ([^}]*)\}', dot)

    assert len(ranks) >= 3
    service_ranks = [rank for rank in ranks if '"service-' in rank]
    assert service_id("edge") in service_ranks[0]
    assert service_id("db") in service_ranks[-1]
    assert all('"port-' in part for part in ranks[-1].split("; "))


def test_big_stack_boxes_are_compact_and_depends_on_in_words() -> None:
    project = _stack(24)

    graph = build_graph(project, DiagramOptions())

    edge_box = graph.nodes[service_id("edge")].label
    assert edge_box.count("<TR>") <= 4
    assert "needs (22)" in edge_box
    assert not [e for e in graph.edges if e.id.startswith(DEPENDS_ON_EDGE)]


def test_big_stack_split_into_networks_keeps_regions_instead_of_columns() -> None:
    project = _stack(24)
    services = tuple(
        dataclasses.replace(
            service, networks=(NetworkAttachment(network=f"net-{index % 2}"),)
        )
        for index, service in enumerate(project.services)
    )

    dot = render_dot(
        dataclasses.replace(project, services=services), DiagramOptions(), Limits()
    )

    assert '{rank="same"' not in dot
    assert "cluster_network-net-0" in dot and "cluster_network-net-1" in dot


def test_small_stack_draws_no_rank_groups() -> None:
    dot = render_dot(_stack(6), DiagramOptions(), Limits())

    assert '{rank="same"' not in dot


def test_big_stack_render_is_byte_identical() -> None:
    first = render_dot(_stack(30), DiagramOptions(), Limits())
    second = render_dot(_stack(30), DiagramOptions(), Limits())

    assert first == second
