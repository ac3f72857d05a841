"""What Compose accepts and refuses, one small file per rule, checked both ways.

Each row is a compose file and whether Docker Compose v2 accepts it. The
plain tests hold ``parse_project`` to the table; the reference-marked test
holds the table to the real binary, so no row states a rule Compose does
not have.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.compose import parse_project
from service.compose.inputs import ComposeFile, MappingSource, ProjectInput
from service.errors import ComposeValidationError, InputError
from tests.compose.reference import MISSING_BINARY_REASON, find_binary, get_runner

SERVICE = "services:\n  a:\n    image: x\n"


def _service(settings: str) -> str:
    return SERVICE + "".join(f"    {line}\n" for line in settings.splitlines())


# Keys the topology never reads, whose shape Compose still checks.
SHAPES = [
    pytest.param(
        _service("healthcheck: {test: 5}"), False, id="healthcheck-test-number"
    ),
    pytest.param(
        _service("healthcheck: {interval: 5}"), False, id="healthcheck-interval-number"
    ),
    pytest.param(
        _service("healthcheck: {foo: 5}"), False, id="healthcheck-unknown-key"
    ),
    pytest.param(
        _service("healthcheck: {retries: '3'}"), True, id="healthcheck-retries-text"
    ),
    pytest.param(
        _service("healthcheck: {x-note: 1}"), True, id="healthcheck-extension"
    ),
    pytest.param(_service("logging: {foo: 5}"), False, id="logging-unknown-key"),
    pytest.param(_service("logging: {options: [a]}"), False, id="logging-options-list"),
    pytest.param(
        _service("logging: {options: {a: {b: 1}}}"), False, id="logging-option-nested"
    ),
    pytest.param(
        _service("ulimits: {nofile: {soft: 1}}"), False, id="ulimit-without-hard"
    ),
    pytest.param(
        _service("ulimits: {nofile: {soft: 1, hard: 2}, nproc: 5}"), True, id="ulimits"
    ),
    pytest.param(
        _service("ulimits: {NOFILE: {soft: 1}}"), True, id="ulimit-capitals-unchecked"
    ),
    pytest.param(_service("ulimits: {NOFILE: [1]}"), False, id="ulimit-capitals-list"),
    pytest.param(_service("deploy: {foo: 1}"), False, id="deploy-unknown-key"),
    pytest.param(_service("deploy:"), True, id="deploy-null"),
    pytest.param(
        _service("deploy: {resources: {limits: {memory: 5}}}"),
        False,
        id="deploy-memory-number",
    ),
    pytest.param(
        _service("secrets: [{foo: 1}]"), False, id="service-secret-unknown-key"
    ),
    pytest.param(
        SERVICE + "secrets:\n  s:\n    foo: 1\n", False, id="secret-unknown-key"
    ),
    pytest.param(
        _service("develop: {watch: [{path: x}]}"), False, id="watch-without-action"
    ),
    pytest.param(_service("develop: {foo: 1}"), False, id="develop-unknown-key"),
    pytest.param(_service("pull_policy: sometimes"), False, id="pull-policy-unknown"),
    pytest.param(_service("sysctls: 5"), False, id="sysctls-number"),
    pytest.param(_service("devices: [5]"), False, id="device-number"),
    pytest.param(_service("cap_add: ALL"), False, id="cap-add-string"),
    pytest.param(_service("cap_add: [A, A]"), True, id="cap-add-repeated-deduplicated"),
    pytest.param(_service("security_opt: [a, a]"), False, id="security-opt-repeated"),
    pytest.param(
        _service("group_add: ['1', 1]"), False, id="group-add-text-and-number"
    ),
    pytest.param(_service("ports: [80, 80.0]"), False, id="ports-number-and-float"),
    pytest.param(_service("ports: [80, 80]"), True, id="ports-repeated-deduplicated"),
    pytest.param(_service("gpus: some"), False, id="gpus-not-all"),
    pytest.param(_service("gpus: all"), True, id="gpus-all"),
    pytest.param(_service("stop_signal: 9"), False, id="stop-signal-number"),
    pytest.param(_service("container_name: a"), False, id="container-name-one-char"),
    pytest.param(_service("cpu_count: -1"), False, id="cpu-count-negative"),
    pytest.param(_service("oom_score_adj: 2000"), False, id="oom-score-above-range"),
    pytest.param(
        _service("depends_on: {b: {required: true}}"),
        False,
        id="depends-on-without-condition",
    ),
    pytest.param(_service("labels: {'': b}"), False, id="label-empty-name"),
    pytest.param(_service("image: 2001-12-14"), False, id="image-date"),
    pytest.param(_service("scale: 2.0"), True, id="scale-whole-float"),
    pytest.param(
        SERVICE + "networks:\n  n:\n    ipam: 5\n", False, id="network-ipam-number"
    ),
    pytest.param(
        SERVICE + "networks:\n  'a b': {}\n", True, id="network-name-with-space"
    ),
    pytest.param(
        SERVICE + "volumes:\n  v:\n    foo: 5\n", False, id="volume-unknown-key"
    ),
    pytest.param(SERVICE + "models:\n  'a b': 5\n", False, id="model-number"),
    pytest.param(SERVICE + "include:\n", True, id="include-null"),
    pytest.param("services:\n", False, id="services-null"),
]

# Values Compose reads into its own types after the schema passed.
VALUES = [
    pytest.param(_service("stop_grace_period: 1m30s"), True, id="duration"),
    pytest.param(_service("stop_grace_period: 2d"), True, id="duration-days"),
    pytest.param(
        _service("stop_grace_period: '10'"), False, id="duration-without-unit"
    ),
    pytest.param(_service("stop_grace_period: '0'"), True, id="duration-zero"),
    pytest.param(
        _service("healthcheck: {interval: banana}"), False, id="duration-word"
    ),
    pytest.param(_service("healthcheck: {timeout: 1y}"), False, id="duration-years"),
    pytest.param(_service("mem_limit: 1.5GB"), True, id="size-unit"),
    pytest.param(_service("mem_limit: 1 g"), True, id="size-spaced-unit"),
    pytest.param(_service("mem_limit: 1gi"), False, id="size-bad-suffix"),
    pytest.param(_service("mem_limit: '-1'"), False, id="size-negative-text"),
    pytest.param(_service("mem_limit: -1"), True, id="size-negative-number"),
    pytest.param(_service("shm_size: abc"), False, id="shm-size-word"),
    pytest.param(_service("mem_swappiness: 1g"), True, id="swappiness-size"),
    pytest.param(
        _service("deploy: {resources: {limits: {cpus: abc}}}"),
        False,
        id="deploy-cpus-word",
    ),
    pytest.param(
        _service("deploy: {resources: {limits: {pids: '1.5'}}}"),
        False,
        id="deploy-pids-fraction",
    ),
    pytest.param(_service("attach: 'yes'"), True, id="boolean-yes"),
    pytest.param(_service("attach: '1'"), False, id="boolean-one"),
    pytest.param(_service("blkio_config: {weight: '10'}"), False, id="weight-text"),
    pytest.param(_service("blkio_config: {weight: -1}"), False, id="weight-negative"),
    pytest.param(
        _service("extra_hosts: [myhost]"), False, id="extra-host-without-address"
    ),
    pytest.param(_service("extra_hosts: ['a=::1']"), True, id="extra-host-equals"),
    pytest.param(
        _service("healthcheck: {test: [x]}"), False, id="healthcheck-test-no-cmd"
    ),
    pytest.param(
        _service("healthcheck: {test: []}"), True, id="healthcheck-test-empty"
    ),
    pytest.param(_service("devices: ['a:b:c:d']"), False, id="device-four-parts"),
    pytest.param(_service("devices: [{source: a}]"), False, id="device-without-target"),
    pytest.param(
        _service("ports: [{target: 80, host_ip: '[::1]'}]"),
        False,
        id="port-host-ip-brackets",
    ),
    pytest.param(
        _service("gpus: [{count: 1, device_ids: [a]}]"), False, id="gpu-count-and-ids"
    ),
    pytest.param(
        _service("develop: {watch: [{action: sync, path: ''}]}"),
        False,
        id="watch-empty-path",
    ),
    pytest.param(
        "services:\n  a:\n    build: {context: ., ulimits: {nofile: '5'}}\n",
        False,
        id="build-ulimit-text",
    ),
    pytest.param(
        "services:\n  a:\n    build: {context: ., ssh: [zz]}\n",
        False,
        id="build-ssh-bare-id",
    ),
    pytest.param(
        "services:\n  a:\n    build: {context: ., additional_contexts: [zz]}\n",
        False,
        id="build-context-without-equals",
    ),
    pytest.param(
        SERVICE + "volumes:\n  v: {external: true, driver: x}\n",
        False,
        id="external-volume-driver",
    ),
    pytest.param(SERVICE + "secrets:\n  s: {}\n", False, id="secret-without-source"),
    pytest.param(
        SERVICE + "secrets:\n  s: {file: ./x, environment: X}\n",
        False,
        id="secret-two-sources",
    ),
    pytest.param(
        SERVICE + "secrets:\n  s: {external: true}\n", True, id="secret-external"
    ),
    pytest.param(SERVICE + "configs:\n  c: {content: x}\n", True, id="config-content"),
]

# References between parts of the project, and files it reads.
REFERENCES = [
    pytest.param(_service("label_file: labels.txt"), False, id="label-file-missing"),
    pytest.param(
        "services:\n  a:\n    provider: {type: model}\n", True, id="provider-service"
    ),
    pytest.param(_service("expose: [web, 80]"), True, id="expose-word-passed-on"),
    pytest.param(_service("group_add: [1.5]"), False, id="group-fraction"),
    pytest.param(
        "services:\n  a:\n    build: {context: ., additional_contexts: {k: 5}}\n",
        False,
        id="build-context-number",
    ),
    pytest.param(
        "services:\n  a:\n    build: {context: ., dockerfile_inline: nonsense}\n",
        True,
        id="unreadable-dockerfile-is-not-compose's-business",
    ),
    pytest.param(_service("secrets: [s]"), False, id="undefined-secret"),
    pytest.param(_service("configs: [c]"), False, id="undefined-config"),
    pytest.param(_service("models: [m]"), False, id="undefined-model"),
    pytest.param(
        "services:\n  a:\n    build: {context: ., secrets: [s]}\n",
        False,
        id="undefined-build-secret",
    ),
    pytest.param(
        _service("secrets: [s]") + "secrets:\n  s: {environment: S}\n",
        True,
        id="defined-secret",
    ),
]

ALL_ROWS = SHAPES + VALUES + REFERENCES


def _read(text: str) -> None:
    files = (ComposeFile("compose.yaml", text),)
    parse_project(
        ProjectInput(files=files, project_directory="/p", sources=MappingSource())
    )


@pytest.mark.parametrize(("text", "accepted"), ALL_ROWS)
def test_parse_project_accepts_and_refuses_as_compose(
    text: str, accepted: bool
) -> None:
    if accepted:
        _read(text)
        return

    with pytest.raises(ComposeValidationError) as caught:
        _read(text)

    error = caught.value
    assert error.location is not None
    assert error.location.file == "compose.yaml"
    assert error.message[0].isupper() and error.message.endswith((".", "?"))


@pytest.mark.reference
@pytest.mark.skipif(find_binary() is None, reason=MISSING_BINARY_REASON)
@pytest.mark.parametrize(("text", "accepted"), ALL_ROWS)
def test_compose_rule_table_matches_the_binary(
    text: str, accepted: bool, tmp_path: Path
) -> None:
    runner = get_runner()
    assert runner is not None
    (tmp_path / "compose.yaml").write_text(text, encoding="utf-8")

    result = runner.config(tmp_path, ["compose.yaml"])

    assert result.accepted == accepted, result.error


def test_parse_project_refusal_names_service_and_key() -> None:
    with pytest.raises(InputError) as caught:
        _read(_service("healthcheck:\n  interval: banana"))

    error = caught.value
    assert error.service == "a"
    assert error.key == "healthcheck.interval"
    assert error.location is not None
    assert (error.location.line, error.location.column) == (5, 7)
    assert "duration" in error.message
