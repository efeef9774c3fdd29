"""Sweeps (`train.py -m`) as MLflow experiments: one parent run, one nested child run per job, a summary.

The CLI tests run a real two-job sweep of the smoke experiment (one language per job, 50 training pairs, no
UDHR) under the basic launcher, and a sweep whose first job fails with a config error. Sweeps whose jobs run in
other processes nest the same way: the joblib launcher's in tests/e2e/test_mlflow_server.py (over HTTP) and
tests/e2e/test_concurrency.py (one SQLite file), submitit's in tests/e2e/test_submitit.py. The other tests check the
pieces (nesting, failure records, the summary) in seconds.
"""
from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers.sweeps import FAST, PARENT_TAG, PNG_MAGIC, SUMMARY, run_sweep, split_runs

from polyglot_distill.tracking import runs, sweep_summary


def _artifacts(db: Path, run_id: str) -> set[str]:
    from mlflow.tracking import MlflowClient

    return {a.path for a in MlflowClient(f"sqlite:///{db}").list_artifacts(run_id)}


def _download(db: Path, run_id: str, name: str, dst: Path) -> Path:
    from mlflow.tracking import MlflowClient

    return Path(MlflowClient(f"sqlite:///{db}").download_artifacts(run_id, name, str(dst)))


def test_a_sweep_is_one_parent_run_with_a_child_per_job_and_a_summary(cli, mlflow_runs, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "1")
    started = time.perf_counter()
    proc, db, sweep_dir = run_sweep(cli, tmp_path, "languages.targets=[de],[fr]")
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"

    parents, children = split_runs(mlflow_runs(db))
    assert len(parents) == 1, [r.info.run_name for r in parents]
    assert len(children) == 2, [r.info.run_name for r in children]
    (parent,) = parents
    pid = parent.info.run_id
    for job, (child, lang) in enumerate(zip(children, ["de", "fr"])):
        tags, metrics = child.data.tags, child.data.metrics
        assert tags[PARENT_TAG] == pid
        assert child.info.status == "FINISHED"
        assert tags["sweep.job"] == str(job) and f"languages.targets=[{lang}]" in tags["sweep.overrides"]
        assert child.data.params["languages.targets"] == f"['{lang}']"
        assert tags["choice.experiment"] == "smoke" and tags["choice.student"] == "tiny"
        assert tags["output_dir"] == str(sweep_dir / str(job))
        for key in (f"teacher_retrieval/en-{lang}/accuracy", f"sts_teacher/en-{lang}/spearman",
                    f"retrieval/en-{lang}/accuracy", "selection", "mean/teacher_retrieval/accuracy"):
            assert key in metrics, key
        assert "system/cpu_utilization_percentage" in metrics and "system/system_memory_usage_megabytes" in metrics

    ptags = parent.data.tags
    assert parent.info.status == "FINISHED"
    assert "languages.targets=[de],[fr]" in ptags["sweep.overrides"] and "experiment=smoke" in ptags["sweep.overrides"]
    assert ptags["sweep.dir"] == str(sweep_dir)
    assert ptags["sweep.launcher"] == "basic"
    assert parent.data.metrics["sweep/jobs"] == 2 and parent.data.metrics["sweep/failed_jobs"] == 0
    assert parent.data.metrics["sweep/best_selection"] == max(c.data.metrics["selection"] for c in children)
    assert "system/cpu_utilization_percentage" in parent.data.metrics
    assert SUMMARY <= _artifacts(db, pid)

    # the summary sits next to Hydra's own sweep files, and the parent's copy is the same
    assert (sweep_dir / "multirun.yaml").exists() and (sweep_dir / "0" / ".hydra").is_dir()
    md = (sweep_dir / "summary.md").read_text()
    assert md == _download(db, pid, "summary.md", tmp_path / "dl").read_text()
    assert "#0 languages.targets=['de']" in md and "#1 languages.targets=['fr']" in md
    assert "2 finished, 0 failed" in md
    rows = list(csv.DictReader(_download(db, pid, "summary.csv", tmp_path / "dl").open()))
    assert [r["run_id"] for r in rows] == [c.info.run_id for c in children]
    assert [r["choice.student"] for r in rows] == ["tiny", "tiny"]
    de_score = children[0].data.metrics["teacher_retrieval/en-de/accuracy"]
    assert float(rows[0]["teacher_retrieval/en-de/accuracy"]) == de_score
    assert float(rows[1]["sts_teacher/en-fr/spearman"]) == children[1].data.metrics["sts_teacher/en-fr/spearman"]
    assert rows[0]["teacher_retrieval/en-fr/accuracy"] == "" and rows[1]["teacher_retrieval/en-de/accuracy"] == ""
    import matplotlib.image

    # 2 jobs x 2 languages: the scores chart is 12 x 4.4 in, the heatmap 5 x 3 in, both at 110 dpi
    for png, size in (("summary_scores.png", (484, 1320)), ("summary_teacher_retrieval.png", (330, 550))):
        assert (sweep_dir / png).read_bytes()[:8] == PNG_MAGIC, png
        pixels = matplotlib.image.imread(str(sweep_dir / png))
        assert pixels.shape[:2] == size and pixels.std() > 0.05, (png, pixels.shape)  # the right size, not blank

    # every job logged its student; the one with the best *dev* selection is registered with the alias "best"
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    assert all(c.data.tags["model_uri"].startswith("models:/m-") for c in children)
    best = max(children, key=lambda c: c.data.metrics["dev/selection"])
    version = client.get_model_version_by_alias("polyglot-distill-student", "best")
    assert version.run_id == best.info.run_id and version.tags["sweep_parent_run"] == pid
    assert client.get_run(pid).data.tags["sweep.best_run"] == best.info.run_id
    print(f"basic sweep of 2 jobs: {elapsed:.1f} s")


