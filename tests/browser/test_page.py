"""The page in a real Chromium: live preview, errors, downloads, sharing, safety."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from service.example import EXAMPLE_COMPOSE
from service.render.styles import LOOPBACK_LINE, PUBLIC_LINE
from tests.browser.conftest import Session, Watch, open_session

pytestmark = pytest.mark.browser

SHARED_IMAGE = "image-cryphos-app_3a_latest"
EXAMPLE_SERVICES = ("backend", "liquidations", "celery", "celery-beat", "db", "redis")
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = "<script>alert(2)</script>"
TIMEOUT_MS = 15_000
LINKED = re.compile(r"\bis-linked\b")
SELECTED = re.compile(r"\bis-selected\b")


def open_page(page: Page, url: str) -> None:
    """Open the page and wait for its first live render."""
    page.goto(url)
    wait_until_settled(page, "ready")


def wait_until_settled(page: Page, state: str) -> None:
    """Wait until the page has finished rendering into ``state`` (ready or error)."""
    page.wait_for_selector(f'form[data-state="{state}"]', timeout=TIMEOUT_MS)


def type_compose(page: Page, text: str, state: str = "ready") -> None:
    """Replace the editor's text as a user would and wait for the preview."""
    page.fill("#editor-text", text)
    wait_until_settled(page, state)


def diagram_ids(page: Page) -> list[str]:
    """Return the ids of the nodes in the live diagram."""
    ids: list[str] = page.eval_on_selector_all(
        "#diagram-canvas svg g.node[id]", "nodes => nodes.map(n => n.id).sort()"
    )
    return ids


def svg_ids(svg: str) -> set[str]:
    """Return the element ids of an SVG text (Graphviz writes ``-`` as ``&#45;``)."""
    return {html.unescape(match) for match in re.findall(r' id="([^"]*)"', svg)}


def assert_quiet(watch: Watch) -> None:
    """Assert the page reported no error, dialog, CSP refusal or outside request."""
    assert watch.page_errors == []
    assert watch.console_errors == []
    assert watch.dialogs == []
    assert watch.blocked == []


def test_page_example_shows_shared_image_and_exposure_styles(
    page: Page, session: Session
) -> None:
    open_page(page, session.base_url)
    type_compose(page, EXAMPLE_COMPOSE + "\n")

    ids = diagram_ids(page)
    assert SHARED_IMAGE in ids
    for name in EXAMPLE_SERVICES:
        assert f"service-{name}" in ids
    fan_out = page.locator(
        f'#diagram-canvas svg g.edge[id^="edge-image__{SHARED_IMAGE[6:]}__"]'
    )
    expect(fan_out).to_have_count(4)

    public = page.locator('#diagram-canvas svg g.node[id^="port-0.0.0.0__8000"] path')
    loopback = page.locator(
        '#diagram-canvas svg g.node[id^="port-127.0.0.1__5432"] path'
    )
    expect(public.first).to_have_attribute("stroke", PUBLIC_LINE)
    expect(loopback.first).to_have_attribute("stroke", LOOPBACK_LINE)

    shared_row = page.locator(f'#images-table tr[data-node="{SHARED_IMAGE}"]')
    expect(shared_row).to_contain_text("shared by 4")
    expect(page.locator("#ports-table .badge.exposure-public")).to_have_count(1)
    expect(page.locator("#ports-table .badge.exposure-loopback")).to_have_count(1)
    assert_quiet(session.watch)


def test_page_invalid_yaml_marks_the_line_and_keeps_the_last_diagram(
    page: Page, session: Session
) -> None:
    open_page(page, session.base_url)
    before = diagram_ids(page)

    broken = "services:\n  web:\n    image: nginx\n   ports: [\n"
    type_compose(page, broken, state="error")

    error_box = page.locator("#error-box")
    expect(error_box).to_be_visible()
    expect(error_box).to_contain_text("compose.yaml:")
    marked = page.locator("#editor-gutter span.is-error")
    expect(marked).to_have_count(1)
    line = int(marked.inner_text())
    assert 3 <= line <= 5
    expect(page.locator("#editor-error-line")).to_be_visible()
    assert diagram_ids(page) == before
    expect(page.locator("#diagram-status")).to_contain_text("last valid")

    type_compose(page, "services:\n  web:\n    image: nginx\n")
    expect(error_box).to_be_hidden()
    expect(page.locator("#editor-gutter span.is-error")).to_have_count(0)
    assert diagram_ids(page) != before
    assert_quiet(session.watch)


