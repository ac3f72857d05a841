"""Write the HTML-like labels of the diagram's boxes.

Every piece of Compose text passes through ``html_text`` (escape and
shorten) before it is placed in markup; the only raw markup here is our own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from service.model import Finding, Image, ImageDefaults, Override, Service
from service.render import styles
from service.render.dependencies import (
    HUB_FROM,
    NAME_PORT,
    NEEDS_PORT,
    describe_needs,
)
from service.render.labels import Html, html_text, shorten
from service.render.options import DiagramOptions
from service.render.ports import HOST_EXPOSURES, PortRun, build_port_runs

VALUE_LIMIT = 56
NAME_LIMIT = 48
LIST_LIMIT = 8
WRAP_LINES = 3
FINDING_LIMIT = 160
COMPACT_LIMIT = 60
#: A list longer than this is one line with its count even in a small stack:
#: three wrapped lines of a hundred names tell a reader no more than one.
LONG_LIST = 12
LEFT_BREAK = '<BR ALIGN="LEFT"/>'
TOOLTIP_LIMIT = 300

#: The Dockerfile instruction a Compose override stands in for.
DOCKERFILE_INSTRUCTIONS = {
    "command": "CMD",
    "entrypoint": "ENTRYPOINT",
    "working_dir": "WORKDIR",
    "user": "USER",
    "environment": "ENV",
}

OVERRIDE_ORDER = (
    "command",
    "entrypoint",
    "working_dir",
    "user",
    "environment",
    "env_file",
    "volumes",
)

#: Overrides whose value is a list of names, shown several to a line.
LIST_KEYS = ("environment", "env_file", "volumes")

_TABLE = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'


def region_label(title: str, note: str, colour: str) -> Html:
    """Return a region's caption: a bold title and a short note in its colour."""
    return Html(
        f'<FONT COLOR="{colour}"><B>{html_text(title, 80)}</B>'
        f'<FONT POINT-SIZE="10">  {html_text(note, 80)}</FONT></FONT>'
    )


def build_image_label(image: Image, *, compact: bool = False) -> Html:
    """Return an image box: kind, reference, where it is built from, who runs it.

    A ``compact`` box, for big stacks, keeps the reference, the builder when
    another service runs the image too, and the Dockerfile; the build
    context and the Dockerfile's defaults move to the tooltip.
    """
    is_built = image.source == "build"
    kind, colour = (
        ("BUILT IMAGE", styles.BUILT_LINE)
        if is_built
        else ("PULLED IMAGE", styles.MUTED)
    )
    rows = [
        _row(_small(kind, colour)),
        _row(f"<B>{html_text(image.ref, VALUE_LIMIT)}</B>"),
    ]
    if image.build is not None and compact:
        if image.used_by != image.built_by:
            rows.append(_row(_pair("built by", _names(image.built_by))))
        rows.append(_row(_pair("dockerfile", image.build.dockerfile)))
    elif image.build is not None:
        rows.append(_row(_pair("built by", _names(image.built_by))))
        rows.append(_row(_pair("context", image.build.context)))
        rows.append(_row(_pair("dockerfile", image.build.dockerfile)))
        if image.build.target:
            rows.append(_row(_pair("target", image.build.target)))
    if image.defaults is not None and not compact:
        rows.extend(_image_default_rows(image.defaults))
    if len(image.used_by) > 1:
        runs_in = f"runs in {len(image.used_by)} services"
        rows.append(_row(f'<FONT COLOR="{colour}"><B>{runs_in}</B></FONT>'))
    return _table(rows)


def _image_default_rows(defaults: ImageDefaults) -> list[str]:
    rows = []
    if defaults.base_image:
        rows.append(_row(_pair("FROM", defaults.base_image)))
    if defaults.entrypoint is not None:
        rows.append(_row(_pair("ENTRYPOINT", " ".join(defaults.entrypoint))))
    if defaults.cmd is not None:
        rows.append(_row(_pair("CMD", " ".join(defaults.cmd))))
    if defaults.workdir:
        rows.append(_row(_pair("WORKDIR", defaults.workdir)))
    if defaults.user:
        rows.append(_row(_pair("USER", defaults.user)))
    return rows


