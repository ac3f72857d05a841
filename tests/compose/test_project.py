"""parse_project end to end: names, profiles, warnings, limits and errors."""

from __future__ import annotations

from typing import Unpack

import pytest

from service.compose import parse_project
from service.compose import project as project_module
from service.compose.completion import CompletedProject
from service.compose.inputs import ComposeFile, MappingSource, ProjectInput
from service.compose.project import normalise_project_name
from service.errors import (
    ComposeTopologyError,
    ComposeValidationError,
    InputError,
    LimitExceededError,
)
from service.limits import Limits
from tests.compose.inputs import InputOptions

SIMPLE = "services:\n  web:\n    image: nginx\n"


def _input(*texts: str, **options: Unpack[InputOptions]) -> ProjectInput:
    files = tuple(
        ComposeFile(f"compose{i or ''}.yaml", text) for i, text in enumerate(texts)
    )
    return ProjectInput(files=files, **options)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        pytest.param("myproj", "myproj", id="already-valid"),
        pytest.param("My_Proj!", "my_proj", id="lowercased-and-stripped"),
        pytest.param("-_x", "x", id="leading-separators-dropped"),
        pytest.param("Über App", "berapp", id="non-ascii-dropped"),
    ],
)
def test_normalise_project_name_as_compose(raw: str, normalised: str) -> None:
    assert normalise_project_name(raw) == normalised


def test_parse_project_name_from_directory_base_name() -> None:
    project = parse_project(_input(SIMPLE, project_directory="/srv/My App"))

    assert project.project == "myapp"
    assert project.service("web").containers == ("myapp-web-1",)


def test_parse_project_top_level_name_interpolated_and_normalised() -> None:
    text = "name: ${N:-Shop_Front}\n" + SIMPLE

    assert parse_project(_input(text)).project == "shop_front"


def test_parse_project_environment_name_wins_over_file() -> None:
    text = "name: fromfile\n" + SIMPLE

    project = parse_project(_input(text, variables={"COMPOSE_PROJECT_NAME": "env"}))

    assert project.project == "env"


def test_parse_project_name_variable_available_for_interpolation() -> None:
    text = SIMPLE + "    environment:\n      P: ${COMPOSE_PROJECT_NAME}\n"

    project = parse_project(_input(text, project_name="shop"))

    assert project.service("web").environment[0].value == "shop"


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"project_name": "Bad"}, id="explicit-uppercase"),
        pytest.param({"variables": {"COMPOSE_PROJECT_NAME": "a b"}}, id="env-space"),
        pytest.param({"project_directory": "/"}, id="empty-directory-name"),
    ],
)
def test_parse_project_invalid_name_rejected(options: InputOptions) -> None:
    with pytest.raises(ComposeValidationError) as caught:
        parse_project(_input(SIMPLE, **options))

    assert caught.value.key == "name"


def test_parse_project_compose_profiles_from_env_file() -> None:
    text = SIMPLE + "  debug:\n    image: busybox\n    profiles: [debug]\n"
    env_file = ComposeFile(".env", "COMPOSE_PROFILES=debug\n")

    project = parse_project(_input(text, env_file=env_file))

    assert [s.name for s in project.services] == ["debug", "web"]


def test_parse_project_disabled_profile_hides_service() -> None:
    text = SIMPLE + "  debug:\n    image: busybox\n    profiles: [debug]\n"

    project = parse_project(_input(text))

    assert [s.name for s in project.services] == ["web"]


def test_parse_project_required_dependency_in_disabled_profile_rejected() -> None:
    text = (
        "services:\n  web:\n    image: nginx\n    depends_on: [db]\n"
        "  db:\n    image: postgres\n    profiles: [db]\n"
    )

    with pytest.raises(ComposeValidationError) as caught:
        parse_project(_input(text))

    assert caught.value.service == "web"
    assert caught.value.location is not None
    assert caught.value.location.line == 4


def test_parse_project_optional_dependency_in_disabled_profile_allowed() -> None:
    text = (
        "services:\n  web:\n    image: nginx\n    depends_on:\n"
        "      db: {condition: service_started, required: false}\n"
        "  db:\n    image: postgres\n    profiles: [db]\n"
    )

    assert [s.name for s in parse_project(_input(text)).services] == ["web"]


def test_parse_project_version_and_unset_variable_warned_with_line() -> None:
    text = 'version: "3"\n' + SIMPLE + "    environment:\n      - P=${UNSET_X}\n"

    warnings = parse_project(_input(text)).warnings

    codes = {w.code: w for w in warnings}
    assert codes["obsolete-version"].location is not None
    assert codes["obsolete-version"].location.line == 1
    unset = codes["unset-variable"]
    assert '"UNSET_X"' in unset.message
    assert unset.location is not None and unset.location.line == 6


def test_parse_project_later_file_overrides_earlier() -> None:
    base = SIMPLE + '    ports: ["8000:8000"]\n'
    override = "services:\n  web:\n    image: nginx:1.27\n    command: serve\n"

    web = parse_project(_input(base, override)).service("web")

    assert web.image == "nginx:1.27"
    assert web.override("command") is not None
    assert [p.published for p in web.ports] == ["8000"]


