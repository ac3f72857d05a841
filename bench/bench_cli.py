"""Time whole processes side by side: our CLI, compose-viz, the reference, and ``dot``.

For every input (the example of issue 2, real stacks from the corpus,
generated stacks) each tool turns the compose file into an SVG, from the
file's own directory, several times; the table shows medians, peak RSS and
ratios against compose-viz measured in the same run. ``dot alone`` runs
Graphviz on the DOT our CLI writes for that input: the floor no renderer
built on Graphviz can go below.

Usage: ``python bench/bench_cli.py [--quick] [--runs N] [--tools ...]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import harness
from harness import BenchInput, Sample, Series

TOOLS = ("ours", "compose-viz", "reference", "floor")
TOOL_TITLES = {
    "ours": "ours",
    "compose-viz": "compose-viz",
    "reference": "reference (alpha viz + dot)",
    "floor": "dot alone on our DOT",
}


def build_runners(
    item: BenchInput, tools: tuple[str, ...], fmt: str, outdir: Path
) -> dict[str, Callable[[], Sample]]:
    """Return one zero-argument runner per tool for ``item``."""
    runners: dict[str, Callable[[], Sample]] = {}
    cwd = item.directory
    name = item.path.name

    if "ours" in tools or "floor" in tools:
        ours = harness.ours_executable()
        ours_argv = [ours, "render", "-f", name, "-o", str(outdir / f"ours.{fmt}")]
        runners["ours"] = lambda: harness.run_command(ours_argv, cwd=cwd)
    if "compose-viz" in tools:
        cpv = str(harness.ensure_compose_viz())
        cviz_argv = [cpv, "-o", str(outdir / "compose-viz"), "-m", fmt, name]
        runners["compose-viz"] = lambda: harness.run_command(cviz_argv, cwd=cwd)
    if "reference" in tools:
        runners["reference"] = _reference_runner(item, fmt, outdir)
    if "floor" in tools:
        runners["floor"] = _floor_runner(item, fmt, outdir)
    if "ours" not in tools:
        runners.pop("ours", None)
    return runners


def _reference_runner(item: BenchInput, fmt: str, outdir: Path) -> Callable[[], Sample]:
    viz = [str(harness.reference_executable()), "-f", item.path.name, "alpha", "viz"]
    viz += ["--image", "--networks", "--ports"]
    dot = ["dot", f"-T{fmt}", "-o", str(outdir / f"reference.{fmt}")]
    env = harness.reference_env()
    return lambda: harness.run_pipeline([viz, dot], cwd=item.directory, env=env)


def _floor_runner(item: BenchInput, fmt: str, outdir: Path) -> Callable[[], Sample]:
    dot_file = outdir / "ours.dot"
    argv = [harness.ours_executable(), "render", "-f", item.path.name]
    made = harness.run_command([*argv, "-o", str(dot_file)], cwd=item.directory)
    if made.returncode != 0:
        return lambda: made
    floor = ["dot", f"-T{fmt}", "-o", str(outdir / f"floor.{fmt}"), str(dot_file)]
    return lambda: harness.run_command(floor)


def measure_inputs(
    inputs: list[BenchInput],
    tools: tuple[str, ...],
    *,
    fmt: str,
    runs: int,
    budget: float,
) -> dict[str, dict[str, Series]]:
    """Run every tool on every input; return series by input label, then tool."""
    results: dict[str, dict[str, Series]] = {}
    for item in inputs:
        with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
            runners = build_runners(item, tools, fmt, Path(tmp))
            results[item.label] = {}
            for tool in tools:
                series = harness.repeat(runners[tool], runs, budget)
                results[item.label][tool] = series
                print(f"  {item.label:<55} {tool:<12} {_cell(series)}", flush=True)
    return results


def measure_startup(runs: int) -> dict[str, Series]:
    """Time the bare interpreter and our CLI's ``--help``: the start-up floor."""
    python = [sys.executable, "-c", "pass"]
    cli_help = [harness.ours_executable(), "--help"]
    return {
        "python -c pass": harness.repeat(lambda: harness.run_command(python), runs, 10),
        "compose-topology --help": harness.repeat(
            lambda: harness.run_command(cli_help), runs, 10
        ),
    }


