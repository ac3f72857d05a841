"""Teach the MkDocs Kroki plugin the ``compose`` diagram type our server draws.

The plugin keeps a fixed table of Kroki's diagram types and output formats;
a fenced block of an unknown type is left as code. Adding ``compose`` before
the plugin reads the table (this hook runs first) makes ``kroki-compose``
blocks diagrams, drawn by whatever server ``server_url`` names.
"""

from __future__ import annotations

from typing import Any

from kroki.diagram_types import KrokiDiagramTypes
from mkdocs.plugins import event_priority

COMPOSE_FORMATS = ["svg", "png", "pdf"]


@event_priority(100)
def on_config(config: Any) -> Any:
    KrokiDiagramTypes._base_diagrams.setdefault("compose", COMPOSE_FORMATS)
    return config