def build_port_label(run: PortRun) -> Html:
    """Return a host port box: address and port, then how far it reaches.

    A random host port is one quiet line: its group already says how far it
    reaches, and a stack publishing twenty of them should not be all port.
    """
    _, line, words = styles.EXPOSURE_STYLES[run.exposure]
    address = str(html_text(f"{run.host_text}:{run.published_text}", VALUE_LIMIT))
    if run.published is None:
        return Html(
            f'{address} <FONT POINT-SIZE="9" COLOR="{line}">(random host port)</FONT>'
        )

    address += f' <FONT POINT-SIZE="10">{html_text(run.protocol, 10)}</FONT>'
    return Html(
        f"<B>{address}</B><BR/>"
        f'<FONT POINT-SIZE="10" COLOR="{line}">{html_text(words, 60)}</FONT>'
    )


def build_service_label(
    service: Service,
    findings: Sequence[Finding],
    options: DiagramOptions,
    *,
    compact: bool = False,
    needed_by: Sequence[str] = (),
    builds: bool = False,
) -> Html:
    """Return a service box: name, reach, image, containers, needs, overrides, findings.

    A ``compact`` box, for big stacks, keeps each list and finding to one
    line; the tooltip still names everything. ``needed_by`` names the
    services that depend on this one, given when no arrow shows them;
    ``builds`` tells a service that builds the image it runs.
    """
    rows = [_header_row(service)]
    containers = _container_rows(service)
    if builds and compact and containers:
        containers[-1] = _row(_container_pair(service) + "  " + _builds_note())
    elif builds:
        containers.append(_row(_builds_note()))
    rows.extend(containers)
    rows.extend(_network_mode_rows(service))
    if options.depends_on:
        rows.extend(_dependency_rows(service, needed_by, compact))
    if options.overrides:
        rows.extend(_override_rows(service, options, compact))
    rows.extend(_internal_port_rows(service))
    if service.profiles:
        rows.append(_row(_pair("profiles", _names(service.profiles))))
    rows.extend(_finding_rows(findings, compact))
    return _table(rows)


def _header_row(service: Service) -> str:
    title = html_text(service.name, NAME_LIMIT)
    name = f'<TD ALIGN="LEFT"><B><FONT POINT-SIZE="15">{title}</FONT></B></TD>'
    return f"<TR>{name}{_BADGES[reach_of(service)]}</TR>"


def _badge(exposure: str) -> str:
    """Return the cell beside a service's name that says how far it reaches."""
    _, line, words = styles.EXPOSURE_STYLES[exposure]
    return (
        f'<TD ALIGN="RIGHT" PORT="{NAME_PORT}"><FONT POINT-SIZE="10" COLOR="{line}">'
        f"<B>\u25cf {html_text(words, 40)}</B></FONT></TD>"
    )


#: There are only five badges; each is written once, when the module loads.
_BADGES = {exposure: _badge(exposure) for exposure in styles.EXPOSURE_STYLES}


def reach_of(service: Service) -> str:
    """Return the widest exposure of any of the service's ports; internal if none."""
    if service.network_mode == "host":
        return "host-network"
    if not service.ports:
        return "internal"
    exposures = {port.exposure for port in service.ports}
    return next((e for e in HOST_EXPOSURES if e in exposures), "internal")


def _container_rows(service: Service) -> list[str]:
    if service.replicas == 1 and not service.containers:
        return []
    return [_row(_container_pair(service))]


def _container_pair(service: Service) -> str:
    names = _names(service.containers)
    if service.replicas == 1 and len(service.containers) <= 1:
        return _pair("container", names)
    return _pair(f"{service.replicas} replicas", names or "none")


def _builds_note() -> str:
    return _small("builds its image", styles.BUILT_LINE)


