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
