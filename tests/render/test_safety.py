"""Hostile names and values stay inert text in DOT and in the SVG Graphviz makes."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from service.limits import Limits
from service.model import (
    EnvironmentVariable,
    Finding,
    Image,
    Network,
    NetworkAttachment,
    Override,
    PortBinding,
    Project,
    Service,
)
from service.render import DiagramOptions, is_graphviz_available, render_diagram
from service.render.labels import ELLIPSIS, escape_html, quote, shorten
from tests.render.conftest import build_example_project

needs_dot = pytest.mark.skipif(
    not is_graphviz_available(), reason="Graphviz dot is not installed"
)

SVG = "{http://www.w3.org/2000/svg}"
EVENT_ATTRIBUTE_PREFIX = "on"

HOSTILE = [
    pytest.param("<script>alert(1)</script>", id="script-tag"),
    pytest.param('"><svg onload=alert(1)>', id="attribute-breakout"),
    pytest.param("a & b < c > d", id="markup-characters"),
    pytest.param("' \" { } | \\ ; --", id="dot-punctuation"),
    pytest.param("<TABLE><TR><TD>x</TD></TR></TABLE>", id="html-label-syntax"),
    pytest.param('<FONT COLOR="red">x</FONT><IMG SRC="/etc/passwd"/>', id="img-tag"),
    pytest.param("trailing backslash \\", id="trailing-backslash"),
    pytest.param('\\" ] ; evil [ label="x', id="quote-breakout"),
    pytest.param("\\N \\G \\L \\n", id="graphviz-escapes"),
    pytest.param("line one\nline two\r\nthree", id="newlines"),
    pytest.param("&amp; &lt; &#60; &foo;", id="entities"),
    pytest.param("ctrl \x00\x01\x1b\x7f end", id="control-characters"),
    pytest.param("bidi \u202eevil\u202c", id="bidi-override"),
    pytest.param("ünïcødé 服务 🐳", id="unicode"),
    pytest.param("-->]]><!--", id="comment-closers"),
    pytest.param("x" * 5000, id="very-long"),
]


def _hostile_project(text: str) -> Project:
    """Return the example with ``text`` in every string a compose file controls."""
    example = build_example_project()
    service = Service(
        name=text,
        image=text,
        containers=(text,),
        overrides=(
            Override("command", [text, text]),
            Override("environment", [text]),
            Override("working_dir", text),
            Override("user", text),
        ),
        environment=(EnvironmentVariable(text, text),),
        ports=(
            PortBinding(target=80, published="8080", host_ip=None, exposure="public"),
        ),
        expose=(PortBinding(target=81, protocol=text),),
        networks=(NetworkAttachment(network=text),),
        profiles=(text,),
        depends_on=(),
    )
    return dataclasses.replace(
        example,
        project=text,
        services=(*example.services, service),
        images=(*example.images, Image(ref=text, source="pull", used_by=(text,))),
        networks=(
            *example.networks,
            Network(name=text, full_name=text, internal=True, services=(text,)),
        ),
        findings=(
            *example.findings,
            Finding(code="x", severity="danger", message=text, service=text),
        ),
    )


def _assert_inert_svg(svg: bytes) -> ET.Element:
    root = ET.fromstring(svg)
    for element in root.iter():
        assert element.tag not in (f"{SVG}script", "script", f"{SVG}foreignObject")
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            assert not local.startswith(EVENT_ATTRIBUTE_PREFIX), (name, value)
            if local == "href":
                assert not value.strip().lower().startswith("javascript:")
        assert element.tag != f"{SVG}image"
    return root


@pytest.mark.parametrize("text", HOSTILE)
def test_render_dot_with_hostile_text_keeps_it_inside_labels(text: str) -> None:
    dot = render_diagram(
        _hostile_project(text), "dot", DiagramOptions(show_values=True), Limits()
    ).decode("utf-8")

    assert "<script" not in dot.lower()
    assert "<IMG" not in dot
    assert "\x00" not in dot and "\u202e" not in dot


@needs_dot
@pytest.mark.parametrize("text", HOSTILE)
def test_render_svg_with_hostile_text_has_no_live_markup(text: str) -> None:
    svg = render_diagram(
        _hostile_project(text), "svg", DiagramOptions(show_values=True), Limits()
    )

    root = _assert_inert_svg(svg)

    texts = " ".join(element.text or "" for element in root.iter(f"{SVG}text"))
    assert "\u00b7 7 services, 4 images" in texts


@needs_dot
def test_render_svg_with_script_name_shows_it_as_text() -> None:
    text = "<script>alert(1)</script>"

    svg = render_diagram(_hostile_project(text), "svg", DiagramOptions(), Limits())

    root = _assert_inert_svg(svg)
    texts = [element.text or "" for element in root.iter(f"{SVG}text")]
    assert any(text in line for line in texts)
    assert b"<script" not in svg


@needs_dot
def test_render_svg_tooltip_with_backslashes_and_quotes_round_trips() -> None:
    text = 'a\\b "q" end\\'
    svg = render_diagram(_hostile_project(text), "svg", DiagramOptions(), Limits())

    root = _assert_inert_svg(svg)

    titles = [
        value
        for element in root.iter()
        for name, value in element.attrib.items()
        if name.endswith("title")
    ]
    assert any(f"Service {text}" in title for title in titles)


@pytest.mark.parametrize("text", HOSTILE)
def test_hidden_values_with_hostile_value_never_reach_dot(text: str) -> None:
    project = build_example_project()
    secret = f"s3cr3t-{len(text)}-value"
    celery = dataclasses.replace(
        project.service("celery"),
        environment=(EnvironmentVariable("PYTHONPATH", secret + text),),
    )
    services = tuple(
        celery if service.name == "celery" else service for service in project.services
    )
    project = dataclasses.replace(project, services=services)

    dot = render_diagram(project, "dot", DiagramOptions(), Limits()).decode("utf-8")
    data = render_diagram(project, "json", DiagramOptions(), Limits()).decode("utf-8")

    assert secret not in dot
    assert secret not in data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("<b>&'\"", "&lt;b&gt;&amp;&#39;&quot;", id="five-characters"),
        pytest.param("a\x00b", "a\ufffdb", id="nul-replaced"),
        pytest.param("plain", "plain", id="plain"),
    ],
)
def test_escape_html_with_markup_returns_entities(text: str, expected: str) -> None:
    assert escape_html(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('say "hi"', '"say \\"hi\\""', id="quote"),
        pytest.param("a\\", '"a\\\\\\\\"', id="backslash"),
        pytest.param("a&b", '"a&amp;b"', id="ampersand"),
        pytest.param("a\nb", '"a\\nb"', id="newline"),
    ],
)
def test_quote_with_special_characters_escapes_for_dot(
    text: str, expected: str
) -> None:
    assert quote(text) == expected


def test_shorten_with_long_text_cuts_with_ellipsis() -> None:
    assert shorten("x" * 100, 10) == "x" * 9 + ELLIPSIS
    assert shorten("a\n  b", 10) == "a b"
