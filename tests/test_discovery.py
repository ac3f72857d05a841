"""Finding and reading a project's files on disk, as ``docker compose`` does."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from service.compose import parse_project
from service.discovery import (
    ComposeOptions,
    find_compose_files,
    load_project_input,
)
from service.errors import InputError, LimitExceededError
from service.files import DirectorySource
from service.limits import Limits
from tests.compose.reference import reference_config

SERVICE = "services:\n  {name}:\n    image: {image}\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def compose_text(name: str = "web", image: str = "nginx:1") -> str:
    return SERVICE.format(name=name, image=image)


# --- find_compose_files -------------------------------------------------------


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        pytest.param(
            [
                "docker-compose.yaml",
                "docker-compose.yml",
                "compose.yml",
                "compose.yaml",
            ],
            "compose.yaml",
            id="compose.yaml-first",
        ),
        pytest.param(
            ["docker-compose.yaml", "docker-compose.yml", "compose.yml"],
            "compose.yml",
            id="compose.yml-before-docker-compose",
        ),
        pytest.param(
            ["docker-compose.yaml", "docker-compose.yml"],
            "docker-compose.yml",
            id="docker-compose.yml-before-yaml",
        ),
        pytest.param(["docker-compose.yaml"], "docker-compose.yaml", id="legacy-yaml"),
    ],
)
def test_find_compose_files_several_names_picks_composes_first(
    tmp_path: Path, present: list[str], expected: str
) -> None:
    for name in present:
        write(tmp_path / name, compose_text())

    assert find_compose_files(tmp_path) == (tmp_path / expected,)


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        pytest.param(
            ["docker-compose.override.yml", "compose.override.yaml"],
            "compose.override.yaml",
            id="compose.override.yaml-first",
        ),
        pytest.param(
            ["docker-compose.override.yaml", "docker-compose.override.yml"],
            "docker-compose.override.yml",
            id="docker-compose.override.yml-before-yaml",
        ),
    ],
)
def test_find_compose_files_override_beside_file_is_added_second(
    tmp_path: Path, present: list[str], expected: str
) -> None:
    write(tmp_path / "docker-compose.yml", compose_text())
    for name in present:
        write(tmp_path / name, compose_text())

    found = find_compose_files(tmp_path)

    assert found == (tmp_path / "docker-compose.yml", tmp_path / expected)


def test_find_compose_files_in_parent_returns_the_parents_files(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", compose_text())
    write(tmp_path / "compose.override.yaml", compose_text())
    child = tmp_path / "a" / "b"
    child.mkdir(parents=True)

    found = find_compose_files(child)

    assert found == (tmp_path / "compose.yaml", tmp_path / "compose.override.yaml")


def test_find_compose_files_override_alone_is_not_a_project(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "compose.override.yaml", compose_text())
    write(tmp_path / "compose.yaml", compose_text())

    found = find_compose_files(tmp_path / "sub")

    assert found == (tmp_path / "compose.yaml",)


# --- load_project_input ----------------------------------------------------------


def test_load_project_input_without_files_reads_the_default_pair(
    tmp_path: Path,
) -> None:
    write(tmp_path / "compose.yaml", compose_text())
    write(tmp_path / "compose.override.yaml", compose_text(image="nginx:2"))

    project_input = load_project_input(ComposeOptions(), environ={}, cwd=tmp_path)

    assert [f.name for f in project_input.files] == [
        "compose.yaml",
        "compose.override.yaml",
    ]
    assert project_input.project_directory == str(tmp_path)
    assert project_input.sources == DirectorySource(tmp_path)


def test_load_project_input_nothing_found_raises_input_error_naming_f(
    tmp_path: Path,
) -> None:
    with pytest.raises(InputError, match="-f FILE"):
        load_project_input(ComposeOptions(), environ={}, cwd=tmp_path)


def test_load_project_input_missing_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_project_input(
            ComposeOptions(files=("nope.yaml",)), environ={}, cwd=tmp_path
        )


def test_load_project_input_binary_file_raises_input_error(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_bytes(b"\xff\xfe\x00bad")

    with pytest.raises(InputError, match="not UTF-8"):
        load_project_input(ComposeOptions(), environ={}, cwd=tmp_path)


def test_load_project_input_file_over_limit_raises_limit_error(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", compose_text())

    with pytest.raises(LimitExceededError, match="COMPOSE_TOPOLOGY_MAX_BODY_BYTES"):
        load_project_input(
            ComposeOptions(), environ={}, cwd=tmp_path, limits=Limits(max_body_bytes=10)
        )


def test_load_project_input_relative_files_name_the_project_directory(
    tmp_path: Path,
) -> None:
    write(tmp_path / "stack" / "base.yaml", compose_text())
    write(tmp_path / "stack" / "prod" / "prod.yaml", compose_text(image="nginx:2"))
    options = ComposeOptions(files=("stack/base.yaml", "stack/prod/prod.yaml"))

    project_input = load_project_input(options, environ={}, cwd=tmp_path)

    assert project_input.project_directory == str(tmp_path / "stack")
    assert [f.name for f in project_input.files] == ["base.yaml", "prod/prod.yaml"]


def test_load_project_input_project_directory_flag_wins(tmp_path: Path) -> None:
    write(tmp_path / "files" / "compose.yaml", compose_text())
    (tmp_path / "root").mkdir()
    options = ComposeOptions(
        files=("files/compose.yaml",), project_directory=Path("root")
    )

    project_input = load_project_input(options, environ={}, cwd=tmp_path)

    assert project_input.project_directory == str(tmp_path / "root")
    assert project_input.files[0].name == str(tmp_path / "files" / "compose.yaml")


def test_load_project_input_dash_reads_stdin_from_the_working_directory(
    tmp_path: Path,
) -> None:
    options = ComposeOptions(files=("-",))

    project_input = load_project_input(
        options, environ={}, cwd=tmp_path, stdin=io.StringIO(compose_text())
    )

    assert project_input.files[0].name == "-"
    assert project_input.files[0].text == compose_text()
    assert project_input.project_directory == str(tmp_path)


def test_load_project_input_dotenv_of_project_is_the_env_file(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", compose_text(image="nginx:${TAG}"))
    write(tmp_path / ".env", "TAG=1.27\n")

    project_input = load_project_input(
        ComposeOptions(), environ={"HOME": "/h"}, cwd=tmp_path
    )

    assert project_input.env_file is not None
    assert project_input.env_file.name == ".env"
    assert project_input.variables == {"HOME": "/h"}


def test_load_project_input_env_file_flag_replaces_dotenv(tmp_path: Path) -> None:
    write(tmp_path / "compose.yaml", compose_text())
    write(tmp_path / ".env", "TAG=dotenv\n")
    write(tmp_path / "prod.env", "TAG=prod\n")

    project_input = load_project_input(
        ComposeOptions(env_files=("prod.env",)), environ={}, cwd=tmp_path
    )

    assert project_input.env_file is not None
    assert project_input.env_file.text == "TAG=prod\n"


@pytest.mark.parametrize(
    ("options", "environ", "expected"),
    [
        pytest.param(ComposeOptions(), {}, "fromenv", id="dotenv"),
        pytest.param(
            ComposeOptions(),
            {"COMPOSE_PROJECT_NAME": "shell"},
            "shell",
            id="shell-over-dotenv",
        ),
        pytest.param(
            ComposeOptions(project_name="flag"),
            {"COMPOSE_PROJECT_NAME": "shell"},
            "flag",
            id="flag-over-all",
        ),
    ],
)
def test_load_project_input_project_name_follows_compose_precedence(
    tmp_path: Path,
    options: ComposeOptions,
    environ: dict[str, str],
    expected: str,
) -> None:
    write(tmp_path / "compose.yaml", "name: fromfile\n" + compose_text())
    write(tmp_path / ".env", "COMPOSE_PROJECT_NAME=fromenv\n")

    project_input = load_project_input(options, environ=environ, cwd=tmp_path)

    assert parse_project(project_input, Limits()).project == expected


@pytest.mark.parametrize(
    ("options", "environ", "expected"),
    [
        pytest.param(ComposeOptions(), {}, ["debug", "tools", "web"], id="dotenv"),
        pytest.param(
            ComposeOptions(),
            {"COMPOSE_PROFILES": "tools"},
            ["tools", "web"],
            id="shell-over-dotenv",
        ),
        pytest.param(
            ComposeOptions(profiles=("debug",)),
            {"COMPOSE_PROFILES": "tools"},
            ["debug", "web"],
            id="flag-over-all",
        ),
    ],
)
def test_load_project_input_profiles_follow_compose_precedence(
    tmp_path: Path,
    options: ComposeOptions,
    environ: dict[str, str],
    expected: list[str],
) -> None:
    profiled = "  {0}:\n    image: busybox\n    profiles: [{0}]\n"
    text = compose_text() + profiled.format("debug") + profiled.format("tools")
    write(tmp_path / "compose.yaml", text)
    write(tmp_path / ".env", "COMPOSE_PROFILES=debug,tools\n")

    project_input = load_project_input(options, environ=environ, cwd=tmp_path)

    project = parse_project(project_input, Limits())
    assert sorted(s.name for s in project.services) == expected


def test_load_project_input_compose_file_variable_names_the_files(
    tmp_path: Path,
) -> None:
    write(tmp_path / "a.yaml", compose_text())
    write(tmp_path / "b.yaml", compose_text(image="nginx:2"))
    write(tmp_path / "compose.yaml", compose_text(name="ignored"))

    project_input = load_project_input(
        ComposeOptions(), environ={"COMPOSE_FILE": "a.yaml:b.yaml"}, cwd=tmp_path
    )

    assert [f.name for f in project_input.files] == ["a.yaml", "b.yaml"]


def test_load_project_input_compose_file_in_dotenv_names_the_files(
    tmp_path: Path,
) -> None:
    write(tmp_path / "one.yaml", compose_text())
    write(tmp_path / "two.yaml", compose_text())
    write(
        tmp_path / ".env", "COMPOSE_PATH_SEPARATOR=,\nCOMPOSE_FILE=one.yaml,two.yaml\n"
    )

    project_input = load_project_input(ComposeOptions(), environ={}, cwd=tmp_path)

    assert [f.name for f in project_input.files] == ["one.yaml", "two.yaml"]


def test_load_project_input_several_env_files_merge_later_winning(
    tmp_path: Path,
) -> None:
    write(tmp_path / "compose.yaml", compose_text())
    write(tmp_path / "a.env", "A=one\nB=one\n")
    write(tmp_path / "b.env", "A=two\n")
    options = ComposeOptions(env_files=("a.env", "b.env"))

    project_input = load_project_input(options, environ={"B": "shell"}, cwd=tmp_path)

    assert project_input.env_file is None
    assert project_input.variables == {"A": "two", "B": "shell"}


def test_load_project_input_found_in_parent_reads_both_dotenvs_child_first(
    tmp_path: Path,
) -> None:
    write(tmp_path / "compose.yaml", compose_text())
    write(tmp_path / ".env", "A=parent\nB=parent\n")
    write(tmp_path / "sub" / ".env", "A=child\n")

    project_input = load_project_input(
        ComposeOptions(), environ={}, cwd=tmp_path / "sub"
    )

    assert project_input.project_directory == str(tmp_path)
    assert project_input.variables == {"A": "child", "B": "parent"}


# --- agreement with the reference -----------------------------------------------


LAYOUTS = {
    "parent-with-both-dotenvs": {
        "compose.yaml": compose_text(image="nginx:${TAG:-none}"),
        "compose.override.yml": compose_text(image="nginx:${TAG:-none}-override"),
        ".env": "TAG=parent\nCOMPOSE_PROJECT_NAME=fromdotenv\n",
        "sub/.env": "TAG=child\n",
    },
    "compose-file-in-dotenv": {
        "sub/.env": "COMPOSE_FILE=../stack/app.yaml\n",
        "stack/app.yaml": compose_text(image="redis:${TAG:-7}"),
        "stack/.env": "TAG=stack\n",
    },
    "legacy-names-and-profiles": {
        "sub/docker-compose.yml": compose_text()
        + "  debug:\n    image: busybox\n    profiles: [debug]\n",
        "sub/docker-compose.override.yaml": compose_text(image="nginx:override"),
        "sub/.env": "COMPOSE_PROFILES=debug\n",
    },
}


FLAGGED_LAYOUTS = {
    "f-reads-dotenv-beside-first-file": (
        {
            "sub/.env": "TAG=cwd\nCOMPOSE_PROJECT_NAME=cwd\n",
            "stack/app.yaml": compose_text(image="redis:${TAG:-7}"),
            "stack/.env": "TAG=stack\n",
        },
        ComposeOptions(files=("../stack/app.yaml",)),
        ["-f", "../stack/app.yaml"],
    ),
    "several-env-files-later-wins": (
        {
            "sub/compose.yaml": compose_text(image="nginx:${A}-${B}"),
            "sub/a.env": "A=one\nB=one\n",
            "sub/b.env": "A=two\n",
            "sub/.env": "A=dotenv\nB=dotenv\n",
        },
        ComposeOptions(env_files=("a.env", "b.env")),
        ["--env-file", "a.env", "--env-file", "b.env"],
    ),
    "project-directory-elsewhere": (
        {
            "sub/compose.yaml": compose_text(image="nginx:${TAG:-none}"),
            "root/.env": "TAG=root\n",
        },
        ComposeOptions(files=("compose.yaml",), project_directory=Path("../root")),
        ["-f", "compose.yaml", "--project-directory", "../root"],
    ),
}
CASES = [
    pytest.param(files, ComposeOptions(), [], id=name)
    for name, files in LAYOUTS.items()
] + [
    pytest.param(files, options, args, id=name)
    for name, (files, options, args) in FLAGGED_LAYOUTS.items()
]


@pytest.mark.reference
@pytest.mark.parametrize(("files", "options", "args"), CASES)
def test_discovery_matches_reference(
    tmp_path: Path, files: dict[str, str], options: ComposeOptions, args: list[str]
) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    cwd = tmp_path / "sub"
    cwd.mkdir(exist_ok=True)
    expected = reference_config(cwd, *args)

    project = parse_project(load_project_input(options, environ={}, cwd=cwd), Limits())

    services = expected["services"]
    assert isinstance(services, dict)
    assert project.project == expected["name"]
    assert {s.name: s.image for s in project.services} == {
        name: service["image"] for name, service in services.items()
    }