def _network_mode_rows(service: Service) -> list[str]:
    mode = service.network_mode
    if mode is None or mode == "host":
        return []
    if mode == "none":
        return [_row(_small("no network at all (network_mode: none)", styles.MUTED))]
    return [_row(_pair("shares network of", mode.split(":", 1)[-1]))]


def _dependency_rows(
    service: Service, needed_by: Sequence[str], compact: bool
) -> list[str]:
    """Return the needs row, with conditions, and the needed-by row, bold on a hub."""
    rows = []
    if service.depends_on:
        phrases = describe_needs(service.depends_on)
        listed = _one_line if compact or len(phrases) > LONG_LIST else _wrapped
        needs = listed("needs", phrases, colour=styles.DEPENDS_LINE)
        rows.append(_row(needs, port=NEEDS_PORT))
    if needed_by:
        text = _one_line("needed by", needed_by, colour=styles.DEPENDS_LINE)
        rows.append(_row(f"<B>{text}</B>" if len(needed_by) >= HUB_FROM else text))
    return rows


def _override_rows(
    service: Service, options: DiagramOptions, compact: bool
) -> list[str]:
    rows = []
    by_key: dict[str, Override] = {o.key: o for o in service.overrides}
    for key in OVERRIDE_ORDER:
        override = by_key.get(key)
        if override is None:
            continue
        rows.append(_row(_override_text(override, service, options, compact)))
    if rows and not compact:
        rows.insert(0, _row(_small("overrides", styles.MUTED)))
    return rows


def _override_text(
    override: Override, service: Service, options: DiagramOptions, compact: bool
) -> str:
    """Return one override as markup: key, value (lists wrapped) and relation."""
    items: list[str] | None = None
    if override.key == "environment" and options.show_values:
        items = [
            variable.name
            if variable.value is None
            else f"{variable.name}={variable.value}"
            for variable in sorted(service.environment, key=lambda v: v.name)
        ]
    elif override.key in LIST_KEYS and isinstance(override.value, list | tuple):
        items = [str(item) for item in override.value]
    if items is not None:
        is_long = compact or len(items) > LONG_LIST
        listed = _one_line if is_long else _wrapped
        return listed(override.key, items) + _relation_note(override)
    value = override.value
    if isinstance(value, list | tuple):
        value = " ".join(str(item) for item in value)
    return _pair(override.key, str(value)) + LEFT_BREAK + _relation_note(override)


def _relation_note(override: Override) -> str:
    instruction = DOCKERFILE_INSTRUCTIONS.get(override.key)
    if instruction is None or override.relation == "unknown":
        return ""
    if override.relation == "sets":
        note = f"image has no {instruction}"
    else:
        note = f"overrides the image's {instruction}"
        default = _default_text(override.image_default)
        if default and override.key != "environment":
            note += f" ({default})"
    return _small(note, styles.WARNING) + LEFT_BREAK


def _default_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return shorten(" ".join(str(item) for item in value), 40)
    return shorten(str(value), 40)


def _internal_port_rows(service: Service) -> list[str]:
    rows = []
    if service.network_mode == "host":
        reached = [p for p in service.ports if p.exposure == "host-network"]
        for run in build_port_runs(reached):
            rows.append(_row(_pair("listens on the host", run.target_text)))
    internal = [
        p for p in (*service.ports, *service.expose) if p.exposure == "internal"
    ]
    runs = build_port_runs(internal)
    if runs:
        ports = _names(run.target_text for run in runs)
        rows.append(_row(_pair("internal ports", ports)))
    return rows


def _finding_rows(findings: Sequence[Finding], compact: bool) -> list[str]:
    rows = []
    for finding in _in_order(findings):
        colour = styles.SEVERITY_COLOURS.get(finding.severity, styles.INK)
        badge = finding.severity.upper()
        message = (
            html_text(finding.message, COMPACT_LIMIT) + LEFT_BREAK
            if compact
            else _wrap_text(finding.message)
        )
        rows.append(
            f'<TR><TD ALIGN="LEFT" COLSPAN="2"><FONT COLOR="{colour}" '
            f'POINT-SIZE="10"><B>{html_text(badge, 10)}</B> '
            f"{message}</FONT></TD></TR>"
        )
    return rows


