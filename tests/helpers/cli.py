"""``train.py`` run as a user runs it, in a folder of the test's (the ``cli`` fixture, and module-scoped stores)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from helpers.paths import TRAIN


def train_cli(folder: Path):
    """``run(*overrides, cwd=None, timeout=...)``: ``train.py`` as a subprocess in ``folder`` (so a relative
    ``mlflow.db``, ``mlruns/`` or ``outputs/`` lands there, never in the repository) with
    ``hydra.run.dir=<folder>/run`` unless the overrides set it. The result is a ``CompletedProcess`` with
    ``.elapsed`` (seconds) and ``.run_dir`` added."""

    def run(*overrides: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        args = list(overrides)
        run_dir = folder / "run"
        for arg in args:
            if arg.startswith("hydra.run.dir="):
                run_dir = Path(arg.split("=", 1)[1])
        if not any(a.startswith("hydra.run.dir=") for a in args) and "--cfg" not in args:
            args.append(f"hydra.run.dir={run_dir}")
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(TRAIN), *args], cwd=cwd or folder, env=dict(os.environ),
                              capture_output=True, text=True, timeout=timeout)
        proc.elapsed = time.perf_counter() - started
        proc.run_dir = run_dir
        return proc

    return run