@pytest.mark.parametrize(
    ("format", "check"),
    [
        pytest.param("svg", "svg", id="svg"),
        pytest.param("json", "json", id="json"),
        pytest.param("dot", "dot", id="dot"),
        pytest.param("png", "png", id="png"),
    ],
)
def test_page_download_gives_the_diagram_file(
    page: Page, session: Session, format: str, check: str
) -> None:
    open_page(page, session.base_url)

    with page.expect_download() as info:
        page.click(f'button[data-download="{format}"]')
    download = info.value
    content = Path(download.path()).read_bytes()

    assert download.suggested_filename.endswith(f".{format}")
    if check == "svg":
        assert b"<svg" in content
        assert SHARED_IMAGE in svg_ids(content.decode("utf-8"))
    elif check == "json":
        model = json.loads(content)
        assert {s["name"] for s in model["services"]} == set(EXAMPLE_SERVICES)
    elif check == "dot":
        assert content.lstrip().startswith(b"digraph")
    else:
        assert content.startswith(b"\x89PNG")
    assert_quiet(session.watch)


def test_page_share_url_restores_input_and_diagram(
    page: Page, session: Session
) -> None:
    open_page(page, session.base_url)
    text = (
        "services:\n  api:\n    image: example/api:2\n"
        "    ports: ['127.0.0.1:9000:9000']\n"
    )
    type_compose(page, text)
    page.uncheck("input[name=legend]")
    wait_until_settled(page, "ready")
    page.wait_for_function("() => location.hash.startsWith('#s=')")
    page.click("#copy-share-link")
    share_url = page.url
    expected = diagram_ids(page)

    other = session.new_page()
    open_page(other, share_url)

    assert other.input_value("#editor-text") == text
    assert not other.is_checked("input[name=legend]")
    assert diagram_ids(other) == expected
    assert "service-api" in expected
    assert_quiet(session.watch)


def test_page_image_link_is_a_kroki_url_that_draws(
    page: Page, session: Session
) -> None:
    session.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_page(page, session.base_url)

    page.click("#copy-image-link")
    page.wait_for_selector("#copy-image-link[data-copied]")
    link = page.get_attribute("#copy-image-link", "data-copied")
    assert link is not None
    assert link.startswith(f"{session.base_url}/compose/svg/")

    response = page.request.get(link)
    assert response.ok
    assert SHARED_IMAGE in svg_ids(response.text())

    page.click("#copy-markdown")
    page.wait_for_selector("#copy-markdown[data-copied]")
    assert (
        page.get_attribute("#copy-markdown", "data-copied")
        == f"![Compose topology]({link})"
    )
    assert_quiet(session.watch)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            f"services:\n  web:\n    image: nginx\n    command: '{HOSTILE_NAME}'\n"
            f"    working_dir: '/{HOSTILE_SCRIPT}'\n"
            f"    environment: {{'A{HOSTILE_NAME}': '{HOSTILE_SCRIPT}'}}\n",
            id="values",
        ),
        pytest.param(
            f"services:\n  web:\n    image: nginx\n    '{HOSTILE_NAME}': 1\n",
            id="error-message",
        ),
        pytest.param(
            f"services:\n  '{HOSTILE_NAME}':\n    image: nginx\n", id="service-name"
        ),
    ],
)
def test_page_hostile_text_never_runs(page: Page, session: Session, text: str) -> None:
    open_page(page, session.base_url)

    page.fill("#editor-text", text)
    page.wait_for_selector(
        'form[data-state="ready"], form[data-state="error"]', timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(300)

    assert page.locator("img[src=x], #main script").count() == 0
    assert (
        page.locator(
            "#diagram-canvas svg script, #diagram-canvas svg foreignObject"
        ).count()
        == 0
    )
    handlers = page.evaluate(
        "() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
        ".filter(a => a.name.startsWith('on')).map(a => a.name))"
    )
    assert handlers == []
    assert_quiet(session.watch)


def test_page_svg_sanitiser_drops_script_and_handlers(
    page: Page, session: Session
) -> None:
    open_page(page, session.base_url)
    hostile_svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' onload="alert(1)"><script>alert(2)</script>'
        '<g id="n" class="node" onclick="alert(3)" style="x">'
        '<a xlink:href="javascript:alert(4)">'
        "<text>ok</text></a><foreignObject><div>x</div></foreignObject>"
        '<animate attributeName="href" to="javascript:alert(5)"/></g></svg>'
    )

    cleaned = page.evaluate(
        """async (text) => {
            const { buildSafeSvg } = await import('/static/svg-safe.js');
            const svg = buildSafeSvg(text);
            document.getElementById('diagram-canvas').replaceChildren(svg);
            return svg.outerHTML;
        }""",
        hostile_svg,
    )

    assert "<text>ok</text>" in cleaned
    # Parsing the hostile text in this page makes Chromium check its handlers
    # against the policy and refuse them; that refusal is all that may happen.
    watch = session.watch
    assert watch.console_errors == watch.csp_violations
    assert watch.dialogs == [] and watch.page_errors == [] and watch.blocked == []
    for banned in (
        "script",
        "onload",
        "onclick",
        "javascript:",
        "foreignObject",
        "animate",
        "style=",
    ):
        assert banned not in cleaned