def test_a_failing_job_is_logged_failed_and_the_sweep_goes_on(cli, mlflow_runs, tmp_path):
    """Job 0 fails with a config error before any model loads; job 1 still runs; the parent ends FAILED."""
    proc, db, sweep_dir = run_sweep(cli, tmp_path, "languages.targets=[xx],[de]")
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    output = proc.stdout + proc.stderr
    assert "error: languages.targets: 'xx' is not an ISO 639-1 language code" in output
    assert "Traceback" not in output  # a config error is a message, not a crash

    parents, children = split_runs(mlflow_runs(db))
    assert len(parents) == 1 and len(children) == 2
    (parent,) = parents
    failed, finished = children
    assert [c.data.tags[PARENT_TAG] for c in children] == [parent.info.run_id] * 2
    assert failed.info.status == "FAILED" and finished.info.status == "FINISHED"
    assert "'xx' is not an ISO 639-1 language code" in failed.data.tags["error"]
    assert failed.data.params["languages.targets"] == "['xx']" and failed.data.tags["choice.experiment"] == "smoke"
    assert "error" not in finished.data.tags
    assert "teacher_retrieval/en-de/accuracy" in finished.data.metrics
    assert parent.info.status == "FAILED"
    assert f"1 of 2 jobs failed: see the parent run {parent.info.run_id}" in output
    assert parent.data.metrics["sweep/failed_jobs"] == 1 and parent.data.metrics["sweep/jobs"] == 2
    assert SUMMARY <= _artifacts(db, parent.info.run_id)
    md = (sweep_dir / "summary.md").read_text()
    assert "1 finished, 1 failed" in md and "## Failed jobs" in md and "'xx' is not an ISO 639-1" in md


def test_a_sweep_without_tracking_still_goes_on_and_exits_1(cli, tmp_path):
    """tracking=none: no store, no parent, but every job runs and a failure sets the exit status."""
    proc = cli("-m", "experiment=smoke", "tracking=none", "optimizer.lr=-1,-2", f"hydra.sweep.dir={tmp_path}/multirun")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"exit {proc.returncode}\n{output[-3000:]}"
    assert "error: optimizer.lr: -1.0 must be > 0" in output and "error: optimizer.lr: -2.0 must be > 0" in output
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "multirun" / "summary.md").exists()


# ---- the pieces, without training -------------------------------------------------------------------------

@pytest.fixture
def store(compose, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "mlflow.db"
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


def _fake_run(job, status, lang=None, score=None, error=None, lr="0.001"):
    metrics = {}
    if lang:
        metrics = {f"teacher_retrieval/en-{lang}/accuracy": score, f"sts_teacher/en-{lang}/spearman": score / 2,
                   f"retrieval/en-{lang}/accuracy": score / 3, "selection": score,
                   "mean/teacher_retrieval/accuracy": score,
                   f"baseline/teacher/teacher_retrieval/en-{lang}/accuracy": 0.5}
    tags = {"sweep.job": str(job), "choice.student": "tiny", "choice.languages": "de"}
    tags |= {"error": error} if error else {}
    return SimpleNamespace(info=SimpleNamespace(run_id=f"run{job}", run_name=f"name{job}", status=status),
                           data=SimpleNamespace(tags=tags, params={"optimizer.lr": lr}, metrics=metrics))


def test_summary_tables_and_charts_from_child_runs(tmp_path):
    runs = [_fake_run(2, "FAILED", error="ConfigError: bad | value"), _fake_run(1, "FINISHED", "fr", 0.6, lr="0.01"),
            _fake_run(0, "FINISHED", "de", 0.9)]
    paths = sweep_summary.write_summary(runs, ["optimizer.lr"], tmp_path / "sweep", {"overrides": "`x`"})
    assert sorted(p.name for p in paths) == sorted(SUMMARY) and all(p.parent == tmp_path / "sweep" for p in paths)
    rows = list(csv.DictReader((tmp_path / "sweep" / "summary.csv").open()))
    assert [r["job"] for r in rows] == ["0", "1", "2"]  # Hydra's job order, not the store's
    assert [r["optimizer.lr"] for r in rows] == ["0.001", "0.01", "0.001"]
    assert [r["status"] for r in rows] == ["FINISHED", "FINISHED", "FAILED"]
    assert float(rows[0]["teacher_retrieval/en-de/accuracy"]) == 0.9
    assert rows[0]["teacher_retrieval/en-fr/accuracy"] == ""
    assert math.isclose(float(rows[1]["sts_teacher/en-fr/spearman"]), 0.3)
    assert rows[2]["error"] == "ConfigError: bad | value" and rows[2]["selection"] == ""
    assert not any(k.startswith("baseline/") for k in rows[0])  # final test scores only
    md = (tmp_path / "sweep" / "summary.md").read_text()
    assert "| #0 optimizer.lr=0.001 | 0.9000 |  | 0.9000 |" in md  # teacher_retrieval: de, fr, mean
    assert "ConfigError: bad \\| value" in md  # a pipe in a value does not break the table
    assert "- jobs: 3 (2 finished, 1 failed)" in md and "## Failed jobs" in md
    import matplotlib.image

    for png in ("summary_scores.png", "summary_teacher_retrieval.png"):
        assert matplotlib.image.imread(str(tmp_path / "sweep" / png)).ndim == 3, png


def test_summary_of_a_sweep_where_every_job_failed(tmp_path):
    paths = sweep_summary.write_summary([_fake_run(0, "FAILED", error="x")], [], tmp_path, {})
    assert all(p.stat().st_size > 0 for p in paths)
    assert "0 finished, 1 failed" in (tmp_path / "summary.md").read_text()
