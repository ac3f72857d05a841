"""The load script: a short real run survives cleanly, and its verdict is right."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

LOAD_SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "load.py"
MB = 1_000_000


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", LOAD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


load = _load_module()


def test_short_mixed_load_has_no_5xx_and_no_leftover_graphviz(tmp_path: Path) -> None:
    figures_path = tmp_path / "load.json"
    # As shipped: Graphviz spares on. The script does not count a spare
    # waiting for the next diagram as left over, only dot that still runs.
    environ = dict(os.environ)

    completed = subprocess.run(
        [
            sys.executable,
            str(LOAD_SCRIPT),
            "--rounds=2",
            "--duration=2",
            "--warmup=1",
            "--cache-entries=8",
            "--idle=0.5",
            "--clients=4",
            f"--json={figures_path}",
            f"--log={tmp_path / 'server.log'}",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=environ,
    )

    # A two-second round cannot settle memory, so the exit status (which
    # judges memory too) is not asserted; every other failure is.
    assert figures_path.exists(), completed.stdout + completed.stderr
    figures = json.loads(figures_path.read_text())
    assert figures["server_errors_5xx"] == 0
    assert figures["leftover_graphviz_processes"] == 0
    # Renders are bounded by the slots, and the spares waiting by one per
    # slot for each of the three Graphviz formats.
    slots = figures["render_slots"]
    assert 1 <= figures["peak_graphviz_processes"] <= slots + 3 * slots
    assert set(figures["by_kind"]) == {"new", "cached", "bad"}
    assert figures["warmup_new_diagrams"] >= figures["cache_entries"] == 8
    assert [each["round"] for each in figures["per_round"]] == [1, 2]
    assert figures["rss_baseline_mb"] > 0
    assert all("memory" in failure.lower() for failure in figures["failures"])
    assert "| Requests per second |" in completed.stdout
    assert "| warm-up (baseline) |" in completed.stdout
    log = (tmp_path / "server.log").read_text()
    assert "load-secret" not in log
    assert "Traceback" not in log


def _report(
    after_idle_mb: list[float], new_diagrams: int = 300, server_errors: int = 0
) -> Any:
    """Return a report of rounds ending at these megabytes, on an 80 MB baseline."""
    warm = load.WarmUp(
        seconds=30, new_diagrams=new_diagrams, cache_entries=256, rss=80 * MB
    )
    rounds = []
    for number, megabytes in enumerate(after_idle_mb, start=1):
        tally = load.Tally()
        tally.add("new", 200, 0.2)
        tally.add("bad", 503 if server_errors else 400, 0.1)
        rounds.append(
            load.Round(
                number=number,
                seconds=30,
                tally=tally,
                rss_peak=int(95 * MB),
                rss_after_idle=int(megabytes * MB),
                peak_graphviz=2,
                leftover_graphviz=0,
                load_average=1.0,
            )
        )
    return load.Report(
        clients=8,
        slots=2,
        tolerance=0.15,
        rss_cold=55 * MB,
        load_average_start=1.0,
        warm=warm,
        rounds=rounds,
    )


@pytest.mark.parametrize(
    ("after_idle_mb", "expected"),
    [
        pytest.param([88, 84, 91], True, id="wandering-within-tolerance"),
        pytest.param([85, 90, 95], False, id="growing-past-tolerance"),
        pytest.param([70, 72], True, id="below-baseline"),
    ],
)
def test_report_memory_after_rounds_judged_against_warm_baseline(
    after_idle_mb: list[float], expected: bool
) -> None:
    report = _report(after_idle_mb)

    assert report.is_back_to_baseline is expected
    has_memory_failure = any("Memory" in failure for failure in report.failures())
    assert has_memory_failure is not expected


def test_report_cache_not_filled_leaves_memory_unjudged_and_fails() -> None:
    report = _report([85, 86], new_diagrams=100)

    assert report.is_back_to_baseline is None
    assert any("raise --warmup" in failure for failure in report.failures())


def test_report_server_error_fails_and_is_counted() -> None:
    report = _report([85], server_errors=1)

    figures = report.figures()

    assert figures["server_errors_5xx"] == 1
    assert figures["per_round"][0]["server_errors_5xx"] == 1
    assert "1 answers were 5xx." in figures["failures"]
