"""Waiting for ``dot``: return the moment it exits, stop it at the time limit."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from service.render.graphviz import _wait_for_exit


def _start(*argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(argv))


def test_wait_for_exit_quick_process_returns_its_status() -> None:
    process = _start("sh", "-c", "exit 3")

    assert _wait_for_exit(process, timeout=10) == 3
    assert process.returncode == 3


def test_wait_for_exit_process_past_timeout_raises_timeout_expired() -> None:
    process = _start("sleep", "5")
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            _wait_for_exit(process, timeout=0.1)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_wait_for_exit_with_pidfd_never_polls_with_sleeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Popen.wait(timeout=...) sleeps in steps growing to 50 ms, which added up
    # to 50 ms to every render; the pidfd wait must not fall back to it.
    timeouts: list[float | None] = []
    original = subprocess.Popen.wait

    def recording_wait(
        self: subprocess.Popen[Any], timeout: float | None = None
    ) -> int:
        timeouts.append(timeout)
        return original(self, timeout)

    monkeypatch.setattr(subprocess.Popen, "wait", recording_wait)
    process = _start("true")

    assert _wait_for_exit(process, timeout=10) == 0
    assert timeouts == [None]


def test_wait_for_exit_without_pidfd_falls_back_to_polling_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_pidfd(pid: int) -> int:
        raise OSError("pidfd_open is not supported here")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)
    process = _start("sh", "-c", "exit 4")

    assert _wait_for_exit(process, timeout=10) == 4
