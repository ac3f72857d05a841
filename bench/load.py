"""Hold a mixed, bounded load on the service and report what it did under it.

The script starts one uvicorn worker of the real app on a free 127.0.0.1 port
(or uses ``--url``, which must be a loopback address), warms it up, then for
``--duration`` seconds keeps ``--clients`` keep-alive connections busy with a
weighted mix of requests:

- ``new``: a diagram the server has never seen (a unique YAML comment), so
  it parses, lays out with Graphviz and stores the answer;
- ``cached``: the same diagram again, by the Kroki GET URL or the POST body;
- ``bad``: hostile input from the hostile corpus (alias bomb, a port range
  of 65,535 ports, broken YAML, binary junk, a body over the size limit, the
  wrong media type, a zip bomb in the URL).

It reports requests per second, p50/p99 latency per kind, answers by
status, whether any answer was a 5xx, the server's peak resident memory, its
memory at start and after an idle pause at the end, the most Graphviz
processes seen at once, and the Graphviz processes left over, as a Markdown
table (``--json`` writes the figures too).

Usage::

    .venv/bin/python bench/load.py                     # 60 s, 8 clients
    .venv/bin/python bench/load.py --duration 60 --clients 16
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

REPO_DIR = Path(__file__).resolve().parent.parent
HOSTILE_DIR = REPO_DIR / "tests" / "hostile" / "cases"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
GRAPHVIZ_NAMES = ("dot", "prlimit")
RSS_SLACK = 0.10

YAML = {"Content-Type": "application/yaml"}


@dataclass(frozen=True)
class Request:
    """One HTTP request of the mix."""

    kind: str
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Tally:
    """Latencies and statuses collected by every client."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.statuses[(kind, status)] += 1


def stack(services: int, tag: str) -> str:
    """Return a compose project of ``services`` services, marked by ``tag``."""
    lines = [f"# {tag}", "services:"]
    for index in range(services):
        lines += [
            f"  svc{index}:",
            f"    image: registry.example/app{index % 4}:1.{index}",
            f"    ports: ['127.0.0.1:{8000 + index}:80']",
            "    environment: {LOG_LEVEL: info, TOKEN: load-secret}",
        ]
        if index:
            lines.append(f"    depends_on: [svc{index - 1}]")
    return "\n".join(lines) + "\n"


def encode(text: str) -> str:
    """Return ``text`` as a Kroki URL segment."""
    return base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode()


def bad_requests() -> list[Request]:
    """Return the hostile requests of the mix, each answered 4xx."""

    def raw(name: str) -> Request:
        body = (HOSTILE_DIR / name).read_bytes()
        return Request("bad", "POST", "/api/v1/model", body, YAML)

    return [
        raw("alias-bomb.yaml"),
        raw("port-range.yaml"),
        raw("binary-junk.bin"),
        raw("deep-nesting.yaml"),
        Request("bad", "POST", "/api/v1/diagram", b"services: [\n", YAML),
        Request("bad", "POST", "/api/v1/model", b"#" * 1_100_000, YAML),
        Request(
            "bad",
            "POST",
            "/api/v1/model",
            b"services: {}\n",
            {"Content-Type": "application/x-msdownload"},
        ),
        Request("bad", "GET", "/compose/svg/" + encode("#" * 5_000_000)),
    ]


class Mix:
    """Draw requests in the configured proportions; thread-safe."""

    def __init__(self, weights: dict[str, int], services: int, seed: int) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._counter = 0
        self._kinds = [kind for kind, weight in weights.items() for _ in range(weight)]
        self._services = services
        cached = stack(services, "cached")
        self._cached = [
            Request("cached", "GET", "/compose/svg/" + encode(cached)),
            Request("cached", "POST", "/api/v1/diagram", cached.encode(), YAML),
        ]
        self._bad = bad_requests()

    @property
    def fixed(self) -> list[Request]:
        """Return every request of the mix that is not a new diagram."""
        return self._cached + self._bad

    def draw(self) -> Request:
        with self._lock:
            kind = self._random.choice(self._kinds)
            if kind == "cached":
                return self._random.choice(self._cached)
            if kind == "bad":
                return self._random.choice(self._bad)
        return self.new()

    def new(self) -> Request:
        """Return a diagram request the server has not seen in this run."""
        with self._lock:
            self._counter += 1
            number = self._counter
        body = stack(self._services, f"new {os.getpid()} {number}").encode()
        return Request("new", "POST", "/api/v1/diagram", body, YAML)


def send(connection: http.client.HTTPConnection, request: Request) -> int:
    """Send ``request`` and read the whole answer; return its status."""
    connection.request(request.method, request.path, request.body, request.headers)
    response = connection.getresponse()
    response.read()
    if response.getheader("connection", "").lower() == "close":
        connection.close()
    return response.status


