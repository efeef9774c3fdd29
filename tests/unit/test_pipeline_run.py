"""pipeline.run in-process on the smoke experiment: a run that raises inside the MLflow run ends FAILED with what it
had logged, and tracking=none creates no store. The real CLI run is tests/e2e/test_pipeline_smoke.py."""
from __future__ import annotations

import math

import pytest
from helpers.paths import REPO


def test_a_run_that_raises_inside_the_mlflow_run_ends_failed(compose, mlflow_runs, tmp_path, monkeypatch,
                                                            mlflow_store):
    """A teacher folder with a broken config.json passes preflight and fails when loading, inside the run."""
    import mlflow

    from polyglot_distill.pipeline import run

    monkeypatch.chdir(tmp_path)
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (not_a_model / "config.json").write_text('{"model_type": "no-such-architecture"}')
    db = mlflow_store
    cfg = compose(["experiment=smoke", f"teacher.model={not_a_model}", f"tracking.uri=sqlite:///{db}",
                   "languages.targets=[de]"])
    with pytest.raises(Exception) as err:
        run(cfg, tmp_path / "out", choices={"student": "tiny", "experiment": "smoke"})
    assert "not-a-model" in str(err.value)
    assert mlflow.active_run() is None
    (failed,) = mlflow_runs(db)
    assert failed.info.status == "FAILED"
    assert failed.data.metrics["data/train/de/pairs"] == 100  # logged before the failure
    assert failed.data.tags["choice.student"] == "tiny"
    from mlflow.tracking import MlflowClient

    artifacts = {a.path for a in MlflowClient(f"sqlite:///{db}").list_artifacts(failed.info.run_id)}
    assert artifacts == {"data_manifest.json"}


def test_tracking_none_creates_no_store(compose, tmp_path, monkeypatch):
    from polyglot_distill.pipeline import run

    monkeypatch.chdir(tmp_path)  # the mlflow group's default store would be ./mlflow.db
    repo_db_before = (REPO / "mlflow.db").exists()
    cfg = compose(["experiment=smoke", "tracking=none", "languages.targets=[de]", "data.max_train_pairs=40",
                   "data.max_dev_pairs=20", "data.max_test_pairs=20", "eval.sts_pairs=50",
                   "optimizer.max_steps=2", "save_model=false", "eval.udhr_languages=[]"])
    score = run(cfg, tmp_path / "out", choices={"tracking": "none"})
    assert math.isfinite(score)
    assert {"results.csv", "results.json", "before_after.png", "data_manifest.json"} <= {
        p.name for p in (tmp_path / "out").iterdir()}
    leftovers = [p for p in tmp_path.rglob("*") if p.suffix == ".db" or p.name in ("mlruns", "mlartifacts")]
    assert leftovers == []
    assert (REPO / "mlflow.db").exists() == repo_db_before


def test_a_rerun_takes_the_untrained_students_vectors_from_the_cache(compose, mlflow_runs, mlflow_store, tmp_path,
                                                                    monkeypatch):
    """The baselines' student vectors (test, UDHR, dev at step 0, the least-squares fit) are cached by content
    like the teacher's: the second run encodes none of them and scores the same baselines. The kept student's dev
    scores are those the Trainer scored it with."""
    import json

    from polyglot_distill.pipeline import run

    monkeypatch.chdir(tmp_path)
    cfg = compose(["experiment=smoke", f"tracking.uri=sqlite:///{mlflow_store}", "languages.targets=[de]",
                   "data.max_train_pairs=40", "data.max_dev_pairs=20", "data.max_test_pairs=20", "eval.sts_pairs=50",
                   "optimizer.max_steps=2", f"teacher_cache_dir={tmp_path / 'cache'}", "eval.udhr_languages=[ru]",
                   "distill.interpolate=1",  # the kept student is the best checkpoint itself,
                   "distill.keep_baseline_if_better=false"])  # never the untrained one (2 steps may not beat it)
    for out in ("first", "second"):
        run(cfg, tmp_path / out, choices={})
    first, second = sorted(mlflow_runs(mlflow_store), key=lambda r: r.info.start_time)
    assert first.data.metrics["baseline_cache/misses"] > 100 and first.data.metrics["baseline_cache/hits"] == 0
    assert second.data.metrics["baseline_cache/misses"] == 0
    assert second.data.metrics["baseline_cache/hits"] == first.data.metrics["baseline_cache/misses"]
    baseline = {k: v for k, v in first.data.metrics.items() if k.startswith("baseline/")}
    assert len(baseline) > 20 and baseline == {k: second.data.metrics[k] for k in baseline}
    history = json.loads((tmp_path / "first" / "dev_history.json").read_text())
    best = next(h for h in history if h["step"] == first.data.metrics["train/best_step"])
    assert first.data.metrics["dev/selection"] == pytest.approx(best["selection"])
