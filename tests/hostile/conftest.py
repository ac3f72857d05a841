"""Fixtures for the hostile suite: the real app, and a witness of what it touches.

``touched`` records, through a Python audit hook, every file the process
opens, every socket it resolves or connects and every program it starts while
a test runs, so a test can prove that a compose file naming ``/etc/passwd`` or
a URL made the service read or fetch nothing.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.web.app import create_app
from service.web.settings import Settings

#: Audit events that mean "reached outside the process".
_NETWORK_EVENTS = frozenset(
    {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"}
)


@dataclass
class Touched:
    """What the process opened, resolved, connected to or ran during a test."""

    files: list[str] = field(default_factory=list)
    network: list[tuple[str, str]] = field(default_factory=list)
    programs: list[list[str]] = field(default_factory=list)

    def forget(self) -> None:
        """Drop what was recorded so far (the test's own setup)."""
        self.files.clear()
        self.network.clear()
        self.programs.clear()

    def opened(self, path: str) -> bool:
        """Tell whether ``path`` (or the file it resolves to) was opened."""
        wanted = {path, os.path.realpath(path)}
        return any(
            name in wanted or os.path.realpath(name) in wanted for name in self.files
        )


class _Witness:
    """One audit hook for the whole run, recording only while a test asks it to."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: Touched | None = None
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        current = self.current
        if current is None:
            return
        if event == "open" and isinstance(args[0], str | bytes):
            current.files.append(os.fsdecode(args[0]))
        elif event in _NETWORK_EVENTS:
            current.network.append((event, repr(args)[:200]))
        elif event == "subprocess.Popen":
            current.programs.append([os.fsdecode(str(arg)) for arg in args[1]])


_WITNESS: _Witness | None = None


def _witness() -> _Witness:
    global _WITNESS
    if _WITNESS is None:
        _WITNESS = _Witness()
    return _WITNESS


@pytest.fixture
def touched() -> Iterator[Touched]:
    """Record what the process touches for the length of the test."""
    witness = _witness()
    record = Touched()
    with witness.lock:
        witness.current = record
    try:
        yield record
    finally:
        with witness.lock:
            witness.current = None


def hostile_settings() -> Settings:
    """Return the default settings, with a queue wait long enough for slow CI."""
    return Settings(max_concurrent_renders=2, queue_wait_seconds=5.0)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """Return the real application, shared by a module's tests."""
    return create_app(hostile_settings())


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    """Return a client that reports a server error as a 500, not an exception."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
