"""Split the time of one diagram into its steps, to show which share is ours.

In process, on the same inputs as ``bench_cli.py``: reading the files
(``service.discovery.load_project_input``), parsing and modelling
(``service.compose.parse_project``), building the DOT
(``service.render.dot.render_dot``) and the Graphviz layout
(``service.render.graphviz.render_graphviz``). Then the same diagram asked of
a running server (``compose-topology serve``) with a body it has never seen,
so nothing is cached: what the HTTP request costs beyond those steps is the
HTTP overhead. "Ours" is everything but Graphviz.

Usage: ``python bench/bench_split.py [--quick] [--runs N]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import BenchInput

STEPS = ("read", "parse", "dot", "graphviz", "http")

#: How the runs of one step are summed up: ``median`` by default; ``min``
#: (best of N) when other work shares the machine and inflates some runs.
Statistic = Callable[[Iterable[float]], float]
STATISTICS: dict[str, Statistic] = {"median": statistics.median, "min": min}
summarise: Statistic = statistics.median


@dataclass
class Split:
    """Median seconds per step for one input (absent when a step failed)."""

    medians: dict[str, float] = field(default_factory=dict)
    runs: int = 0
    dot_nodes: int = 0
    dot_edges: int = 0
    error: str = ""
    http_error: str = ""

    @property
    def http_overhead(self) -> float | None:
        """Return the HTTP time beyond parsing, drawing and layout."""
        if "http" not in self.medians:
            return None
        inner = sum(self.medians[step] for step in ("parse", "dot", "graphviz"))
        return self.medians["http"] - inner

    def ours_share(self, graphviz_step: str = "graphviz") -> float | None:
        """Return the share of a new HTTP diagram spent outside ``graphviz_step``.

        ``graphviz`` is the whole ``render_graphviz`` call (process start,
        temporary files, waiting for the exit included); ``dot_alone`` is the
        ``dot`` process by itself, timed from outside.
        """
        if "http" not in self.medians or graphviz_step not in self.medians:
            return None
        http = self.medians["http"]
        return (http - self.medians[graphviz_step]) / http


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


def time_http(server_url: str, item: BenchInput, runs: int, budget: float) -> float:
    """Return the median latency of new (never cached) diagrams of ``item``.

    Each request appends a different YAML comment, so the input's hash (the
    cache key) differs while the drawing stays the same.
    """
    import httpx

    text = item.path.read_text(encoding="utf-8")
    url = server_url + "/api/v1/diagram?format=svg"
    headers = {"Content-Type": "application/yaml"}
    timings: list[float] = []
    with httpx.Client(timeout=120) as client:
        for attempt in range(runs + 1):
            body = f"{text}\n# bench request {time.time_ns()} {attempt}\n"
            start = time.perf_counter()
            response = client.post(url, content=body.encode(), headers=headers)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                # e.g. a file whose env_file cannot travel in a raw body.
                raise RuntimeError(f"HTTP {response.status_code}")
            if attempt > 0:
                timings.append(elapsed)
            if sum(timings) > budget:
                break
    return summarise(timings)


def split_table(inputs: list[BenchInput], splits: dict[str, Split]) -> str:
    """Render the per-step medians with the ratios that matter."""
    headers = [
        "input",
        "services",
        "DOT nodes / edges",
        "read files",
        "parse + model",
        "build DOT",
        "Graphviz (render_graphviz, svg)",
        "dot alone",
        "new diagram over HTTP",
        "HTTP overhead",
        "ours ÷ HTTP diagram",
        "ours ÷ HTTP diagram, counting only dot as Graphviz",
    ]
    rows = []
    for item in inputs:
        split = splits[item.label]
        if split.error:
            rows.append(
                [item.label, str(item.services), f"fails: {split.error}"]
                + [""] * (len(headers) - 3)
            )
            continue
        rows.append(_split_row(item, split))
    return harness.markdown_table(headers, rows)


def _split_row(item: BenchInput, split: Split) -> list[str]:
    def cell(step: str) -> str:
        value = split.medians.get(step)
        return "–" if value is None else harness.format_seconds(value)

    def share(step: str) -> str:
        value = split.ours_share(step)
        return "–" if value is None else f"{value:.2f}"

    overhead = split.http_overhead
    http = f"n/a ({split.http_error})" if split.http_error else cell("http")
    return [
        item.label,
        str(item.services),
        f"{split.dot_nodes} / {split.dot_edges}",
        cell("read"),
        cell("parse"),
        cell("dot"),
        cell("graphviz"),
        cell("dot_alone"),
        http,
        "–" if overhead is None else harness.format_seconds(overhead),
        share("graphviz"),
        share("dot_alone"),
    ]


def target(splits: dict[str, Split]) -> str:
    """Say whether our own work is at most a fifth of a new diagram on the example."""
    split = splits.get("example (issue 2)")
    share = None if split is None else split.ours_share()
    if split is None or share is None:
        return "- our work ≤ 0.2 × new HTTP diagram on the example: not measured"
    verdict = "met" if share <= 0.2 else "NOT met"
    strict = split.ours_share("dot_alone")
    return (
        f"- our work ≤ 0.2 × new HTTP diagram on the example: {verdict} "
        f"({share:.2f} with render_graphviz as Graphviz; {strict or 0:.2f} "
        "counting only the dot process)"
    )


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
        splits = measure(inputs, runs, args.budget, with_http=not args.no_http)

    markdown = "\n\n".join(
        part
        for part in [
            f"## Where one diagram's time goes ({args.statistic} per step)",
            f"Machine: {harness.machine_summary()}",
            load,
            split_table(inputs, splits),
            "## Target",
            target(splits),
        ]
        if part
    )
    print("\n" + markdown)
    raw = {label: split.__dict__ for label, split in splits.items()}
    path = harness.write_results(args.name, markdown, raw, args.results_dir)
    print(f"\nWritten to {path}")
    return 0


def measure(
    inputs: list[BenchInput], runs: int, budget: float, *, with_http: bool
) -> dict[str, Split]:
    """Time every step of every input, and the HTTP request when asked."""
    server = harness.start_server() if with_http else None
    splits: dict[str, Split] = {}
    try:
        for item in inputs:
            split = time_steps(item, runs, budget)
            if server is not None and not split.error:
                try:
                    split.medians["http"] = time_http(server.url, item, runs, budget)
                except RuntimeError as exc:
                    split.http_error = str(exc)
            splits[item.label] = split
            print(f"  {item.label:<55} {_summary(split)}", flush=True)
    finally:
        if server is not None:
            server.stop()
    return splits


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
