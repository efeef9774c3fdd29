"""MLflow logging against a real SQLite store in a temporary folder."""
from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from polyglot_distill.tracking import runs
from polyglot_distill.tracking.runs import MAX_PARAM_CHARS, Tracker, flatten, tracked_run


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (creating one costs seconds); each test uses its own experiment."""
    folder = tmp_path_factory.mktemp("mlflow")
    return folder, folder / "mlflow.db"


@pytest.fixture
def tracked_cfg(compose, store, monkeypatch, request):
    folder, db = store
    monkeypatch.chdir(folder)  # MLflow puts a SQLite store's artifacts under ./mlruns of the current folder
    return compose(["student=tiny", f"tracking.uri=sqlite:///{db}", f"tracking.experiment={request.node.name}"])


def _runs(mlflow_runs, store, cfg):
    return mlflow_runs(store[1], cfg.tracking.experiment)


def test_flatten_drops_secret_looking_keys_and_clips_values():
    cfg = OmegaConf.create({
        "db": {"password": "hunter2", "API_TOKEN": "abc", "aws_secret_access_key": "k", "credentials_file": "f",
               "host": "localhost"},
        "long": "x" * (MAX_PARAM_CHARS + 500),
        "nested": {"list": [1, 2], "ref": "${db.host}", "none": None},
    })
    flat = flatten(cfg)
    assert flat == {"db.host": "localhost", "long": "x" * MAX_PARAM_CHARS, "nested.list": "[1, 2]",
                    "nested.ref": "localhost", "nested.none": "None"}
    assert not any(secret in value for value in flat.values() for secret in ("hunter2", "abc"))


def test_flatten_keeps_every_key_of_the_real_config(compose):
    cfg = compose([])
    flat = flatten(cfg)
    leaves = flatten(OmegaConf.create({"all": OmegaConf.to_container(cfg, resolve=True)}))  # keys under "all."
    assert set(flat) == {key.removeprefix("all.") for key in leaves}  # no false positive among our own keys
    assert {"teacher.model", "optimizer.lr", "student.max_seq_length", "tracking.uri"} <= set(flat)


def test_flatten_does_not_log_credentials_inside_a_uri():
    flat = flatten(OmegaConf.create({"tracking": {"uri": "https://alice:s3cr3t@mlflow.example.com"}}))
    assert "s3cr3t" not in flat.get("tracking.uri", "")


def test_tracked_run_ends_failed_on_exception(tracked_cfg, store, mlflow_runs, tmp_path):
    import mlflow

    with pytest.raises(RuntimeError, match="boom"):
        with tracked_run(tracked_cfg, {"student": "tiny", "teacher": "minilm-l6"}, tmp_path) as tracker:
            tracker.log_metrics({"loss": 1.5, "undefined": float("nan"), "inf": math.inf})
            raise RuntimeError("boom")
    assert mlflow.active_run() is None  # nothing left active for the next job of a sweep
    (run,) = _runs(mlflow_runs, store, tracked_cfg)
    assert run.info.status == "FAILED"
    assert run.data.metrics == {"loss": 1.5}  # NaN / inf are dropped, not logged
    assert run.data.params["student.name"] == "tiny"
    assert run.data.tags["choice.student"] == "tiny"
    assert run.data.tags["output_dir"] == str(tmp_path)
    assert run.info.run_name  # named after the choices when tracking.run_name is null


def test_tracked_run_finishes_and_logs_params_tags_and_artifacts(tracked_cfg, store, mlflow_runs, tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "b.txt").write_text("world")
    with tracked_run(tracked_cfg, {"student": "tiny"}, tmp_path) as tracker:
        assert tracker.run_id
        tracker.log_metrics({"m": 2.0}, step=3)
        tracker.set_tags({"kept": "yes", "dropped": None})
        tracker.log_artifact(tmp_path / "a.txt")
        tracker.log_artifact(tmp_path / "missing.txt")  # a missing file is skipped, not an error
        tracker.log_artifacts(tmp_path / "folder", "sub")
    (run,) = _runs(mlflow_runs, store, tracked_cfg)
    assert run.info.status == "FINISHED" and run.info.run_id == tracker.run_id
    assert run.data.metrics == {"m": 2.0}
    assert run.data.params["optimizer.lr"] == str(tracked_cfg.optimizer.lr)
    assert len(run.data.params) == len(flatten(tracked_cfg))  # more than 100 params are logged in chunks
    assert run.data.tags["kept"] == "yes" and "dropped" not in run.data.tags
    assert "git_commit" in run.data.tags
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracked_cfg.tracking.uri)
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == ["a.txt", "sub"]
    assert [a.path for a in client.list_artifacts(run.info.run_id, "sub")] == ["sub/b.txt"]


def test_stale_mlflow_run_id_in_the_environment_is_ignored(tracked_cfg, store, mlflow_runs, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("MLFLOW_RUN_ID", "0123456789abcdef0123456789abcdef")
    with tracked_run(tracked_cfg, {}, tmp_path) as tracker:
        tracker.log_metrics({"x": 1.0})
    (run,) = _runs(mlflow_runs, store, tracked_cfg)
    assert run.info.run_id == tracker.run_id and run.info.status == "FINISHED"


def test_disabled_tracking_is_a_no_op_and_creates_no_store(compose, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = compose(["tracking=none"])
    with pytest.raises(ValueError):
        with tracked_run(cfg, {"student": "x"}, tmp_path) as tracker:
            assert isinstance(tracker, Tracker) and not tracker.enabled and tracker.run_id is None
            tracker.log_metrics({"a": 1.0})
            tracker.log_artifact(__file__)
            tracker.set_tags({"a": "b"})
            raise ValueError("propagates unchanged")
    assert list(tmp_path.iterdir()) == []


def test_git_commit_is_a_hash_or_none():
    commit = runs.git_commit()
    assert commit is None or (len(commit) == 40 and int(commit, 16) >= 0)
