"""Split the time of one diagram into its steps, to show which share is ours.

In process, on the same inputs as ``bench_cli.py``: reading the files
(``service.discovery.load_project_input``), parsing and modelling
(``service.compose.parse_project``), building the DOT
(``service.render.dot.render_dot``) and the Graphviz layout
(``service.render.graphviz.render_graphviz``). Then the same diagram asked of
a running server (``compose-topology serve``) with a body it has never seen,
so nothing is cached, twice: as shipped (started ``dot`` processes wait for
work) and with ``COMPOSE_TOPOLOGY_GRAPHVIZ_SPARES=0`` (every render starts
``dot``). The server's ``Server-Timing`` header says how long each request
waited on Graphviz and how long it was in the service; "ours" is the rest,
once as the client saw the request (HTTP, reading, modelling, the DOT and
the client's own share) and once as the service timed it. The CPU the
server's threads and its ``dot`` children used per request completes it.

Usage: ``python bench/bench_split.py [--quick] [--runs N]``
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_http
import harness
from harness import BenchInput

STEPS = ("read", "parse", "dot", "graphviz")

#: A new diagram's request-log line: its Graphviz wait and its time in the app.
_RENDER_LINE = re.compile(
    r"POST /api/v1/diagram status=200 .*cache=miss "
    r"graphviz_ms=(?P<graphviz>[0-9.]+) duration_ms=(?P<total>[0-9.]+)"
)

#: The server configurations a new diagram is asked of, by label.
SERVERS: dict[str, dict[str, str]] = {
    "spares": {},
    "cold": {"COMPOSE_TOPOLOGY_GRAPHVIZ_SPARES": "0"},
}


#: How the runs of one step are summed up: ``median`` by default; ``min``
#: (best of N) when other work shares the machine and inflates some runs.
Statistic = Callable[[Iterable[float]], float]
STATISTICS: dict[str, Statistic] = {"median": statistics.median, "min": min}
summarise: Statistic = statistics.median


@dataclass(frozen=True)
class HttpSplit:
    """New diagrams from one server: the client's latency and Graphviz's part of it.

    ``server_cpu`` and ``graphviz_cpu`` are CPU seconds per request: the
    server's own threads, and the ``dot`` processes it reaped.
    """

    latency: float
    graphviz: float
    ours: float
    in_app: float = 0.0
    ours_in_app: float = 0.0
    server_cpu: float = 0.0
    graphviz_cpu: float = 0.0

    @property
    def share(self) -> float:
        """Return the share of a new diagram that is not spent waiting on Graphviz."""
        return self.ours / self.latency

    @property
    def share_in_app(self) -> float:
        """Return the same share as the service itself times it (Server-Timing)."""
        return self.ours_in_app / self.in_app if self.in_app else 0.0

    @property
    def cpu_share(self) -> float:
        """Return the server's own share of the CPU time a new diagram costs."""
        total = self.server_cpu + self.graphviz_cpu
        return self.server_cpu / total if total else 0.0


@dataclass
class Split:
    """Seconds per step for one input (absent when a step failed)."""

    medians: dict[str, float] = field(default_factory=dict)
    http: dict[str, HttpSplit] = field(default_factory=dict)
    http_errors: dict[str, str] = field(default_factory=dict)
    runs: int = 0
    dot_nodes: int = 0
    dot_edges: int = 0
    error: str = ""


