"""Graphviz runs bounded: every failure becomes our error and no process survives."""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from service.errors import (
    GraphvizMissingError,
    InputError,
    LimitExceededError,
    RenderFailedError,
    RenderTimeoutError,
)
from service.limits import Limits
from service.model import Project
from service.render import (
    MEDIA_TYPES,
    DiagramOptions,
    check_graphviz,
    graphviz,
    is_graphviz_available,
    render_diagram,
    render_graphviz,
)
from service.render.ids import image_id, service_id
from tests.render.conftest import APP

pytestmark = pytest.mark.skipif(
    not is_graphviz_available(), reason="Graphviz dot is not installed"
)

SVG = "{http://www.w3.org/2000/svg}"


def _slow_dot(nodes: int = 1500) -> str:
    """Return a graph that takes Graphviz far longer than a few milliseconds."""
    edges = "\n".join(f"n{i} -> n{(i * 7919) % nodes};" for i in range(nodes))
    more = "\n".join(f"n{i} -> n{(i * 104729 + 3) % nodes};" for i in range(nodes))
    return f"digraph g {{\n{edges}\n{more}\n}}\n"


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the pid of every process the renderer starts."""
    pids: list[int] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process: subprocess.Popen[bytes] = real_popen(*args, **kwargs)
        pids.append(process.pid)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    return pids


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    ("fmt", "magic"),
    [
        pytest.param("svg", b"<?xml", id="svg"),
        pytest.param("png", b"\x89PNG", id="png"),
        pytest.param("pdf", b"%PDF", id="pdf"),
        pytest.param("dot", b'digraph "topology"', id="dot"),
        pytest.param("json", b"{", id="json"),
    ],
)
def test_render_diagram_with_each_format_returns_that_format(
    example_project: Project, fmt: str, magic: bytes
) -> None:
    output = render_diagram(example_project, fmt, DiagramOptions(), Limits())

    assert output.startswith(magic)
    assert fmt in MEDIA_TYPES


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf", "dot", "json"])
def test_render_diagram_twice_is_byte_identical(
    example_project: Project, fmt: str
) -> None:
    first = render_diagram(example_project, fmt, DiagramOptions(), Limits())
    second = render_diagram(example_project, fmt, DiagramOptions(), Limits())

    assert first == second


def test_render_svg_with_example_has_stable_ids_and_tooltips(
    example_project: Project,
) -> None:
    svg = render_diagram(example_project, "svg", DiagramOptions(), Limits())

    root = ET.fromstring(svg)
    ids = [element.get("id") for element in root.iter() if element.get("id")]

    assert len(ids) == len(set(ids))
    for wanted in (service_id("celery"), service_id("redis"), image_id(APP)):
        assert wanted in ids
    node = next(e for e in root.iter(f"{SVG}g") if e.get("id") == service_id("db"))
    titles = [
        value
        for element in node.iter()
        for name, value in element.attrib.items()
        if name.endswith("title")
    ]
    assert any("Service db" in title for title in titles)


def test_render_diagram_with_unknown_format_raises_input_error(
    example_project: Project,
) -> None:
    with pytest.raises(InputError, match="Unknown format 'gif'"):
        render_diagram(example_project, "gif", DiagramOptions(), Limits())


def test_render_graphviz_with_slow_layout_times_out_and_leaves_no_process(
    spawned: list[int],
) -> None:
    limits = Limits(render_timeout_seconds=0.05)

    with pytest.raises(RenderTimeoutError, match="longer than 0.05 seconds"):
        render_graphviz(_slow_dot(), "svg", limits)

    assert spawned
    assert not any(_is_running(pid) for pid in spawned)


def test_render_graphviz_with_invalid_dot_raises_render_failed(
    spawned: list[int],
) -> None:
    with pytest.raises(RenderFailedError, match="exit status"):
        render_graphviz("digraph { a -> }", "svg", Limits())

    assert not any(_is_running(pid) for pid in spawned)


def test_render_graphviz_with_output_over_cap_raises_limit_exceeded() -> None:
    with pytest.raises(LimitExceededError, match="larger than 200 bytes"):
        render_graphviz("digraph { a -> b }", "svg", Limits(max_output_bytes=200))


def test_render_graphviz_with_tiny_memory_raises_limit_exceeded() -> None:
    limits = Limits(render_memory_bytes=8_000_000)

    with pytest.raises(LimitExceededError, match="memory limit of 8000000"):
        render_graphviz(_slow_dot(400), "png", limits)


def test_render_graphviz_without_dot_raises_graphviz_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(graphviz, "find_dot", lambda: None)

    with pytest.raises(GraphvizMissingError, match="not installed"):
        render_graphviz("digraph { a }", "svg", Limits())
    assert not is_graphviz_available()


def test_render_graphviz_with_unstartable_dot_raises_graphviz_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    fake = tmp_path / "dot"
    fake.write_text("not a program")
    fake.chmod(0o644)
    monkeypatch.setattr(graphviz, "find_dot", lambda: str(fake))

    with pytest.raises((GraphvizMissingError, RenderFailedError)):
        render_graphviz("digraph { a }", "svg", Limits())
    with pytest.raises(GraphvizMissingError):
        check_graphviz()


def test_check_graphviz_with_dot_installed_reports_version() -> None:
    assert "graphviz" in check_graphviz().lower()


def test_render_graphviz_with_dot_format_raises_input_error() -> None:
    with pytest.raises(InputError):
        render_graphviz("digraph { a }", "dot", Limits())
