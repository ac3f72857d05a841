"""The page computes the same element ids as the renderer, long names included.

``static/tables.js`` links table rows to diagram nodes by recomputing the
ids of ``service/render/ids.py``; a name the two spell differently would
leave its row unlinked.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from service.render.ids import HASHED_ID_LENGTH, image_id, service_id
from tests.browser.conftest import Session

NAMES = [
    pytest.param("celery-beat", id="plain"),
    pytest.param("postgres:16", id="colon"),
    pytest.param("my_app", id="underscore"),
    pytest.param("a" * 88, id="just-under-the-cap"),
    pytest.param("a" * 89, id="just-over-the-cap"),
    pytest.param("ghcr.io/open-telemetry/demo:latest-" + "x" * 120, id="long-ref"),
    pytest.param("\u670d" * 40 + "\U0001f600" * 5, id="wide-characters"),
    pytest.param("<script>" * 30, id="markup"),
]

COMPUTE = """async (name) => {
  const ids = await import("/static/tables.js");
  return [ids.serviceNodeId(name), ids.imageNodeId(name)];
}"""


@pytest.mark.parametrize("name", NAMES)
def test_page_ids_with_name_equal_renderer_ids(
    page: Page, session: Session, name: str
) -> None:
    page.goto(session.base_url + "/")

    service, image = page.evaluate(COMPUTE, name)

    assert service == service_id(name)
    assert image == image_id(name)
    assert len(service) <= HASHED_ID_LENGTH
