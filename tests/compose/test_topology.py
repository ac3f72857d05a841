"""The topology model: images, containers, overrides, networks and exposure."""

from __future__ import annotations

import dataclasses
from typing import Unpack

import pytest

from service.compose import parse_project
from service.compose.inputs import ComposeFile, MappingSource, ProjectInput
from service.errors import ComposeValidationError, SourceLocation
from service.example import EXAMPLE_COMPOSE as CRYPHOS
from service.model import (
    HIDDEN_VALUE,
    BuildSpec,
    EnvironmentVariable,
    Project,
    Service,
    hide_values,
)
from tests.compose.inputs import InputOptions

DOCKERFILE = """\
FROM python:3.12-slim
ENV PYTHONPATH=/srv PYTHONUNBUFFERED=1
WORKDIR /app
CMD ["gunicorn", "app:app"]
"""


def _parse(text: str, **options: Unpack[InputOptions]) -> Project:
    options.setdefault("project_directory", "/home/me/cryphos")
    files = (ComposeFile("compose.yaml", text),)
    return parse_project(ProjectInput(files=files, **options))


def test_issue_example_one_built_image_four_containers() -> None:
    project = _parse(CRYPHOS)

    image = project.image("cryphos-app:latest")
    assert image.source == "build"
    assert image.built_by == ("backend",)
    assert set(image.used_by) == {"backend", "liquidations", "celery", "celery-beat"}
    assert [i.ref for i in project.images if i.source == "build"] == [image.ref]


def test_issue_example_exposure_per_service() -> None:
    project = _parse(CRYPHOS)

    assert [p.exposure for p in project.service("db").ports] == ["loopback"]
    assert [p.exposure for p in project.service("backend").ports] == ["public"]
    redis = project.service("redis")
    assert redis.ports == () and redis.expose == ()


def test_issue_example_celery_overrides() -> None:
    celery = _parse(CRYPHOS).service("celery")

    assert {o.key for o in celery.overrides} == {
        "command",
        "environment",
        "working_dir",
    }
    command = celery.override("command")
    assert command is not None
    assert command.value == ("celery", "-A", "apis", "worker")


def test_issue_example_container_names() -> None:
    project = _parse(CRYPHOS)

    assert project.service("liquidations").containers == ("cryphos-liquidations",)
    assert project.service("celery-beat").containers == ("cryphos-celery-beat-1",)


def test_overrides_compared_with_supplied_dockerfile() -> None:
    sources = MappingSource({"Dockerfile": DOCKERFILE})

    celery = _parse(CRYPHOS, sources=sources).service("celery")

    working_dir = celery.override("working_dir")
    assert working_dir is not None
    assert (working_dir.relation, working_dir.image_default) == ("overrides", "/app")
    command = celery.override("command")
    assert command is not None and command.relation == "overrides"
    (variable,) = celery.environment
    assert (variable.relation, variable.image_default) == ("overrides", "/srv")


def test_inherited_settings_listed_when_not_overridden() -> None:
    sources = MappingSource({"Dockerfile": DOCKERFILE})

    beat = _parse(CRYPHOS, sources=sources).service("celery-beat")

    assert "working_dir" in beat.inherited
    assert "command" not in beat.inherited


def test_build_without_image_gets_compose_default_name() -> None:
    text = "services:\n  api:\n    build:\n      context: ./api\n      target: prod\n"

    project = _parse(text)

    image = project.image("cryphos-api")
    assert image.build is not None
    assert (image.build.context, image.build.target) == ("api", "prod")


@pytest.mark.parametrize(
    ("settings", "replicas", "containers"),
    [
        pytest.param("", 1, ("p-w-1",), id="default"),
        pytest.param("    scale: 3\n", 3, ("p-w-1", "p-w-2", "p-w-3"), id="scale"),
        pytest.param("    deploy: {replicas: 2}\n", 2, ("p-w-1", "p-w-2"), id="deploy"),
        pytest.param("    deploy: {replicas: 0}\n", 0, (), id="zero"),
    ],
)
def test_replicas_give_container_names(
    settings: str, replicas: int, containers: tuple[str, ...]
) -> None:
    text = "services:\n  w:\n    image: x\n" + settings

    service = _parse(text, project_name="p").service("w")

    assert (service.replicas, service.containers) == (replicas, containers)


def test_networks_default_custom_aliases_and_mode() -> None:
    text = (
        "services:\n"
        "  a:\n    image: x\n    networks:\n      back: {aliases: [api]}\n"
        "  b:\n    image: x\n"
        "  c:\n    image: x\n    network_mode: service:b\n"
        "  d:\n    image: x\n    network_mode: host\n    ports: ['80:80']\n"
        "networks:\n  back: {internal: true}\n  unused: {}\n"
    )

    project = _parse(text, project_name="p")

    networks = {n.name: n for n in project.networks}
    assert set(networks) == {"back", "default"}
    assert networks["back"].internal and networks["back"].full_name == "p_back"
    assert networks["default"].services == ("b",)
    assert project.service("a").networks[0].aliases == ("api",)
    c = project.service("c")
    assert c.network_mode == "service:b" and c.networks == ()
    assert [d.service for d in c.depends_on] == ["b"]
    assert project.service("d").ports[0].exposure == "host-network"


def test_env_file_variables_carry_their_file_name() -> None:
    text = (
        "services:\n  w:\n    image: x\n    env_file: [app.env]\n"
        "    environment:\n      - B=override\n      - FROM_SHELL\n"
    )
    sources = MappingSource({"app.env": "A=1\nB=2\n"})

    service = _parse(text, sources=sources, variables={"FROM_SHELL": "s"}).service("w")

    values = {v.name: (v.value, v.source) for v in service.environment}
    assert values == {
        "A": ("1", "app.env"),
        "B": ("override", "environment"),
        "FROM_SHELL": ("s", "environment"),
    }
    env_file = service.override("env_file")
    assert env_file is not None and env_file.value == ("app.env",)


