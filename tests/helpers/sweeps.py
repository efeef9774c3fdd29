"""Sweep helpers shared by the sweep, submitit and MLflow-server end-to-end tests."""

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SUMMARY = {"summary.csv", "summary.md", "summary_scores.png", "summary_teacher_retrieval.png"}
# a smoke job in seconds: one language, few pairs, no UDHR, no saved model
FAST = ["experiment=smoke", "save_model=false", "eval.udhr_languages=[]", "data.max_train_pairs=50",
        "data.max_test_pairs=50", "eval.sts_pairs=50"]
PARENT_TAG = "mlflow.parentRunId"


def run_sweep(cli, tmp_path, *overrides):
    """Run ``train.py -m`` into a store and sweep folder of ``tmp_path``; system metrics every second (a fast
    job ends before MLflow's default 10 s interval)."""
    db, sweep_dir = tmp_path / "mlflow.db", tmp_path / "multirun"
    proc = cli("-m", *FAST, *overrides, f"tracking.uri=sqlite:///{db}", f"hydra.sweep.dir={sweep_dir}", timeout=600)
    return proc, db, sweep_dir


def split_runs(runs):
    parents = [r for r in runs if PARENT_TAG not in r.data.tags]
    children = sorted((r for r in runs if PARENT_TAG in r.data.tags), key=lambda r: int(r.data.tags["sweep.job"]))
    return parents, children
