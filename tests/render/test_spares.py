"""Graphviz spares: the same bytes as a cold run, sooner, and never a worse answer.

A spare counts as used when the render started exactly one process (the
replacement, on a stdin pipe) and the spare's own process is gone after it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from service.compose import ComposeFile, ProjectInput, parse_project
from service.errors import (
    GraphvizMissingError,
    LimitExceededError,
    RenderFailedError,
    RenderTimeoutError,
)
from service.example import EXAMPLE_COMPOSE
from service.files import DirectorySource
from service.limits import Limits
from service.render import graphviz, is_graphviz_available, render_dot
from service.render.graphviz import GraphvizRun, render_graphviz
from service.render.options import DiagramOptions
from service.render.spares import GraphvizSpares
from tests.processes import is_alive, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from generate_stack import render_stack  # noqa: E402

pytestmark = pytest.mark.skipif(
    not is_graphviz_available(), reason="Graphviz dot is not installed"
)

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus")

#: Corpus stacks with several services, networks and (for some) a .env file.
CORPUS_STACKS = (
    "opentelemetry-demo/compose.yaml",
    "netbox-docker/docker-compose.yml",
    "docker-jitsi-meet/docker-compose.yml",
    "docker-compose/pkg/e2e/fixtures/network-test/compose.yaml",
    "awesome-compose/nginx-nodejs-redis/compose.yaml",
)
FORMATS = ("svg", "png", "pdf")
LIMITS = Limits()


def _slow_dot(nodes: int = 1500) -> str:
    """Return a graph that takes Graphviz far longer than a few milliseconds."""
    edges = "\n".join(f"n{i} -> n{(i * 7919) % nodes};" for i in range(nodes))
    more = "\n".join(f"n{i} -> n{(i * 104729 + 3) % nodes};" for i in range(nodes))
    return f"digraph g {{\n{edges}\n{more}\n}}\n"


def _dot_of(text: str, folder: Path | None = None) -> str:
    """Return our DOT for compose ``text`` (read from ``folder`` when given)."""
    if folder is None:
        project_input = ProjectInput(files=(ComposeFile("compose.yaml", text),))
    else:
        dotenv = folder / ".env"
        project_input = ProjectInput(
            files=(ComposeFile("compose.yaml", text),),
            env_file=ComposeFile(".env", dotenv.read_text())
            if dotenv.is_file()
            else None,
            project_directory=str(folder),
            sources=DirectorySource(folder),
        )
    project = parse_project(project_input, LIMITS)
    return render_dot(project, DiagramOptions(), LIMITS)


def _corpus_dot(name: str) -> str:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"The corpus file {name} is not here.")
    return _dot_of(path.read_text(), path.parent)


DOTS: dict[str, Callable[[], str]] = {
    "example": lambda: _dot_of(EXAMPLE_COMPOSE),
    "generated-50": lambda: _dot_of(render_stack(50)),
    **{name: (lambda name=name: _corpus_dot(name)) for name in CORPUS_STACKS},  # type: ignore[misc]
}


@dataclass
class Spawned:
    """The processes started while a test watched ``subprocess.Popen``."""

    runs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def piped(self) -> list[subprocess.Popen[bytes]]:
        """Return the processes started on a stdin pipe (spares)."""
        return [run for run in self.runs if run.stdin is not None]

    def clear(self) -> None:
        self.runs.clear()


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> Spawned:
    """Record every process the renderer starts."""
    record = Spawned()
    real_popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process: subprocess.Popen[bytes] = real_popen(*args, **kwargs)
        record.runs.append(process)
        return process

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    return record


@pytest.fixture
def pool() -> Iterator[GraphvizSpares]:
    """Return a pool of one spare per format, closed after the test."""
    spares = GraphvizSpares(LIMITS, per_format=1)
    yield spares
    spares.close()


def is_dot_now(pid: int) -> bool:
    """Tell whether process ``pid`` has become the real ``dot``."""
    dot = graphviz.find_dot()
    assert dot is not None
    try:
        return os.readlink(f"/proc/{pid}/exe") == os.path.realpath(dot)
    except OSError:
        return False


def ready_spare(pool: GraphvizSpares, fmt: str) -> int:
    """Make ``pool`` hold a spare of ``fmt`` that has become ``dot``; return its pid."""
    if not pool.idle_pids(fmt):
        pool.render("digraph { a }", fmt, pool.limits)
    wait_for(lambda: bool(pool.idle_pids(fmt)))
    pid = pool.idle_pids(fmt)[0]
    wait_for(lambda: is_dot_now(pid))
    return pid


def render_on_spare(
    pool: GraphvizSpares, spawned: Spawned, dot_text: str, fmt: str
) -> bytes:
    """Render ``dot_text`` on a ready spare, checking the spare did the work."""
    pid = ready_spare(pool, fmt)
    spawned.clear()

    output = pool.render(dot_text, fmt, pool.limits)

    assert len(spawned.runs) == len(spawned.piped()) == 1, "the render ran cold"
    assert not is_alive(pid)
    return output


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stack", list(DOTS))
def test_render_on_spare_any_stack_matches_cold_run_byte_for_byte(
    pool: GraphvizSpares, spawned: Spawned, stack: str, fmt: str
) -> None:
    dot_text = DOTS[stack]()
    cold = render_graphviz(dot_text, fmt, LIMITS)

    warm = render_on_spare(pool, spawned, dot_text, fmt)

    assert warm == cold


def test_render_on_spare_many_clusters_matches_cold_run_every_time(
    pool: GraphvizSpares, spawned: Spawned
) -> None:
    # A spare fed a warm-up graph first drew this stack's clusters in
    # another order in about one render of six; ten in a row catch that.
    dot_text = DOTS["generated-50"]()
    cold = render_graphviz(dot_text, "svg", LIMITS)

    warm = [render_on_spare(pool, spawned, dot_text, "svg") for _ in range(10)]

    assert all(output == cold for output in warm)


def test_render_first_of_a_format_runs_cold_and_starts_one_spare(
    pool: GraphvizSpares, spawned: Spawned
) -> None:
    output = pool.render("digraph { a -> b }", "svg", LIMITS)

    assert output.lstrip().startswith(b"<?xml")
    assert len(spawned.runs) == 2
    assert len(spawned.piped()) == 1
    assert pool.idle_pids("svg") == [spawned.piped()[0].pid]
    assert pool.idle_pids("png") == pool.idle_pids("pdf") == []


def test_render_many_times_keeps_at_most_per_format_spares(
    spawned: Spawned,
) -> None:
    spares = GraphvizSpares(LIMITS, per_format=2)
    try:
        for _ in range(6):
            spares.render("digraph { a -> b }", "svg", LIMITS)
        live = [run.pid for run in spawned.runs if is_alive(run.pid)]

        assert 1 <= len(spares.idle_pids("svg")) <= 2
        assert sorted(live) == sorted(spares.idle_pids())
    finally:
        spares.close()


def test_render_with_no_spares_starts_only_cold_runs(spawned: Spawned) -> None:
    spares = GraphvizSpares(LIMITS, per_format=0)

    for _ in range(3):
        spares.render("digraph { a -> b }", "svg", LIMITS)

    assert len(spawned.runs) == 3
    assert spawned.piped() == []
    assert spares.idle_pids() == []


def test_render_with_other_limits_than_the_pool_runs_cold(
    pool: GraphvizSpares, spawned: Spawned
) -> None:
    pid = ready_spare(pool, "svg")
    spawned.clear()

    pool.render("digraph { a }", "svg", Limits(render_timeout_seconds=3.0))

    assert len(spawned.runs) == 1 and spawned.piped() == []
    assert pool.idle_pids("svg") == [pid]


def test_render_spare_killed_while_waiting_falls_back_to_cold_run(
    pool: GraphvizSpares, spawned: Spawned
) -> None:
    dot_text = DOTS["example"]()
    cold = render_graphviz(dot_text, "png", LIMITS)
    pid = ready_spare(pool, "png")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(pid))
    spawned.clear()

    output = pool.render(dot_text, "png", LIMITS)

    assert output == cold
    assert len(spawned.runs) == 2 and len(spawned.piped()) == 1
    assert pool.idle_pids("png") == [spawned.piped()[0].pid]
    assert not Path(f"/proc/{pid}").exists(), "the dead spare was not reaped"


def test_render_spare_not_yet_dot_runs_cold_and_keeps_it_for_later(
    pool: GraphvizSpares, spawned: Spawned, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = ready_spare(pool, "svg")
    prlimit = os.path.realpath(pool_command(pool, "svg")[0])
    spawned.clear()

    with monkeypatch.context() as starting:
        # As if prlimit had not executed dot yet.
        starting.setattr(GraphvizRun, "running_program", lambda self: prlimit)
        while_starting = pool.render("digraph { a }", "svg", LIMITS)
    cold_runs = list(spawned.runs)
    kept = pool.idle_pids("svg")
    once_ready = render_on_spare(pool, spawned, "digraph { a }", "svg")

    assert while_starting == once_ready
    assert len(cold_runs) == 1 and cold_runs[0].stdin is None
    assert kept == [pid]


def pool_command(pool: GraphvizSpares, fmt: str) -> tuple[str, ...]:
    """Return the command the pool's spares of ``fmt`` run."""
    return graphviz.build_graphviz_command(fmt, pool.limits)


