"""Hold a mixed, bounded load on the service and tell whether it stays healthy.

The script starts one uvicorn worker of the real app on a free 127.0.0.1 port
(or uses ``--url``, which must be a loopback address) and keeps ``--clients``
keep-alive connections busy with a weighted mix of requests:

- ``new``: a diagram the server has never seen (a unique YAML comment), so
  it parses, lays out with Graphviz and stores the answer;
- ``cached``: the same diagram again, by the Kroki GET URL or the POST body;
- ``bad``: hostile input from the hostile corpus (alias bomb, a port range
  of 65,535 ports, broken YAML, binary junk, a body over the size limit, the
  wrong media type, a zip bomb in the URL).

A warm-up comes first: it sends every fixed request once and holds the mix
until the server has drawn more new diagrams than its answer cache holds, so
the cache is full and every lazy import is done. The server's memory after
the warm-up and an idle pause is the baseline. Then ``--rounds`` rounds of
``--duration`` seconds follow, each ending with the same idle pause; after
each, memory must be back within ``--tolerance`` of the baseline. A server
that keeps something per request grows round after round and fails that.

It reports requests per second, p50/p99 latency per kind, answers by status,
5xx answers, the server's memory (cold start, baseline, peak, after each
round), the most Graphviz processes seen at once (waiting spares included)
and those left over (spares waiting for the next render not counted), as
Markdown tables (``--json`` writes the figures too). It exits 1 on any 5xx,
any Graphviz process left over, memory past the tolerance after a round, or
a warm-up that could not fill the cache.

Usage::

    .venv/bin/python bench/load.py              # warm-up, then 3 rounds of 60 s
    .venv/bin/python bench/load.py --rounds 10 --duration 30 --clients 16
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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_DIR = Path(__file__).resolve().parent.parent
HOSTILE_DIR = REPO_DIR / "tests" / "hostile" / "cases"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
GRAPHVIZ_NAMES = ("dot", "prlimit")
CACHE_ENTRIES_VARIABLE = "COMPOSE_TOPOLOGY_CACHE_ENTRIES"
DEFAULT_CACHE_ENTRIES = 256
WARM_UP_STEPS = 5

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


def leftover_graphviz(pid: int) -> list[int]:
    """Return the Graphviz processes of ``pid`` that are not waiting spares.

    A spare (``COMPOSE_TOPOLOGY_GRAPHVIZ_SPARES``) is started ahead of need and
    reads its DOT from a pipe; a render that runs cold reads a temporary file.
    After the load, only spares may still be there.
    """
    return [child for child in graphviz_children(pid) if not reads_a_pipe(child)]


def reads_a_pipe(pid: int) -> bool:
    """Tell whether process ``pid``'s stdin is a pipe (a Graphviz spare's is)."""
    try:
        return os.readlink(f"/proc/{pid}/fd/0").startswith("pipe:")
    except OSError:
        return False


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
def started_server(
    slots: int, cache_entries: int, log: Path
) -> Iterator[tuple[str, int, int]]:
    """Start the app under uvicorn on 127.0.0.1; yield host, port and pid."""
    port = free_port()
    environ = {
        **os.environ,
        "COMPOSE_TOPOLOGY_MAX_CONCURRENT_RENDERS": str(slots),
        CACHE_ENTRIES_VARIABLE: str(cache_entries),
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


def send_fixed(host: str, port: int, mix: Mix) -> None:
    """Send every request of the mix that is not a new diagram, once."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    for request in mix.fixed:
        try:
            send(connection, request)
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.close()


@dataclass(frozen=True)
class WarmUp:
    """How long the warm-up ran, what it drew, and the memory it left: the baseline."""

    seconds: float
    new_diagrams: int
    cache_entries: int
    rss: int | None

    @property
    def is_cache_full(self) -> bool:
        """Tell whether more new diagrams were drawn than the cache holds."""
        return self.new_diagrams >= self.cache_entries