def run_client(host: str, port: int, mix: Mix, tally: Tally, deadline: float) -> None:
    """Send requests one after another on one connection until ``deadline``."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    while time.monotonic() < deadline:
        request = mix.draw()
        started = time.perf_counter()
        try:
            status = send(connection, request)
        except (OSError, http.client.HTTPException) as exc:
            # The server may close a connection after refusing a body
            # unread; reconnect and count it, it is not an answer.
            with tally.lock:
                tally.failures[type(exc).__name__] += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
            continue
        tally.add(request.kind, status, time.perf_counter() - started)
    connection.close()


def rss_bytes(pid: int) -> int:
    """Return the resident memory of process ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def graphviz_children(pid: int) -> list[int]:
    """Return the live Graphviz processes the server ``pid`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, parent = stat.rpartition(")")[2].split()[:2]
        if int(parent) == pid and name in GRAPHVIZ_NAMES and state != "Z":
            found.append(int(entry.name))
    return found


@dataclass
class Watch:
    """The server's peak memory and peak Graphviz processes during the load."""

    pid: int | None
    peak_rss: int = 0
    peak_graphviz: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while self.pid is not None and not self.stop.is_set():
            self.peak_rss = max(self.peak_rss, rss_bytes(self.pid))
            self.peak_graphviz = max(
                self.peak_graphviz, len(graphviz_children(self.pid))
            )
            time.sleep(0.05)


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def started_server(slots: int, log: Path) -> Iterator[tuple[str, int, int]]:
    """Start the app under uvicorn on 127.0.0.1; yield host, port and pid."""
    port = free_port()
    environ = {
        **os.environ,
        "COMPOSE_TOPOLOGY_MAX_CONCURRENT_RENDERS": str(slots),
        "COMPOSE_TOPOLOGY_LOG_LEVEL": "INFO",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "service.web.app:create_app_from_environ",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, cwd=REPO_DIR, env=environ, stdout=output, stderr=output
        )
        try:
            wait_until_up("127.0.0.1", port, server)
            yield "127.0.0.1", port, server.pid
        finally:
            server.terminate()
            server.wait(timeout=15)


def wait_until_up(host: str, port: int, server: subprocess.Popen[bytes]) -> None:
    """Wait for ``/livez`` to answer, failing if the server exits first."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("The server exited during start-up; see its log.")
        try:
            connection = http.client.HTTPConnection(host, port, timeout=1)
            connection.request("GET", "/livez")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("The server did not answer /livez within 30 seconds.")


def find_server_pid(port: int) -> int | None:
    """Return the pid listening on 127.0.0.1:``port``, when this user can see it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & inodes:
            return int(entry.name)
    return None


def hold_load(host: str, port: int, mix: Mix, clients: int, seconds: float) -> Tally:
    """Keep ``clients`` connections busy for ``seconds``; return what they saw."""
    tally = Tally()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=run_client, args=(host, port, mix, tally, deadline))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def warm_up(host: str, port: int, mix: Mix, clients: int, seconds: float) -> None:
    """Send every fixed request once, then hold the mixed load for ``seconds``.

    The warm-up fills the answer cache to its bound and starts the worker
    threads the load needs, so the memory measured afterwards is the
    baseline of a server in service, not of an idle one.
    """
    connection = http.client.HTTPConnection(host, port, timeout=30)
    for request in mix.fixed:
        try:
            send(connection, request)
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.close()
    hold_load(host, port, mix, clients, seconds)


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Report:
    """Every figure of one load run."""

    duration: float
    clients: int
    slots: int
    tally: Tally
    rss_start: int | None
    rss_peak: int | None
    rss_end: int | None
    peak_graphviz: int | None
    leftover_graphviz: int | None

    @property
    def total(self) -> int:
        return sum(self.tally.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for (_, s), n in self.tally.statuses.items() if s >= 500)

    @property
    def is_back_to_baseline(self) -> bool | None:
        """Tell whether memory after the idle pause is within 10% of the start.

        Python and glibc keep freed memory for reuse rather than returning it
        at once, so "baseline" allows that slack; a leak grows past it.
        """
        if self.rss_start is None or self.rss_end is None:
            return None
        return self.rss_end <= self.rss_start * (1 + RSS_SLACK)

    def figures(self) -> dict[str, object]:
        everything = [x for xs in self.tally.latencies.values() for x in xs]
        kinds = {
            kind: {
                "requests": len(values),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            }
            for kind, values in sorted(self.tally.latencies.items())
        }
        return {
            "duration_s": self.duration,
            "clients": self.clients,
            "render_slots": self.slots,
            "requests": self.total,
            "requests_per_s": round(self.total / self.duration, 1),
            "p50_ms": round(statistics.median(everything) * 1000, 1),
            "p99_ms": round(percentile(everything, 0.99) * 1000, 1),
            "by_kind": kinds,
            "by_status": {
                f"{kind} {status}": count
                for (kind, status), count in sorted(self.tally.statuses.items())
            },
            "connection_resets": dict(self.tally.failures),
            "server_errors_5xx": self.server_errors,
            "rss_start_mb": _megabytes(self.rss_start),
            "rss_peak_mb": _megabytes(self.rss_peak),
            "rss_end_after_idle_mb": _megabytes(self.rss_end),
            "rss_back_to_baseline": self.is_back_to_baseline,
            "peak_graphviz_processes": self.peak_graphviz,
            "leftover_graphviz_processes": self.leftover_graphviz,
        }


