"""The example stack the page opens with and the tests read.

It is the smallest file that shows every question the tool answers: one
built image run by four services, a database published on loopback only, a
backend open to the network, and a cache reachable only from its network.
"""

from __future__ import annotations

EXAMPLE_COMPOSE = """\
services:
  backend:
    build: .
    image: cryphos-app:latest
    ports: ["8000:8000"]
  liquidations:
    image: cryphos-app:latest
    container_name: cryphos-liquidations
    command: python -m liquidations
  celery:
    image: cryphos-app:latest
    environment: {PYTHONPATH: /app}
    working_dir: /app/apis
    command: celery -A apis worker
  celery-beat:
    image: cryphos-app:latest
    command: celery -A apis beat
  db:
    image: postgres:16
    ports: ["127.0.0.1:5432:5432"]
  redis:
    image: redis:7
"""
