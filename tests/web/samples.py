"""Compose inputs shared by the web tests."""

from __future__ import annotations

#: A small project: a published port, a build, a dependency and a secret.
COMPOSE = """\
services:
  web:
    image: nginx:1.27
    ports:
      - "8080:80"
    depends_on:
      - api
  api:
    build: ./api
    environment:
      DATABASE_PASSWORD: hunter2-secret
      LOG_LEVEL: debug
  db:
    image: postgres:16
"""

#: The environment value that must never leave the service unless asked for.
SECRET = "hunter2-secret"

#: Not YAML at all: an unclosed flow sequence on line 3.
BROKEN_YAML = """\
services:
  web:
    image: [nginx
"""

#: YAML that Compose rejects: a service that is a list.
REJECTED = """\
services:
  web:
    - nginx
"""

YAML = {"content-type": "application/yaml"}