def time_steps(item: BenchInput, runs: int, budget: float) -> Split:
    """Time reading, modelling, DOT and layout of ``item`` in this process."""
    from service.compose import parse_project
    from service.discovery import ComposeOptions, load_project_input
    from service.errors import ComposeTopologyError
    from service.limits import Limits
    from service.render.dot import render_dot
    from service.render.graphviz import render_graphviz
    from service.render.options import DiagramOptions

    limits = Limits()
    options = DiagramOptions()
    compose = ComposeOptions(files=(str(item.path),))

    def read() -> Any:
        return load_project_input(
            compose, environ={}, cwd=item.directory, stdin=sys.stdin, limits=limits
        )

    split = Split()
    try:
        project_input = read()
        project = parse_project(project_input, limits)
        dot_text = render_dot(project, options, limits)
    except ComposeTopologyError as exc:
        split.error = str(exc).splitlines()[0][:120]
        return split
    split.dot_nodes, split.dot_edges = count_dot(dot_text)

    steps: dict[str, Callable[[], object]] = {
        "read": read,
        "parse": lambda: parse_project(project_input, limits),
        "dot": lambda: render_dot(project, options, limits),
        "graphviz": lambda: render_graphviz(dot_text, "svg", limits),
    }
    try:
        split.medians["dot_alone"] = time_dot_alone(dot_text, runs, budget)
    except RuntimeError as exc:
        split.error = f"dot alone: {' '.join(str(exc).split())[:120]}"
        return split
    for step, call in steps.items():
        try:
            timings = timed_calls(call, runs, budget)
        except ComposeTopologyError as exc:
            split.error = f"{step}: {' '.join(str(exc).split())[:120]}"
            return split
        split.medians[step] = summarise(timings)
        split.runs = len(timings)
    return split


def time_dot_alone(dot_text: str, runs: int, budget: float) -> float:
    """Return the median wall time of ``dot -Tsvg`` run directly on ``dot_text``."""
    with tempfile.TemporaryDirectory(prefix="bench-dot-") as tmp:
        source = Path(tmp) / "ours.dot"
        source.write_text(dot_text, encoding="utf-8")
        argv = ["dot", "-Tsvg", "-o", str(Path(tmp) / "ours.svg"), str(source)]
        series = harness.repeat(lambda: harness.run_command(argv), runs, budget)
    if series.failed is not None:
        raise RuntimeError(series.failed.error)
    return summarise(sample.seconds for sample in series.samples)


def timed_calls(call: Callable[[], object], runs: int, budget: float) -> list[float]:
    """Time ``call`` up to ``runs`` times after a warm-up, within ``budget`` seconds."""
    call()
    timings: list[float] = []
    while len(timings) < runs and sum(timings) < budget:
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return timings


def count_dot(dot_text: str) -> tuple[int, int]:
    """Count node and edge statements in DOT text (one statement per line)."""
    edges = nodes = 0
    for line in dot_text.splitlines():
        stripped = line.strip()
        if " -> " in stripped:
            edges += 1
        elif stripped.startswith('"') and "[" in stripped:
            nodes += 1
    return nodes, edges


def time_http(
    server: harness.Server,
    log: ServerLog,
    item: BenchInput,
    runs: int,
    budget: float,
) -> HttpSplit:
    """Time new (never cached) diagrams of ``item`` and Graphviz's part of each.

    Each request appends a different YAML comment, so the input's hash (the
    cache key) differs while the drawing stays the same. Graphviz's part is
    what the server reports in ``Server-Timing``; ours is the rest of the
    latency, request by request, and of the request's time in the service
    as its log line gives it. The CPU the server and its ``dot`` children
    used is counted over the timed requests (the first one warms up).
    """
    import httpx

    text = item.path.read_text(encoding="utf-8")
    url = server.url + "/api/v1/diagram?format=svg"
    headers = {"Content-Type": "application/yaml"}
    latencies: list[float] = []
    graphviz: list[float] = []
    cpu_before = _server_cpu(server)
    with httpx.Client(timeout=120) as client:
        for attempt in range(runs + 1):
            body = f"{text}\n# bench request {time.time_ns()} {attempt}\n"
            start = time.perf_counter()
            response = client.post(url, content=body.encode(), headers=headers)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                # e.g. a file whose env_file cannot travel in a raw body.
                raise RuntimeError(f"HTTP {response.status_code}")
            if attempt == 0:
                cpu_before = _server_cpu(server)
                log.skip_to_end()
                continue
            latencies.append(elapsed)
            graphviz.append(server_timings(response.headers)["graphviz"])
            if sum(latencies) > budget:
                break
    own, children = _cpu_per_request(_server_cpu(server), cpu_before, len(latencies))
    in_service = log.request_seconds(len(latencies))
    return HttpSplit(
        latency=summarise(latencies),
        graphviz=summarise(graphviz),
        ours=summarise(t - g for t, g in zip(latencies, graphviz, strict=True)),
        in_app=summarise(total for total, _ in in_service),
        ours_in_app=summarise(total - gv for total, gv in in_service),
        server_cpu=own,
        graphviz_cpu=children,
    )


