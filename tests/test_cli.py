"""The ``compose-topology`` command line, driven through click's CliRunner."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

import service.render
from service import cli
from service.errors import (
    GraphvizMissingError,
    RenderTimeoutError,
)
from service.example import EXAMPLE_COMPOSE
from service.render.options import DIRECTIONS, DiagramOptions

# The example with a secret in celery's environment, to prove it stays masked.
EXAMPLE = EXAMPLE_COMPOSE.replace(
    "{PYTHONPATH: /app}", "{PYTHONPATH: /app, SECRET_KEY: hunter2}"
)
assert "hunter2" in EXAMPLE

SVG_TEXT = "{http://www.w3.org/2000/svg}text"
BROKEN = "services:\n  web:\n    image: nginx\n   ports: [80]\n"


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a working directory holding the example as ``compose.yaml``."""
    (tmp_path / "compose.yaml").write_text(EXAMPLE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(runner: CliRunner, *args: str, **kwargs: Any) -> Result:
    return runner.invoke(cli.cli, list(args), catch_exceptions=False, **kwargs)


# --- help and start-up -------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["render"], ["model"], ["serve"]], ids=str)
def test_help_every_command_shows_examples(
    runner: CliRunner, command: list[str]
) -> None:
    result = invoke(runner, *command, "--help")

    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert "compose-topology" in result.stdout


def test_help_render_lists_every_diagram_option_as_a_flag(runner: CliRunner) -> None:
    result = invoke(runner, "render", "--help")

    for flag in (
        "--overrides / --no-overrides",
        "--networks / --no-networks",
        "--depends-on / --no-depends-on",
        "--volumes / --no-volumes",
        "--legend / --no-legend",
        "--direction",
        "--service",
        "--show-values",
    ):
        assert flag in result.stdout
    for flag in ("-f, --file", "-p, --project-name", "--env-file", "--profile"):
        assert flag in result.stdout
    assert "--project-directory" in result.stdout


def test_layer_defaults_match_diagram_options() -> None:
    defaults = DiagramOptions()

    assert cli.LAYER_DEFAULTS == {
        name: getattr(defaults, name) for name in cli.LAYER_DEFAULTS
    }
    assert {f.name for f in dataclasses.fields(DiagramOptions) if f.type == "bool"} == {
        *cli.LAYER_DEFAULTS,
        "show_values",
    }
    assert cli.DEFAULT_DIRECTION == defaults.direction
    assert cli.DIRECTIONS == DIRECTIONS


def test_version_prints_the_package_version(runner: CliRunner) -> None:
    result = invoke(runner, "--version")

    assert result.exit_code == 0
    assert "0.1.0" in result.stdout


HEAVY_MODULES = ("fastapi", "uvicorn", "graphviz", "starlette", "service.web")
HELP_MODULES = (*HEAVY_MODULES, "service.render", "service.compose", "yaml")


@pytest.mark.parametrize(
    ("argv", "unwanted"),
    [
        pytest.param(["--help"], HELP_MODULES, id="help"),
        pytest.param(["render", "--help"], HELP_MODULES, id="render-help"),
        pytest.param(["model", "-f", "compose.yaml"], HEAVY_MODULES, id="model"),
    ],
)
def test_startup_imports_only_what_the_command_needs(
    project_dir: Path, argv: list[str], unwanted: tuple[str, ...]
) -> None:
    probe = (
        "import sys\n"
        "from service.cli import cli\n"
        f"cli.main({argv!r}, standalone_mode=False)\n"
        f"loaded = [m for m in {unwanted!r} if m in sys.modules]\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stderr


# --- render ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "magic"),
    [
        pytest.param("diagram.svg", b"<?xml", id="svg"),
        pytest.param("diagram.png", b"\x89PNG", id="png"),
        pytest.param("diagram.pdf", b"%PDF", id="pdf"),
        pytest.param("diagram.dot", b"digraph", id="dot"),
        pytest.param("diagram.gv", b"digraph", id="gv-is-dot"),
        pytest.param("model.json", b"{", id="json"),
    ],
)
def test_render_output_suffix_picks_the_format(
    runner: CliRunner, project_dir: Path, output: str, magic: bytes
) -> None:
    result = invoke(runner, "render", "-o", output)

    assert result.exit_code == 0, result.stderr
    assert (project_dir / output).read_bytes().startswith(magic)


def test_render_example_svg_shows_the_shared_image(
    runner: CliRunner, project_dir: Path
) -> None:
    result = invoke(runner, "render", "-f", "compose.yaml", "-o", "diagram.svg")

    svg = ElementTree.parse(project_dir / "diagram.svg").getroot()
    texts = [element.text or "" for element in svg.iter(SVG_TEXT)]
    assert result.exit_code == 0
    assert "cryphos-app:latest" in texts
    assert "celery-beat" in " ".join(texts)
    assert "hunter2" not in (project_dir / "diagram.svg").read_text()


def test_render_without_output_writes_svg_to_stdout(
    runner: CliRunner, project_dir: Path
) -> None:
    result = invoke(runner, "render")

    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(b"<?xml")
    assert "<svg" in result.stdout


def test_render_format_flag_wins_over_suffix(
    runner: CliRunner, project_dir: Path
) -> None:
    result = invoke(runner, "render", "--format", "dot", "-o", "out.svg")

    assert result.exit_code == 0
    assert (project_dir / "out.svg").read_text().startswith("digraph")


def test_render_unknown_suffix_is_a_usage_error(
    runner: CliRunner, project_dir: Path
) -> None:
    result = invoke(runner, "render", "-o", "diagram.jpeg")

    assert result.exit_code == 2
    assert "--format" in result.stderr
    assert not (project_dir / "diagram.jpeg").exists()


def test_render_is_byte_identical_across_runs(
    runner: CliRunner, project_dir: Path
) -> None:
    first = invoke(runner, "render", "--format", "svg").stdout_bytes
    second = invoke(runner, "render", "--format", "svg").stdout_bytes

    assert first == second


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param([], DiagramOptions(), id="defaults"),
        pytest.param(
            ["--no-overrides"], DiagramOptions(overrides=False), id="overrides"
        ),
        pytest.param(["--no-networks"], DiagramOptions(networks=False), id="networks"),
        pytest.param(
            ["--no-depends-on"], DiagramOptions(depends_on=False), id="depends-on"
        ),
        pytest.param(["--volumes"], DiagramOptions(volumes=True), id="volumes"),
        pytest.param(["--no-legend"], DiagramOptions(legend=False), id="legend"),
        pytest.param(["--direction", "TB"], DiagramOptions(direction="TB"), id="tb"),
        pytest.param(
            ["--service", "celery"], DiagramOptions(service="celery"), id="focus"
        ),
        pytest.param(["--show-values"], DiagramOptions(show_values=True), id="values"),
    ],
)
def test_render_flags_become_diagram_options(
    runner: CliRunner,
    project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    expected: DiagramOptions,
) -> None:
    seen: list[DiagramOptions] = []

    def fake_render(
        project: object, fmt: str, options: DiagramOptions, *_: object
    ) -> bytes:
        seen.append(options)
        return b"ok"

    monkeypatch.setattr(service.render, "render_diagram", fake_render)

    result = invoke(runner, "render", *flags)

    assert result.exit_code == 0
    assert seen == [expected]


