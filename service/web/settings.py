"""How one web service process is configured, read once from the environment.

Every knob is a ``COMPOSE_TOPOLOGY_<NAME>`` variable. The limits on input and
work (``service.limits.Limits``) share the same prefix, so an operator sets
them all in one place::

    COMPOSE_TOPOLOGY_MAX_BODY_BYTES=2000000
    COMPOSE_TOPOLOGY_MAX_CONCURRENT_RENDERS=4
    COMPOSE_TOPOLOGY_STATIC_DIR=/srv/compose-topology/static
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from service.limits import Limits

PREFIX = "COMPOSE_TOPOLOGY_"

#: The repository's top level, where ``templates/`` and ``static/`` live.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

_T = TypeVar("_T")


def default_render_slots() -> int:
    """Return one render slot per CPU core: Graphviz layouts are CPU-bound."""
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    """The web service's configuration; the defaults suit a small shared server."""

    limits: Limits = field(default_factory=Limits)
    templates_dir: Path = REPOSITORY_ROOT / "templates"
    static_dir: Path = REPOSITORY_ROOT / "static"
    cache_entries: int = 256
    cache_bytes: int = 64_000_000
    max_concurrent_renders: int = field(default_factory=default_render_slots)
    queue_wait_seconds: float = 2.0
    body_timeout_seconds: float = 15.0
    cache_max_age_seconds: int = 86_400
    health_cache_seconds: float = 5.0
    graphviz_spares: int | None = None

    def __post_init__(self) -> None:
        if self.max_concurrent_renders < 1:
            raise ValueError(
                f"{PREFIX}MAX_CONCURRENT_RENDERS must be at least 1, "
                f"got {self.max_concurrent_renders}."
            )
        if self.queue_wait_seconds < 0 or self.body_timeout_seconds <= 0:
            raise ValueError(
                f"{PREFIX}QUEUE_WAIT_SECONDS must not be negative and "
                f"{PREFIX}BODY_TIMEOUT_SECONDS must be positive."
            )
        spares = self.graphviz_spares
        if spares is not None and not 0 <= spares <= self.max_concurrent_renders:
            raise ValueError(
                f"{PREFIX}GRAPHVIZ_SPARES must be between 0 (no spares) and "
                f"{PREFIX}MAX_CONCURRENT_RENDERS ({self.max_concurrent_renders}), "
                f"got {spares}."
            )

    @property
    def spares_per_format(self) -> int:
        """Return how many started ``dot`` processes wait per output format.

        One per render slot by default: every slot can then take one at
        once, and each starts its own replacement.
        """
        if self.graphviz_spares is None:
            return self.max_concurrent_renders
        return self.graphviz_spares

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read the settings and limits from ``COMPOSE_TOPOLOGY_*`` variables."""
        defaults = cls()
        return cls(
            limits=Limits.from_environ(environ),
            templates_dir=_read(environ, "TEMPLATES_DIR", Path, defaults.templates_dir),
            static_dir=_read(environ, "STATIC_DIR", Path, defaults.static_dir),
            cache_entries=_read(environ, "CACHE_ENTRIES", int, defaults.cache_entries),
            cache_bytes=_read(environ, "CACHE_BYTES", int, defaults.cache_bytes),
            max_concurrent_renders=_read(
                environ,
                "MAX_CONCURRENT_RENDERS",
                int,
                defaults.max_concurrent_renders,
            ),
            queue_wait_seconds=_read(
                environ, "QUEUE_WAIT_SECONDS", float, defaults.queue_wait_seconds
            ),
            body_timeout_seconds=_read(
                environ, "BODY_TIMEOUT_SECONDS", float, defaults.body_timeout_seconds
            ),
            cache_max_age_seconds=_read(
                environ, "CACHE_MAX_AGE_SECONDS", int, defaults.cache_max_age_seconds
            ),
            health_cache_seconds=_read(
                environ, "HEALTH_CACHE_SECONDS", float, defaults.health_cache_seconds
            ),
            graphviz_spares=_read(
                environ, "GRAPHVIZ_SPARES", int, defaults.graphviz_spares
            ),
        )


def settings_from_environ() -> Settings:
    """Return the settings configured in this process's environment."""
    return Settings.from_environ(os.environ)


def _read(
    environ: Mapping[str, str], name: str, convert: Callable[[str], _T], default: _T
) -> _T:
    raw = environ.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        return convert(raw)
    except ValueError as exc:
        raise ValueError(
            f"{PREFIX}{name} has the value {raw!r}, which is not a valid "
            f"{getattr(convert, '__name__', 'value')}."
        ) from exc