def warm_up(
    host: str, port: int, pid: int | None, mix: Mix, options: argparse.Namespace
) -> WarmUp:
    """Fill the answer cache and the lazy imports; return the baseline after idle.

    The mix runs in steps of ``--warmup`` seconds until the server has drawn
    more new diagrams than its cache holds (at most ``WARM_UP_STEPS`` steps):
    memory measured before that would grow with the cache, which is bounded
    and expected, and hide whatever else grows.
    """
    send_fixed(host, port, mix)
    drawn = 0
    steps = 0
    while drawn < options.cache_entries and steps < WARM_UP_STEPS:
        tally = hold_load(host, port, mix, options.clients, options.warmup)
        drawn += tally.statuses[("new", 200)]
        steps += 1

    time.sleep(options.idle)
    return WarmUp(
        seconds=steps * options.warmup,
        new_diagrams=drawn,
        cache_entries=options.cache_entries,
        rss=rss_bytes(pid) if pid else None,
    )


@dataclass
class Round:
    """What one round of load saw, and the server's memory after its idle pause."""

    number: int
    seconds: float
    tally: Tally
    rss_peak: int | None
    rss_after_idle: int | None
    peak_graphviz: int | None
    leftover_graphviz: int | None
    load_average: float

    @property
    def requests(self) -> int:
        return sum(self.tally.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for (_, s), n in self.tally.statuses.items() if s >= 500)


def run_round(
    host: str,
    port: int,
    pid: int | None,
    mix: Mix,
    number: int,
    options: argparse.Namespace,
) -> Round:
    """Hold the load for one round while watching the server, then idle."""
    watch = Watch(pid)
    watcher = threading.Thread(target=watch.run)
    watcher.start()
    tally = hold_load(host, port, mix, options.clients, options.duration)
    watch.stop.set()
    watcher.join()

    time.sleep(options.idle)
    return Round(
        number=number,
        seconds=options.duration,
        tally=tally,
        rss_peak=watch.peak_rss if pid else None,
        rss_after_idle=rss_bytes(pid) if pid else None,
        peak_graphviz=watch.peak_graphviz if pid else None,
        leftover_graphviz=len(leftover_graphviz(pid)) if pid else None,
        load_average=os.getloadavg()[0],
    )


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def merge(tallies: list[Tally]) -> Tally:
    """Return one tally holding everything the given tallies saw."""
    merged = Tally()
    for tally in tallies:
        for kind, values in tally.latencies.items():
            merged.latencies.setdefault(kind, []).extend(values)
        merged.statuses.update(tally.statuses)
        merged.failures.update(tally.failures)
    return merged