def test_render_focus_on_one_service_leaves_unrelated_ones_out(
    runner: CliRunner, project_dir: Path
) -> None:
    result = invoke(runner, "render", "--format", "dot", "--service", "db")

    assert result.exit_code == 0
    assert "postgres:16" in result.stdout
    assert "redis:7" not in result.stdout


def test_render_direction_reaches_the_dot_text(
    runner: CliRunner, project_dir: Path
) -> None:
    result = invoke(runner, "render", "--format", "dot", "--direction", "TB")

    assert "rankdir=TB" in result.stdout.replace(" ", "").replace('"', "")


# --- model ----------------------------------------------------------------------


def test_model_prints_the_documented_json(runner: CliRunner, project_dir: Path) -> None:
    result = invoke(runner, "model")

    model = json.loads(result.stdout)
    assert result.exit_code == 0
    assert {"project", "images", "services", "networks", "findings", "warnings"} <= set(
        model
    )
    shared = next(i for i in model["images"] if i["ref"] == "cryphos-app:latest")
    assert sorted(shared["used_by"]) == [
        "backend",
        "celery",
        "celery-beat",
        "liquidations",
    ]


def test_model_masks_environment_values_by_default(
    runner: CliRunner, project_dir: Path
) -> None:
    hidden = invoke(runner, "model")
    shown = invoke(runner, "model", "--show-values")

    assert "hunter2" not in hidden.stdout
    assert "hunter2" in shown.stdout


