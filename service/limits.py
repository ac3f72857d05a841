"""The bounds that keep one request from taking the whole service down.

Every layer reads its bounds from one ``Limits`` value, so an operator tunes
them in one place (environment variables, see ``Limits.from_environ``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds on input size and on the work done for one request."""

    max_body_bytes: int = 1_000_000
    max_files: int = 20
    max_yaml_depth: int = 64
    max_yaml_nodes: int = 200_000
    max_alias_expansions: int = 10_000
    max_services: int = 500
    max_ports: int = 5_000
    max_diagram_nodes: int = 2_000
    max_diagram_edges: int = 5_000
    render_timeout_seconds: float = 10.0
    render_memory_bytes: int = 1_000_000_000
    max_output_bytes: int = 20_000_000

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Limits:
        """Read overrides from ``COMPOSE_TOPOLOGY_<FIELD>`` environment variables."""
        values: dict[str, int | float] = {}
        for field in dataclasses.fields(cls):
            variable = f"COMPOSE_TOPOLOGY_{field.name.upper()}"
            raw = environ.get(variable)
            if raw is None:
                continue
            convert = float if field.type in ("float", float) else int
            try:
                values[field.name] = convert(raw)
            except ValueError as exc:
                raise ValueError(f"{variable} must be a number, got {raw!r}.") from exc
        return cls(**values)  # type: ignore[arg-type]


DEFAULT_LIMITS = Limits()


def limits_from_environ() -> Limits:
    """Return the limits configured in this process's environment."""
    return Limits.from_environ(os.environ)
