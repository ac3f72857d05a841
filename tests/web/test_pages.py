"""The page at ``/`` and its no-script form at ``/render``, checked server-side."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from service.compose import ComposeFile
from service.example import EXAMPLE_COMPOSE
from service.model import PortBinding
from service.web.app import create_app
from service.web.pages import (
    IndexContext,
    encode_for_url,
    file_kind,
    sort_files,
)
from service.web.settings import Settings
from service.web.tables import describe_binding, describe_value

HOSTILE = "<script>alert(1)</script>"


@dataclass
class Element:
    """One start tag of a parsed page."""

    tag: str
    attrs: dict[str, str | None]


class ParsedPage(HTMLParser):
    """The start tags of a page and the text inside its <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self.script_text: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))
        self.in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and data.strip():
            self.script_text.append(data)

    def find(self, tag: str, **attrs: str) -> list[Element]:
        """Return the elements of ``tag`` whose attributes include ``attrs``."""
        return [
            element
            for element in self.elements
            if element.tag == tag
            and all(element.attrs.get(k) == v for k, v in attrs.items())
        ]


def parse_page(html: str) -> ParsedPage:
    page = ParsedPage()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings())


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def page_context(response: Response) -> IndexContext:
    """Return the context the page was rendered with (the test client keeps it)."""
    context: IndexContext = response.context["page"]  # type: ignore[attr-defined]
    return context


def post_form(client: TestClient, text: str, **fields: str) -> Response:
    data = {
        "compose": text,
        "compose_name": "compose.yaml",
        "overrides": "true",
        "networks": "true",
        "depends_on": "true",
        "legend": "true",
        "direction": "LR",
        **fields,
    }
    return client.post("/render", data=data)


# ---- GET / ------------------------------------------------------------------