def test_named_volumes_listed_with_users() -> None:
    text = (
        "services:\n  db:\n    image: postgres\n"
        "    volumes: [data:/var/lib/pg, ./x:/x]\n"
        "volumes:\n  data: {}\n"
    )

    project = _parse(text, project_name="p")

    (volume,) = project.volumes
    assert (volume.full_name, volume.services) == ("p_data", ("db",))
    mounts = {m.target: m for m in project.service("db").volumes}
    assert mounts["/x"].type == "bind" and mounts["/x"].source == "x"


def test_resources_shared_list_each_user_once_in_name_order() -> None:
    text = (
        "services:\n"
        "  web:\n    image: x\n    networks: [front, back]\n"
        "    volumes: [data:/a, data:/b, ./c:/c]\n"
        "  api:\n    image: x\n    networks: [back]\n    volumes: [data:/d]\n"
        "  cron:\n    image: x\n    network_mode: none\n"
        "networks:\n  front: {}\n  back: {}\n  idle: {}\n"
        "volumes:\n  data: {}\n  spare: {}\n"
    )

    project = _parse(text, project_name="p")

    networks = {n.name: n.services for n in project.networks}
    assert networks == {"back": ("api", "web"), "front": ("web",)}
    volumes = {v.name: v.services for v in project.volumes}
    assert volumes == {"data": ("api", "web")}


def test_depends_on_long_syntax_kept() -> None:
    text = (
        "services:\n  web:\n    image: x\n    depends_on:\n"
        "      db: {condition: service_healthy, restart: true}\n"
        "  db:\n    image: postgres\n"
    )

    (dependency,) = _parse(text).service("web").depends_on

    assert (dependency.service, dependency.condition, dependency.restart) == (
        "db",
        "service_healthy",
        True,
    )


RAW_ENV_FILE = (
    "services:\n  w:\n    image: x\n    env_file: [{path: app.env, format: raw}]\n"
)


def test_raw_env_file_taken_literally_and_bare_names_skipped() -> None:
    sources = MappingSource({"app.env": " A='q' # c\nBARE\nB==x\n# note\n"})

    service = _parse(RAW_ENV_FILE, sources=sources).service("w")

    assert {v.name: v.value for v in service.environment} == {
        "A": "'q' # c",
        "B": "=x",
    }


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("SPACED = padded\n", "whitespace", id="space-in-name"),
        pytest.param("export BIND=1\n", "whitespace", id="export-not-known"),
        pytest.param("=value\n", "no variable name", id="empty-name"),
    ],
)
def test_raw_env_file_bad_name_rejected_with_line(text: str, words: str) -> None:
    sources = MappingSource({"app.env": "OK=1\n" + text})

    with pytest.raises(ComposeValidationError) as caught:
        _parse(RAW_ENV_FILE, sources=sources)

    assert words in caught.value.message
    assert caught.value.location == SourceLocation("app.env", 2, 1)


def test_each_service_keeps_its_own_build() -> None:
    text = (
        "services:\n"
        "  api:\n    image: shop:1\n    build: {context: ./api, target: prod}\n"
        "  worker:\n    image: shop:1\n    build: ./worker\n"
        "  web:\n    build: .\n"
        "  db:\n    image: postgres\n"
    )

    project = _parse(text)

    builds = {s.name: s.build for s in project.services}
    assert builds == {
        "api": BuildSpec("api", "Dockerfile", "prod"),
        "worker": BuildSpec("worker", "Dockerfile", None),
        "web": BuildSpec(".", "Dockerfile", None),
        "db": None,
    }
    image = next(i for i in project.images if i.ref == "shop:1")
    assert image.built_by == ("api", "worker")
    assert image.build == builds["api"]


def test_command_split_as_compose_does() -> None:
    text = "services:\n  w:\n    image: x\n    command: npm ci && npm start\n"

    command = _parse(text).service("w").override("command")

    assert command is not None and command.value == ("npm", "ci")


def test_unreadable_dockerfile_becomes_warning_not_error() -> None:
    text = "services:\n  w:\n    build: {context: ., dockerfile_inline: nonsense}\n"

    project = _parse(text)

    assert [w.code for w in project.warnings] == ["dockerfile"]
    assert project.images[0].defaults is None


def test_expose_word_left_out_with_warning() -> None:
    text = "services:\n  w:\n    image: x\n    expose: [web, '80']\n"

    project = _parse(text)

    assert [p.target for p in project.service("w").expose] == [80]
    assert [w.code for w in project.warnings] == ["expose"]


def test_hide_values_every_field_filled_only_values_masked() -> None:
    filled = {
        field.name: f"written-{field.name}"
        for field in dataclasses.fields(EnvironmentVariable)
    }
    variable = EnvironmentVariable(**filled)  # type: ignore[arg-type]
    service = Service(name="web", image="web:1", environment=(variable,))

    hidden = hide_values(Project(project="p", services=(service,)))

    masked = hidden.services[0].environment[0]
    for field in dataclasses.fields(EnvironmentVariable):
        expected = (
            HIDDEN_VALUE
            if field.name in ("value", "image_default")
            else filled[field.name]
        )
        assert getattr(masked, field.name) == expected, field.name


def test_hide_values_unset_variable_stays_unset() -> None:
    variable = EnvironmentVariable(name="TOKEN", value=None)
    service = Service(name="web", image="web:1", environment=(variable,))

    hidden = hide_values(Project(project="p", services=(service,)))

    assert hidden.services[0].environment == (variable,)
