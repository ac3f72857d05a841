"""A real ``compose-topology serve`` under load keeps its Graphviz spares bounded.

The server runs as its own process, as people run it. Its Graphviz processes
are its children named ``prlimit`` or ``dot``; the spares among them wait on
a pipe. A graceful stop reaps them all; a killed server's spares exit on
their own once their pipes close.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.processes import is_alive, wait_for
from tests.web.samples import COMPOSE, YAML

# The load script counts a server's Graphviz processes the same way.
BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH_DIR))
from load import graphviz_children, reads_a_pipe  # noqa: E402

sys.path.remove(str(BENCH_DIR))

COMMAND = Path(sys.executable).parent / "compose-topology"
SLOTS = 2
FORMATS = ("svg", "png", "pdf")

pytestmark = pytest.mark.skipif(
    not COMMAND.exists(), reason="the compose-topology command is not installed"
)


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run ``compose-topology serve`` with two render slots; yield it and its URL."""
    port = free_port()
    environ = {
        **os.environ,
        "COMPOSE_TOPOLOGY_MAX_CONCURRENT_RENDERS": str(SLOTS),
        "COMPOSE_TOPOLOGY_QUEUE_WAIT_SECONDS": "30",
    }
    environ.pop("COMPOSE_TOPOLOGY_GRAPHVIZ_SPARES", None)
    command = [str(COMMAND), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=environ, stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url) or server.poll() is not None, timeout=30)
        assert server.poll() is None, log.read_text()
        yield server, url
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=15)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/livez", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def draw(url: str, tag: str, fmt: str) -> int:
    """Ask for a new diagram (``tag`` makes it new) in ``fmt``; return the status."""
    text = COMPOSE.replace("nginx:1.27", f"nginx:{tag}")
    response = httpx.post(
        f"{url}/api/v1/diagram",
        params={"format": fmt},
        content=text,
        headers=YAML,
        timeout=60,
    )
    return response.status_code


def test_serve_under_load_keeps_spares_bounded_and_stops_them_on_sigterm(
    tmp_path: Path,
) -> None:
    with serving(tmp_path / "server.log") as (server, url):
        seen: set[int] = set()
        peak = 0
        done = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not done.is_set():
                children = graphviz_children(server.pid)
                seen.update(children)
                peak = max(peak, len(children))
                time.sleep(0.005)

        watcher = threading.Thread(target=watch)
        watcher.start()
        requests = [(str(i), fmt) for i in range(6) for fmt in FORMATS]
        with ThreadPoolExecutor(max_workers=4) as clients:
            statuses = list(clients.map(lambda r: draw(url, *r), requests))
        done.set()
        watcher.join()
        waiting = graphviz_children(server.pid)
        waiting_on_pipes = [pid for pid in waiting if reads_a_pipe(pid)]

        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down (lifespan included), then dies of the signal.
        exit_status = server.wait(timeout=15)
    log = (tmp_path / "server.log").read_text()

    assert statuses == [200] * len(requests)
    # At most one render per slot, plus at most one spare per slot and format.
    assert 1 <= peak <= SLOTS + SLOTS * len(FORMATS)
    assert 1 <= len(waiting) <= SLOTS * len(FORMATS)
    assert waiting_on_pipes == waiting
    assert exit_status == -signal.SIGTERM
    assert f"graphviz spares stopped count={len(waiting)}" in log
    assert "Application shutdown complete" in log
    assert not any(is_alive(pid) for pid in seen)


def test_serve_killed_leaves_spares_that_exit_on_their_own(tmp_path: Path) -> None:
    with serving(tmp_path / "server.log") as (server, url):
        for fmt in FORMATS:
            assert draw(url, "killed", fmt) == 200
        wait_for(lambda: len(graphviz_children(server.pid)) == len(FORMATS))
        spares = graphviz_children(server.pid)
        spares_on_pipes = [pid for pid in spares if reads_a_pipe(pid)]

        server.send_signal(signal.SIGKILL)
        server.wait(timeout=15)

    assert spares_on_pipes == spares
    wait_for(lambda: not any(is_alive(pid) for pid in spares), timeout=10)
