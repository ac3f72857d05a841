"""The issue's example read by the real compose reader, then drawn.

These tests answer, from the DOT and SVG structure alone, the questions a
new reader must be able to answer from the picture: which services share an
image and who builds it, which ports are open to the network and which to
this host only, which services are internal only, and what ``celery``
changes on top of its image (against the Dockerfile when it is supplied).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

import pytest

from service.compose import ComposeFile, MappingSource, ProjectInput, parse_project
from service.example import EXAMPLE_COMPOSE
from service.limits import Limits
from service.model import Project
from service.render import DiagramOptions, render_diagram, render_dot
from service.render.build import build_graph
from service.render.graphviz import find_dot
from service.render.ids import element_id, image_id, service_id
from tests.render.conftest import find_region

needs_dot = pytest.mark.skipif(find_dot() is None, reason="Graphviz is not installed")

SVG = "{http://www.w3.org/2000/svg}"
APP = "cryphos-app:latest"
APP_USERS = ("backend", "celery", "celery-beat", "liquidations")
PUBLIC_8000 = element_id("port", "0.0.0.0", "8000", "tcp")
LOOPBACK_5432 = element_id("port", "127.0.0.1", "5432", "tcp")

# The example with the cache's port declared, to show `expose` as internal.
EXAMPLE = EXAMPLE_COMPOSE + '    expose: ["6379"]\n'

DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
ENV PYTHONPATH=/srv
EXPOSE 8000
CMD ["gunicorn", "apis.wsgi"]
"""


def _read(files: Mapping[str, str] | None = None, text: str = EXAMPLE) -> Project:
    project_input = ProjectInput(
        files=(ComposeFile("compose.yaml", text),),
        project_directory="/work/cryphos",
        sources=MappingSource(files or {}),
    )
    return parse_project(project_input, Limits())


@pytest.fixture(scope="module")
def project() -> Project:
    return _read({"Dockerfile": DOCKERFILE})


@pytest.fixture(scope="module")
def svg(project: Project) -> ET.Element:
    if find_dot() is None:
        pytest.skip("Graphviz is not installed")
    data = render_diagram(project, "svg", DiagramOptions(), Limits())
    return ET.fromstring(data)


def _svg_text(root: ET.Element, element_id: str) -> str:
    found = root.find(f".//{SVG}g[@id='{element_id}']")
    assert found is not None, f"no element {element_id}"
    words = " ".join(t.text or "" for t in found.iter(f"{SVG}text"))
    return " ".join(words.split())


def _dot_edges(dot: str) -> list[tuple[str, str]]:
    return re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', dot, flags=re.MULTILINE)


def test_shared_image_from_reader_fans_out_to_its_four_services(
    project: Project,
) -> None:
    dot = render_dot(project, DiagramOptions(), Limits())

    heads = sorted(head for tail, head in _dot_edges(dot) if tail == image_id(APP))

    assert heads == sorted(service_id(name) for name in APP_USERS)


def test_shared_image_from_reader_names_its_builder(svg: ET.Element) -> None:
    image = _svg_text(svg, image_id(APP))

    assert "BUILT IMAGE" in image
    assert "built by backend" in image
    assert "runs in 4 services" in image
    assert "builds its image" in _svg_text(svg, service_id("backend"))
    assert "builds its image" not in _svg_text(svg, service_id("celery"))


def test_ports_from_reader_sit_in_their_binding_group(project: Project) -> None:
    graph = build_graph(project, DiagramOptions())

    public = find_region(graph, element_id("host", "public"))
    loopback = find_region(graph, element_id("host", "loopback"))

    assert public.nodes == [PUBLIC_8000]
    assert loopback.nodes == [LOOPBACK_5432]


@pytest.mark.parametrize(
    ("port", "service", "words", "binding"),
    [
        pytest.param(
            PUBLIC_8000,
            "backend",
            "open to the network",
            "0.0.0.0:8000 \u2192 8000/tcp",
            id="backend-public",
        ),
        pytest.param(
            LOOPBACK_5432,
            "db",
            "this host only",
            "127.0.0.1:5432 \u2192 5432/tcp",
            id="db-loopback",
        ),
    ],
)
def test_port_from_reader_reaches_its_service_with_reach_shown(
    svg: ET.Element, port: str, service: str, words: str, binding: str
) -> None:
    edge_id = element_id("edge", port, service, binding.split(" \u2192 ")[1])

    assert words in _svg_text(svg, port)
    assert words in _svg_text(svg, service_id(service))
    assert binding in _svg_text(svg, edge_id)


@pytest.mark.parametrize("name", ["redis", "celery", "celery-beat", "liquidations"])
def test_service_without_ports_from_reader_is_internal_only(
    project: Project, svg: ET.Element, name: str
) -> None:
    dot = render_dot(project, DiagramOptions(), Limits())

    port_edges = [head for tail, head in _dot_edges(dot) if tail == service_id(name)]

    assert "internal only" in _svg_text(svg, service_id(name))
    assert not [head for head in port_edges if head.startswith("port-")]


def test_expose_from_reader_is_listed_as_internal_port(svg: ET.Element) -> None:
    assert "internal ports 6379/tcp" in _svg_text(svg, service_id("redis"))


def test_celery_from_reader_with_dockerfile_overrides_the_image_defaults(
    svg: ET.Element,
) -> None:
    celery = _svg_text(svg, service_id("celery"))

    assert "command celery -A apis worker" in celery
    assert "overrides the image's CMD (gunicorn apis.wsgi)" in celery
    assert "working_dir /app/apis" in celery
    assert "overrides the image's WORKDIR (/app)" in celery
    assert "environment PYTHONPATH" in celery
    assert "overrides the image's ENV" in celery
    assert "/srv" not in celery


def test_celery_from_reader_without_dockerfile_claims_no_relation() -> None:
    graph = build_graph(_read(), DiagramOptions())

    label = graph.nodes[service_id("celery")].label

    assert "celery -A apis worker" in label and "/app/apis" in label
    assert "image's" not in label and "image has no" not in label


def test_user_from_reader_with_dockerfile_lacking_it_says_image_has_none() -> None:
    text = EXAMPLE.replace(
        "    command: celery -A apis beat\n",
        "    command: celery -A apis beat\n    user: worker\n",
    )
    graph = build_graph(_read({"Dockerfile": DOCKERFILE}, text), DiagramOptions())

    label = graph.nodes[service_id("celery-beat")].label

    assert "user</FONT> worker" in label
    assert "image has no USER" in label


def test_values_from_reader_are_hidden_unless_asked(project: Project) -> None:
    hidden = render_dot(project, DiagramOptions(), Limits())
    shown = render_dot(project, DiagramOptions(show_values=True), Limits())

    assert "PYTHONPATH=/app" not in hidden
    assert "PYTHONPATH=/app" in shown


def test_title_from_reader_counts_project_services_images_ports(
    svg: ET.Element,
) -> None:
    title = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))

    assert "project cryphos \u00b7 6 services, 3 images, 2 published ports" in title
