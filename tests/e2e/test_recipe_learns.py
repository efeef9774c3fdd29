"""Training improves the real student: the default recipe (e5-small, least-squares head, trimmed vocabulary,
frozen word embeddings, the default precision) on a slice of the pinned corpus ends above its least-squares
head and the untrained student on held-out pairs, its training loss falls, and the run keeps its best dev
checkpoint (``train/best_step`` is the best evaluation's step in ``dev_history.json``), averaged with its step-0
weights (``distill.interpolate=0.5``: the kept student scores between the two on dev). The other way, the
fall-back to the untrained student: test_checkpoint_selection.py.

Every other training test uses the tiny random student, which checks the machinery, not the recipe.

Measured 2026-12-07 (Intel Xeon, 2 cores, fp32, OMP_NUM_THREADS=1, 106 s under load; before English prose and
interpolation): German, 600 training pairs, 2 epochs (38 steps), 200 test pairs; teacher-space retrieval
untrained .005, least-squares head .580, trained .790; teacher-referenced STS .499 / .573 / .730. The margins
below are about half of those; they hold with the defaults of 2026-12-08 (180 prose sentences, the kept student
interpolated, bf16 on the AMD EPYC: 92 s; and with distill.english_once).
"""
from __future__ import annotations

import json
import statistics

import pytest
from helpers import dev_history

SLICE = ["data=catalogs", "languages.targets=[de]", "data.max_train_pairs=600", "data.max_dev_pairs=100",
         "data.max_test_pairs=200", "optimizer.epochs=2", "eval.udhr_languages=[]", "eval.sts_pairs=200",
         "save_model=false"]


@pytest.mark.slow
def test_the_default_recipe_beats_its_least_squares_head_on_held_out_pairs(cli, mlflow_runs, tmp_path):
    db = tmp_path / "mlflow.db"
    proc = cli(*SLICE, f"tracking.uri=sqlite:///{db}", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((proc.run_dir / "results.json").read_text())["metrics"]
    retrieval, sts = "teacher_retrieval/en-de/accuracy", "sts_teacher/en-de/spearman"
    scores = {who: (metrics[f"{prefix}{retrieval}"], metrics[f"{prefix}{sts}"])
              for who, prefix in (("untrained", "baseline/student/"), ("lstsq", "baseline/lstsq/"), ("trained", ""))}
    assert scores["trained"][0] >= scores["lstsq"][0] + 0.10, scores
    assert scores["trained"][0] >= scores["untrained"][0] + 0.50, scores
    assert scores["trained"][1] >= scores["lstsq"][1] + 0.05, scores
    best = dev_history.best_evaluation(dev_history.history(proc.run_dir))
    assert metrics["train/best_step"] == best["step"] > 0, "no checkpoint beat the untrained student"
    assert "no checkpoint beat the untrained student" not in proc.stdout + proc.stderr

    (run,) = mlflow_runs(db)
    from mlflow.tracking import MlflowClient

    # distill.interpolate=0.5: the kept student is the best checkpoint averaged with step 0, scored anew on dev
    # (measured: step 0 .623, best checkpoint .837, interpolated .824)
    selection = MlflowClient(f"sqlite:///{db}").get_metric_history(run.info.run_id, "dev/selection")
    (step0,) = [m.value for m in selection if m.step == 0]
    assert step0 < metrics["dev/selection"] < best["selection"], (step0, best)
    last = max(m.step for m in selection)  # the kept student's, logged at the last step
    assert any(m.value == pytest.approx(metrics["dev/selection"]) for m in selection if m.step == last)

    losses = [m.value for m in sorted(MlflowClient(f"sqlite:///{db}").get_metric_history(run.info.run_id, "train/loss"),
                                      key=lambda m: m.step)]
    # logged every 3 steps, then the run's mean loss at the last step: the last third against the first value
    # (measured: .00236 at step 3, median of the last third .00115)
    assert len(losses) >= 6, losses
    assert statistics.median(losses[len(losses) * 2 // 3:]) < 0.75 * losses[0], losses
