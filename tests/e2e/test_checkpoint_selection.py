"""Which student a run keeps, forced each way by real ``train.py`` runs (no UDHR, no baselines on test):
- training that makes dev worse keeps the untrained student: the real e5-small student with its least-squares
  head (dev selection ~.5 before training) thrown off by ``optimizer.lr=1`` with no warm-up for 4 steps (dev
  evaluations at steps 2 and 4, both near 0): ``train/best_step`` 0, the warning logged, and the kept student's
  dev score is the untrained one's (step 0). (With the tiny random student the untrained score is ~0 too, and a
  wrecked checkpoint beat it by chance on an AMD EPYC: that could not force the fall-back.)
- training that must improve dev -- the smoke experiment (tiny student, 14 steps, dev evaluations at steps 7 and
  14) with ``student.projection_init=random``: a random head to the teacher's space, so the untrained student
  scores at chance and its fit is the first thing MSE learns -- keeps the best checkpoint: ``train/best_step`` is
  the step of the best evaluation in ``dev_history.json`` and the kept student reproduces its score.
"""
from __future__ import annotations

import pytest
from helpers import dev_history

COMMON = ["experiment=smoke", "eval.udhr_languages=[]", "eval.baseline=false", "tracking.log_model=false",
          "tracking.system_metrics=false", "distill.keep_baseline_if_better=true"]
FELL_BACK = "no checkpoint beat the untrained student on dev"


def _run(cli, mlflow_runs, tmp_path, steps, *overrides):
    db = tmp_path / "mlflow.db"
    proc = cli(*COMMON, *overrides, f"tracking.uri=sqlite:///{db}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = mlflow_runs(db)
    from mlflow.tracking import MlflowClient

    logged = MlflowClient(f"sqlite:///{db}").get_metric_history(run.info.run_id, "dev/selection")
    (untrained,) = [m.value for m in logged if m.step == 0]  # scored before training, with the fitted head
    history = dev_history.history(proc.run_dir)
    assert [h["step"] for h in history] == steps
    return proc, run, untrained, history, dev_history.results(proc.run_dir)


@pytest.mark.slow
def test_training_that_only_hurts_dev_keeps_the_untrained_student(cli, mlflow_runs, tmp_path):
    proc, run, untrained, history, results = _run(
        cli, mlflow_runs, tmp_path, [2, 4], "student=e5-small", "data.max_train_pairs=64", "optimizer.max_steps=4",
        "optimizer.eval_steps=2", "optimizer.lr=1", "optimizer.warmup_ratio=0")
    assert untrained > 0.3 and all(h["selection"] < untrained - 0.2 for h in history), (untrained, history)
    assert run.data.metrics["train/best_step"] == results["train/best_step"] == 0
    assert results["dev/selection"] == pytest.approx(untrained, abs=1e-6)  # the untrained weights, restored
    output = proc.stdout + proc.stderr
    assert FELL_BACK in output and f"({untrained:.4f} > " in output, output[-3000:]


@pytest.mark.slow
def test_training_that_improves_dev_keeps_its_best_checkpoint(cli, mlflow_runs, tmp_path):
    proc, run, untrained, history, results = _run(cli, mlflow_runs, tmp_path, [7, 14], "student.projection_init=random")
    best = dev_history.best_evaluation(history)
    assert best["selection"] > untrained, (untrained, history)
    assert run.data.metrics["train/best_step"] == results["train/best_step"] == best["step"] > 0
    # the best checkpoint, reloaded and scored again: under bf16 autocast (the default hardware) the Trainer's
    # evaluation and the pipeline's of the same weights differ a little (measured: -0.01141 vs -0.01120)
    assert results["dev/selection"] == pytest.approx(best["selection"], abs=2e-3)
    assert FELL_BACK not in proc.stdout + proc.stderr
