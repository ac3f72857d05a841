"""Load the running service: new diagrams, cached ones, and a trivial endpoint.

One ``compose-topology serve`` (a single uvicorn worker, as the command
starts it) on a free loopback port receives bounded bursts of requests on
keep-alive connections, one endpoint at a time:

- ``GET /livez``: the ceiling, the cheapest answer this server gives (it
  only says the event loop is alive, through the same middleware);
- a cached diagram, asked for by the Kroki-style ``GET /compose/svg/...`` and
  by ``POST /api/v1/diagram`` with the same body every time;
- a revalidation (``If-None-Match`` answered with 304);
- a new diagram: ``POST /api/v1/diagram`` with a body the server has never
  seen (a different YAML comment each time), so it parses, draws and runs
  Graphviz.

The load comes from ``wrk`` (Debian package) when it is installed, else from a
small threaded client in this script; the table says which. Throughput is
reported as a ratio to ``/livez`` measured in the same run.

Usage: ``python bench/bench_http.py [--quick] [--client wrk|python]``
"""

from __future__ import annotations

import argparse
import base64
import http.client
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import harness

YAML_HEADERS = {"Content-Type": "application/yaml"}


@dataclass(frozen=True)
class Endpoint:
    """One kind of request sent over and over."""

    label: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    unique_body: bool = False
    expect: int = 200


@dataclass
class Load:
    """What one burst of requests achieved."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Return requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """Return the server's CPU time (with Graphviz's) per request, in ms."""
        return self.server_cpu_seconds * 1000 / self.requests if self.requests else 0.0


def kroki_path(text: str) -> str:
    """Return the Kroki GET path of ``text``: zlib-deflated, URL-safe base64."""
    encoded = base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode()
    return "/compose/svg/" + encoded.rstrip("=")


def build_endpoints(text: str, etag: str) -> list[Endpoint]:
    """Return the endpoints to load, the trivial one first (it is the baseline)."""
    body = text.encode()
    diagram = "/api/v1/diagram?format=svg"
    return [
        Endpoint("GET /livez (ceiling)", "GET", "/livez"),
        Endpoint("cached diagram, GET /compose/svg/…", "GET", kroki_path(text)),
        Endpoint(
            "cached diagram, POST /api/v1/diagram",
            "POST",
            diagram,
            dict(YAML_HEADERS),
            body,
        ),
        Endpoint(
            "revalidate, GET with If-None-Match (304)",
            "GET",
            kroki_path(text),
            {"If-None-Match": etag},
            expect=304,
        ),
        Endpoint(
            "new diagram, POST /api/v1/diagram",
            "POST",
            diagram,
            dict(YAML_HEADERS),
            body,
            unique_body=True,
        ),
    ]


def prime(server_url: str, text: str) -> str:
    """Render the diagram once (filling the cache) and return its ETag."""
    import httpx

    response = httpx.get(server_url + kroki_path(text), timeout=60)
    response.raise_for_status()
    httpx.post(
        server_url + "/api/v1/diagram?format=svg",
        content=text.encode(),
        headers=YAML_HEADERS,
        timeout=60,
    ).raise_for_status()
    etag: str = response.headers.get("ETag", '""')
    return etag


def check(server_url: str, endpoint: Endpoint) -> None:
    """Send one request and fail loudly if the answer is not the expected status."""
    import httpx

    body = endpoint.body + (b"\n# check\n" if endpoint.unique_body else b"")
    response = httpx.request(
        endpoint.method,
        server_url + endpoint.path,
        headers=endpoint.headers,
        content=body or None,
        timeout=60,
    )
    if response.status_code != endpoint.expect:
        raise SystemExit(
            f"{endpoint.label} answered {response.status_code}, "
            f"expected {endpoint.expect}: {response.text[:200]}"
        )


def load_with_wrk(
    server_url: str, endpoint: Endpoint, connections: int, seconds: float
) -> Load:
    """Drive ``endpoint`` with wrk (one thread) and parse its summary."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_wrk_script(endpoint))
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    argv += ["-s", script.name, server_url + endpoint.path]
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    return _parse_wrk(output)


def _wrk_script(endpoint: Endpoint) -> str:
    headers = "".join(
        f'wrk.headers["{name}"] = {_lua_string(value)}\n'
        for name, value in endpoint.headers.items()
    )
    body = _lua_string(endpoint.body.decode())
    lines = [f'wrk.method = "{endpoint.method}"', headers]
    if endpoint.unique_body:
        # A different comment per request: a new cache key, the same drawing.
        lines += [
            f"local base = {body}",
            "local counter = 0",
            "request = function()",
            "  counter = counter + 1",
            '  local body = base .. "\\n# wrk " .. tostring(counter) .. " " '
            '.. tostring(math.random(1, 2147483647)) .. "\\n"',
            "  return wrk.format(nil, nil, nil, body)",
            "end",
        ]
    elif endpoint.body:
        lines.append(f"wrk.body = {body}")
    return "\n".join(lines) + "\n"


def _lua_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    escaped = escaped.replace("\r", "\\r")
    return f'"{escaped}"'


