"""The OpenAPI UI at /docs renders in a real browser with no internet access."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Session

pytestmark = pytest.mark.browser


def test_docs_page_renders_every_operation_offline(session: Session) -> None:
    page = session.new_page()

    page.goto(f"{session.base_url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)

    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/v1/model", "/api/v1/diagram", "/compose/{format}/{encoded}"} <= {
        path.strip().replace("\u200b", "") for path in paths
    }
    assert session.watch.blocked == []
