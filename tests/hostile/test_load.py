"""A short run of the load script: it works, and the service survives it cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LOAD_SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def test_short_mixed_load_has_no_5xx_and_no_leftover_graphviz(tmp_path: Path) -> None:
    figures_path = tmp_path / "load.json"

    completed = subprocess.run(
        [
            sys.executable,
            str(LOAD_SCRIPT),
            "--duration=3",
            "--warmup=1",
            "--idle=0.5",
            "--clients=4",
            f"--json={figures_path}",
            f"--log={tmp_path / 'server.log'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # The exit status also judges memory, which a three-second run with a
    # one-second warm-up cannot settle; the figures are checked one by one.
    assert figures_path.exists(), completed.stdout + completed.stderr
    figures = json.loads(figures_path.read_text())
    assert figures["server_errors_5xx"] == 0
    assert figures["leftover_graphviz_processes"] == 0
    assert 1 <= figures["peak_graphviz_processes"] <= figures["render_slots"]
    assert set(figures["by_kind"]) == {"new", "cached", "bad"}
    assert "| Requests per second |" in completed.stdout
    log = (tmp_path / "server.log").read_text()
    assert "load-secret" not in log
    assert "Traceback" not in log
