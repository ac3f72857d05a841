"""The ``compose-topology`` command: draw or describe a Compose project from a shell.

It is a thin layer: it finds and reads the files the way ``docker compose``
does (``service.discovery``), hands the text to the core, and writes what the
core returns. Heavy modules (the compose reader, the renderer, the web stack)
are imported inside the commands that need them, so ``--help`` starts fast.

Exit codes: 0 success, 1 the input is wrong, 2 the command line is wrong,
3 drawing failed (Graphviz missing, too slow, or crashed).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from service import __version__
from service.errors import ComposeTopologyError, RenderError

if TYPE_CHECKING:
    from service.discovery import ComposeOptions
    from service.limits import Limits
    from service.model import Project
    from service.render.options import DiagramOptions

EXIT_INPUT_ERROR = 1
EXIT_RENDER_ERROR = 3

FORMATS = ("svg", "png", "pdf", "dot", "json")
FORMAT_BY_SUFFIX = {
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".dot": "dot",
    ".gv": "dot",
    ".json": "json",
}
BINARY_FORMATS = frozenset({"png", "pdf"})
WEB_APP_FACTORY = "service.web.app:create_app_from_environ"

# DiagramOptions' defaults, spelled out so that `--help` need not import the
# renderer (a test keeps them equal to the dataclass).
LAYER_DEFAULTS = {
    "overrides": True,
    "networks": True,
    "depends_on": True,
    "volumes": False,
    "legend": True,
}
DIRECTIONS = ("LR", "TB")
DEFAULT_DIRECTION = "LR"

Command = TypeVar("Command", bound=Callable[..., Any])


class _Cli(click.Group):
    """A group that turns each of our errors into a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ComposeTopologyError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exit_code_for(exc))


def exit_code_for(error: ComposeTopologyError) -> int:
    """Return the exit code for ``error``: 3 when drawing failed, 1 for bad input."""
    if isinstance(error, RenderError):
        return EXIT_RENDER_ERROR
    return EXIT_INPUT_ERROR


@click.group(
    cls=_Cli,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="compose-topology")
def cli() -> None:
    """See what a Docker Compose project will run: its images, the containers made
    from them, what each container overrides, and who can reach which port.

    \b
    Examples:
      compose-topology render -o diagram.svg
          draw ./compose.yaml (and compose.override.yaml), found as
          `docker compose` finds it
      compose-topology render -f compose.yaml -f compose.prod.yaml -o prod.png
          later files override earlier ones, as with `docker compose -f`
      compose-topology render --service web --no-networks --direction TB > web.svg
          only `web` and what it depends on, top to bottom, to stdout
      compose-topology model --profile debug | python -m json.tool
          the topology model as JSON (environment values masked)
      compose-topology serve
          the web page and HTTP API on http://127.0.0.1:8000

    Exit codes: 0 success, 1 the input is wrong (the message names the file,
    line and column), 2 the command line is wrong, 3 drawing failed.

    Run `compose-topology COMMAND --help` for a command's options.
    """