def time_http_wrk(
    server: harness.Server, log: ServerLog, item: BenchInput, seconds: int
) -> HttpSplit:
    """Time new diagrams of ``item`` with wrk over one connection for ``seconds``.

    A client in C costs the two shared CPUs far less than httpx in this
    process does, as a remote client would. wrk reports the latency
    distribution, not each request, so ours at the client is its median
    latency minus Graphviz's median part; the service's side comes from the
    log lines, request by request, as for httpx.
    """
    endpoint = bench_http.Endpoint(
        label="new diagram",
        method="POST",
        path="/api/v1/diagram?format=svg",
        headers={"Content-Type": "application/yaml"},
        body=item.path.read_bytes(),
        unique_body=True,
    )
    log.skip_to_end()
    cpu_before = _server_cpu(server)
    load = bench_http.load_with_wrk(server.url, endpoint, 1, seconds)
    if load.errors:
        raise RuntimeError(f"wrk: {load.errors} failed requests")
    cpu_after = _server_cpu(server)
    in_service = log.request_seconds(None)

    latency = load.p50_ms / 1000
    graphviz = summarise(gv for _, gv in in_service)
    own, children = _cpu_per_request(cpu_after, cpu_before, load.requests)
    return HttpSplit(
        latency=latency,
        graphviz=graphviz,
        ours=latency - graphviz,
        in_app=summarise(total for total, _ in in_service),
        ours_in_app=summarise(total - gv for total, gv in in_service),
        server_cpu=own,
        graphviz_cpu=children,
    )


