"""Fixtures for the web tests: settings, the app, a client and a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.web.app import create_app
from service.web.settings import Settings


@pytest.fixture
def settings() -> Settings:
    """Return settings with small waits, so busy and slow cases finish quickly."""
    return Settings(
        max_concurrent_renders=2,
        queue_wait_seconds=0.5,
        body_timeout_seconds=5.0,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """Return the real application built from ``settings``."""
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """Return an in-process client of ``app``."""
    with TestClient(app) as test_client:
        yield test_client


@dataclass(frozen=True)
class LiveServer:
    """A uvicorn server on 127.0.0.1 running the app in a background thread."""

    host: str
    port: int
    server: uvicorn.Server

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def run_live_server(app: FastAPI) -> Iterator[LiveServer]:
    """Serve ``app`` with uvicorn on a free loopback port until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()

    config = uvicorn.Config(app, http="h11", ws="none", lifespan="on", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    try:
        _wait_until(lambda: server.started, timeout=10.0)
        yield LiveServer(host, port, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)
        sock.close()


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    """Serve the real app with uvicorn on 127.0.0.1."""
    with run_live_server(app) as server:
        yield server


def _wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("The live server did not start in time.")
        time.sleep(0.02)