def test_model_equals_render_json(runner: CliRunner, project_dir: Path) -> None:
    model = invoke(runner, "model")
    rendered = invoke(runner, "render", "--format", "json")

    assert model.stdout == rendered.stdout


def test_model_compose_flags_reach_the_reader(
    runner: CliRunner, project_dir: Path
) -> None:
    (project_dir / "extra.yaml").write_text(
        "services:\n  debug:\n    image: busybox\n    profiles: [debug]\n"
    )

    plain = json.loads(
        invoke(runner, "model", "-f", "compose.yaml", "-f", "extra.yaml").stdout
    )
    with_profile = json.loads(
        invoke(
            runner,
            "model",
            "-f",
            "compose.yaml",
            "-f",
            "extra.yaml",
            "-p",
            "demo",
            "--profile",
            "debug",
        ).stdout
    )

    assert "debug" not in [s["name"] for s in plain["services"]]
    assert "debug" in [s["name"] for s in with_profile["services"]]
    assert with_profile["project"] == "demo"


def test_model_env_file_flag_interpolates(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx:${TAG}\n"
    )
    (tmp_path / "prod.env").write_text("TAG=1.27\n")

    result = invoke(
        runner,
        "model",
        "--project-directory",
        str(tmp_path),
        "-f",
        str(tmp_path / "compose.yaml"),
        "--env-file",
        str(tmp_path / "prod.env"),
    )

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["services"][0]["image"] == "nginx:1.27"


def test_model_stdin_file_is_read(runner: CliRunner, project_dir: Path) -> None:
    result = invoke(runner, "model", "-f", "-", input="services:\n  a:\n    image: x\n")

    assert result.exit_code == 0
    assert [s["name"] for s in json.loads(result.stdout)["services"]] == ["a"]


# --- errors and exit codes ------------------------------------------------------


