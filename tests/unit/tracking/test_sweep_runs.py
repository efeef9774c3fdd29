"""The pieces of a sweep's tracking, in-process on a SQLite store: a job's run nests under the parent named in the
environment, failure records, system metrics on a short run. The real sweeps are tests/e2e/test_sweep.py."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers.sweeps import PARENT_TAG

from polyglot_distill.tracking import runs


@pytest.fixture
def store(compose, tmp_path, monkeypatch, mlflow_store):
    monkeypatch.chdir(tmp_path)
    db = mlflow_store
    return db, compose(["student=tiny", f"tracking.uri=sqlite:///{db}"])


def _parent(db: Path, cfg) -> str:
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(cfg.tracking.uri)
    runs.ensure_experiment(cfg.tracking.uri, cfg.tracking.experiment)
    client = MlflowClient(f"sqlite:///{db}")
    return client.create_run(client.get_experiment_by_name(cfg.tracking.experiment).experiment_id).info.run_id


def tracked_run_ok(cfg, output_dir):
    return runs.tracked_run(cfg, {"student": "tiny"}, output_dir)


def test_tracked_run_nests_under_the_parent_named_in_the_environment(store, mlflow_runs, tmp_path, monkeypatch):
    db, cfg = store
    parent = _parent(db, cfg)
    monkeypatch.setenv(runs.PARENT_RUN_ENV, parent)
    with tracked_run_ok(cfg, tmp_path) as tracker:
        child = tracker.run_id
    (run,) = [r for r in mlflow_runs(db) if r.info.run_id == child]
    assert run.data.tags[PARENT_TAG] == parent and run.info.status == "FINISHED"


def test_a_parent_id_from_another_store_is_ignored(store, mlflow_runs, tmp_path, monkeypatch):
    db, cfg = store
    monkeypatch.setenv(runs.PARENT_RUN_ENV, "0123456789abcdef0123456789abcdef")
    with tracked_run_ok(cfg, tmp_path):
        pass
    (run,) = mlflow_runs(db)
    assert PARENT_TAG not in run.data.tags and run.info.status == "FINISHED"


def test_a_single_run_forgets_a_parent_id_left_in_the_environment(monkeypatch):
    monkeypatch.setenv(runs.PARENT_RUN_ENV, "abc")
    runs.forget_parent_run()
    assert runs.PARENT_RUN_ENV not in os.environ


def test_system_metrics_do_not_slow_down_a_short_run(store, mlflow_runs, tmp_path, monkeypatch):
    """The monitor thread samples every interval: closing a short run must not wait for the next sample, nor log
    one. With a 60 s interval, a close that waited would take ~60 s; a prompt one takes well under a second, so
    the bound of half the interval holds on a loaded machine too (only the close is timed, not the store's setup)."""
    interval = 60
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", str(interval))
    db, cfg = store
    assert cfg.tracking.system_metrics is True
    with tracked_run_ok(cfg, tmp_path) as tracker:
        tracker.log_metrics({"m": 1.0})
        closing = time.perf_counter()
    assert time.perf_counter() - closing < interval / 2
    (run,) = mlflow_runs(db)
    assert run.data.metrics == {"m": 1.0}


def test_record_failure_opens_a_failed_run_for_a_job_that_failed_before_its_run(store, mlflow_runs, tmp_path):
    db, cfg = store
    run_id = runs.record_failure(cfg, {"student": "tiny"}, tmp_path, ValueError("bad value"))
    (run,) = mlflow_runs(db)
    assert run.info.run_id == run_id and run.info.status == "FAILED"
    assert run.data.tags["error"] == "ValueError: bad value"
    assert run.data.params["student.name"] == "tiny" and run.data.tags["choice.student"] == "tiny"


def test_record_failure_tags_the_run_the_job_had_opened(store, mlflow_runs, tmp_path):
    db, cfg = store
    with pytest.raises(RuntimeError):
        with tracked_run_ok(cfg, tmp_path):
            raise RuntimeError("boom")
    opened = runs.last_run_id
    assert runs.record_failure(cfg, {}, tmp_path, RuntimeError("boom"), opened) == opened
    (run,) = mlflow_runs(db)  # no second run
    assert run.info.run_id == opened and run.info.status == "FAILED"
    assert run.data.tags["error"] == "RuntimeError: boom"


def test_record_failure_is_a_no_op_without_tracking(compose, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runs.record_failure(compose(["tracking=none"]), {}, tmp_path, ValueError("x")) is None
    assert list(tmp_path.iterdir()) == []