def _parse_wrk(output: str) -> Load:
    requests = int(_find(r"(\d+) requests in", output))
    seconds = _wrk_duration(_find(r"requests in ([\d.]+\w+),", output))
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    errors = int(errors_match.group(1)) if errors_match else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Load(
        requests=requests,
        seconds=seconds,
        p50_ms=_wrk_latency(output, "50%"),
        p99_ms=_wrk_latency(output, "99%"),
        errors=errors,
    )


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.M)
    if match is None:
        raise ValueError(f"wrk printed no {pattern!r} in its summary:\n{text}")
    return match.group(1)


def _wrk_duration(text: str) -> float:
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
    number = _find(r"^([\d.]+)", text)
    return float(number) * units[text[len(number) :]]


def _wrk_latency(output: str, percentile: str) -> float:
    match = re.search(rf"^\s*{re.escape(percentile)}\s+([\d.]+)(\w+)", output, re.M)
    if match is None:
        return float("nan")
    return _wrk_duration(match.group(1) + match.group(2)) * 1000


def load_with_threads(
    server_url: str, endpoint: Endpoint, connections: int, seconds: float
) -> Load:
    """Drive ``endpoint`` from threads, each with its own keep-alive connection."""
    host, port = server_url.removeprefix("http://").split(":")
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        mine: list[float] = []
        bad = 0
        count = 0
        while time.perf_counter() < deadline:
            count += 1
            body = endpoint.body
            if endpoint.unique_body:
                body += f"\n# thread {index} request {count}\n".encode()
            start = time.perf_counter()
            connection.request(
                endpoint.method, endpoint.path, body or None, endpoint.headers
            )
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            bad += response.status != endpoint.expect
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    ordered = sorted(latencies)
    return Load(
        requests=len(ordered),
        seconds=elapsed,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        errors=errors[0],
    )


def load_table(loads: dict[str, Load]) -> str:
    """Render throughput and latency per endpoint, as a ratio to the ceiling."""
    first = next(iter(loads.values()))
    ceiling, ceiling_cpu = first.rate, first.cpu_ms_per_request
    rows = [
        [
            label,
            f"{load.rate:,.0f}",
            harness.format_ratio(load.rate, ceiling),
            f"{load.p50_ms:.1f}",
            f"{load.p99_ms:.1f}",
            f"{load.cpu_ms_per_request:.2f}",
            harness.format_ratio(load.cpu_ms_per_request, ceiling_cpu),
            f"{load.requests:,}",
            str(load.errors),
        ]
        for label, load in loads.items()
    ]
    headers = [
        "endpoint",
        "requests/s",
        "÷ /livez",
        "p50 ms",
        "p99 ms",
        "server CPU ms/request",
        "CPU ÷ /livez",
        "requests",
        "errors",
    ]
    return harness.markdown_table(headers, rows)


def target(loads: dict[str, Load]) -> str:
    """Say whether a cached diagram reaches 80% of the trivial endpoint's throughput."""
    values = list(loads.values())
    ceiling, cached = values[0].rate, values[1].rate
    ratio = cached / ceiling if ceiling else 0.0
    verdict = "met" if ratio >= 0.8 else "NOT met"
    return f"- cached diagram (GET) ≥ 0.8 × /livez throughput: {verdict} ({ratio:.2f}×)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter bursts")
    parser.add_argument("--seconds", type=float, help="burst length (default 5)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--input",
        type=Path,
        default=harness.INPUTS_DIR / "cryphos" / "compose.yaml",
        help="compose file to draw (default: the example of issue 2)",
    )
    parser.add_argument("--name", default="http", help="results file stem")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the server, load each endpoint in turn, print and write the table."""
    args = parse_args(argv)
    busy = harness.load_warning()
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    drive = load_with_wrk if client == "wrk" else load_with_threads
    text = args.input.read_text(encoding="utf-8")

    server = harness.start_server()
    loads: dict[str, Load] = {}
    try:
        endpoints = build_endpoints(text, prime(server.url, text))
        for endpoint in endpoints:
            check(server.url, endpoint)
            cpu_before = server.cpu_seconds()
            burst = drive(server.url, endpoint, args.connections, seconds)
            burst.server_cpu_seconds = server.cpu_seconds() - cpu_before
            loads[endpoint.label] = burst
            print(f"  {endpoint.label:<45} {burst.rate:,.0f} req/s", flush=True)
        rss = server.peak_rss_mb()
    finally:
        server.stop()

    markdown = "\n\n".join(
        part
        for part in [
            f"## The service under load ({args.input.parent.name}/{args.input.name})",
            f"Machine: {harness.machine_summary()}. Client: "
            f"{_client_description(client)}, {args.connections} keep-alive "
            f"connections, {seconds:g} s per endpoint; one uvicorn worker "
            "(`compose-topology serve`), access log on.",
            busy,
            load_table(loads),
            f"Server peak RSS after all bursts: {rss:.0f} MiB.",
            "## Target",
            target(loads),
        ]
        if part
    )
    print("\n" + markdown)
    raw = {label: load.__dict__ for label, load in loads.items()}
    path = harness.write_results(
        args.name, markdown, {"client": client, **raw}, args.results_dir
    )
    print(f"\nWritten to {path}")
    return 0


def _client_description(client: str) -> str:
    if client == "wrk":
        return harness.tool_version(["wrk", "--version"]).split(" Copyright")[0]
    return "threaded http.client in bench_http.py"


if __name__ == "__main__":
    sys.exit(main())
