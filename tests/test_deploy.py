"""Check what ships, without a Docker engine: Dockerfile, compose file, Kubernetes.

No build machine runs Docker, so each artefact is checked by the strongest
offline means there is: the reference ``docker-compose config``, our own
reader, hadolint, a Kubernetes schema validator, and plain structural asserts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from service.limits import Limits
from tests.compose.reference import reference_config

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "docker-compose.yaml"
KUBERNETES_FILE = ROOT / "deploy" / "kubernetes.yaml"
VENV_BIN = Path(sys.executable).parent
HADOLINT_VERSION = "2.15.1"
BASE_IMAGE = "python:3.11-slim-bookworm"
SECRET_NAME = re.compile(
    r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE|CREDENTIAL", re.I
)
BUILD_TOOLS = ("gcc", "g++", "make", "build-essential", "clang", "-dev ", "cargo")


# --- the Dockerfile ---------------------------------------------------------


def parse_dockerfile(text: str) -> list[list[tuple[str, str]]]:
    """Return the stages as lists of (INSTRUCTION, arguments), continuations joined."""
    stages: list[list[tuple[str, str]]] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        logical += " " + line.rstrip("\\").strip()
        if line.endswith("\\"):
            continue
        instruction, _, arguments = logical.strip().partition(" ")
        logical = ""
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[list[tuple[str, str]]]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final_stage(stages: list[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    return stages[-1]


def arguments_of(stage: list[tuple[str, str]], instruction: str) -> list[str]:
    return [arguments for name, arguments in stage if name == instruction]


def test_dockerfile_parser_joined_continuations_reads_one_instruction() -> None:
    text = "FROM a AS b\n# note\nRUN one \\\n    # inside\n    && two\nUSER x\n"

    stages = parse_dockerfile(text)

    assert stages == [[("FROM", "a AS b"), ("RUN", "one && two"), ("USER", "x")]]


def test_dockerfile_every_stage_uses_the_slim_bookworm_base(
    stages: list[list[tuple[str, str]]],
) -> None:
    bases = [stage[0][1].split()[0] for stage in stages]

    assert len(stages) >= 2, "the image is built in a build stage and a final stage"
    assert set(bases) == {BASE_IMAGE}


def test_dockerfile_final_stage_runs_as_a_numeric_non_root_user(
    final_stage: list[tuple[str, str]],
) -> None:
    users = arguments_of(final_stage, "USER")

    assert users, "the final stage sets USER"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) != 0
    assert group.isdigit() and int(group) != 0


def test_dockerfile_final_stage_has_a_healthcheck_on_healthz(
    final_stage: list[tuple[str, str]],
) -> None:
    healthchecks = arguments_of(final_stage, "HEALTHCHECK")

    assert len(healthchecks) == 1
    assert "/healthz" in healthchecks[0]
    assert '"python"' in healthchecks[0], "slim images have no curl; python checks"


def test_dockerfile_command_runs_the_web_factory_with_uvicorn(
    final_stage: list[tuple[str, str]],
) -> None:
    command = json.loads(arguments_of(final_stage, "CMD")[-1])
    environment = " ".join(arguments_of(final_stage, "ENV"))

    assert command[0] == "uvicorn"
    assert "--factory" in command
    assert "service.web.app:create_app_from_environ" in command
    assert command[command.index("--port") + 1] == "8000"
    assert "WEB_CONCURRENCY=" in environment, "uvicorn reads its worker count here"
    assert arguments_of(final_stage, "EXPOSE") == ["8000"]


def test_dockerfile_web_factory_named_in_cmd_exists() -> None:
    from service.web import app

    assert callable(app.create_app_from_environ)


def test_dockerfile_points_the_installed_app_at_its_page_folders(
    final_stage: list[tuple[str, str]],
) -> None:
    # The wheel holds the package only; the page's folders are copied beside
    # it and named by environment, since an installed package cannot find
    # the repository's top level.
    environment = " ".join(arguments_of(final_stage, "ENV"))
    workdir = arguments_of(final_stage, "WORKDIR")[-1]
    copies = arguments_of(final_stage, "COPY")

    for folder in ("templates", "static"):
        variable = f"COMPOSE_TOPOLOGY_{folder.upper()}_DIR={workdir}/{folder}"
        assert variable in environment
        assert f"{folder} ./{folder}" in copies


def test_dockerfile_env_and_arg_hold_no_secrets(
    stages: list[list[tuple[str, str]]],
) -> None:
    declared = [
        arguments
        for stage in stages
        for name, arguments in stage
        if name in ("ENV", "ARG")
    ]

    assert not [text for text in declared if SECRET_NAME.search(text)]


def test_dockerfile_final_stage_installs_no_build_tools(
    final_stage: list[tuple[str, str]],
) -> None:
    runs = " ".join(arguments_of(final_stage, "RUN")) + " "

    assert not [tool for tool in BUILD_TOOLS if tool in runs]
    assert "--no-install-recommends" in runs
    assert "rm -rf /var/lib/apt/lists/*" in runs
    assert "--no-cache-dir" in runs


def test_dockerfile_final_stage_installs_graphviz_from_debian(
    final_stage: list[tuple[str, str]],
) -> None:
    runs = " ".join(arguments_of(final_stage, "RUN"))

    assert re.search(r"apt-get install [^&]*\bgraphviz\b", runs)


def test_dockerfile_pinned_package_version_matches_pyproject(
    final_stage: list[tuple[str, str]],
) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    runs = " ".join(arguments_of(final_stage, "RUN"))

    assert f"compose-topology=={version}" in runs


def test_dockerfile_copied_paths_exist_and_pass_dockerignore(
    stages: list[list[tuple[str, str]]],
) -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied = [
        source
        for stage in stages
        for name, arguments in stage
        if name == "COPY" and "--from" not in arguments
        for source in arguments.split()[:-1]
    ]

    assert copied
    for source in copied:
        assert (ROOT / source).exists(), source
        assert source.rstrip("/") in allowed, source


def test_dockerfile_passes_pinned_hadolint() -> None:
    hadolint = VENV_BIN / "hadolint"
    version = subprocess.run(
        [hadolint, "--version"], capture_output=True, text=True, check=True
    ).stdout

    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", DOCKERFILE],
        capture_output=True,
        text=True,
    )

    assert HADOLINT_VERSION in version
    assert result.returncode == 0, result.stdout + result.stderr


# --- the service's own compose file -------------------------------------------


def run_reference_config(env: dict[str, str] | None = None) -> dict[str, Any]:
    return reference_config(ROOT, "-f", COMPOSE_FILE.name, env=env)


@pytest.mark.reference
def test_own_compose_file_passes_reference_config_with_safe_settings() -> None:
    web = run_reference_config()["services"]["web"]

    assert web["ports"] == [
        {
            "mode": "ingress",
            "host_ip": "127.0.0.1",
            "target": 8000,
            "published": "8000",
            "protocol": "tcp",
        }
    ]
    assert web["read_only"] is True
    assert web["volumes"][0]["type"] == "tmpfs"
    assert web["volumes"][0]["target"] == "/tmp"
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    assert web["deploy"]["resources"]["limits"]["memory"]
    assert web["deploy"]["replicas"] == 1
    assert web["build"]["dockerfile"] == "Dockerfile"


@pytest.mark.reference
def test_own_compose_file_replicas_variable_scales_the_service() -> None:
    web = run_reference_config({"COMPOSE_TOPOLOGY_REPLICAS": "3"})["services"]["web"]

    assert web["deploy"]["replicas"] == 3


def test_own_compose_file_read_by_our_parser_is_loopback_only() -> None:
    from service.compose import parse_project
    from service.discovery import ComposeOptions, load_project_input

    project_input = load_project_input(
        ComposeOptions(files=(str(COMPOSE_FILE),)), environ={}, cwd=ROOT
    )
    project = parse_project(project_input, Limits())
    web = project.service("web")

    assert project.project == "compose-topology"
    assert [(p.host_ip, p.published, p.target, p.exposure) for p in web.ports] == [
        ("127.0.0.1", "8000", 8000, "loopback")
    ]
    assert project.image("compose-topology:latest").built_by == ("web",)
    assert not [f for f in project.findings if f.severity == "danger"]


def test_own_compose_file_settings_are_ones_the_service_reads() -> None:
    web = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["web"]

    names = {
        name for name in web["environment"] if name.startswith("COMPOSE_TOPOLOGY_")
    }

    assert names
    assert names <= known_setting_names()


# --- Kubernetes ---------------------------------------------------------------


def known_setting_names() -> set[str]:
    """Return every COMPOSE_TOPOLOGY_* variable that Limits or Settings reads."""
    from service.web.settings import Settings

    fields = [f.name for f in dataclasses.fields(Limits)]
    fields += [f.name for f in dataclasses.fields(Settings) if f.name != "limits"]
    return {f"COMPOSE_TOPOLOGY_{name.upper()}" for name in fields}


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    documents = yaml.safe_load_all(KUBERNETES_FILE.read_text(encoding="utf-8"))
    return {document["kind"]: document for document in documents}


def test_kubernetes_manifest_passes_offline_schema_validation() -> None:
    # kubernetes-validate ships the JSON schemas in its wheel: no network.
    result = subprocess.run(
        [VENV_BIN / "kubernetes-validate", "--strict", "--quiet", KUBERNETES_FILE],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_manifest_has_deployment_service_and_autoscaler(
    manifests: dict[str, dict[str, Any]],
) -> None:
    autoscaler = manifests["HorizontalPodAutoscaler"]
    deployment = manifests["Deployment"]

    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert (
        autoscaler["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    )
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert manifests["Service"]["spec"]["selector"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )


def test_kubernetes_container_is_probed_limited_and_locked_down(
    manifests: dict[str, dict[str, Any]],
) -> None:
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]

    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["ports"][0]["containerPort"] == 8000
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]


def test_kubernetes_settings_are_ones_the_service_reads(
    manifests: dict[str, dict[str, Any]],
) -> None:
    container = manifests["Deployment"]["spec"]["template"]["spec"]["containers"][0]

    names = {e["name"] for e in container["env"] if e["name"].startswith("COMPOSE_")}

    assert names
    assert names <= known_setting_names()


# --- the README's picture of this stack -----------------------------------------


def test_readme_diagram_of_own_stack_is_an_svg_of_this_compose_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    svg = ElementTree.parse(ROOT / "docs" / "own-stack.svg").getroot()

    texts = " ".join(e.text or "" for e in svg.iter("{http://www.w3.org/2000/svg}text"))

    assert "](docs/own-stack.svg)" in readme
    assert "compose-topology:latest" in texts
    assert "127.0.0.1:8000" in texts


def readme_settings() -> dict[str, str]:
    """Return the README configuration table: variable name to its default cell."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(COMPOSE_TOPOLOGY_\w+)` \| ([^|]+) \|", readme, re.M)
    return {name: default.strip() for name, default in rows}


