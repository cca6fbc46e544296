"""One ``pinn-train`` run in a fresh process, for the benchmark scripts: its ``metrics.json``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def train_process(overrides: list[str], run: Path, threads: int) -> dict:
    """Train ``pinn-train OVERRIDES`` into ``run`` (no plots) with ``threads`` threads; its metrics.
    A failed run ends the script with the run's last output."""
    cmd = [sys.executable, "-m", "pinn.cli.train", *overrides, f"hydra.run.dir={run}", "plots=false",
           f"threads={threads}"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads((run / "metrics.json").read_text())