def _cell(series: Series) -> str:
    failed = series.failed
    if failed is not None:
        return f"fails ({failed.error})"
    return harness.format_seconds(series.median)


def _memory_cell(series: Series | None) -> str:
    if series is None:
        return "–"
    failed = series.failed
    suffix = " (failed)" if failed is not None else ""
    return f"{series.peak_rss_mb:.0f}{suffix}"


def _ratio(results: dict[str, Series], numerator: str, denominator: str) -> str:
    top, bottom = results.get(numerator), results.get(denominator)
    if top is None or bottom is None or top.failed or bottom.failed:
        return "–"
    return harness.format_ratio(top.median, bottom.median)


def time_table(
    inputs: list[BenchInput],
    results: dict[str, dict[str, Series]],
    tools: tuple[str, ...],
) -> str:
    """Render medians and ratios (ours against compose-viz, reference and floor)."""
    headers = ["input", "services", *(TOOL_TITLES[t] for t in tools)]
    headers += ["ours ÷ compose-viz", "ours ÷ reference", "dot alone ÷ ours", "runs"]
    rows = []
    for item in inputs:
        by_tool = results[item.label]
        row = [item.label, str(item.services)]
        row += [_short_cell(by_tool[t]) for t in tools]
        row.append(_ratio(by_tool, "ours", "compose-viz"))
        row.append(_ratio(by_tool, "ours", "reference"))
        row.append(_ratio(by_tool, "floor", "ours"))
        row.append("/".join(str(len(by_tool[t].samples)) for t in tools))
        rows.append(row)
    return harness.markdown_table(headers, rows)


def _short_cell(series: Series) -> str:
    return "fails¹" if series.failed else harness.format_seconds(series.median)


def cpu_table(
    inputs: list[BenchInput],
    results: dict[str, dict[str, Series]],
    tools: tuple[str, ...],
) -> str:
    """Render median CPU time (user + system of the process tree) per tool."""
    headers = ["input", *(TOOL_TITLES[t] for t in tools), "ours ÷ compose-viz"]
    rows = []
    for item in inputs:
        by_tool = results[item.label]
        row = [item.label]
        row += [
            "–" if by_tool[t].failed else harness.format_seconds(by_tool[t].median_cpu)
            for t in tools
        ]
        ours, cviz = by_tool.get("ours"), by_tool.get("compose-viz")
        ratio = "–"
        if ours is not None and cviz is not None and not (ours.failed or cviz.failed):
            ratio = harness.format_ratio(ours.median_cpu, cviz.median_cpu)
        rows.append([*row, ratio])
    return harness.markdown_table(headers, rows)


def memory_table(
    inputs: list[BenchInput],
    results: dict[str, dict[str, Series]],
    tools: tuple[str, ...],
) -> str:
    """Render the peak RSS of each tool, in MiB, with ours against compose-viz."""
    headers = ["input", *(f"{TOOL_TITLES[t]} (MiB)" for t in tools)]
    headers.append("ours ÷ compose-viz")
    rows = []
    for item in inputs:
        by_tool = results[item.label]
        row = [item.label, *(_memory_cell(by_tool.get(t)) for t in tools)]
        ours, cviz = by_tool.get("ours"), by_tool.get("compose-viz")
        ratio = "–"
        if ours is not None and cviz is not None and not (ours.failed or cviz.failed):
            ratio = harness.format_ratio(ours.peak_rss_mb, cviz.peak_rss_mb)
        row.append(ratio)
        rows.append(row)
    return harness.markdown_table(headers, rows)


def failures_note(results: dict[str, dict[str, Series]]) -> str:
    """List the runs that failed, with the tool's own last error line."""
    lines = []
    for label, by_tool in results.items():
        for tool, series in by_tool.items():
            failed = series.failed
            if failed is not None:
                lines.append(
                    f"- {tool} on {label}: exit {failed.returncode}, `{failed.error}`"
                )
    if not lines:
        return ""
    return "¹ Failed runs (the tool rejects or crashes on this input):\n\n" + "\n".join(
        lines
    )


def startup_table(startup: dict[str, Series]) -> str:
    """Render the process start-up floor."""
    rows = [
        [name, harness.format_seconds(s.median), f"{s.peak_rss_mb:.0f}"]
        for name, s in startup.items()
    ]
    return harness.markdown_table(["command", "median", "peak RSS (MiB)"], rows)