def _in_order(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity, f.code, f.message))


def build_service_tooltip(
    service: Service, findings: Sequence[Finding], needed_by: Sequence[str] = ()
) -> str:
    """Return the plain-text tooltip of a service box, findings first."""
    lines = [
        f"{finding.severity}: {shorten(finding.message, TOOLTIP_LIMIT)}"
        for finding in _in_order(findings)
    ]
    lines.append(f"Service {shorten(service.name, TOOLTIP_LIMIT)}")
    lines.append(f"Image {shorten(service.image, TOOLTIP_LIMIT)}")
    lines.append(f"Reach: {styles.EXPOSURE_STYLES[reach_of(service)][2]}")
    if needed_by:
        names = ", ".join(shorten(name, NAME_LIMIT) for name in needed_by)
        lines.append(f"Needed by {shorten(names, TOOLTIP_LIMIT)}")
    return "\n".join(lines)


#: Every mark the legend can explain, in the order it lists them: the key the
#: graph records when it draws one, the swatch's fill and line, and the words.
LEGEND_SAMPLES: tuple[tuple[str, str, str, str], ...] = (
    (
        "built-image",
        styles.BUILT_FILL,
        styles.BUILT_LINE,
        "built image (by a service here)",
    ),
    ("pulled-image", styles.PULLED_FILL, styles.PULLED_LINE, "pulled image"),
    ("service", styles.SERVICE_FILL, styles.SERVICE_LINE, "service (its containers)"),
    (
        "public",
        styles.PUBLIC_FILL,
        styles.PUBLIC_LINE,
        "host port on all interfaces: open to the network",
    ),
    (
        "interface",
        styles.INTERFACE_FILL,
        styles.INTERFACE_LINE,
        "host port on one interface",
    ),
    (
        "loopback",
        styles.LOOPBACK_FILL,
        styles.LOOPBACK_LINE,
        "host port on loopback: this host only",
    ),
    (
        "host-network",
        styles.PUBLIC_FILL,
        styles.PUBLIC_LINE,
        "network_mode: host: every port on the host",
    ),
    (
        "internal",
        styles.INTERNAL_FILL,
        styles.INTERNAL_LINE,
        "internal only: reachable from its networks",
    ),
    (
        "internal-network",
        styles.INTERNAL_NETWORK_FILL,
        styles.INTERNAL_LINE,
        "dashed region: internal network, no outside access",
    ),
    ("depends_on", "#ffffff", styles.DEPENDS_LINE, "dashed arrow: depends_on"),
    (
        "depends_on-rows",
        "#ffffff",
        styles.DEPENDS_LINE,
        "needs / needed by: depends_on, in words at this size",
    ),
    ("volume", styles.VOLUME_FILL, styles.VOLUME_LINE, "named volume"),
    ("danger", "#ffffff", styles.DANGER, "red frame: a danger finding"),
    ("warning", "#ffffff", styles.WARNING, "amber frame: a warning finding"),
)


def build_legend_label(drawn: Collection[str]) -> Html:
    """Return the legend: one swatch for each kind of mark in ``drawn``, no more.

    A legend that explains styles the picture does not use sends the reader
    looking for them.
    """
    rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>']
    rows.extend(row for key, row in _LEGEND_ROWS.items() if key in drawn)
    return Html(
        '<TABLE BORDER="1" COLOR="#d1d5db" CELLBORDER="0" CELLSPACING="3" '
        'CELLPADDING="3" BGCOLOR="#ffffff">' + "".join(rows) + "</TABLE>"
    )


