"""The HTTP service: the page, the REST API and the Kroki-compatible routes."""

from __future__ import annotations