def compose_options(command: Command) -> Command:
    """Add the flags ``docker compose`` uses to choose a project."""
    decorators = [
        click.option(
            "-f",
            "--file",
            "files",
            multiple=True,
            metavar="FILE",
            help="Compose file, repeatable; later files override earlier ones; "
            "'-' reads stdin. Default: compose.yaml (or docker-compose.yml) in "
            "this directory or the nearest parent, plus its override file.",
        ),
        click.option(
            "-p",
            "--project-name",
            metavar="NAME",
            help="Project name (default: the file's `name:`, else the directory name).",
        ),
        click.option(
            "--project-directory",
            type=click.Path(file_okay=False, path_type=Path),
            help="Directory that relative paths and .env are read from "
            "(default: the first compose file's directory).",
        ),
        click.option(
            "--env-file",
            "env_files",
            multiple=True,
            metavar="FILE",
            help="Variables for interpolation, instead of the project's .env.",
        ),
        click.option(
            "--profile",
            "profiles",
            multiple=True,
            metavar="NAME",
            help="Activate a profile, repeatable (default: $COMPOSE_PROFILES).",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def diagram_options(command: Command) -> Command:
    """Add one flag per ``DiagramOptions`` field: the layers and focus of a diagram."""
    decorators = [
        _layer_flag("overrides", "List what each container overrides."),
        _layer_flag("networks", "Draw Compose networks as regions."),
        _layer_flag("depends-on", "Draw depends_on edges."),
        _layer_flag("volumes", "Draw named volumes and bind mounts."),
        _layer_flag("legend", "Add the legend."),
        click.option(
            "--direction",
            type=click.Choice(DIRECTIONS),
            default=DEFAULT_DIRECTION,
            show_default=True,
            help="Lay the diagram out left to right (LR) or top to bottom (TB).",
        ),
        click.option(
            "--service",
            metavar="NAME",
            help="Draw only this service and what it depends on.",
        ),
        click.option(
            "--show-values",
            is_flag=True,
            help="Show environment values (masked by default: they may be secrets).",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _layer_flag(name: str, help_text: str) -> Callable[[Command], Command]:
    default = LAYER_DEFAULTS[name.replace("-", "_")]
    return click.option(
        f"--{name}/--no-{name}",
        default=default,
        help=f"{help_text}  [default: {'on' if default else 'off'}]",
    )


@cli.command()
@compose_options
@diagram_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write here instead of stdout; the suffix picks the format.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Output format (default: from --output's suffix, else svg).",
)
def render(output: Path | None, fmt: str | None, **options: Any) -> None:
    """Draw the project as SVG, PNG, PDF, DOT or JSON.

    \b
    Examples:
      compose-topology render -o diagram.svg
      compose-topology render -f docker-compose.yml -o docs/stack.png
      compose-topology render --format dot | dot -Tsvg > stack.svg
      compose-topology render --volumes --no-legend --direction TB -o full.pdf
    """
    chosen = choose_format(output, fmt)
    if output is None and chosen in BINARY_FORMATS and sys.stdout.isatty():
        raise click.UsageError(
            f"Refusing to write {chosen.upper()} to a terminal; use -o FILE or a pipe."
        )
    compose, diagram = split_options(options)

    from service.render import render_diagram

    limits = load_limits()
    project = load_project(compose, limits)
    data = render_diagram(project, chosen, diagram, limits)
    write_output(data, output)


@cli.command()
@compose_options
@click.option(
    "--show-values",
    is_flag=True,
    help="Include environment values (masked by default: they may be secrets).",
)
def model(show_values: bool, **options: Any) -> None:
    """Print the topology model as JSON: images, services, ports, networks, findings.

    \b
    Examples:
      compose-topology model > model.json
      compose-topology model -f compose.yaml --profile debug
      compose-topology model | jq '.findings[].message'
    """
    from service.model import hide_values, to_json

    compose = build_compose_options(options)
    project = load_project(compose, load_limits())
    if not show_values:
        project = hide_values(project)
    # Sorted keys, as `render --format json` writes: equal models, equal bytes.
    text = json.dumps(to_json(project), indent=2, sort_keys=True, ensure_ascii=False)
    write_output((text + "\n").encode("utf-8"), None)


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 lets other machines reach the service.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    envvar="WEB_CONCURRENCY",
    help="Worker processes (also read from $WEB_CONCURRENCY).",
)
def serve(host: str, port: int, workers: int) -> None:
    """Run the web page, the HTTP API and its docs (/docs) with uvicorn.

    Settings and limits come from COMPOSE_TOPOLOGY_* environment variables
    (see the README).

    \b
    Examples:
      compose-topology serve
      compose-topology serve --host 0.0.0.0 --port 8080 --workers 4
    """
    import uvicorn

    from service.render import check_graphviz
    from service.web.settings import settings_from_environ

    # Check here, in the parent: with several workers a failing factory would
    # only be reported by each child, after uvicorn has started.
    try:
        settings_from_environ()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    check_graphviz()
    # The app logs one line per request itself, with what it rendered; the
    # server's own access line would only repeat it.
    uvicorn.run(
        WEB_APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
    )


def choose_format(output: Path | None, fmt: str | None) -> str:
    """Return ``fmt``, else the format ``output``'s suffix names, else svg."""
    if fmt is not None:
        return fmt
    if output is None:
        return "svg"
    suffix = output.suffix.lower()
    if suffix not in FORMAT_BY_SUFFIX:
        known = ", ".join(sorted(FORMAT_BY_SUFFIX))
        raise click.UsageError(
            f"Cannot tell the format from {str(output)!r}: use a suffix ({known}) "
            "or --format."
        )
    return FORMAT_BY_SUFFIX[suffix]


def split_options(options: dict[str, Any]) -> tuple[ComposeOptions, DiagramOptions]:
    """Separate the compose flags from the diagram flags of one command line."""
    from service.render.options import DiagramOptions

    diagram = DiagramOptions(
        overrides=options.pop("overrides"),
        networks=options.pop("networks"),
        depends_on=options.pop("depends_on"),
        volumes=options.pop("volumes"),
        legend=options.pop("legend"),
        direction=options.pop("direction"),
        service=options.pop("service"),
        show_values=options.pop("show_values"),
    )
    return build_compose_options(options), diagram


def build_compose_options(options: dict[str, Any]) -> ComposeOptions:
    """Collect the ``docker compose`` flags into the options discovery reads."""
    from service.discovery import ComposeOptions

    return ComposeOptions(
        files=tuple(options["files"]),
        project_name=options["project_name"],
        project_directory=options["project_directory"],
        env_files=tuple(options["env_files"]),
        profiles=tuple(options["profiles"]),
    )


def load_limits() -> Limits:
    """Return the limits from the environment; a malformed value is a usage error."""
    from service.limits import limits_from_environ

    try:
        return limits_from_environ()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def load_project(compose: ComposeOptions, limits: Limits) -> Project:
    """Find and read the project's files, model them, and report Compose's warnings."""
    from service.compose import parse_project
    from service.discovery import load_project_input

    project_input = load_project_input(
        compose,
        environ=os.environ,
        cwd=Path.cwd(),
        stdin=click.get_text_stream("stdin"),
        limits=limits,
    )
    project = parse_project(project_input, limits)
    for warning in project.warnings:
        where = f"{warning.location}: " if warning.location else ""
        click.echo(f"Warning: {where}{warning.message}", err=True)
    return project


def write_output(data: bytes, output: Path | None) -> None:
    """Write ``data`` to ``output``, or to stdout when there is none."""
    if output is None:
        stream = click.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise click.FileError(str(output), hint=exc.strerror or str(exc)) from exc


def main() -> None:
    """Run the command line; the ``compose-topology`` console script calls this."""
    cli(prog_name="compose-topology")