def _legend_row(fill: str, line: str, text: str) -> str:
    return (
        f'<TR><TD BGCOLOR="{fill}" BORDER="1" COLOR="{line}" WIDTH="22"> </TD>'
        f'<TD ALIGN="LEFT"><FONT POINT-SIZE="10">{html_text(text, 80)}</FONT></TD></TR>'
    )


#: Every legend row, written once when the module loads, in legend order.
_LEGEND_ROWS = {
    key: _legend_row(fill, line, text) for key, fill, line, text in LEGEND_SAMPLES
}


def _table(rows: Iterable[str]) -> Html:
    return Html(_TABLE + "".join(rows) + "</TABLE>")


def _row(cell: str, port: str = "") -> str:
    named = f' PORT="{port}"' if port else ""
    return f'<TR><TD ALIGN="LEFT" COLSPAN="2"{named}>{cell}</TD></TR>'


def _pair(key: str, value: str) -> str:
    return _key(key, 30) + html_text(value, VALUE_LIMIT)


def _key(key: str, limit: int, colour: str = styles.MUTED) -> str:
    """Return a row's key in the muted colour (or ``colour``), then a space."""
    return f'<FONT COLOR="{colour}" POINT-SIZE="10">{html_text(key, limit)}</FONT> '


def _small(text: str, colour: str) -> str:
    return f'<FONT POINT-SIZE="9" COLOR="{colour}">{html_text(text, 80)}</FONT>'


def _names(names: Iterable[str]) -> str:
    items = [shorten(name, NAME_LIMIT) for name in names]
    if len(items) <= LIST_LIMIT:
        return ", ".join(items)
    return ", ".join(items[:LIST_LIMIT]) + f" +{len(items) - LIST_LIMIT} more"


def _wrap_text(text: str) -> str:
    """Return ``text`` escaped and broken at spaces into at most three short lines."""
    rest = shorten(text, FINDING_LIMIT)
    lines = []
    while len(rest) > VALUE_LIMIT:
        # Break at the last space that keeps the line within the limit, or
        # after the first word when that word alone is longer.
        cut = rest.rfind(" ", 0, VALUE_LIMIT + 1)
        if cut == -1:
            cut = rest.find(" ")
        if cut == -1:
            break
        lines.append(rest[:cut])
        rest = rest[cut + 1 :]
    lines.append(rest)
    escaped = [html_text(line, VALUE_LIMIT) for line in lines]
    return LEFT_BREAK.join(escaped) + LEFT_BREAK


def _one_line(key: str, items: Sequence[str], colour: str = styles.MUTED) -> str:
    """Return ``key``, how many items, and as many of their names as fit one line."""
    shown: list[str] = []
    width = -2  # the length of ", ".join(shown), kept as names are added
    for item in items:
        piece = shorten(item, NAME_LIMIT)
        width += 2 + len(piece)
        if shown and width > COMPACT_LIMIT - 12:
            break
        shown.append(piece)
    rest = len(items) - len(shown)
    text = ", ".join(shown) + (f" +{rest}" if rest else "")
    count = f" ({len(items)})" if len(items) > 1 else ""
    return (
        _key(key + count, 40, colour) + f"{html_text(text, COMPACT_LIMIT)}{LEFT_BREAK}"
    )


def _wrapped(key: str, items: Sequence[str], colour: str = styles.MUTED) -> str:
    """Return ``key`` and a list of names broken into a few short lines."""
    lines: list[str] = []
    shown = 0
    for item in items:
        piece = shorten(item, NAME_LIMIT)
        if lines and len(lines[-1]) + len(piece) + 2 <= VALUE_LIMIT:
            lines[-1] += ", " + piece
        elif len(lines) < WRAP_LINES:
            lines.append(piece)
        else:
            break
        shown += 1
    if shown < len(items):
        lines.append(f"+{len(items) - shown} more")
    body = LEFT_BREAK.join(html_text(line, VALUE_LIMIT + 10) for line in lines)
    return _key(key, 30, colour) + body + LEFT_BREAK
