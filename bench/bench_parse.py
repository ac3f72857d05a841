"""Time reading and modelling compose files, against plain YAML loading as a baseline.

For every corpus file Docker Compose accepts, and for generated stacks of 10,
100 and 1000 services, this times ``parse_project`` (YAML, interpolation,
merge, validation and the topology model) and, in the same run, PyYAML's
safe loader on the same text (told to accept Compose's tags). Figures are
medians; the ratio says how many times the baseline our full reading costs,
which stays comparable across machines where absolute times do not.

Usage: ``python bench/bench_parse.py [--runs N]``
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_stack import render_stack  # noqa: E402

from service.compose import parse_project  # noqa: E402
from service.compose.inputs import ComposeFile, ProjectInput  # noqa: E402
from service.errors import InputError  # noqa: E402
from service.files import DirectorySource  # noqa: E402
from service.limits import Limits  # noqa: E402

CORPUS = Path("/work/shared/corpus")
SIZES = (10, 100, 1000)
#: Generous bounds so the 1000-service stack is measured rather than refused.
BENCH_LIMITS = Limits(max_services=5_000, max_ports=100_000, max_yaml_nodes=2_000_000)


class BaselineLoader(yaml.SafeLoader):
    """PyYAML's safe loader, told to accept Compose's ``!reset``/``!override`` tags."""


BaselineLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def load_baseline(text: str) -> object:
    """Load ``text`` with plain PyYAML: the baseline every figure is divided by."""
    return yaml.load(text, Loader=BaselineLoader)  # noqa: S506


@dataclass(frozen=True)
class Case:
    """One input to time: its label, text and project folder."""

    label: str
    text: str
    directory: Path
    name: str = "compose.yaml"


def median_seconds(call: Callable[[], object], runs: int) -> float:
    """Return the median wall time of ``runs`` calls of ``call``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def corpus_cases() -> list[Case]:
    """Return every corpus file Compose accepts on its own."""
    manifest = CORPUS / "MANIFEST.tsv"
    with manifest.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    cases = []
    for row in rows:
        if row["reference_ok"] != "yes":
            continue
        path = CORPUS / row["path"]
        text = path.read_text(encoding="utf-8")
        cases.append(Case(row["path"], text, path.parent, path.name))
    return cases


def parse_case(case: Case) -> None:
    """Read one case into the topology model."""
    dotenv = case.directory / ".env"
    env_file = None
    if dotenv.is_file():
        env_file = ComposeFile(".env", dotenv.read_text(encoding="utf-8"))
    project_input = ProjectInput(
        files=(ComposeFile(case.name, case.text),),
        env_file=env_file,
        project_directory=str(case.directory),
        sources=DirectorySource(case.directory),
    )
    parse_project(project_input, BENCH_LIMITS)


def time_cases(cases: list[Case], runs: int) -> tuple[float, float, int]:
    """Return total median seconds for ours and the baseline, and failures."""
    ours = baseline = 0.0
    failures = 0
    for case in cases:
        try:
            parse_case(case)
        except InputError:
            failures += 1
            continue
        ours += median_seconds(lambda c=case: parse_case(c), runs)
        baseline += median_seconds(lambda c=case: load_baseline(c.text), runs)
    return ours, baseline, failures


def main(argv: list[str] | None = None) -> int:
    """Print a table of timings, one row for the corpus and one per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="repeats per input")
    options = parser.parse_args(argv)

    rows = []
    if CORPUS.is_dir():
        cases = corpus_cases()
        ours, baseline, failures = time_cases(cases, options.runs)
        label = f"corpus ({len(cases) - failures} files, total)"
        rows.append((label, ours, baseline))
    for size in SIZES:
        case = Case(f"generated, {size} services", render_stack(size), Path("/bench"))
        ours, baseline, _ = time_cases([case], options.runs)
        rows.append((case.label, ours, baseline))

    print("| input | parse_project | PyYAML safe load | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for label, ours, baseline in rows:
        ratio = ours / baseline if baseline else float("nan")
        timings = f"{ours * 1000:.1f} ms | {baseline * 1000:.1f} ms"
        print(f"| {label} | {timings} | {ratio:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
