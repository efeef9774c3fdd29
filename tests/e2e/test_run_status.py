"""A run is never left RUNNING: SIGTERM/SIGINT end it KILLED, an exception or a diverging loss FAILED.

The signal tests stop a real ``train.py``; the divergence test trains the tiny student with a learning rate of
1e30 and no gradient clipping, which really overflows (no test-only switch)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers.paths import REPO
from safetensors.torch import load_file

from polyglot_distill.tracking import runs
from polyglot_distill.training import checkpoints

QUICK = ["experiment=smoke", "hardware=cpu", "eval.baseline=false", "eval.udhr_languages=[]",
         "tracking.log_model=false"]


def _status(db: Path, mlflow_runs) -> str | None:
    found = mlflow_runs(db)
    return found[0].info.status if found else None


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "exit_status", "when"), [(signal.SIGTERM, 143, "training"),
                                                             (signal.SIGINT, 130, "run open")])
def test_a_stopped_run_ends_killed(signum, exit_status, when, tmp_path, mlflow_runs, quick_tsv):
    db, run_dir = tmp_path / "mlflow.db", tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(REPO / "train.py"), *QUICK, *quick_tsv, "optimizer.max_steps=5000",
                             "distill.checkpoint_steps=10", f"tracking.uri=sqlite:///{db}", f"hydra.run.dir={run_dir}"],
                            cwd=tmp_path, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    ready = (lambda: checkpoints.latest_checkpoint(run_dir)) if when == "training" \
        else (lambda: (run_dir / runs.RUN_ID_FILE).exists())  # written once the run is open
    deadline = time.monotonic() + 240
    while not ready():
        assert proc.poll() is None, f"train.py ended early (exit {proc.returncode}):\n{proc.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    assert _status(db, mlflow_runs) == "RUNNING"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == exit_status, stderr[-3000:]
    assert _status(db, mlflow_runs) == "KILLED"
    assert f"resume with resume={run_dir}" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_a_stopped_sweep_ends_its_parent_and_job_runs_killed(tmp_path, mlflow_runs, quick_tsv):
    db, sweep_dir = tmp_path / "mlflow.db", tmp_path / "sweep"
    proc = subprocess.Popen([sys.executable, str(REPO / "train.py"), "-m", *QUICK, *quick_tsv,
                             "optimizer.max_steps=5000",
                             "seed=1,2", f"tracking.uri=sqlite:///{db}", f"hydra.sweep.dir={sweep_dir}"],
                            cwd=tmp_path, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 240
    while not (sweep_dir / "0" / runs.RUN_ID_FILE).exists():  # the first job's run is open
        assert proc.poll() is None, f"train.py ended early (exit {proc.returncode}):\n{proc.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    found = mlflow_runs(db)
    statuses = {"parent" if "mlflow.parentRunId" not in r.data.tags else "job": r.info.status for r in found}
    assert len(found) == 2 and statuses == {"parent": "KILLED", "job": "KILLED"}, (statuses, stderr[-3000:])
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_a_diverging_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, cli, mlflow_runs,
                                                                         quick_tsv):
    db = tmp_path / "mlflow.db"
    proc = cli(*QUICK, *quick_tsv, "optimizer.lr=1e30", "optimizer.max_grad_norm=0", "optimizer.warmup_ratio=0",
               "distill.checkpoint_steps=1", f"tracking.uri=sqlite:///{db}")
    assert proc.returncode == 3, proc.stderr[-3000:]
    error = next(line for line in proc.stderr.splitlines() if line.startswith("error: "))
    assert "training diverged at step 2: loss=" in error, error
    assert "loss=nan" in error or "loss=inf" in error, error
    # linear decay over the 24 steps of the smoke run (2 epochs of 379 rows: 200 translations, their 119 distinct
    # English sentences and 60 prose sentences, distill.english_once): step 2 ran at 1e30 * 23/24
    assert "(last learning rate 9.58e+29)" in error and "Lower optimizer.lr" in error
    kept = checkpoints.latest_checkpoint(proc.run_dir)
    assert kept is not None and kept.name == "checkpoint-1" and f"The last good checkpoint is kept: {kept}" in error
    weights = load_file(next(kept.rglob("model.safetensors")))
    assert all(torch.isfinite(w).all() for w in weights.values())
    run = mlflow_runs(db)[0]
    assert run.info.status == "FAILED"
    assert run.data.tags["error"].startswith("TrainingDiverged: training diverged at step 2")


