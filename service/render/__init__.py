"""Draw a topology model: DOT text (pure), then Graphviz for SVG, PNG and PDF."""

from __future__ import annotations