def test_page_sends_nothing_beyond_the_server(page: Page, session: Session) -> None:
    open_page(page, session.base_url)
    page.select_option("#option-direction", "TB")
    wait_until_settled(page, "ready")
    page.click("#zoom-in")
    page.hover(f'#images-table button[data-node="{SHARED_IMAGE}"]')

    response = page.request.get(session.base_url)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert session.watch.csp_violations == []
    assert_quiet(session.watch)


def test_page_row_and_node_highlight_each_other(page: Page, session: Session) -> None:
    open_page(page, session.base_url)

    page.hover('#containers-table button[data-node="service-celery"]')
    expect(page.locator("#diagram-canvas svg g#service-celery")).to_have_class(LINKED)

    page.click('#containers-table button[data-node="service-db"]')
    expect(page.locator("#diagram-canvas svg g#service-db")).to_have_class(SELECTED)
    expect(page.locator('#containers-table tr[data-node="service-db"]')).to_have_class(
        SELECTED
    )

    page.hover("#diagram-canvas svg g#image-cryphos-app_3a_latest")
    row = page.locator(f'#images-table tr[data-node="{SHARED_IMAGE}"]')
    expect(row).to_have_class(LINKED)
    assert_quiet(session.watch)


def test_page_layer_toggles_redraw_the_diagram(page: Page, session: Session) -> None:
    open_page(page, session.base_url)
    assert page.locator("#diagram-canvas svg #legend").count() == 1

    page.uncheck("input[name=legend]")
    wait_until_settled(page, "ready")
    expect(page.locator("#diagram-canvas svg #legend")).to_have_count(0)

    page.select_option("#option-service", "celery")
    wait_until_settled(page, "ready")
    ids = diagram_ids(page)
    assert "service-celery" in ids and "service-db" not in ids
    assert_quiet(session.watch)


def test_page_keyboard_reaches_zoom_and_pans(page: Page, session: Session) -> None:
    open_page(page, session.base_url)
    canvas = page.locator("#diagram-canvas")
    before = canvas.evaluate("c => c.style.transform")

    page.focus("#zoom-in")
    page.keyboard.press("Enter")
    zoomed = canvas.evaluate("c => c.style.transform")
    page.focus("#diagram-viewport")
    page.keyboard.press("ArrowLeft")
    panned = canvas.evaluate("c => c.style.transform")

    assert before != zoomed != panned
    assert_quiet(session.watch)


def test_page_picked_files_are_listed_in_compose_order(
    page: Page, session: Session
) -> None:
    open_page(page, session.base_url)
    picked: list[FilePayload] = [
        {
            "name": "compose.override.yaml",
            "mimeType": "text/yaml",
            "buffer": b"services:\n  web:\n    image: nginx:2\n",
        },
        {"name": ".env", "mimeType": "text/plain", "buffer": b"PORT=8088\n"},
        {
            "name": "compose.yaml",
            "mimeType": "text/yaml",
            "buffer": b"services:\n  web:\n    image: nginx:1\n"
            b"    ports: ['${PORT}:80']\n",
        },
    ]
    page.set_input_files("#file-picker", files=picked)
    wait_until_settled(page, "ready")

    names = page.locator("#file-list .file-open").all_inner_texts()
    assert names == ["compose.yaml", "compose.override.yaml", ".env"]
    expect(page.locator("#ports-table")).to_contain_text("0.0.0.0:8088")
    expect(page.locator("#containers-table")).to_contain_text("nginx:2")

    page.click('button[aria-label="Remove compose.override.yaml"]')
    wait_until_settled(page, "ready")
    expect(page.locator("#containers-table")).to_contain_text("nginx:1")
    assert_quiet(session.watch)


def test_page_without_javascript_renders_through_the_form(
    browser: Browser, live_server: str
) -> None:
    session = open_session(browser, live_server, javascript=False)
    try:
        page = session.new_page()
        page.goto(live_server)
        expect(page.locator("img#diagram-image")).to_be_visible()
        expect(page.locator("#file-picker")).to_be_visible()

        page.fill(
            "#editor-text",
            "services:\n  shop:\n    image: shop:1\n    ports: ['8443:443']\n",
        )
        page.click("#render-button")
        page.wait_for_url(f"{live_server}/render")

        expect(page.locator("img#diagram-image")).to_be_visible()
        expect(page.locator("#containers-table")).to_contain_text("shop")
        expect(page.locator("#ports-table .badge.exposure-public")).to_have_count(1)
        assert session.watch.blocked == []
    finally:
        session.context.close()
