"""Two jobs at once on one SQLite store and one teacher cache: both finish, both runs are complete in MLflow,
and the cache is consistent afterwards.

A real ``train.py -m`` sweep under the joblib launcher runs its two jobs in two worker processes at the same
time. Both jobs train on the same corpus (they differ only in ``seed``), so they want the teacher embeddings
of the same English sentences from an empty cache at the same moment: one encodes and writes them while the
other waits for the teacher's lock, then reads them back (docs/reliability.md#concurrent-jobs).
"""
from __future__ import annotations

import sqlite3

import pytest

from polyglot_distill.training import teacher_cache

PARENT_TAG = "mlflow.parentRunId"
# a smoke job in seconds: few pairs, no UDHR, no saved or logged model; the baselines on (the teacher's evaluation
# encodes share the cache too)
FAST = ["experiment=smoke", "save_model=false", "eval.udhr_languages=[]",
        "data.max_train_pairs=50", "data.max_test_pairs=50", "eval.sts_pairs=50", "tracking.log_model=false",
        "tracking.system_metrics=false"]


@pytest.mark.slow
def test_two_jobs_at_once_share_one_store_and_one_teacher_cache(cli, mlflow_runs, tmp_path):
    db, cache, sweep_dir = tmp_path / "mlflow.db", tmp_path / "teacher-cache", tmp_path / "multirun"
    proc = cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *FAST, "seed=1,2",
               f"teacher_cache_dir={cache}", f"tracking.uri=sqlite:///{db}", f"hydra.sweep.dir={sweep_dir}",
               timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    assert "Joblib.Parallel(" in proc.stdout + proc.stderr  # the jobs ran in joblib's worker processes

    # the store: intact, one parent and two complete child runs
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    runs = mlflow_runs(db)
    parents = [r for r in runs if PARENT_TAG not in r.data.tags]
    children = sorted((r for r in runs if PARENT_TAG in r.data.tags), key=lambda r: int(r.data.tags["sweep.job"]))
    assert len(parents) == 1 and len(children) == 2, [r.info.run_name for r in runs]
    (parent,) = parents
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["sweep/jobs"] == 2 and parent.data.metrics["sweep/failed_jobs"] == 0
    for job, child in enumerate(children):
        assert child.info.status == "FINISHED" and child.info.end_time, child.info
        assert child.data.tags[PARENT_TAG] == parent.info.run_id
        assert child.data.params["seed"] == str(job + 1)
        for key in ("teacher_retrieval/en-de/accuracy", "sts_teacher/en-fr/spearman", "selection",
                    "dev/selection", "train/loss", "teacher_cache/hits", "teacher_cache/misses"):
            assert key in child.data.metrics, (job, key)
        assert (sweep_dir / str(job) / "results.json").is_file()
    # both runs were open at the same time: each started before the other ended
    (a, b) = (c.info for c in children)
    assert a.start_time < b.end_time and b.start_time < a.end_time, "the two jobs did not overlap"

    # the cache: every shard passes its checksum and layout, no key holds two vectors, no temporary file left
    report = teacher_cache.verify(cache)
    assert report["problems"] == [], report["problems"]
    # two fingerprints: the teacher's labels and the untrained student's baseline vectors (stages.Memo)
    assert report["teachers"] == 2 and report["shards"] >= 2, report
    assert not [p for p in cache.rglob(".tmp-*")], "a half-written cache file was left behind"
    # both jobs needed the same sentences (training labels, evaluation's, the untrained student's); between them
    # each was encoded once
    kinds = ("teacher_cache/", "teacher_cache/eval_", "baseline_cache/")
    for kind in kinds:
        looked_up = [c.data.metrics[f"{kind}hits"] + c.data.metrics[f"{kind}misses"] for c in children]
        assert looked_up[0] == looked_up[1], (kind, looked_up)
    misses = sum(c.data.metrics[f"{kind}misses"] for c in children for kind in kinds)
    assert misses == report["rows"], (misses, report)
