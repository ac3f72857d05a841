"""Time Graphviz on our own DOT under other layout settings, to find cheaper ones.

For each input our CLI writes its DOT once; then ``dot -Tsvg`` lays it out
with the graph attributes as we ship them and with one setting changed at a
time (spline routing, the network-simplex and mincross iteration limits,
the search size, ``newrank``). Each variant's time is a ratio to the shipped
settings, measured in the same run. Settings that change the picture
(``splines``) are listed so their cost is known, not as advice to switch.

Usage: ``python bench/bench_layout.py [--quick] [--sizes 50,200]``
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import harness
from harness import BenchInput, Sample, Series

#: Graph attributes each variant sets (replacing the shipped value if any).
VARIANTS: dict[str, dict[str, str]] = {
    "as shipped": {},
    "splines=polyline": {"splines": "polyline"},
    "splines=line": {"splines": "line"},
    "splines=ortho": {"splines": "ortho"},
    "nslimit=2, nslimit1=2": {"nslimit": "2", "nslimit1": "2"},
    "mclimit=0.3": {"mclimit": "0.3"},
    "searchsize=10": {"searchsize": "10"},
    "remincross=false": {"remincross": "false"},
    "newrank=false": {"newrank": "false"},
}
QUICK_VARIANTS = ("as shipped", "splines=polyline", "mclimit=0.3")

_GRAPH_LINE = re.compile(r"^(\s*graph \[)(.*)\]\s*$", re.M)


def with_attributes(dot_text: str, attributes: dict[str, str]) -> str:
    """Return ``dot_text`` with the root graph's attributes set to ``attributes``.

    The first ``graph [...]`` statement is the root graph's (our DOT writer
    puts it first); a value already there is replaced, a new one appended.
    """
    match = _GRAPH_LINE.search(dot_text)
    if match is None:
        raise ValueError("The DOT text has no graph attribute statement.")
    body = match.group(2)
    for name, value in attributes.items():
        setting = f'{name}="{value}"'
        pattern = re.compile(rf'(?<![\w-]){re.escape(name)}="[^"]*"')
        if pattern.search(body):
            body = pattern.sub(setting, body, count=1)
        else:
            body = f"{body}, {setting}"
    start, end = match.span()
    return f"{dot_text[:start]}{match.group(1)}{body}]{dot_text[end:]}"


def write_our_dot(item: BenchInput, outdir: Path) -> Path | None:
    """Write our DOT for ``item``; None when our CLI rejects the input."""
    target = outdir / "ours.dot"
    argv = [harness.ours_executable(), "render", "-f", item.path.name]
    made = harness.run_command([*argv, "-o", str(target)], cwd=item.directory)
    return target if made.returncode == 0 else None


def time_variants(
    dot_file: Path, names: tuple[str, ...], runs: int, budget: float
) -> dict[str, Series]:
    """Lay out ``dot_file`` under each variant; return the series by name."""
    shipped = dot_file.read_text(encoding="utf-8")
    results: dict[str, Series] = {}
    for name in names:
        variant = dot_file.with_name(f"variant-{len(results)}.dot")
        variant.write_text(with_attributes(shipped, VARIANTS[name]), encoding="utf-8")
        argv = ["dot", "-Tsvg", "-o", str(variant.with_suffix(".svg")), str(variant)]
        results[name] = harness.repeat(_runner(argv), runs, budget)
    return results


def _runner(argv: list[str]) -> Callable[[], Sample]:
    return lambda: harness.run_command(argv)


def variants_table(
    inputs: list[BenchInput],
    results: dict[str, dict[str, Series]],
    names: tuple[str, ...],
) -> str:
    """Render one row per input: each variant's median and ratio to as shipped."""
    headers = ["input", "services", *names]
    rows = []
    for item in inputs:
        by_name = results.get(item.label)
        if by_name is None:
            rows.append([item.label, str(item.services), "our CLI rejects it"])
            continue
        rows.append([item.label, str(item.services), *_cells(by_name, names)])
    return harness.markdown_table(headers, rows)


def _cells(by_name: dict[str, Series], names: tuple[str, ...]) -> list[str]:
    shipped = by_name["as shipped"]
    cells = []
    for name in names:
        series = by_name[name]
        failed = series.failed
        if failed is not None:
            killed = failed.error.startswith("killed")
            cells.append(failed.error if killed else "fails")
        elif name == "as shipped" or shipped.failed:
            cells.append(harness.format_seconds(series.median_cpu))
        else:
            ratio = harness.format_ratio(series.median_cpu, shipped.median_cpu)
            cells.append(f"{harness.format_seconds(series.median_cpu)} ({ratio})")
    return cells


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer inputs, variants")
    parser.add_argument("--runs", type=int, help="timed runs per variant (default 5)")
    parser.add_argument("--budget", type=float, default=15.0, help="seconds per cell")
    parser.add_argument("--sizes", help="generated stack sizes (default 50,200,400)")
    parser.add_argument("--corpus", type=Path, default=harness.DEFAULT_CORPUS)
    parser.add_argument("--name", default="layout", help="results file stem")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table and write it to bench/results/."""
    args = parse_args(argv)
    busy = harness.load_warning()
    runs = args.runs or (3 if args.quick else 5)
    names = QUICK_VARIANTS if args.quick else tuple(VARIANTS)
    sizes: tuple[int, ...] = (50,) if args.quick else (50, 200, 400)
    if args.sizes:
        sizes = tuple(int(size) for size in args.sizes.split(",") if size)

    results: dict[str, dict[str, Series]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-layout-") as tmp:
        inputs = harness.collect_inputs(
            Path(tmp),
            sizes=sizes,
            corpus=args.corpus,
            corpus_files=() if args.quick else ("opentelemetry-demo/compose.yaml",),
        )
        for item in inputs:
            outdir = Path(tmp) / f"out-{len(results)}"
            outdir.mkdir()
            dot_file = write_our_dot(item, outdir)
            if dot_file is not None:
                results[item.label] = time_variants(dot_file, names, runs, args.budget)
                print(f"  {item.label} done", flush=True)

    markdown = "\n\n".join(
        part
        for part in [
            "## Graphviz layout of our DOT under other settings (median CPU time, svg)",
            "CPU time (user + system of `dot`) rather than wall-clock time: `dot` "
            "is single-threaded, and CPU time stays comparable when other work "
            "shares the machine.",
            f"Machine: {harness.machine_summary()}",
            busy,
            variants_table(inputs, results, names),
        ]
        if part
    )
    print("\n" + markdown)
    raw = {
        label: {
            name: [s.__dict__ for s in series.samples] for name, series in by.items()
        }
        for label, by in results.items()
    }
    path = harness.write_results(args.name, markdown, raw, args.results_dir)
    print(f"\nWritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
