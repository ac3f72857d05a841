"""Settings come from COMPOSE_TOPOLOGY_* variables; the defaults start a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.web.settings import Settings, default_render_slots


def test_settings_defaults_point_at_the_repository_folders() -> None:
    settings = Settings()

    assert (settings.templates_dir / "base.html").is_file()
    assert settings.static_dir.is_dir()
    assert settings.max_concurrent_renders == default_render_slots() >= 1


def test_settings_from_environ_reads_every_knob(tmp_path: Path) -> None:
    environ = {
        "COMPOSE_TOPOLOGY_TEMPLATES_DIR": str(tmp_path / "t"),
        "COMPOSE_TOPOLOGY_STATIC_DIR": str(tmp_path / "s"),
        "COMPOSE_TOPOLOGY_CACHE_ENTRIES": "7",
        "COMPOSE_TOPOLOGY_CACHE_BYTES": "1000",
        "COMPOSE_TOPOLOGY_MAX_CONCURRENT_RENDERS": "3",
        "COMPOSE_TOPOLOGY_QUEUE_WAIT_SECONDS": "0.25",
        "COMPOSE_TOPOLOGY_BODY_TIMEOUT_SECONDS": "4",
        "COMPOSE_TOPOLOGY_CACHE_MAX_AGE_SECONDS": "60",
        "COMPOSE_TOPOLOGY_HEALTH_CACHE_SECONDS": "1.5",
        "COMPOSE_TOPOLOGY_MAX_BODY_BYTES": "1234",
    }

    settings = Settings.from_environ(environ)

    assert settings.templates_dir == tmp_path / "t"
    assert settings.static_dir == tmp_path / "s"
    assert (settings.cache_entries, settings.cache_bytes) == (7, 1000)
    assert settings.max_concurrent_renders == 3
    assert settings.queue_wait_seconds == 0.25
    assert settings.body_timeout_seconds == 4.0
    assert settings.cache_max_age_seconds == 60
    assert settings.health_cache_seconds == 1.5
    assert settings.limits.max_body_bytes == 1234


def test_settings_from_empty_environ_keeps_the_defaults() -> None:
    assert Settings.from_environ({}) == Settings()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        pytest.param("CACHE_ENTRIES", "many", "not a valid int", id="not-a-number"),
        pytest.param("MAX_CONCURRENT_RENDERS", "0", "at least 1", id="no-slots"),
        pytest.param("QUEUE_WAIT_SECONDS", "-1", "must not be negative", id="negative"),
    ],
)
def test_settings_from_environ_bad_value_raises_a_clear_error(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_environ({f"COMPOSE_TOPOLOGY_{name}": value})