def _megabytes(value: int | None) -> float | None:
    return None if value is None else round(value / 1_000_000, 1)


def render_markdown(figures: dict[str, object]) -> str:
    """Return the figures as Markdown tables."""
    rows = [
        (
            "Duration / clients / render slots",
            f"{figures['duration_s']:g} s / {figures['clients']} / "
            f"{figures['render_slots']}",
        ),
        ("Requests (all kinds)", f"{figures['requests']}"),
        ("Requests per second", f"{figures['requests_per_s']}"),
        ("Latency p50 / p99 (all)", f"{figures['p50_ms']} ms / {figures['p99_ms']} ms"),
    ]
    by_kind = figures["by_kind"]
    assert isinstance(by_kind, dict)
    for kind, numbers in by_kind.items():
        rows.append(
            (
                f"Latency p50 / p99 ({kind}, {numbers['requests']} requests)",
                f"{numbers['p50_ms']} ms / {numbers['p99_ms']} ms",
            )
        )
    by_status = figures["by_status"]
    assert isinstance(by_status, dict)
    rows += [
        ("Answers by status", ", ".join(f"{k}: {v}" for k, v in by_status.items())),
        ("Connections closed by the server", str(figures["connection_resets"] or 0)),
        ("5xx answers", str(figures["server_errors_5xx"])),
        ("Server RSS at start (after warm-up)", f"{figures['rss_start_mb']} MB"),
        ("Server RSS peak", f"{figures['rss_peak_mb']} MB"),
        (
            "Server RSS after idle (within 10% of start?)",
            f"{figures['rss_end_after_idle_mb']} MB "
            f"({'yes' if figures['rss_back_to_baseline'] else 'no'})",
        ),
        ("Most Graphviz processes at once", str(figures["peak_graphviz_processes"])),
        ("Graphviz processes left over", str(figures["leftover_graphviz_processes"])),
    ]
    lines = ["| Figure | Value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def measure(
    host: str, port: int, pid: int | None, options: argparse.Namespace
) -> Report:
    """Warm up, hold the load while watching the server, then idle and measure."""
    mix = Mix(parse_mix(options.mix), options.services, options.seed)
    warm_up(host, port, mix, options.clients, options.warmup)
    time.sleep(options.idle)
    rss_start = rss_bytes(pid) if pid else None

    watch = Watch(pid)
    watcher = threading.Thread(target=watch.run)
    watcher.start()
    tally = hold_load(host, port, mix, options.clients, options.duration)
    watch.stop.set()
    watcher.join()

    time.sleep(options.idle)
    rss_end = rss_bytes(pid) if pid else None
    return Report(
        duration=options.duration,
        clients=options.clients,
        slots=options.slots,
        tally=tally,
        rss_start=rss_start,
        rss_peak=watch.peak_rss if pid else None,
        rss_end=rss_end,
        peak_graphviz=watch.peak_graphviz if pid else None,
        leftover_graphviz=len(graphviz_children(pid)) if pid else None,
    )


def parse_mix(text: str) -> dict[str, int]:
    """Read ``new=2,cached=5,bad=3`` into weights."""
    weights = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind not in ("new", "cached", "bad") or not weight.isdigit():
            raise SystemExit(f"--mix takes new=N,cached=N,bad=N, not {text!r}.")
        weights[kind] = int(weight)
    return weights


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--warmup",
        type=float,
        default=30.0,
        help="seconds of load before the baseline; enough to fill the cache",
    )
    parser.add_argument("--idle", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--slots", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--services", type=int, default=12)
    parser.add_argument("--mix", default="new=3,cached=5,bad=2")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--url", help="an already running server, on loopback only")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--log", type=Path, default=Path("/tmp/compose-topology-load.log")
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(sys.argv[1:] if argv is None else argv)
    if options.url:
        report = measure_running(options)
    else:
        with started_server(options.slots, options.log) as (host, port, pid):
            report = measure(host, port, pid, options)

    figures = report.figures()
    print(render_markdown(figures))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2) + "\n")
    failed = report.server_errors or report.leftover_graphviz
    return 1 if failed or report.is_back_to_baseline is False else 0


def measure_running(options: argparse.Namespace) -> Report:
    """Measure a server the caller started, refusing anything but loopback."""
    address = urlsplit(options.url)
    if address.hostname not in LOOPBACK or address.port is None:
        raise SystemExit("--url must be http://127.0.0.1:PORT (loopback only).")
    return measure(
        address.hostname, address.port, find_server_pid(address.port), options
    )


if __name__ == "__main__":
    sys.exit(main())