@dataclass
class Report:
    """Every figure of one load run: the warm-up and each round after it."""

    clients: int
    slots: int
    tolerance: float
    rss_cold: int | None
    load_average_start: float
    warm: WarmUp
    rounds: list[Round]

    @property
    def tally(self) -> Tally:
        return merge([each.tally for each in self.rounds])

    @property
    def server_errors(self) -> int:
        return sum(each.server_errors for each in self.rounds)

    @property
    def leftover_graphviz(self) -> int | None:
        counts = [each.leftover_graphviz for each in self.rounds]
        return None if None in counts else max(c or 0 for c in counts)

    def growth(self, each: Round) -> float | None:
        """Return how far ``each`` ended above the baseline, as a fraction."""
        if self.warm.rss is None or each.rss_after_idle is None:
            return None
        return each.rss_after_idle / self.warm.rss - 1

    @property
    def is_back_to_baseline(self) -> bool | None:
        """Tell whether memory came back within the tolerance after every round.

        The allocator keeps freed memory for reuse instead of handing it back
        at once, so memory after a round wanders a few megabytes around the
        baseline; something kept per request grows past any fixed tolerance
        once the rounds are long or many enough.
        """
        growths = [self.growth(each) for each in self.rounds]
        if not self.warm.is_cache_full or None in growths:
            return None
        return all(g is not None and g <= self.tolerance for g in growths)

    def failures(self) -> list[str]:
        """Return why this run fails, one sentence each; empty when it passes."""
        found = []
        if self.server_errors:
            found.append(f"{self.server_errors} answers were 5xx.")
        if self.leftover_graphviz:
            found.append(f"{self.leftover_graphviz} Graphviz processes were left over.")
        if not self.warm.is_cache_full:
            found.append(
                f"The warm-up drew {self.warm.new_diagrams} new diagrams, fewer than "
                f"the {self.warm.cache_entries} the cache holds; raise --warmup."
            )
        if self.is_back_to_baseline is False:
            found.append(
                f"Memory after a round was more than {self.tolerance:.0%} above "
                "the baseline."
            )
        return found

    def figures(self) -> dict[str, object]:
        tally = self.tally
        total = sum(tally.statuses.values())
        seconds = sum(each.seconds for each in self.rounds)
        everything = [x for xs in tally.latencies.values() for x in xs]
        return {
            "duration_s": self.rounds[0].seconds,
            "rounds": len(self.rounds),
            "clients": self.clients,
            "render_slots": self.slots,
            "requests": total,
            "requests_per_s": round(total / seconds, 1),
            "p50_ms": _milliseconds(statistics.median(everything)),
            "p99_ms": _milliseconds(percentile(everything, 0.99)),
            "by_kind": {
                kind: {
                    "requests": len(values),
                    "p50_ms": _milliseconds(statistics.median(values)),
                    "p99_ms": _milliseconds(percentile(values, 0.99)),
                }
                for kind, values in sorted(tally.latencies.items())
            },
            "by_status": {
                f"{kind} {status}": count
                for (kind, status), count in sorted(tally.statuses.items())
            },
            "connection_resets": dict(tally.failures),
            "server_errors_5xx": self.server_errors,
            "warmup_s": self.warm.seconds,
            "warmup_new_diagrams": self.warm.new_diagrams,
            "cache_entries": self.warm.cache_entries,
            "rss_cold_start_mb": _megabytes(self.rss_cold),
            "rss_baseline_mb": _megabytes(self.warm.rss),
            "rss_peak_mb": _megabytes(_largest(r.rss_peak for r in self.rounds)),
            "rss_tolerance": self.tolerance,
            "rss_back_to_baseline": self.is_back_to_baseline,
            "peak_graphviz_processes": _largest(r.peak_graphviz for r in self.rounds),
            "leftover_graphviz_processes": self.leftover_graphviz,
            "load_average_start": round(self.load_average_start, 2),
            "per_round": [self.round_figures(each) for each in self.rounds],
            "failures": self.failures(),
        }

    def round_figures(self, each: Round) -> dict[str, object]:
        growth = self.growth(each)
        return {
            "round": each.number,
            "requests": each.requests,
            "requests_per_s": round(each.requests / each.seconds, 1),
            "server_errors_5xx": each.server_errors,
            "rss_peak_mb": _megabytes(each.rss_peak),
            "rss_after_idle_mb": _megabytes(each.rss_after_idle),
            "vs_baseline_pct": None if growth is None else round(growth * 100, 1),
            "peak_graphviz_processes": each.peak_graphviz,
            "leftover_graphviz_processes": each.leftover_graphviz,
            "load_average": round(each.load_average, 2),
        }