def targets(results: dict[str, dict[str, Series]]) -> str:
    """Say whether ours is at most half of compose-viz's time where issue 7 asks."""
    lines = []
    for label in ("example (issue 2)", "generated 200"):
        by_tool = results.get(label, {})
        ours, cviz = by_tool.get("ours"), by_tool.get("compose-viz")
        if ours is not None and ours.failed is not None:
            reason = f"ours fails (exit {ours.failed.returncode})"
            lines.append(f"- ours ≤ 0.5 × compose-viz on {label}: NOT met, {reason}")
            continue
        if ours is None or cviz is None or cviz.failed:
            lines.append(f"- ours ≤ 0.5 × compose-viz on {label}: not measured")
            continue
        ratio = ours.median / cviz.median
        verdict = "met" if ratio <= 0.5 else "NOT met"
        lines.append(f"- ours ≤ 0.5 × compose-viz on {label}: {verdict} ({ratio:.2f}×)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer inputs and runs")
    parser.add_argument("--runs", type=int, help="timed runs per cell (default 5)")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per cell")
    parser.add_argument("--sizes", help="generated stack sizes, e.g. 10,50,200,400")
    parser.add_argument(
        "--tools", default=",".join(TOOLS), help="subset of " + ",".join(TOOLS)
    )
    parser.add_argument("--format", default="svg", choices=("svg", "png"))
    parser.add_argument("--corpus", type=Path, default=harness.DEFAULT_CORPUS)
    parser.add_argument("--no-corpus", action="store_true")
    parser.add_argument("--no-example", action="store_true")
    parser.add_argument("--name", default="cli", help="results file stem")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables and write them to bench/results/."""
    args = parse_args(argv)
    load = harness.load_warning()
    tools = tuple(t for t in TOOLS if t in args.tools.split(","))
    runs = args.runs or (3 if args.quick else 5)
    sizes = _sizes(args)
    corpus_files = harness.QUICK_CORPUS_FILES if args.quick else harness.CORPUS_FILES

    with tempfile.TemporaryDirectory(prefix="bench-stacks-") as tmp:
        inputs = harness.collect_inputs(
            Path(tmp),
            sizes=sizes,
            corpus=None if args.no_corpus else args.corpus,
            corpus_files=corpus_files,
            with_example=not args.no_example,
        )
        print(f"Timing {len(inputs)} inputs × {len(tools)} tools, {runs} runs each")
        results = measure_inputs(
            inputs, tools, fmt=args.format, runs=runs, budget=args.budget
        )
    startup = measure_startup(runs) if "ours" in tools else {}

    markdown = _report(inputs, results, tools, startup, args.format, load)
    print("\n" + markdown)
    raw = {
        label: {
            tool: [s.__dict__ for s in series.samples] for tool, series in by.items()
        }
        for label, by in results.items()
    }
    path = harness.write_results(args.name, markdown, raw, args.results_dir)
    print(f"\nWritten to {path}")
    return 0


def _sizes(args: argparse.Namespace) -> tuple[int, ...]:
    if args.sizes:
        return tuple(int(size) for size in args.sizes.split(",") if size)
    return harness.QUICK_SIZES if args.quick else harness.FULL_SIZES


def _report(
    inputs: list[BenchInput],
    results: dict[str, dict[str, Series]],
    tools: tuple[str, ...],
    startup: dict[str, Series],
    fmt: str,
    load: str,
) -> str:
    parts = [
        f"## Whole process, compose file to {fmt.upper()} (median wall-clock time)",
        f"Machine: {harness.machine_summary()}",
        load,
        time_table(inputs, results, tools),
        failures_note(results),
        "## CPU time (user + system, median)",
        cpu_table(inputs, results, tools),
        "## Peak memory (RSS of the largest process in each tool's tree)",
        memory_table(inputs, results, tools),
    ]
    if startup:
        parts += ["## Process start-up", startup_table(startup)]
    parts += ["## Targets", targets(results)]
    return "\n\n".join(part for part in parts if part)


if __name__ == "__main__":
    sys.exit(main())