def test_index_get_prefills_and_draws_the_example(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    page = page_context(response)
    assert page.compose_text == EXAMPLE_COMPOSE
    assert page.error is None
    assert page.diagram_url is not None
    assert page.diagram_url.startswith("data:image/svg+xml;base64,")
    assert page.tables is not None
    shared = next(r for r in page.tables.images if r.ref == "cryphos-app:latest")
    assert shared.source == "build"
    assert sorted(shared.used_by) == [
        "backend",
        "celery",
        "celery-beat",
        "liquidations",
    ]


def test_index_get_classifies_the_example_ports(client: TestClient) -> None:
    page = page_context(client.get("/"))

    assert page.tables is not None
    exposures = {(row.service, row.exposure) for row in page.tables.ports}
    assert ("backend", "public") in exposures
    assert ("db", "loopback") in exposures
    assert not any(row.service == "redis" for row in page.tables.ports)


def test_index_get_links_rows_to_diagram_ids(client: TestClient) -> None:
    response = client.get("/")
    page = page_context(response)
    assert page.diagram_url is not None
    svg = base64.b64decode(page.diagram_url.split(",", 1)[1]).decode("utf-8")

    assert page.tables is not None
    for row in page.tables.containers:
        assert f'id="{row.node_id.replace("-", "&#45;")}"' in svg
    for image in page.tables.images:
        assert f'id="{image.node_id.replace("-", "&#45;")}"' in svg


def test_index_get_sets_a_strict_content_security_policy(client: TestClient) -> None:
    policy = client.get("/").headers["content-security-policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_index_html_has_no_inline_script_style_or_handler(client: TestClient) -> None:
    parsed = parse_page(client.get("/").text)

    scripts = parsed.find("script")
    assert scripts
    assert all(script.attrs.get("src") for script in scripts)
    assert parsed.script_text == []
    for element in parsed.elements:
        assert not [name for name in element.attrs if name.startswith("on")]
        assert "style" not in element.attrs
        assert element.tag != "style"


def test_index_html_loads_assets_from_static_only(client: TestClient) -> None:
    parsed = parse_page(client.get("/").text)
    base = str(client.base_url)

    assets = [e.attrs.get("src") for e in parsed.find("script")]
    assets += [e.attrs.get("href") for e in parsed.find("link")]
    assert assets
    for url in assets:
        assert url is not None
        assert url.removeprefix(base).startswith("/static/")
        assert client.get(url).status_code == 200


def test_index_html_labels_every_form_control(client: TestClient) -> None:
    parsed = parse_page(client.get("/").text)
    labelled = {e.attrs.get("for") for e in parsed.find("label")}

    controls = parsed.find("textarea") + parsed.find("select")
    controls += [e for e in parsed.find("input") if e.attrs.get("type") == "text"]
    assert controls, "the page has no form controls, so none was checked"
    for control in controls:
        assert control.attrs.get("id") in labelled, control


# ---- POST /render -----------------------------------------------------------


def test_render_index_urlencoded_draws_the_posted_text(client: TestClient) -> None:
    text = "services:\n  web:\n    image: nginx:1.27\n    ports: ['80:80']\n"

    response = post_form(client, text, direction="TB")

    assert response.status_code == 200
    page = page_context(response)
    assert page.compose_text == text
    assert page.options["direction"] == "TB"
    assert page.project is not None
    assert [s.name for s in page.project.services] == ["web"]
    assert page.diagram_url is not None


def test_render_index_unticked_box_turns_the_layer_off(client: TestClient) -> None:
    text = "services:\n  web:\n    image: nginx\n"

    response = client.post("/render", data={"compose": text, "direction": "LR"})

    options = page_context(response).options
    assert options["legend"] is False
    assert options["overrides"] is False
    assert options["networks"] is False


def test_render_index_multipart_reads_files_in_compose_order(
    client: TestClient,
) -> None:
    files = [
        ("files", ("compose.override.yaml", b"services:\n  web:\n    image: b\n")),
        ("files", (".env", b"PORT=8081\n")),
        (
            "files",
            (
                "compose.yaml",
                b"services:\n  web:\n    image: a\n    ports: ['${PORT}:80']\n",
            ),
        ),
    ]

    response = client.post(
        "/render", data={"compose": "", "direction": "LR"}, files=files
    )

    page = page_context(response)
    assert page.error is None, page.error
    assert page.project is not None
    web = page.project.service("web")
    assert web.image == "b"
    assert [port.published for port in web.ports] == ["8081"]


def test_render_index_invalid_yaml_shows_the_error_line(client: TestClient) -> None:
    text = "services:\n  web:\n    image: nginx\n   ports: [\n"

    response = post_form(client, text)

    assert response.status_code == 400
    page = page_context(response)
    assert page.error is not None
    assert page.error.file == "compose.yaml"
    assert page.error.line is not None
    assert page.diagram_url is None
    parsed = parse_page(response.text)
    assert parsed.find("div", id="error-box", role="alert")


def test_render_index_without_any_compose_file_shows_an_error(
    client: TestClient,
) -> None:
    response = post_form(client, "   \n")

    page = page_context(response)
    assert page.error is not None
    assert "no compose file" in page.error.detail


def test_render_index_json_body_is_refused_with_a_page(client: TestClient) -> None:
    response = client.post("/render", json={"compose": "services: {}"})

    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/html")
    assert page_context(response).error is not None


def test_render_index_bad_direction_is_a_form_error(client: TestClient) -> None:
    response = post_form(
        client, "services:\n  web:\n    image: nginx\n", direction="UP"
    )

    page = page_context(response)
    assert page.error is not None
    assert "UP" in page.error.detail


@pytest.mark.parametrize(
    ("where", "text"),
    [
        pytest.param(
            "command",
            f"services:\n  web:\n    image: nginx\n    command: '{HOSTILE}'\n",
            id="command",
        ),
        pytest.param(
            "working_dir",
            f"services:\n  web:\n    image: nginx\n    working_dir: '/{HOSTILE}'\n",
            id="working_dir",
        ),
        pytest.param(
            "error",
            f"services:\n  web:\n    image: nginx\n    '{HOSTILE}': 1\n",
            id="error-message",
        ),
    ],
)
def test_render_index_hostile_text_is_escaped(
    client: TestClient, where: str, text: str
) -> None:
    response = post_form(client, text)
    html = response.text

    assert HOSTILE not in html
    assert parse_page(html).script_text == []
    assert "&lt;script&gt;" in html, where


def test_render_index_offers_image_links_for_one_file(client: TestClient) -> None:
    text = "services:\n  web:\n    image: nginx\n"

    page = page_context(post_form(client, text))

    assert page.links is not None
    encoded = page.links.svg.rsplit("/", 1)[1]
    padded = encoded + "=" * (-len(encoded) % 4)
    assert zlib.decompress(base64.urlsafe_b64decode(padded)).decode() == text
    assert client.get(page.links.svg).status_code == 200


# ---- Helpers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        pytest.param("compose.yaml", "compose", id="compose"),
        pytest.param("docker-compose.override.yml", "compose", id="override"),
        pytest.param("infra/base.yaml", "compose", id="nested-yaml"),
        pytest.param(".env", "env", id="dotenv"),
        pytest.param(".env.local", "env", id="dotenv-suffix"),
        pytest.param("prod.env", "env", id="named-env"),
        pytest.param("Dockerfile", "dockerfile", id="dockerfile"),
        pytest.param("backend/Dockerfile.dev", "dockerfile", id="dockerfile-suffix"),
        pytest.param("worker.Dockerfile", "dockerfile", id="dockerfile-prefix"),
    ],
)
def test_file_kind_by_name_is_recognised(name: str, kind: str) -> None:
    assert file_kind(name) == kind


