"""Crash and resume: a real ``train.py`` killed with SIGKILL mid-training continues from its last checkpoint,
in the same MLflow run, and ends with the metrics of an uninterrupted run with the same seed: in fp32
(``hardware.precision=fp32``) and in bf16 autocast (``hardware=cpu_bf16``)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.paths import REPO

from polyglot_distill.training import checkpoints

# the tiny student, 60 steps with a checkpoint every 10 and a dev evaluation every 20 (hardware: the test's parameter)
QUICK = ["experiment=smoke", "eval.baseline=false", "eval.udhr_languages=[]",
         "optimizer.max_steps=60", "optimizer.eval_steps=20", "distill.checkpoint_steps=10",
         "tracking.system_metrics=false", "tracking.log_model=false"]


def _popen(tmp: Path, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "train.py"), *overrides], cwd=tmp, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if proc.poll() is not None:
            pytest.fail(f"train.py ended (exit {proc.returncode}) before it was killed:\n{proc.stdout.read()[-3000:]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("timed out")


def _final_metrics(run_dir: Path) -> dict[str, float]:
    data = json.loads((run_dir / "results.json").read_text())
    return {k: v for k, v in data["metrics"].items() if not k.startswith("time/")}


@pytest.mark.slow
@pytest.mark.parametrize(("hardware", "precision"), [("cpu hardware.precision=fp32", "fp32"), ("cpu_bf16", "bf16")],
                         ids=["fp32", "bf16"])
def test_sigkill_mid_run_then_resume_matches_an_uninterrupted_run(tmp_path, cli, mlflow_runs, quick_tsv, hardware,
                                                                 precision):
    db = tmp_path / "mlflow.db"
    common = [*QUICK, *f"hardware={hardware}".split(), *quick_tsv, f"tracking.uri=sqlite:///{db}"]

    whole = cli(*common, f"hydra.run.dir={tmp_path / 'whole'}")
    assert whole.returncode == 0, whole.stderr[-3000:]

    killed_dir = tmp_path / "killed"
    proc = _popen(tmp_path, *common, f"hydra.run.dir={killed_dir}")
    first = _wait_for(lambda: checkpoints.latest_checkpoint(killed_dir), proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    kept = checkpoints.latest_checkpoint(killed_dir)
    step = int(kept.name.rsplit("-", 1)[-1])
    assert 10 <= step < 60, f"killed at {first.name}, newest {kept.name}: not mid-run"
    assert {"optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"} <= {p.name for p in kept.iterdir()}
    run_id = (killed_dir / "mlflow_run_id").read_text().strip()
    runs = {r.info.run_id: r for r in mlflow_runs(db)}
    assert runs[run_id].info.status == "RUNNING"  # SIGKILL cannot be handled: resume= finishes it

    # resume= alone reuses the run's folder and saved config; Hydra's own log of this call goes elsewhere
    resumed = cli(f"resume={killed_dir}", f"hydra.run.dir={tmp_path / 'resume-call'}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming {killed_dir} from {kept.name}" in resumed.stdout + resumed.stderr

    runs = {r.info.run_id: r for r in mlflow_runs(db)}
    assert len(runs) == 2, "resume opened a new MLflow run instead of reattaching"
    run = runs[run_id]
    assert run.info.status == "FINISHED"
    assert run.data.tags["resumed"] == "1"
    assert run.data.params["hardware.precision"] == precision
    assert not (killed_dir / "checkpoints").exists(), "a finished run keeps no checkpoints"

    expected, got = _final_metrics(tmp_path / "whole"), _final_metrics(killed_dir)
    assert expected.keys() == got.keys()
    # what differs on purpose: the resumed process finds the untrained student's vectors in the cache, and counts
    # the micro-batched steps it ran itself (after the checkpoint)
    far = {k: (expected[k], got[k]) for k in expected if abs(expected[k] - got[k]) > 1e-3
           and not k.startswith("baseline_cache/") and k != "train/split_steps"}
    assert not far, f"resumed run differs from the uninterrupted one: {far}"
    history = json.loads((killed_dir / "dev_history.json").read_text())
    assert [h["step"] for h in history] == [20, 40, 60]
    from mlflow.tracking import MlflowClient

    loss_steps = [m.step for m in MlflowClient(f"sqlite:///{db}").get_metric_history(run_id, "train/loss")]
    assert min(loss_steps) < step < max(loss_steps) == 60


