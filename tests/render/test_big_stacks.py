"""Big stacks still lay out: Graphviz must draw what the renderer hands it.

The stacks come from the benchmark's generator (bench/generate_stack.py), so
the sizes the benchmark reports on are the sizes proven here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from service.compose import ComposeFile, ProjectInput, parse_project
from service.limits import Limits
from service.render import render_diagram
from service.render.options import DiagramOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from generate_stack import render_stack  # noqa: E402


@pytest.mark.parametrize("size", [50, 150, 200, 400], ids=lambda n: f"{n}-services")
def test_render_svg_generated_stack_draws_every_service(size: int) -> None:
    text = render_stack(size)
    project = parse_project(
        ProjectInput(files=(ComposeFile("compose.yaml", text),)), Limits()
    )

    svg = render_diagram(project, "svg", DiagramOptions(), Limits()).decode()

    for service in project.services:
        assert f'id="service-{service.name}"' in svg.replace("&#45;", "-")