def test_sort_files_puts_base_then_override_then_rest() -> None:
    names = [
        "Dockerfile",
        "zz.yaml",
        ".env",
        "compose.override.yaml",
        "compose.yaml",
        "a.yaml",
    ]

    ordered = sort_files(ComposeFile(name, "") for name in names)

    assert [f.name for f in ordered] == [
        "compose.yaml",
        "compose.override.yaml",
        "a.yaml",
        "zz.yaml",
        ".env",
        "Dockerfile",
    ]


@pytest.mark.parametrize(
    ("port", "text"),
    [
        pytest.param(
            PortBinding(80, published="8080", exposure="public"),
            "0.0.0.0:8080",
            id="public",
        ),
        pytest.param(
            PortBinding(
                5432, published="5432", host_ip="127.0.0.1", exposure="loopback"
            ),
            "127.0.0.1:5432",
            id="loopback",
        ),
        pytest.param(
            PortBinding(80, published="80", host_ip="::1", exposure="loopback"),
            "[::1]:80",
            id="ipv6",
        ),
        pytest.param(
            PortBinding(80, exposure="public", random_host_port=True),
            "0.0.0.0:random",
            id="random",
        ),
        pytest.param(PortBinding(6379), "not published", id="internal"),
        pytest.param(PortBinding(80, exposure="host-network"), "host:80", id="host"),
    ],
)
def test_describe_binding_writes_the_host_side(port: PortBinding, text: str) -> None:
    assert describe_binding(port) == text


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        pytest.param("command", ["celery", "-A", "apis"], "celery -A apis", id="words"),
        pytest.param("command", ["sh", "-c", "a b"], 'sh -c "a b"', id="quoted"),
        pytest.param("environment", ["A", "B"], "A, B", id="names"),
        pytest.param("working_dir", "/app", "/app", id="text"),
        pytest.param("user", None, "", id="none"),
    ],
)
def test_describe_value_reads_like_the_input(
    key: str, value: object, text: str
) -> None:
    assert describe_value(key, value) == text


def test_encode_for_url_is_zlib_and_urlsafe_base64() -> None:
    text = "services:\n  web:\n    image: nginx\n" * 20

    encoded = encode_for_url(text)

    assert "=" not in encoded and "+" not in encoded and "/" not in encoded
    padded = encoded + "=" * (-len(encoded) % 4)
    assert zlib.decompress(base64.urlsafe_b64decode(padded)).decode() == text
