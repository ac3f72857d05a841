"""Write a realistic compose file with a chosen number of services, for benchmarks.

The stack is made of "apps" of eight services each, shaped like the stacks
people actually run: a built application image shared by an API, a worker, a
scheduler and a migration job (one image, many containers); a database
published on loopback only; an internal cache; a metrics exporter on a random
host port; and an admin UI built once and reused by every app. A gateway
publishes ports 80 and 443 on all interfaces and depends on every API. Each
app has its own backend network (every third one internal) and all APIs share
a front network.

Every service only depends on services generated before it, so cutting the
stack at any size still gives a file Docker Compose accepts. The output is
deterministic: the same size gives the same bytes.

Usage: ``python bench/generate_stack.py 200 -o stack-200/compose.yaml``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Service = dict[str, Any]

ROLES = ("db", "cache", "api", "worker", "scheduler", "migrate", "metrics", "admin")


def build_stack(size: int) -> dict[str, Any]:
    """Return the compose document (as plain data) of a stack with ``size`` services."""
    if size < 1:
        raise ValueError(f"A stack needs at least one service, got {size}.")

    services: dict[str, Service] = {}
    for name, service in _iter_app_services():
        if len(services) == size - 1:
            break
        services[name] = service
    services["gateway"] = _gateway(services)

    return {
        "name": f"stack-{size}",
        "services": services,
        "networks": _networks(services),
        "volumes": _volumes(services),
    }


def render_stack(size: int) -> str:
    """Return the YAML text of a stack with ``size`` services."""
    document = build_stack(size)
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def _iter_app_services() -> Iterator[tuple[str, Service]]:
    app = 0
    while True:
        for role in ROLES:
            yield f"{role}-{app}", _app_service(role, app)
        app += 1


def _app_service(role: str, app: int) -> Service:
    backend = f"backend-{app}"
    image = f"registry.example.com/stack/app-{app}:1.{app % 7}"
    common_env = {
        "DATABASE_URL": f"postgres://app:secret-{app}@db-{app}:5432/app",
        "REDIS_URL": f"redis://cache-{app}:6379/0",
        "LOG_LEVEL": "info",
    }

    if role == "db":
        return {
            "image": "postgres:16",
            "environment": {
                "POSTGRES_USER": "app",
                "POSTGRES_PASSWORD": f"secret-{app}",
                "POSTGRES_DB": "app",
            },
            "ports": [f"127.0.0.1:{15432 + app}:5432"],
            "volumes": [f"db-{app}-data:/var/lib/postgresql/data"],
            "networks": [backend],
        }
    if role == "cache":
        return {
            "image": "redis:7",
            "command": "redis-server --appendonly yes",
            "expose": ["6379"],
            "networks": [backend],
        }
    if role == "api":
        # Every other API is published on all interfaces, the rest on loopback,
        # so the diagram has both exposure kinds at every size.
        host = "" if app % 2 == 0 else "127.0.0.1:"
        return {
            "build": {"context": f"./app-{app}", "dockerfile": "Dockerfile"},
            "image": image,
            "ports": [f"{host}{8000 + app}:8000"],
            "environment": {**common_env, "PORT": "8000"},
            "depends_on": [f"db-{app}", f"cache-{app}"],
            "networks": ["front", backend],
        }
    if role in ("worker", "scheduler", "migrate"):
        return _app_process(role, app, image, common_env)
    if role == "metrics":
        return {
            "image": "prom/statsd-exporter:v0.26.0",
            "ports": ["9102"],
            "networks": [backend],
        }
    return _admin(app)


def _app_process(
    role: str, app: int, image: str, environment: dict[str, str]
) -> Service:
    service: Service = {
        "image": image,
        "command": f"python -m app.{role}",
        "environment": {**environment, "ROLE": role},
        "depends_on": [f"db-{app}", f"cache-{app}", f"api-{app}"],
        "networks": [f"backend-{app}"],
    }
    if role == "worker":
        service["deploy"] = {"replicas": 2}
    if role == "scheduler":
        service["working_dir"] = "/srv/app"
    if role == "migrate":
        service["entrypoint"] = ["/srv/app/bin/entrypoint.sh"]
        service["user"] = "1000:1000"
    return service


def _admin(app: int) -> Service:
    service: Service = {
        "image": "registry.example.com/stack/admin:latest",
        "environment": {"ADMIN_BACKEND": f"http://api-{app}:8000"},
        "ports": [f"127.0.0.1:{7000 + app}:7000"],
        "depends_on": [f"api-{app}"],
        "networks": [f"backend-{app}"],
    }
    if app == 0:
        # Built once, then run by the admin service of every app.
        service["build"] = "./admin"
    else:
        service["depends_on"].append("admin-0")
    return service


def _gateway(services: dict[str, Service]) -> Service:
    apis = [name for name in services if name.startswith("api-")]
    gateway: Service = {
        "image": "nginx:1.27",
        "ports": ["80:80", "443:443"],
        "volumes": ["./gateway/nginx.conf:/etc/nginx/nginx.conf:ro"],
        "networks": ["front"],
    }
    if apis:
        gateway["depends_on"] = apis
    return gateway


def _networks(services: dict[str, Service]) -> dict[str, Any]:
    names = sorted(
        {network for service in services.values() for network in service["networks"]}
    )
    networks: dict[str, Any] = {}
    for name in names:
        is_internal = name.startswith("backend-") and int(name.split("-")[1]) % 3 == 2
        networks[name] = {"internal": True} if is_internal else {}
    return networks


def _volumes(services: dict[str, Service]) -> dict[str, Any]:
    names = [f"{name}-data" for name in services if name.startswith("db-")]
    return {name: {} for name in names}


def main(argv: list[str] | None = None) -> int:
    """Write one stack to a file or to standard output."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int, help="number of services")
    parser.add_argument("-o", "--output", type=Path, help="file to write (else stdout)")
    args = parser.parse_args(argv)

    text = render_stack(args.size)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
