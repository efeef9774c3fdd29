"""hparams_search=optuna: a real Optuna search through Hydra's sweeper, each trial a child MLflow run."""
from __future__ import annotations

import math

import pytest
import yaml
from helpers.paths import TRAIN


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    import os
    import subprocess
    import sys

    tmp = tmp_path_factory.mktemp("optuna")
    train = TRAIN
    args = ["-m", "hparams_search=optuna_smoke", "experiment=smoke", "eval.udhr_languages=[]",
            "tracking.log_model=false", f"tracking.uri=sqlite:///{tmp}/mlflow.db", f"hydra.sweep.dir={tmp}/multirun"]
    proc = subprocess.run([sys.executable, str(train), *args], cwd=tmp, env=dict(os.environ), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {"tmp": tmp, "proc": proc}


def test_three_trials_each_a_child_of_one_parent(search, mlflow_runs):
    runs = mlflow_runs(search["tmp"] / "mlflow.db")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 3, [r.info.run_name for r in runs]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert all(c.info.status == "FINISHED" for c in children)
    # the sampler chose different learning rates, within the configured range
    lrs = {float(c.data.params["optimizer.lr"]) for c in children}
    assert len(lrs) == 3 and all(1e-4 <= lr <= 1e-2 for lr in lrs), lrs


def test_the_best_value_is_the_best_trials_dev_selection(search, mlflow_runs):
    result = yaml.safe_load((search["tmp"] / "multirun" / "optimization_results.yaml").read_text())
    assert set(result["best_params"]) == {"optimizer.lr", "optimizer.warmup_ratio", "optimizer.batch_size",
                                          "data.max_train_pairs"}
    children = [r for r in mlflow_runs(search["tmp"] / "mlflow.db") if "mlflow.parentRunId" in r.data.tags]
    scores = [c.data.metrics["dev/selection"] for c in children]
    assert math.isclose(result["best_value"], max(scores), rel_tol=1e-9), (result["best_value"], scores)
    best = children[scores.index(max(scores))]
    assert math.isclose(float(best.data.params["optimizer.lr"]), result["best_params"]["optimizer.lr"], rel_tol=1e-9)