def test_render_spare_that_wrote_before_its_graph_is_set_aside(
    pool: GraphvizSpares, spawned: Spawned, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = render_graphviz("digraph { a }", "svg", LIMITS)
    pid = ready_spare(pool, "svg")
    monkeypatch.setattr(GraphvizRun, "has_written", lambda self: True)
    spawned.clear()

    output = pool.render("digraph { a }", "svg", LIMITS)

    assert output == cold
    assert len(spawned.runs) == 2 and len(spawned.piped()) == 1
    assert not is_alive(pid)


def test_render_spare_that_is_not_dot_is_set_aside_for_a_cold_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in that misbehaves when it waits on a pipe, as a spare does,
    # and is the real dot when it reads a file, as a cold run does.
    dot = graphviz.find_dot()
    stand_in = tmp_path / "dot"
    stand_in.write_text(
        "#!/bin/sh\n"
        'if [ -p /dev/stdin ]; then echo "<svg>bad</svg>"; exec sleep 30; fi\n'
        f'exec {dot} "$@"\n'
    )
    stand_in.chmod(0o755)
    monkeypatch.setattr(graphviz, "find_dot", lambda: str(stand_in))
    spares = GraphvizSpares(LIMITS, per_format=1)
    try:
        spares.render("digraph { a }", "svg", LIMITS)
        wait_for(lambda: bool(spares.idle_pids("svg")))
        pid = spares.idle_pids("svg")[0]

        output = spares.render("digraph { a -> b }", "svg", LIMITS)

        assert output == render_graphviz("digraph { a -> b }", "svg", LIMITS)
        assert not is_alive(pid)
    finally:
        spares.close()


def test_render_after_dot_was_replaced_runs_the_new_one(
    pool: GraphvizSpares,
    spawned: Spawned,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = ready_spare(pool, "svg")
    dot = graphviz.find_dot()
    assert dot is not None
    replacement = tmp_path / "dot"
    replacement.symlink_to(os.path.realpath(dot))
    monkeypatch.setattr(graphviz, "find_dot", lambda: str(replacement))
    spawned.clear()

    pool.render("digraph { a }", "svg", LIMITS)

    assert not is_alive(pid)
    cold = [run for run in spawned.runs if run.stdin is None]
    assert len(cold) == 1 and str(replacement) in cold[0].args  # type: ignore[operator]


def test_render_with_dot_gone_raises_graphviz_missing_even_with_a_spare(
    pool: GraphvizSpares, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready_spare(pool, "svg")
    monkeypatch.setattr(graphviz, "find_dot", lambda: None)

    with pytest.raises(GraphvizMissingError, match="not installed"):
        pool.render("digraph { a }", "svg", LIMITS)


def test_render_on_spare_slow_layout_times_out_and_leaves_no_process(
    spawned: Spawned,
) -> None:
    limits = Limits(render_timeout_seconds=0.5)
    spares = GraphvizSpares(limits, per_format=1)
    try:
        pid = ready_spare(spares, "svg")

        started = time.monotonic()
        with pytest.raises(RenderTimeoutError, match="longer than 0.5 seconds"):
            spares.render(_slow_dot(), "svg", limits)
        elapsed = time.monotonic() - started

        assert elapsed < 2.0
        assert not is_alive(pid)
    finally:
        spares.close()
    assert not any(is_alive(run.pid) for run in spawned.runs)


def test_render_on_spare_that_stops_reading_times_out_without_hanging(
    spawned: Spawned,
) -> None:
    limits = Limits(render_timeout_seconds=0.5)
    spares = GraphvizSpares(limits, per_format=1)
    try:
        pid = ready_spare(spares, "svg")
        os.kill(pid, signal.SIGSTOP)
        # Several times a pipe's buffer: the write must wait, then give up.
        big = "digraph g {\n" + "".join(f"n{i};\n" for i in range(60_000)) + "}\n"

        started = time.monotonic()
        with pytest.raises(RenderTimeoutError):
            spares.render(big, "svg", limits)
        elapsed = time.monotonic() - started

        assert 0.4 <= elapsed < 2.0
        wait_for(lambda: not is_alive(pid))
    finally:
        spares.close()
    assert not any(is_alive(run.pid) for run in spawned.runs)


def test_render_on_spare_killed_mid_layout_raises_render_failed(
    pool: GraphvizSpares,
) -> None:
    pid = ready_spare(pool, "svg")
    killer = threading.Timer(0.2, os.kill, (pid, signal.SIGKILL))
    killer.start()
    try:
        with pytest.raises(RenderFailedError, match="SIGKILL"):
            pool.render(_slow_dot(), "svg", LIMITS)
    finally:
        killer.cancel()
    assert not is_alive(pid)


def test_render_on_spare_output_over_cap_raises_limit_exceeded(
    spawned: Spawned,
) -> None:
    limits = Limits(max_output_bytes=200)
    spares = GraphvizSpares(limits, per_format=1)
    try:
        with pytest.raises(LimitExceededError):
            spares.render("digraph { a }", "svg", limits)
        pid = ready_spare(spares, "svg")
        spawned.clear()

        with pytest.raises(LimitExceededError, match="larger than 200 bytes"):
            spares.render("digraph { a -> b }", "svg", limits)

        assert len(spawned.runs) == len(spawned.piped()) == 1
        assert not is_alive(pid)
    finally:
        spares.close()


def test_render_on_spare_past_memory_cap_raises_limit_exceeded(
    spawned: Spawned,
) -> None:
    # Enough address space for dot to start and wait, not for this layout.
    limits = Limits(render_memory_bytes=120_000_000)
    spares = GraphvizSpares(limits, per_format=1)
    try:
        pid = ready_spare(spares, "png")
        spawned.clear()

        with pytest.raises(LimitExceededError, match="memory limit of 120000000"):
            spares.render(_slow_dot(400), "png", limits)

        assert len(spawned.runs) == len(spawned.piped()) == 1
        assert not is_alive(pid)
    finally:
        spares.close()


def test_close_stops_and_reaps_every_spare(spawned: Spawned) -> None:
    spares = GraphvizSpares(LIMITS, per_format=2)
    for fmt in FORMATS:
        spares.render("digraph { a }", fmt, LIMITS)
    waiting = spares.idle_pids()

    spares.close()

    assert len(waiting) == 3
    assert spares.idle_pids() == []
    assert not any(Path(f"/proc/{pid}").exists() for pid in waiting)
    assert all(run.returncode is not None for run in spawned.runs)


def test_render_after_close_runs_cold_and_starts_no_spare(spawned: Spawned) -> None:
    spares = GraphvizSpares(LIMITS, per_format=1)
    spares.close()

    output = spares.render("digraph { a }", "svg", LIMITS)

    assert output.lstrip().startswith(b"<?xml")
    assert spawned.piped() == []


def test_close_while_renders_run_leaves_no_process(spawned: Spawned) -> None:
    spares = GraphvizSpares(LIMITS, per_format=2)
    graphs = [f'digraph {{ a -> "b{i}" }}' for i in range(12)]

    with ThreadPoolExecutor(max_workers=4) as workers:
        pending = [workers.submit(spares.render, g, "svg", LIMITS) for g in graphs]
        time.sleep(0.05)
        spares.close()
        outputs = [future.result(timeout=30) for future in pending]

    assert all(output.lstrip().startswith(b"<?xml") for output in outputs)
    assert spares.idle_pids() == []
    wait_for(lambda: not any(is_alive(run.pid) for run in spawned.runs))


def test_render_from_many_threads_gives_each_its_own_diagram(
    spawned: Spawned,
) -> None:
    spares = GraphvizSpares(LIMITS, per_format=2)
    graphs = {
        (i, fmt): f'digraph {{ a -> "only-in-{i}-{fmt}" }}'
        for i in range(8)
        for fmt in FORMATS
    }
    expected = {key: render_graphviz(g, key[1], LIMITS) for key, g in graphs.items()}
    spawned.clear()
    try:
        with ThreadPoolExecutor(max_workers=4) as workers:
            futures = {
                key: workers.submit(spares.render, g, key[1], LIMITS)
                for key, g in graphs.items()
            }
            outputs = {
                key: future.result(timeout=60) for key, future in futures.items()
            }

        assert outputs == expected
        assert len(set(outputs.values())) == len(graphs)
        assert len(spawned.piped()) >= 1
        for fmt in FORMATS:
            assert len(spares.idle_pids(fmt)) <= 2
    finally:
        spares.close()
    assert not any(is_alive(run.pid) for run in spawned.runs)


def test_spares_pool_collected_without_close_stops_its_spares() -> None:
    spares = GraphvizSpares(LIMITS, per_format=1)
    spares.render("digraph { a }", "svg", LIMITS)
    pid = spares.idle_pids("svg")[0]

    del spares

    wait_for(lambda: not is_alive(pid))


def test_spares_pool_negative_size_raises_value_error() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        GraphvizSpares(LIMITS, per_format=-1)


def test_spare_of_a_process_that_died_exits_on_its_own(tmp_path: Path) -> None:
    # A process that keeps spares and is killed: the spares' pipes close,
    # and each spare reads the end of its input and exits.
    script = (
        "import os, signal, sys\n"
        "from service.limits import Limits\n"
        "from service.render.spares import GraphvizSpares\n"
        "spares = GraphvizSpares(Limits(), per_format=1)\n"
        "for fmt in ('svg', 'png', 'pdf'):\n"
        "    spares.render('digraph { a }', fmt, Limits())\n"
        "print(' '.join(map(str, spares.idle_pids())), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    pids = [int(pid) for pid in completed.stdout.split()]

    assert completed.returncode == -signal.SIGKILL
    assert len(pids) == 3
    wait_for(lambda: not any(is_alive(pid) for pid in pids))
