"""The hostile corpus: each input with the answer the service must give it.

Small inputs are committed under ``cases/``; the big ones (a 50 MB body,
10,000 services, 300,000 YAML nodes, a zip bomb) are generated here so the
repository stays small. Every case is answered by the default settings, the
ones a fresh deployment runs with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CASES_DIR = Path(__file__).parent / "cases"

#: The first line of the server's password file, which no answer may carry.
PASSWD_MARKER = "root:x:0:0:"

#: Environment values in the corpus: masked in every answer by default.
ENV_SECRET = "hostile-env-secret-51c9"

#: The message of a ``${VAR:?...}``: the caller's own words, never logged.
REQUIRED_MESSAGE = "hostile-required-message-7f3a"

#: Routes a case can be sent to.
MODEL = "model"
DIAGRAM = "diagram"
KROKI_GET = "kroki-get"
ALL_ROUTES = (MODEL, DIAGRAM, KROKI_GET)


@dataclass(frozen=True)
class HostileCase:
    """One hostile input and the answer every route must give it."""

    id: str
    body: Callable[[], bytes]
    status: int
    problem: str | None = None
    limit: str | None = None
    routes: tuple[str, ...] = ALL_ROUTES
    media_type: str = "application/yaml"
    never_answered: tuple[str, ...] = (PASSWD_MARKER, ENV_SECRET)
    never_logged: tuple[str, ...] = (ENV_SECRET, REQUIRED_MESSAGE)
    read_paths: tuple[str, ...] = ()
    seconds: float = 5.0


def committed(name: str) -> Callable[[], bytes]:
    """Return a loader of the committed case file ``name``."""
    return lambda: (CASES_DIR / name).read_bytes()


def text(value: str) -> Callable[[], bytes]:
    """Return a loader of ``value`` encoded as UTF-8."""
    return lambda: value.encode("utf-8")


def many_services(count: int) -> Callable[[], bytes]:
    """Return a loader of a project of ``count`` one-line services."""

    def build() -> bytes:
        lines = ["services:"]
        lines += [f"  s{index}: {{image: 'nginx:1.27'}}" for index in range(count)]
        return ("\n".join(lines) + "\n").encode()

    return build


def many_nodes(count: int) -> Callable[[], bytes]:
    """Return a loader of a valid project carrying ``count`` YAML scalars."""

    def build() -> bytes:
        scalars = ",".join(["0"] * count)
        return (
            f"x-nodes: [{scalars}]\nservices:\n  web:\n    image: nginx:1.27\n".encode()
        )

    return build


def huge_scalar(length: int) -> Callable[[], bytes]:
    """Return a loader of a project whose image reference is ``length`` characters."""
    return lambda: f"services:\n  web:\n    image: '{'a' * length}'\n".encode()


def long_service_name(length: int) -> Callable[[], bytes]:
    """Return a loader of a project whose service name is ``length`` characters.

    YAML only allows implicit keys up to 1024 characters, hence the ``?``.
    """
    name = "s" * length

    def build() -> bytes:
        return (
            f"services:\n  ? {name}\n  : image: nginx:1.27\n    ports: ['80:80']\n"
            f"  other:\n    image: nginx:1.27\n    depends_on: [{name}]\n"
        ).encode()

    return build


def dense_dependencies(count: int) -> Callable[[], bytes]:
    """Return a loader of ``count`` services, each depending on all before it.

    Every edge but the chain's is implied by the others, so the diagram
    draws ``count - 1`` of them: the input is big, the drawing is not.
    """

    def build() -> bytes:
        lines = ["services:"]
        for index in range(count):
            before = ", ".join(f"s{other}" for other in range(index))
            lines.append(f"  s{index}: {{image: 'nginx:1.27', depends_on: [{before}]}}")
        return ("\n".join(lines) + "\n").encode()

    return build


def bipartite_dependencies(count: int) -> Callable[[], bytes]:
    """Return a loader of ``count`` front services each depending on ``count`` backs.

    No edge is implied by another: drawn as arrows, all ``count * count`` would be.
    """

    def build() -> bytes:
        backs = [f"b{index}" for index in range(count)]
        lines = ["services:"]
        lines += [f"  {name}: {{image: 'nginx:1.27'}}" for name in backs]
        needs = ", ".join(backs)
        lines += [
            f"  f{index}: {{image: 'nginx:1.27', depends_on: [{needs}]}}"
            for index in range(count)
        ]
        return ("\n".join(lines) + "\n").encode()

    return build


def repeated(chunk: bytes, size: int) -> Callable[[], bytes]:
    """Return a loader of ``size`` bytes of ``chunk`` repeated."""
    return lambda: (chunk * (size // len(chunk) + 1))[:size]


def json_project(name: str, content: str) -> Callable[[], bytes]:
    """Return a loader of a JSON body holding one compose file."""
    body = {"files": [{"name": name, "content": content}]}
    return lambda: json.dumps(body).encode()


_MARKUP = "markup-names.yaml"
_TOO_LARGE = "too-large"
_INVALID = "compose-invalid"

CASES: tuple[HostileCase, ...] = (
    HostileCase(
        "alias-bomb",
        committed("alias-bomb.yaml"),
        413,
        _TOO_LARGE,
        "max_alias_expansions",
    ),
    HostileCase(
        "merge-key-bomb",
        committed("merge-key-bomb.yaml"),
        413,
        _TOO_LARGE,
        "max_alias_expansions",
    ),
    HostileCase(
        "deep-nesting",
        committed("deep-nesting.yaml"),
        413,
        _TOO_LARGE,
        "max_yaml_depth",
    ),
    HostileCase(
        "deep-nesting-100k",
        text("x: " + "[" * 100_000 + "]" * 100_000 + "\nservices: {}\n"),
        413,
        _TOO_LARGE,
        "max_yaml_depth",
    ),
    HostileCase("100k-nodes-accepted", many_nodes(100_000), 200, seconds=10.0),
    HostileCase(
        "300k-nodes",
        many_nodes(300_000),
        413,
        _TOO_LARGE,
        "max_yaml_nodes",
        seconds=10.0,
    ),
    HostileCase(
        "port-range-1-65535",
        committed("port-range.yaml"),
        413,
        _TOO_LARGE,
        "max_ports",
    ),
    HostileCase(
        "10k-services",
        many_services(10_000),
        413,
        _TOO_LARGE,
        "max_services",
        seconds=10.0,
    ),
    HostileCase("dense-depends-on", dense_dependencies(150), 200, seconds=10.0),
    # 6,400 depends_on pairs: a stack this big states them in words in each
    # box (needs / needed by) instead of drawing 6,400 arrows, so the diagram
    # stays small. The edge limit itself is proven in test_limits.py.
    HostileCase(
        "6400-depends-on-in-words",
        bipartite_dependencies(80),
        200,
        routes=(DIAGRAM, KROKI_GET),
        seconds=10.0,
    ),
    HostileCase(
        "50mb-body",
        repeated(b"services: {}\n", 50_000_000),
        413,
        _TOO_LARGE,
        "max_body_bytes",
        routes=(MODEL, DIAGRAM),
    ),
    HostileCase(
        "zip-bomb-in-url",
        repeated(b"#", 50_000_000),
        413,
        _TOO_LARGE,
        "max_body_bytes",
        routes=(KROKI_GET,),
    ),
    HostileCase("huge-scalar", huge_scalar(900_000), 200, seconds=10.0),
    HostileCase("long-service-name", long_service_name(40_000), 200, seconds=10.0),
    HostileCase(
        "binary-junk", committed("binary-junk.bin"), 400, "bad-request", seconds=2.0
    ),
    HostileCase(
        "invalid-utf8", committed("invalid-utf8.yaml"), 400, "bad-request", seconds=2.0
    ),
    HostileCase("nul-byte", committed("nul-byte.yaml"), 400, "yaml-syntax"),
    HostileCase(
        "not-yaml-at-all",
        text("services:\n  web:\n    image: [nginx\n  {{}}: ]]\n"),
        400,
        "yaml-syntax",
    ),
    HostileCase("markup-everywhere", committed(_MARKUP), 200),
    HostileCase(
        "markup-service-name",
        committed("markup-service-name.yaml"),
        422,
        _INVALID,
    ),
    HostileCase(
        "newline-in-service-name",
        text('services:\n  "web\\nWARNING forged line status=200":\n    image: x\n'),
        422,
        _INVALID,
    ),
    HostileCase(
        "required-variable-message",
        committed("required-variable.yaml"),
        422,
        _INVALID,
    ),
    HostileCase(
        "server-paths-as-names",
        committed("server-paths.yaml"),
        200,
        read_paths=("/etc/passwd", "/etc"),
    ),
    HostileCase(
        "env-file-absolute",
        committed("env-file-absolute.yaml"),
        422,
        _INVALID,
        read_paths=("/etc/passwd",),
    ),
    HostileCase(
        "env-file-optional",
        committed("env-file-long-syntax.yaml"),
        200,
        read_paths=("/etc/passwd", "/proc/self/environ"),
    ),
    HostileCase(
        "extends-file-climbs-out",
        committed("extends-file.yaml"),
        422,
        _INVALID,
        read_paths=("/etc/passwd",),
    ),
    HostileCase(
        "include-absolute-path",
        committed("include-absolute.yaml"),
        422,
        _INVALID,
        read_paths=("/etc/passwd",),
    ),
    HostileCase("include-url", committed("include-url.yaml"), 422, _INVALID),
    HostileCase(
        "json-body-names-server-file",
        json_project("/etc/passwd", "services:\n  web:\n    image: nginx:1.27\n"),
        200,
        routes=(MODEL, DIAGRAM),
        media_type="application/json",
        read_paths=("/etc/passwd",),
    ),
    HostileCase(
        "unknown-media-type",
        text("services: {}\n"),
        415,
        "media-type",
        routes=(MODEL, DIAGRAM),
        media_type="application/x-msdownload",
    ),
    HostileCase(
        "undefined-charset",
        text("services: {}\n"),
        415,
        "media-type",
        routes=(MODEL, DIAGRAM),
        media_type="application/yaml; charset=undefined",
    ),
    HostileCase(
        "nul-in-charset",
        text("services: {}\n"),
        415,
        "media-type",
        routes=(MODEL, DIAGRAM),
        media_type="application/yaml; charset=utf-8\x00",
    ),
)
