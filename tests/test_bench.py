"""Keep the benchmark scripts runnable: the generator, and each harness on tiny input.

The benchmarks are not part of the suite; these tests only prove that the
scripts still start, measure and write their tables after the code they
time has changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compose.reference import run_compose

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"

sys.path.insert(0, str(BENCH_DIR))
from bench_layout import with_attributes  # noqa: E402
from generate_stack import build_stack, render_stack  # noqa: E402
from harness import CpuReading  # noqa: E402

sys.path.remove(str(BENCH_DIR))


@pytest.mark.parametrize("size", [1, 2, 8, 9, 17, 50], ids=lambda n: f"{n}-services")
def test_generate_stack_any_size_has_exactly_that_many_services(size: int) -> None:
    document = build_stack(size)

    assert len(document["services"]) == size
    assert "gateway" in document["services"]


@pytest.mark.parametrize("size", [1, 9, 37], ids=lambda n: f"{n}-services")
def test_generate_stack_any_cut_refers_only_to_declared_names(size: int) -> None:
    document = build_stack(size)
    services: dict[str, Any] = document["services"]

    for service in services.values():
        assert set(service.get("depends_on", [])) <= set(services)
        assert set(service["networks"]) <= set(document["networks"])
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith("./") or source in document["volumes"]


def test_generate_stack_fifty_services_shares_built_images_and_mixes_exposure() -> None:
    services = build_stack(50)["services"]

    runners_of_app0 = [
        name
        for name, service in services.items()
        if service["image"] == "registry.example.com/stack/app-0:1.0"
    ]
    ports = [port for service in services.values() for port in service.get("ports", [])]

    assert runners_of_app0 == ["api-0", "worker-0", "scheduler-0", "migrate-0"]
    assert any(port.startswith("127.0.0.1:") for port in ports)
    assert "80:80" in ports
    assert any(":" not in port for port in ports)


def test_render_stack_same_size_gives_same_bytes() -> None:
    text = render_stack(20)

    assert text == render_stack(20)
    assert yaml.safe_load(text)["name"] == "stack-20"


@pytest.mark.reference
def test_generate_stack_reference_compose_accepts_it(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(render_stack(37))

    result = run_compose(["-f", "compose.yaml", "config", "--services"], tmp_path)

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 37


def test_generate_stack_cli_writes_file(tmp_path: Path) -> None:
    output = tmp_path / "stack" / "compose.yaml"

    _run_script("generate_stack.py", "12", "-o", str(output))

    assert len(yaml.safe_load(output.read_text())["services"]) == 12


def test_bench_cli_quick_tiny_input_writes_table(tmp_path: Path) -> None:
    stdout = _run_script(
        "bench_cli.py",
        "--quick",
        "--no-corpus",
        "--sizes",
        "3",
        "--tools",
        "ours,floor",
        "--runs",
        "1",
        "--results-dir",
        str(tmp_path),
    )

    table = (tmp_path / "cli.md").read_text()
    assert "| generated 3 | 3 |" in table
    assert "| example (issue 2) | 6 |" in table
    assert "fails" not in table
    assert "Peak memory" in stdout


def test_bench_split_quick_tiny_input_times_every_step(tmp_path: Path) -> None:
    _run_script(
        "bench_split.py",
        "--quick",
        "--no-corpus",
        "--sizes",
        "3",
        "--runs",
        "1",
        "--wrk-seconds",
        "1",
        "--results-dir",
        str(tmp_path),
    )

    table = (tmp_path / "split.md").read_text()
    steps, *http = [
        line for line in table.splitlines() if line.startswith("| generated 3")
    ]
    clients = ["httpx", "wrk"] if shutil.which("wrk") else ["httpx"]
    assert "fails" not in steps
    assert steps.count(" ms |") + steps.count(" s |") == 5
    assert [row.split(" | ")[1] for row in http] == [
        f"{server}, {client}" for server in ("spares", "cold") for client in clients
    ]
    assert all("n/a" not in row and row.count(" ms") == 7 for row in http)


def test_bench_http_quick_python_client_loads_every_endpoint(tmp_path: Path) -> None:
    _run_script(
        "bench_http.py",
        "--quick",
        "--client",
        "python",
        "--seconds",
        "0.3",
        "--connections",
        "2",
        "--results-dir",
        str(tmp_path),
    )

    table = (tmp_path / "http.md").read_text()
    assert "GET /livez (ceiling)" in table
    assert "new diagram" in table
    lines = table.splitlines()
    first_row = (
        lines.index(next(line for line in lines if line.startswith("| --- "))) + 1
    )
    rows = lines[first_row : first_row + 5]
    errors = [row.rstrip(" |").rsplit("|", 1)[1].strip() for row in rows]
    assert errors == ["0"] * 5


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"newrank": "false"}, 'graph [id="g", newrank="false", label=<<B>x</B>>]'),
        (
            {"splines": "ortho"},
            'graph [id="g", newrank="true", label=<<B>x</B>>, splines="ortho"]',
        ),
    ],
    ids=["replaces-shipped-value", "appends-new-setting"],
)
def test_with_attributes_root_graph_line_gets_setting(
    attributes: dict[str, str], expected: str
) -> None:
    dot_text = 'digraph "t" {\n  graph [id="g", newrank="true", label=<<B>x</B>>]\n}\n'

    changed = with_attributes(dot_text, attributes)

    assert changed.splitlines()[1].strip() == expected


def _run_script(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH_DIR / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("before", "after", "seconds"),
    [
        pytest.param(
            {"1": 10**9, "2": 10**9},
            {"1": 2 * 10**9, "2": 10**9},
            1.0,
            id="same-threads-nanoseconds",
        ),
        pytest.param(
            {"1": 10**9}, {"1": 10**9, "3": 5 * 10**8}, 0.5, id="new-thread-counted"
        ),
        pytest.param(
            {"1": 10**9, "2": 9 * 10**9},
            {"1": 2 * 10**9},
            3.0,
            id="exited-thread-falls-back-to-ticks",
        ),
    ],
)
def test_cpu_reading_seconds_since_never_loses_an_exited_thread(
    before: dict[str, int], after: dict[str, int], seconds: float
) -> None:
    earlier = CpuReading(before, process_seconds=10.0)
    later = CpuReading(after, process_seconds=13.0)

    assert later.seconds_since(earlier) == pytest.approx(seconds)
