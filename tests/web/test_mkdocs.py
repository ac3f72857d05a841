"""A MkDocs site with the Kroki plugin pointed at our server draws a compose block.

The site under ``mkdocs_site/`` extends the plugin's diagram types with
``compose`` through a small hook; the build runs as a real ``mkdocs build``
against a real uvicorn server on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import LiveServer

pytest.importorskip("mkdocs", reason="mkdocs is a test dependency")
pytest.importorskip("kroki", reason="mkdocs-kroki-plugin is a test dependency")

SITE = Path(__file__).parent / "mkdocs_site"


def build_site(server: LiveServer, method: str, tmp_path: Path) -> Path:
    """Build the fixture site with the plugin in ``method`` mode; return its folder."""
    output = tmp_path / "site"
    environment = {
        **os.environ,
        "KROKI_SERVER_URL": server.url,
        "KROKI_HTTP_METHOD": method,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(SITE / "mkdocs.yml")]
        + ["-d", str(output)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return output


def image_sources(page: Path) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', page.read_text(encoding="utf-8"))


def test_mkdocs_post_mode_embeds_the_svg_our_server_drew(
    live_server: LiveServer, tmp_path: Path
) -> None:
    site = build_site(live_server, "POST", tmp_path)

    sources = image_sources(site / "index.html")

    assert len(sources) == 1
    svg = (site / sources[0]).read_text(encoding="utf-8")
    assert "<svg" in svg
    assert "nginx:1.27" in svg
    assert "shop/api:2.1" in svg


def test_mkdocs_get_mode_links_a_diagram_url_that_answers(
    live_server: LiveServer, tmp_path: Path
) -> None:
    site = build_site(live_server, "GET", tmp_path)

    sources = image_sources(site / "index.html")

    assert len(sources) == 1
    assert sources[0].startswith(f"{live_server.url}/compose/svg/")
    response = httpx.get(sources[0].replace("&amp;", "&"), timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert b"nginx:1.27" in response.content