@pytest.mark.parametrize(
    ("base", "override"),
    [
        pytest.param(
            '    command: "echo \'unterminated"\n',
            "    command: python -m app\n",
            id="unsplittable-command",
        ),
        pytest.param(
            "    healthcheck:\n      interval: bogus\n",
            "    healthcheck:\n      interval: 10s\n",
            id="unreadable-duration",
        ),
    ],
)
def test_parse_project_value_replaced_by_later_file_accepted(
    base: str, override: str
) -> None:
    later = "services:\n  web:\n" + override

    web = parse_project(_input(SIMPLE + base, later)).service("web")

    assert web.name == "web"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param('    command: "echo \'unterminated"\n', id="unsplittable-command"),
        pytest.param(
            "    healthcheck:\n      interval: bogus\n", id="unreadable-duration"
        ),
    ],
)
def test_parse_project_unreadable_value_left_standing_rejected(value: str) -> None:
    later = "services:\n  web:\n    image: nginx:1.27\n"

    with pytest.raises(ComposeValidationError) as caught:
        parse_project(_input(SIMPLE + value, later))

    assert caught.value.location is not None
    assert caught.value.location.file == "compose.yaml"


def test_parse_project_include_and_extends_files_read_through_sources() -> None:
    text = (
        "include: [sub/db.yaml]\nservices:\n  web:\n"
        "    extends: {file: common.yaml, service: base}\n"
    )
    sources = MappingSource(
        {
            "sub/db.yaml": "services:\n  db:\n    build: ./pg\n",
            "common.yaml": "services:\n  base:\n    image: app\n    user: app\n",
        }
    )

    project = parse_project(_input(text, sources=sources, project_directory="/p"))

    assert project.service("web").override("user") is not None
    db_image = project.image("p-db")
    assert db_image.build is not None
    assert db_image.build.context == "sub/pg"


def test_parse_project_missing_included_file_names_it() -> None:
    with pytest.raises(ComposeValidationError) as caught:
        parse_project(_input("include: [missing.yaml]\n" + SIMPLE))

    assert "missing.yaml" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("{}\n", id="empty-mapping"),
        pytest.param("services:\n  web: {}\n", id="no-image-no-build"),
        pytest.param(
            "services:\n  a:\n    image: x\n    depends_on: [a]\n", id="self-dependency"
        ),
        pytest.param(
            "services:\n  a:\n    image: x\n    networks: [missing]\n",
            id="undefined-network",
        ),
        pytest.param(
            "services:\n  a:\n    image: x\n    volumes: [data:/d]\n",
            id="undefined-volume",
        ),
        pytest.param(
            "services:\n  a:\n    image: x\n    scale: 3\n    deploy: {replicas: 2}\n",
            id="scale-and-replicas-differ",
        ),
        pytest.param(
            "services:\n  a:\n    image: x\n    container_name: c\n"
            "    deploy: {replicas: 2}\n",
            id="container-name-with-replicas",
        ),
        pytest.param(
            "services:\n  a:\n    image: x\n    container_name: c\n"
            "  b:\n    image: x\n    container_name: c\n",
            id="container-name-twice",
        ),
        pytest.param(
            "services:\n  a:\n    image: x\n    network_mode: host\n    networks: [n]\n"
            "networks:\n  n: {}\n",
            id="network-mode-and-networks",
        ),
        pytest.param(
            "services:\n  a:\n    image: x\n    ports: ['80/icmp']\n", id="bad-port"
        ),
        pytest.param("services: [a]\n", id="services-not-mapping"),
    ],
)
def test_parse_project_invalid_input_raises_input_error(text: str) -> None:
    with pytest.raises(InputError):
        parse_project(_input(text))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("services:\n  a: [\n", id="broken-yaml"),
        pytest.param("- just\n- a list\n", id="list-root"),
        pytest.param("services:\n  a:\n    image: ${X:?needed}\n", id="required-var"),
        pytest.param("services:\n  a:\n    extends: nowhere\n", id="extends-missing"),
        pytest.param(
            "services:\n  a:\n    image: x\n    ports: 80\n", id="ports-scalar"
        ),
        pytest.param("services:\n  a: 1\n", id="service-scalar"),
    ],
)
def test_parse_project_malformed_raises_only_our_errors(text: str) -> None:
    with pytest.raises(ComposeTopologyError):
        parse_project(_input(text))


def test_parse_project_reader_bug_raises_our_error_without_content(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    text = SIMPLE + "    environment:\n      TOKEN: s3cr3t\n"

    def broken_build(project: CompletedProject, context: object) -> None:
        raise KeyError(repr(project.enabled))

    monkeypatch.setattr(project_module, "build_topology", broken_build)

    with pytest.raises(ComposeValidationError) as caught:
        parse_project(_input(text))

    assert isinstance(caught.value.__cause__, KeyError)
    assert "s3cr3t" in str(caught.value.__cause__)
    assert "KeyError" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_parse_project_too_many_services_refused_early() -> None:
    text = "services:\n" + "".join(f"  s{i}:\n    image: x\n" for i in range(6))

    with pytest.raises(LimitExceededError) as caught:
        parse_project(_input(text), Limits(max_services=5))

    assert caught.value.limit == "max_services"


def test_parse_project_port_range_counted_after_expansion() -> None:
    text = SIMPLE + "    ports: ['1-65535:1-65535']\n"

    with pytest.raises(LimitExceededError) as caught:
        parse_project(_input(text))

    assert caught.value.limit == "max_ports"
    assert caught.value.service == "web"


def test_parse_project_too_many_files_refused() -> None:
    with pytest.raises(LimitExceededError):
        parse_project(_input(SIMPLE, SIMPLE, SIMPLE), Limits(max_files=2))
