"""Sweeps (`train.py -m`) as MLflow experiments: one parent run, one nested child run per job, a summary.

The CLI tests run a real two-job sweep of the smoke experiment (one language per job, 50 training pairs, no
UDHR) under the basic launcher, and a sweep whose first job fails with a config error. Sweeps whose jobs run in
other processes nest the same way: the joblib launcher's in tests/e2e/test_mlflow_server.py (over HTTP) and
tests/e2e/test_concurrency.py (one SQLite file), submitit's in tests/e2e/test_submitit.py. The pieces (nesting,
failure records, the summary) are checked in seconds in tests/unit/tracking/test_sweep_runs.py and
test_sweep_summary.py.
"""
from __future__ import annotations

import csv
import time
from pathlib import Path

from helpers.sweeps import PARENT_TAG, PNG_MAGIC, SUMMARY, run_sweep, split_runs


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



