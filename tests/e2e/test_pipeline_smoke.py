"""End to end: the real CLI (`train.py experiment=smoke`) into a temporary MLflow store, read back.

(A run that raises inside the MLflow run, and `tracking=none`, are tests/unit/test_pipeline_run.py.)
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from helpers.paths import REPO

LANGS = ["de", "fr"]
SMOKE_LIMIT_S = 90  # README.md: "< 90 s end to end with a tiny student" (80 s measured on a 2-core AMD EPYC, quiet)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Run the smoke experiment once for the module, as a user would, in a temporary folder."""
    tmp = tmp_path_factory.mktemp("smoke")
    db, run_dir = tmp / "mlflow.db", tmp / "run"
    cmd = [sys.executable, str(REPO / "train.py"), "experiment=smoke", f"tracking.uri=sqlite:///{db}",
           f"hydra.run.dir={run_dir}"]
    repo_db_before = _stat(REPO / "mlflow.db")
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tmp, env=dict(os.environ), capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.get_experiment_by_name("polyglot-distill")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    return {"proc": proc, "elapsed": elapsed, "db": db, "run_dir": run_dir, "tmp": tmp, "client": client,
            "runs": runs, "repo_db_unchanged": _stat(REPO / "mlflow.db") == repo_db_before}


def _stat(path: Path):
    return (path.stat().st_size, path.stat().st_mtime_ns) if path.exists() else None


@pytest.fixture(scope="module")
def run(smoke):
    assert len(smoke["runs"]) == 1, f"expected exactly one run, got {len(smoke['runs'])}"
    return smoke["runs"][0]


def test_smoke_exits_0_within_the_time_limit(smoke):
    assert smoke["proc"].returncode == 0
    assert smoke["elapsed"] < SMOKE_LIMIT_S, f"smoke run took {smoke['elapsed']:.1f} s"
    assert "teacher_retrieval/accuracy" in smoke["proc"].stdout  # the results table is printed


def test_exactly_one_finished_run(smoke, run):
    assert run.info.status == "FINISHED"
    assert run.info.run_name and "tiny" in run.info.run_name  # named after the choices


def test_metrics_for_every_target_language(run):
    metrics = run.data.metrics
    for lang in LANGS:
        pair = f"en-{lang}"
        expected = [
            f"retrieval/{pair}/accuracy", f"teacher_retrieval/{pair}/accuracy", f"sts_teacher/{pair}/spearman",
            f"sts_teacher/{lang}/spearman", f"mse/{pair}/mse",
            f"baseline/student/retrieval/{pair}/accuracy", f"baseline/student/sts_teacher/{pair}/spearman",
            f"baseline/teacher/retrieval/{pair}/accuracy", f"baseline/teacher/teacher_retrieval/{pair}/accuracy",
            f"baseline/teacher/sts_teacher/{pair}/spearman", f"baseline/teacher/mse/{pair}/mse",
            f"baseline/lstsq/retrieval/{pair}/accuracy", f"baseline/lstsq/teacher_retrieval/{pair}/accuracy",
            f"baseline/lstsq/sts_teacher/{pair}/spearman", f"baseline/lstsq/mse/{pair}/mse",
            f"dev/teacher_retrieval/{pair}/accuracy", f"data/train/{lang}/pairs", f"data/test/{lang}/pairs",
        ]
        missing = [key for key in expected if key not in metrics]
        assert not missing, missing
        # the tiny student (128 dims) has no teacher-space baseline before its projection head
        assert f"baseline/student/teacher_retrieval/{pair}/accuracy" not in metrics
        assert metrics[f"data/train/{lang}/pairs"] == 100 and metrics[f"data/test/{lang}/pairs"] == 100
    for lang in [*LANGS, "ru", "zh"]:  # UDHR zero-shot: the trained languages and the two unseen ones
        for key in (f"udhr/teacher_retrieval/en-{lang}/accuracy", f"baseline/lstsq/udhr/retrieval/en-{lang}/accuracy",
                    f"baseline/teacher/udhr/sts_teacher/en-{lang}/spearman"):
            assert key in metrics, key
        assert metrics[f"data/udhr/{lang}/pairs"] >= 40
    for key in ("udhr/mean_trained/teacher_retrieval/accuracy", "udhr/mean_unseen/teacher_retrieval/accuracy"):
        assert key in metrics, key
    for key in ("dev/selection", "selection", "mean/teacher_retrieval/accuracy", "time/total_s",
                "time/teacher_encode_s", "train/best_step", "baseline/teacher/selection"):
        assert key in metrics, key
    for key, value in metrics.items():
        assert math.isfinite(value), key
        if key.endswith("/accuracy"):
            assert 0.0 <= value <= 1.0, (key, value)
        elif key.endswith("/spearman"):
            assert -1.0 <= value <= 1.0, (key, value)
        elif key.endswith("/mse"):
            assert value >= 0.0, (key, value)