def test_readme_configuration_table_lists_every_setting_with_its_default() -> None:
    from service.web.settings import Settings

    documented = readme_settings()
    defaults: dict[str, object] = {
        f"COMPOSE_TOPOLOGY_{f.name.upper()}": getattr(Limits(), f.name)
        for f in dataclasses.fields(Limits)
    }
    defaults.update(
        (f"COMPOSE_TOPOLOGY_{f.name.upper()}", getattr(Settings(), f.name))
        for f in dataclasses.fields(Settings)
        if f.name != "limits"
    )

    assert set(documented) == known_setting_names() | {"COMPOSE_TOPOLOGY_LOG_LEVEL"}
    for name, cell in documented.items():
        if cell.isdigit():
            assert float(cell) == defaults[name], name


# --- the scripts people and CI run ------------------------------------------------


def make_checkout(tmp_path: Path, *scripts: str) -> Path:
    """Copy ``scripts`` and pyproject.toml into a bare checkout under ``tmp_path``."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    (checkout / ".ci").mkdir()
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    for script in scripts:
        shutil.copy(ROOT / script, checkout / script)
    return checkout


def write_stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("pytest_status", "expected"),
    [
        pytest.param(0, 0, id="passed"),
        pytest.param(1, 1, id="failed"),
        pytest.param(5, 1, id="no-test-ran-fails"),
    ],
)
def test_scripts_test_fails_when_pytest_fails_or_runs_nothing(
    tmp_path: Path, pytest_status: int, expected: int
) -> None:
    checkout = make_checkout(tmp_path, "scripts/test", ".ci/run")
    write_stub(checkout / "scripts" / "setup", "exit 0")
    write_stub(checkout / "scripts" / "check", "exit 0")
    write_stub(checkout / ".venv" / "bin" / "pytest", f"exit {pytest_status}")

    result = subprocess.run(
        [checkout / ".ci" / "run"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == expected, result.stderr
    assert ("ran no test" in result.stderr) == (pytest_status == 5)


def test_scripts_test_stops_when_checks_fail(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, "scripts/test")
    write_stub(checkout / "scripts" / "setup", "exit 0")
    write_stub(checkout / "scripts" / "check", "exit 1")
    write_stub(checkout / ".venv" / "bin" / "pytest", "touch ran; exit 0")

    result = subprocess.run([checkout / "scripts" / "test"], cwd=tmp_path, timeout=60)

    assert result.returncode == 1
    assert not (tmp_path / "ran").exists()


def fake_python(tmp_path: Path) -> Path:
    """Return an interpreter stand-in whose venvs log each pip call to pip.log."""
    log = tmp_path / "pip.log"
    python = tmp_path / "python"
    write_stub(
        python,
        f"""case "$1" in
  --version) echo 'Python 3.11.9' ;;
  -c) exit 0 ;;
  -m) mkdir -p "$3/bin"
      printf '#!/usr/bin/env bash\\necho "$*" >> {log}\\n' > "$3/bin/python"
      chmod +x "$3/bin/python" ;;
esac""",
    )
    return python


def run_setup(checkout: Path, python: Path, *args: str) -> None:
    subprocess.run(
        [checkout / "scripts" / "setup", *args],
        env={**os.environ, "PYTHON": str(python)},
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_scripts_setup_installs_again_only_when_pyproject_changes(
    tmp_path: Path,
) -> None:
    checkout = make_checkout(tmp_path, "scripts/setup")
    python = fake_python(tmp_path)
    log = tmp_path / "pip.log"

    run_setup(checkout, python, "--test")
    run_setup(checkout, python, "--test")
    run_setup(checkout, python)
    first = log.read_text().splitlines()
    with (checkout / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n# changed\n")
    run_setup(checkout, python)

    assert len(first) == 1 and first[0].endswith("-e .[test]")
    assert log.read_text().splitlines()[1:] == [first[0].replace(".[test]", ".")]


def test_scripts_are_executable_strict_bash() -> None:
    scripts = [*sorted((ROOT / "scripts").iterdir()), ROOT / ".ci" / "run"]

    for script in scripts:
        text = script.read_text()
        assert os.access(script, os.X_OK), script
        assert text.startswith("#!/usr/bin/env bash\n"), script
        assert "set -euo pipefail" in text, script
