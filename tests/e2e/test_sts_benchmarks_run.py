"""A real run (train.py's pipeline in-process) scores the STS benchmarks before and after training."""
from __future__ import annotations

import csv

import pytest


@pytest.mark.slow
def test_a_run_scores_the_benchmarks_before_and_after_training(sts_datasets_cache, tmp_path, compose, monkeypatch,
                                                               mlflow_runs, mlflow_store):
    """train.py's pipeline with eval=[offline,stsb_multi,sts17]: the untrained student, the teacher and the
    distilled student on every set, a table, and the tokenizer preflight's report."""
    from polyglot_distill.pipeline import run

    monkeypatch.chdir(tmp_path)
    db = mlflow_store
    cfg = compose(["experiment=smoke", "eval=[offline,stsb_multi,sts17]", f"tracking.uri=sqlite:///{db}",
                   "tracking.log_model=false", "eval.udhr_languages=[]", "optimizer.max_steps=4"])
    run(cfg, tmp_path / "out")
    (logged,) = mlflow_runs(db)
    metrics = logged.data.metrics
    for name in ["sts/en", "sts/de", "sts/en-de", "sts/fr", "sts/en-fr", "sts17/en-de", "sts17/en-en", "sts17/fr-en"]:
        for prefix in ("", "baseline/student/", "baseline/teacher/", "baseline/lstsq/"):
            value = metrics[f"{prefix}{name}/spearman"]
            assert -1 <= value <= 1
    assert metrics["baseline/teacher/sts/en/spearman"] > 0.8
    with (tmp_path / "out" / "sts_results.csv").open() as f:
        table = list(csv.DictReader(f))
    assert {(r["language"], r["metric"]) for r in table} >= {("en-de", "sts/spearman"), ("fr-en", "sts17/spearman")}
    report = (tmp_path / "out" / "tokenizer_report.csv").read_text()
    assert report.startswith("language,tokenizer,") and "\nde,student," in report and "\nen,teacher," in report
    assert 0 <= metrics["tokenizer/student/de/unk_rate"] <= 1
    from mlflow.tracking import MlflowClient

    artifacts = {a.path for a in MlflowClient(f"sqlite:///{db}").list_artifacts(logged.info.run_id)}
    assert {"sts_results.csv", "sts_results.json", "tokenizer_report.csv"} <= artifacts
