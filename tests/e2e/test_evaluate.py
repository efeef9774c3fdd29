"""evaluate.py as a command: score a model with the eval group, without training, logged to MLflow as an evaluation
run. The pieces in-process: tests/unit/evaluation/test_standalone.py."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.paths import REPO

EVALUATE = REPO / "evaluate.py"
def evaluate_cli(*overrides: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(EVALUATE), *overrides], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=timeout)
    proc.elapsed = time.perf_counter() - started
    return proc


def test_the_cli_exits_2_with_one_error_line(tmp_path):
    proc = evaluate_cli("tracking=none", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert "model: not set" in line and "model=e5-small" in line, line


@pytest.mark.slow
def test_udhr_zero_shot_logs_per_language_retrieval_for_over_100_languages(tmp_path, mlflow_runs):
    """The documented ``evaluate.py model=e5-small eval=udhr_zero_shot``, cut to fit the suite's time: the 106
    languages with 58+ paragraphs aligned with English, their first 10 paragraphs each, inputs cut to 32 tokens,
    no held-out pairs (docs/evaluate.md gives the full run's figures)."""
    db = tmp_path / "mlflow.db"
    proc = evaluate_cli("model=e5-small", "eval=udhr_zero_shot", "eval.udhr_min_pairs=58", "eval.udhr_max_pairs=10",
                        "max_seq_length=32", "teacher.max_seq_length=32", "eval.splits=[]",
                        f"tracking.uri=sqlite:///{db}", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    (logged,) = mlflow_runs(db)
    metrics = logged.data.metrics
    langs = {k.split("/")[2].removeprefix("en-") for k in metrics if k.startswith("udhr/retrieval/en-")}
    assert len(langs) >= 100, len(langs)
    assert {f"baseline/teacher/udhr/retrieval/en-{L}/accuracy" for L in langs} <= set(metrics)
    assert len({k for k in metrics if k.startswith("data/udhr/") and k.endswith("/pairs")}) == len(langs)
    assert all(metrics[f"data/udhr/{L}/pairs"] == 10 for L in langs)
    # a pretrained multilingual model retrieves translations far above chance (1/10) in unseen languages,
    # the English-only teacher does not
    assert metrics["udhr/mean_unseen/retrieval/accuracy"] > 0.5
    assert metrics["baseline/teacher/udhr/mean_unseen/retrieval/accuracy"] < metrics[
        "udhr/mean_unseen/retrieval/accuracy"]
    assert "mean_trained" in proc.stdout and "mean_unseen" in proc.stdout
    from mlflow.tracking import MlflowClient

    artifacts = {a.path for a in MlflowClient(f"sqlite:///{db}").list_artifacts(logged.info.run_id)}
    assert {"udhr_results.csv", "udhr_zero_shot.png", "config_resolved.yaml"} <= artifacts
    assert (tmp_path / "run" / "udhr_zero_shot.png").stat().st_size > 20_000