def _milliseconds(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _megabytes(value: int | None) -> float | None:
    return None if value is None else round(value / 1_000_000, 1)


def _largest(values: Iterable[int | None]) -> int | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


def render_markdown(figures: dict[str, Any]) -> str:
    """Return the figures as two Markdown tables: the whole run, then each round."""
    rows = [
        (
            "Rounds x duration / clients / render slots",
            f"{figures['rounds']} x {figures['duration_s']:g} s / "
            f"{figures['clients']} / {figures['render_slots']}",
        ),
        ("Requests (all rounds, all kinds)", f"{figures['requests']}"),
        ("Requests per second", f"{figures['requests_per_s']}"),
        ("Latency p50 / p99 (all)", f"{figures['p50_ms']} ms / {figures['p99_ms']} ms"),
    ]
    for kind, numbers in figures["by_kind"].items():
        rows.append(
            (
                f"Latency p50 / p99 ({kind}, {numbers['requests']} requests)",
                f"{numbers['p50_ms']} ms / {numbers['p99_ms']} ms",
            )
        )
    statuses = ", ".join(f"{k}: {v}" for k, v in figures["by_status"].items())
    verdict = {True: "yes", False: "no", None: "not judged"}
    rows += [
        ("Answers by status", statuses),
        ("Connections closed by the server", str(figures["connection_resets"] or 0)),
        ("5xx answers", str(figures["server_errors_5xx"])),
        ("Server RSS at cold start", f"{figures['rss_cold_start_mb']} MB"),
        (
            "Server RSS baseline (after warm-up: "
            f"{figures['warmup_s']:g} s, {figures['warmup_new_diagrams']} new "
            f"diagrams, cache of {figures['cache_entries']})",
            f"{figures['rss_baseline_mb']} MB",
        ),
        ("Server RSS peak", f"{figures['rss_peak_mb']} MB"),
        (
            f"Back within {figures['rss_tolerance']:.0%} of the baseline "
            "after every round",
            verdict[figures["rss_back_to_baseline"]],
        ),
        ("Most Graphviz processes at once", str(figures["peak_graphviz_processes"])),
        ("Graphviz processes left over", str(figures["leftover_graphviz_processes"])),
    ]
    lines = ["| Figure | Value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n\n" + render_rounds(figures)


def render_rounds(figures: dict[str, Any]) -> str:
    """Return the per-round Markdown table, the baseline first."""
    lines = [
        "| Round | Requests/s | 5xx | RSS peak | RSS after idle | vs baseline "
        "| Graphviz left | Load avg |",
        "|---|---|---|---|---|---|---|---|",
        f"| warm-up (baseline) | | | | {figures['rss_baseline_mb']} MB | | "
        f"| {figures['load_average_start']} |",
    ]
    for each in figures["per_round"]:
        growth = each["vs_baseline_pct"]
        lines.append(
            f"| {each['round']} | {each['requests_per_s']} "
            f"| {each['server_errors_5xx']} | {each['rss_peak_mb']} MB "
            f"| {each['rss_after_idle_mb']} MB "
            f"| {'-' if growth is None else f'{growth:+.1f} %'} "
            f"| {each['leftover_graphviz_processes']} | {each['load_average']} |"
        )
    return "\n".join(lines) + "\n"


def measure(
    host: str, port: int, pid: int | None, options: argparse.Namespace
) -> Report:
    """Note the cold memory, warm up to the baseline, then run every round."""
    load_average = os.getloadavg()[0]
    rss_cold = rss_bytes(pid) if pid else None
    mix = Mix(parse_mix(options.mix), options.services, options.seed)

    warm = warm_up(host, port, pid, mix, options)
    rounds = [
        run_round(host, port, pid, mix, number, options)
        for number in range(1, options.rounds + 1)
    ]
    return Report(
        clients=options.clients,
        slots=options.slots,
        tolerance=options.tolerance,
        rss_cold=rss_cold,
        load_average_start=load_average,
        warm=warm,
        rounds=rounds,
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


def default_cache_entries() -> int:
    """Return the cache bound the server will use, as its settings would read it."""
    raw = os.environ.get(CACHE_ENTRIES_VARIABLE, "")
    return int(raw) if raw.isdigit() else DEFAULT_CACHE_ENTRIES


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds after warm-up")
    parser.add_argument("--duration", type=float, default=60.0, help="s per round")
    parser.add_argument(
        "--warmup",
        type=float,
        default=30.0,
        help="seconds per warm-up step; steps repeat until the cache is full",
    )
    parser.add_argument(
        "--cache-entries",
        type=int,
        default=default_cache_entries(),
        help="the server's answer-cache bound (set on a server this script starts)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.15,
        help="how far above the baseline memory may end a round (0.15 = 15 %%)",
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
    options = parser.parse_args(argv)
    if options.rounds < 1 or options.duration <= 0 or options.warmup <= 0:
        parser.error("--rounds, --duration and --warmup must be positive.")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(sys.argv[1:] if argv is None else argv)
    if options.url:
        report = measure_running(options)
    else:
        with started_server(options.slots, options.cache_entries, options.log) as (
            host,
            port,
            pid,
        ):
            report = measure(host, port, pid, options)

    figures = report.figures()
    print(render_markdown(figures))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2) + "\n")
    for failure in report.failures():
        print(failure, file=sys.stderr)
    return 1 if report.failures() else 0


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