class ServerLog:
    """The server's request log, read from where the last reading stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def skip_to_end(self) -> None:
        """Forget what the log holds so far (the warm-up's lines)."""
        time.sleep(0.05)
        self._offset = self.path.stat().st_size

    def request_seconds(self, count: int | None) -> list[tuple[float, float]]:
        """Return (time in the service, Graphviz's part) of the renders logged since.

        ``count`` is how many there must be; None takes what is there (wrk
        may stop while one more request is in the service). The line is
        written once the answer is sent, so it covers the whole request in
        the app; the wait lets the last one reach the file.
        """
        time.sleep(0.05)
        with self.path.open("rb") as log:
            log.seek(self._offset)
            text = log.read().decode("utf-8", "replace")
            self._offset = log.tell()
        found = [
            (float(match["total"]) / 1000, float(match["graphviz"]) / 1000)
            for match in _RENDER_LINE.finditer(text)
        ]
        if (count is None and not found) or (count is not None and len(found) != count):
            raise RuntimeError(f"{len(found)} render lines logged for {count}")
        return found


def _server_cpu(server: harness.Server) -> tuple[harness.CpuReading, float]:
    return server.own_cpu(), server.children_cpu_seconds()


def _cpu_per_request(
    after: tuple[harness.CpuReading, float],
    before: tuple[harness.CpuReading, float],
    requests: int,
) -> tuple[float, float]:
    """Return the server's own and its ``dot`` children's CPU seconds per request."""
    own = after[0].seconds_since(before[0])
    return own / requests, (after[1] - before[1]) / requests


def server_timings(headers: Mapping[str, str]) -> dict[str, float]:
    """Return the server's ``Server-Timing`` entries in seconds, by name."""
    timings = {}
    for entry in headers.get("server-timing", "").split(","):
        name, _, duration = entry.strip().partition(";dur=")
        if name and duration:
            timings[name] = float(duration) / 1000
    if "graphviz" not in timings:
        raise RuntimeError("no graphviz entry in Server-Timing")
    return timings


def split_table(inputs: list[BenchInput], splits: dict[str, Split]) -> str:
    """Render the in-process steps of each input."""
    headers = [
        "input",
        "services",
        "DOT nodes / edges",
        "read files",
        "parse + model",
        "build DOT",
        "Graphviz (render_graphviz, svg)",
        "dot alone",
    ]
    rows = []
    for item in inputs:
        split = splits[item.label]
        if split.error:
            rows.append(_failed_row(item, split.error, len(headers)))
            continue
        rows.append(
            [
                item.label,
                str(item.services),
                f"{split.dot_nodes} / {split.dot_edges}",
                *(_seconds(split.medians.get(step)) for step in STEPS),
                _seconds(split.medians.get("dot_alone")),
            ]
        )
    return harness.markdown_table(headers, rows)


def http_table(inputs: list[BenchInput], splits: dict[str, Split]) -> str:
    """Render each server configuration's new diagrams: latency, Graphviz, ours."""
    headers = [
        "input",
        "server, client",
        "new diagram (client)",
        "in the service",
        "Graphviz",
        "ours, client ÷ new diagram",
        "ours, in the service ÷ its time",
        "CPU: ours / dot",
        "CPU: ours ÷ both",
    ]
    rows = []
    for item in inputs:
        split = splits[item.label]
        if split.error:
            rows.append(_failed_row(item, split.error, len(headers)))
            continue
        for server in _server_labels(split):
            rows.append([item.label, server, *_http_cells(split, server)])
    return harness.markdown_table(headers, rows)


def _server_labels(split: Split) -> list[str]:
    """Return the rows of one input: each measured server and client, or failure."""
    return list(split.http) + [s for s in split.http_errors if s not in split.http]


def _http_cells(split: Split, server: str) -> list[str]:
    timing = split.http.get(server)
    if timing is None:
        reason = split.http_errors.get(server, "not measured")
        return [f"n/a ({reason})"] + ["–"] * 6
    return [
        _seconds(timing.latency),
        _seconds(timing.in_app),
        _seconds(timing.graphviz),
        f"{timing.share:.2f} ({_seconds(timing.ours)})",
        f"{timing.share_in_app:.2f} ({_seconds(timing.ours_in_app)})",
        f"{_seconds(timing.server_cpu)} / {_seconds(timing.graphviz_cpu)}",
        f"{timing.cpu_share:.2f}",
    ]


def _failed_row(item: BenchInput, error: str, width: int) -> list[str]:
    return [item.label, str(item.services), f"fails: {error}"] + [""] * (width - 3)


def _seconds(value: float | None) -> str:
    return "–" if value is None else harness.format_seconds(value)


def target(splits: dict[str, Split]) -> str:
    """Say whether our own work is at most a fifth of a new diagram on the example.

    The target is set for the running service, so the verdict is the
    service's own split (its request time less its Graphviz wait); the
    shares at the client and by CPU follow it, since the client's own work
    and the loopback count at the client too.
    """
    split = splits.get("example (issue 2)")
    timings = {} if split is None else split.http
    if not timings:
        return "- our work ≤ 0.2 × new HTTP diagram on the example: not measured"
    lines = []
    for server, timing in timings.items():
        verdict = "met" if timing.share_in_app <= 0.2 else "NOT met"
        lines.append(
            f"- {server}: our work ≤ 0.2 × a new HTTP diagram's time in the "
            f"service, on the example: {verdict} ({timing.share_in_app:.2f}: ours "
            f"{_seconds(timing.ours_in_app)} of {_seconds(timing.in_app)}); at the "
            f"client {timing.share:.2f} (ours {_seconds(timing.ours)} of "
            f"{_seconds(timing.latency)}, Graphviz {_seconds(timing.graphviz)}); "
            f"by CPU {timing.cpu_share:.2f}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer inputs and runs")
    parser.add_argument("--runs", type=int, help="timed runs per step (default 15)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per step")
    parser.add_argument("--sizes", help="generated stack sizes, e.g. 10,50,200,400")
    parser.add_argument("--corpus", type=Path, default=harness.DEFAULT_CORPUS)
    parser.add_argument("--no-corpus", action="store_true")
    parser.add_argument("--no-http", action="store_true", help="skip the server")
    parser.add_argument(
        "--wrk-seconds",
        type=int,
        default=3,
        help="whole seconds of wrk (one connection) per input and server; 0 skips",
    )
    parser.add_argument(
        "--statistic",
        choices=tuple(STATISTICS),
        default="median",
        help="median of the runs, or min (best of N) on a busy machine",
    )
    parser.add_argument("--name", default="split", help="results file stem")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table and write it to bench/results/."""
    global summarise
    args = parse_args(argv)
    summarise = STATISTICS[args.statistic]
    load = harness.load_warning()
    runs = args.runs or (5 if args.quick else 15)
    sizes = _sizes(args)
    corpus_files = harness.QUICK_CORPUS_FILES if args.quick else harness.CORPUS_FILES

    with tempfile.TemporaryDirectory(prefix="bench-split-") as tmp:
        inputs = harness.collect_inputs(
            Path(tmp),
            sizes=sizes,
            corpus=None if args.no_corpus else args.corpus,
            corpus_files=corpus_files,
        )
        splits = measure(
            inputs,
            runs,
            args.budget,
            with_http=not args.no_http,
            wrk_seconds=args.wrk_seconds,
        )

    markdown = "\n\n".join(
        part
        for part in [
            f"## Where one diagram's time goes ({args.statistic} per step)",
            f"Machine: {harness.machine_summary()}",
            load,
            split_table(inputs, splits),
            "## A new diagram over HTTP (Graphviz's part from Server-Timing)",
            http_table(inputs, splits) if not args.no_http else "",
            "## Target",
            target(splits),
        ]
        if part
    )
    print("\n" + markdown)
    raw = {label: dataclasses.asdict(split) for label, split in splits.items()}
    path = harness.write_results(args.name, markdown, raw, args.results_dir)
    print(f"\nWritten to {path}")
    return 0


def measure(
    inputs: list[BenchInput],
    runs: int,
    budget: float,
    *,
    with_http: bool,
    wrk_seconds: int = 0,
) -> dict[str, Split]:
    """Time every step of every input, then its new diagrams from each server."""
    splits: dict[str, Split] = {}
    for item in inputs:
        splits[item.label] = time_steps(item, runs, budget)
        print(f"  {item.label:<55} {_summary(splits[item.label])}", flush=True)
    if not with_http:
        return splits

    with tempfile.TemporaryDirectory(prefix="bench-split-log-") as tmp:
        for server, env in SERVERS.items():
            _measure_server(
                server, env, Path(tmp), inputs, splits, runs, budget, wrk_seconds
            )
    return splits


def _measure_server(
    server: str,
    env: dict[str, str],
    log_dir: Path,
    inputs: list[BenchInput],
    splits: dict[str, Split],
    runs: int,
    budget: float,
    wrk_seconds: int,
) -> None:
    log_path = log_dir / f"{server}.log"
    with log_path.open("ab") as log_file:
        running = harness.start_server(env, log=log_file)
    log = ServerLog(log_path)
    try:
        for item in inputs:
            split = splits[item.label]
            if split.error:
                continue
            try:
                split.http[f"{server}, httpx"] = time_http(
                    running, log, item, runs, budget
                )
                if wrk_seconds > 0 and shutil.which("wrk"):
                    split.http[f"{server}, wrk"] = time_http_wrk(
                        running, log, item, wrk_seconds
                    )
            except RuntimeError as exc:
                split.http_errors[server] = str(exc)
    finally:
        running.stop()


def _summary(split: Split) -> str:
    if split.error:
        return f"fails: {split.error}"
    return "  ".join(
        f"{step} {harness.format_seconds(value)}"
        for step, value in split.medians.items()
    )


def _sizes(args: argparse.Namespace) -> tuple[int, ...]:
    if args.sizes:
        return tuple(int(size) for size in args.sizes.split(",") if size)
    return harness.QUICK_SIZES if args.quick else harness.FULL_SIZES


if __name__ == "__main__":
    sys.exit(main())