def test_broken_yaml_exits_1_with_file_line_column(
    runner: CliRunner, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(BROKEN)

    result = invoke(runner, "model")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: compose.yaml:")
    line_column = result.stderr.split(":")[2:4]
    assert all(part.strip().isdigit() for part in line_column), result.stderr
    assert "Traceback" not in result.output


def test_no_compose_file_exits_1_with_a_hint(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = invoke(runner, "render")

    assert result.exit_code == 1
    assert "-f FILE" in result.stderr


def test_missing_file_exits_1(runner: CliRunner, project_dir: Path) -> None:
    result = invoke(runner, "model", "-f", "nope.yaml")

    assert result.exit_code == 1
    assert "nope.yaml" in result.stderr


def test_unknown_focus_service_exits_1(runner: CliRunner, project_dir: Path) -> None:
    result = invoke(runner, "render", "--service", "nosuch")

    assert result.exit_code == 1
    assert "nosuch" in result.stderr


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(GraphvizMissingError("dot is not installed."), id="missing"),
        pytest.param(RenderTimeoutError("layout took too long."), id="timeout"),
    ],
)
def test_render_error_exits_3(
    runner: CliRunner,
    project_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    def failing_render(*_: object) -> bytes:
        raise error

    monkeypatch.setattr(service.render, "render_diagram", failing_render)

    result = invoke(runner, "render", "-o", "diagram.svg")

    assert result.exit_code == 3
    assert result.stderr == f"Error: {error}\n"
    assert not (project_dir / "diagram.svg").exists()


def test_render_without_dot_on_path_exits_3(
    runner: CliRunner, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(project_dir))

    result = invoke(runner, "render", "--format", "png", "-o", "diagram.png")

    assert result.exit_code == 3
    assert "Graphviz" in result.stderr or "dot" in result.stderr


def test_malformed_limit_variable_is_a_usage_error(
    runner: CliRunner, project_dir: Path
) -> None:
    result = invoke(runner, "model", env={"COMPOSE_TOPOLOGY_MAX_SERVICES": "many"})

    assert result.exit_code == 2
    assert "COMPOSE_TOPOLOGY_MAX_SERVICES" in result.stderr


def test_unwritable_output_exits_1(runner: CliRunner, project_dir: Path) -> None:
    result = invoke(runner, "render", "-o", str(project_dir / "no" / "such" / "d.svg"))

    assert result.exit_code == 1
    assert "d.svg" in result.stderr


# --- serve ----------------------------------------------------------------------


def test_serve_runs_the_web_factory_with_uvicorn(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append((a, k)))

    result = invoke(runner, "serve", "--host", "0.0.0.0", "--port", "9000")

    assert result.exit_code == 0
    assert calls == [
        (
            ("service.web.app:create_app_from_environ",),
            {
                "factory": True,
                "host": "0.0.0.0",
                "port": 9000,
                "workers": 1,
                "access_log": False,
            },
        )
    ]


def test_serve_workers_default_from_web_concurrency(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append(k))

    result = invoke(runner, "serve", env={"WEB_CONCURRENCY": "3"})

    assert result.exit_code == 0
    assert calls[0]["workers"] == 3
    assert calls[0]["host"] == "127.0.0.1"


def test_serve_malformed_setting_is_a_usage_error_before_uvicorn(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append(a))

    result = invoke(runner, "serve", env={"COMPOSE_TOPOLOGY_CACHE_ENTRIES": "many"})

    assert result.exit_code == 2
    assert "COMPOSE_TOPOLOGY_CACHE_ENTRIES" in result.stderr
    assert calls == []


def test_serve_without_graphviz_exits_3_before_uvicorn(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append(a))
    monkeypatch.setenv("PATH", str(tmp_path))

    result = invoke(runner, "serve")

    assert result.exit_code == 3
    assert "Graphviz" in result.stderr
    assert calls == []


def test_serve_factory_named_exists() -> None:
    from service.web import app

    module, _, name = cli.WEB_APP_FACTORY.partition(":")

    assert module == app.__name__
    assert callable(getattr(app, name))


# --- the README -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def readme_cli_commands() -> list[str]:
    """Return the README's shell lines that run compose-topology (but not serve)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
    lines = [line.split("  #")[0].strip() for b in blocks for line in b.splitlines()]
    return [
        line
        for line in lines
        if line.startswith(("compose-topology ", "mkdir ")) and " serve" not in line
    ]


def test_readme_cli_commands_run_in_the_example(tmp_path: Path) -> None:
    commands = readme_cli_commands()
    example = tmp_path / "example"
    shutil.copytree(ROOT / "docs" / "example", example)
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}

    result = subprocess.run(
        ["bash", "-euxo", "pipefail", "-c", "\n".join(commands)],
        cwd=example,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert len(commands) >= 8
    assert result.returncode == 0, result.stderr
    for made in ("diagram.svg", "celery.svg", "stack.svg", "docs/img/stack.svg"):
        assert (example / made).read_bytes().startswith(b"<?xml"), made
    assert (example / "prod.png").read_bytes().startswith(b"\x89PNG")
    assert (example / "full.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((example / "model.json").read_text())["services"]