def test_dev_selection_is_logged_over_training(smoke, run):
    history = smoke["client"].get_metric_history(run.info.run_id, "dev/selection")
    assert len(history) >= 2 and min(m.step for m in history) == 0


def test_params_and_tags(run):
    params, tags = run.data.params, run.data.tags
    assert params["teacher.model"] == "bundled:minilm-l6"
    assert float(params["optimizer.lr"]) == pytest.approx(1e-3)
    assert params["student.model"] == "tiny" and params["languages.targets"] == "['de', 'fr']"
    assert tags["choice.student"] == "tiny" and tags["choice.experiment"] == "smoke"
    assert tags["choice.teacher"] == "minilm-l6"
    assert len(tags["git_commit"]) == 40 and int(tags["git_commit"], 16) >= 0
    assert tags["teacher.ends_in_normalize"] == "True"


def test_artifacts(smoke, run, tmp_path):
    client, run_id = smoke["client"], run.info.run_id
    top = {a.path for a in client.list_artifacts(run_id)}
    assert {"results.csv", "results.json", "before_after.png", "data_manifest.json", "config_resolved.yaml",
            "dev_history.json", "hydra", "udhr_results.csv", "udhr_results.json", "udhr_zero_shot.png"} <= top, top
    hydra = {a.path for a in client.list_artifacts(run_id, "hydra")}
    assert {"hydra/config.yaml", "hydra/overrides.yaml"} <= hydra, hydra

    local = Path(client.download_artifacts(run_id, "", str(tmp_path)))
    assert (local / "before_after.png").read_bytes()[:8] == PNG_MAGIC
    import matplotlib.image

    assert matplotlib.image.imread(str(local / "before_after.png")).ndim == 3
    manifest = json.loads((local / "data_manifest.json").read_text())
    assert sorted(manifest["languages"]) == LANGS and manifest["source"] == "gettext"
    results = json.loads((local / "results.json").read_text())
    assert {row["language"] for row in results["rows"]} == {*LANGS, "mean"}
    assert "experiment=smoke" in yaml.safe_load((local / "hydra" / "overrides.yaml").read_text())
    resolved = yaml.safe_load((local / "config_resolved.yaml").read_text())
    assert resolved["tracking"]["uri"] == f"sqlite:///{smoke['db']}" and resolved["student"]["name"] == "tiny"
    assert resolved["cache_dir"] == os.environ["POLYGLOT_DISTILL_CACHE"]  # the interpolation is resolved
    # the same files are in the run's output folder
    for name in ("results.csv", "results.json", "before_after.png", "data_manifest.json", "config_resolved.yaml"):
        assert (smoke["run_dir"] / name).read_bytes() == (local / name).read_bytes(), name


def test_smoke_artifacts_stay_in_the_run_folder(smoke):
    """Nothing is written to the repository; MLflow's artifacts land next to the SQLite store, not in ./mlruns."""
    assert smoke["repo_db_unchanged"]
    assert (smoke["db"].parent / "mlartifacts").is_dir()
    assert not (smoke["tmp"] / "mlruns").exists()


def test_smoke_does_not_save_the_model(smoke):
    assert not (smoke["run_dir"] / "model").exists()


def test_the_logged_student_loads_back_and_embeds(smoke, run):
    """The sentence-transformers flavour: the run's model_uri tag resolves, loads, and embeds like the run did."""
    import mlflow
    import numpy as np

    uri = run.data.tags["model_uri"]
    assert uri.startswith("models:/m-"), uri
    mlflow.set_tracking_uri(f"sqlite:///{smoke['db']}")
    try:
        model = mlflow.sentence_transformers.load_model(uri)
        sentences = ["Das ist ein Test.", "This is a test.", "Ceci est un test."]
        vectors = model.encode(sentences)
        assert vectors.shape == (3, 384) and np.isfinite(vectors).all()  # projected to the teacher's 384 dims
        as_pyfunc = np.asarray(mlflow.pyfunc.load_model(uri).predict(sentences))
        np.testing.assert_allclose(as_pyfunc, vectors, atol=1e-5)
        logged = mlflow.get_logged_model(uri.removeprefix("models:/"))
        assert logged.source_run_id == run.info.run_id
    finally:
        mlflow.set_tracking_uri(None)
