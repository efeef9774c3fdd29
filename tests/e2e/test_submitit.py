"""Sweeps under submitit (``hydra/launcher=submitit_local``): the jobs run as separate processes started by
submitit's local executor, as ``hydra/launcher=submitit_slurm`` runs them on SLURM nodes, and still nest under
the sweep's one MLflow parent run; failed jobs still fail the sweep (exit status 1), even with tracking off.

Also: our ``conf/hydra/launcher/submitit_*.yaml`` take the plugin's names and are merged onto its schemas (our
commented fields, the plugin's others, type checks, no deprecation warning). (A SLURM sweep whose tracking URI is
this machine's warns before submitting: tests/unit/tracking/test_sweep_launchers.py.)
"""
from __future__ import annotations

from pathlib import Path

import pytest
from helpers import sweeps

PARENT_TAG, _split, _sweep = sweeps.PARENT_TAG, sweeps.split_runs, sweeps.run_sweep

LOCAL = ["hydra/launcher=submitit_local"]
# pytest resets warning filters for each test: the one polyglot_distill.tracking.sweep sets for train.py, again for compose()
pytestmark = pytest.mark.filterwarnings("ignore:\\s*'hydra/launcher/submitit_:UserWarning")
# pytest resets warning filters for each test: the one polyglot_distill.tracking.sweep sets for train.py, again for compose()
def _submitit_logs(sweep_dir: Path) -> list[str]:
    """The stdout logs of the jobs submitit ran (``.submitit/<job id>/<job id>_0_log.out``)."""
    return [p.read_text() for p in sorted((sweep_dir / ".submitit").glob("*/*_0_log.out"))]


@pytest.mark.slow
def test_a_submitit_sweep_nests_both_jobs_under_one_parent(cli, mlflow_runs, tmp_path):
    proc, db, sweep_dir = _sweep(cli, tmp_path, *LOCAL, "languages.targets=[de],[fr]", "tracking.log_model=false",
                                 "tracking.system_metrics=false", "eval.baseline=false")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"exit {proc.returncode}\n{output[-4000:]}"
    assert "Submitit 'local' sweep output dir" in output
    logs = _submitit_logs(sweep_dir)  # each job ran in a process of submitit's, which logged its end
    assert len(logs) == 2 and all("Job completed successfully" in log for log in logs), logs

    parents, children = _split(mlflow_runs(db))
    assert len(parents) == 1 and len(children) == 2, [r.info.run_name for r in parents + children]
    (parent,) = parents
    assert parent.info.status == "FINISHED" and parent.data.tags["sweep.launcher"] == "submitit_local"
    assert parent.data.metrics["sweep/jobs"] == 2 and parent.data.metrics["sweep/failed_jobs"] == 0
    for job, (child, lang) in enumerate(zip(children, ["de", "fr"])):
        assert child.data.tags[PARENT_TAG] == parent.info.run_id and child.info.status == "FINISHED"
        assert child.data.tags["sweep.job"] == str(job) and child.data.tags["output_dir"] == str(sweep_dir / str(job))
        assert f"teacher_retrieval/en-{lang}/accuracy" in child.data.metrics
    assert (sweep_dir / "summary.md").exists() and "2 finished, 0 failed" in (sweep_dir / "summary.md").read_text()


@pytest.mark.slow
def test_failed_submitit_jobs_fail_the_sweep_without_tracking(cli, tmp_path):
    """Both jobs fail with a config error in submitit's processes (before any model loads). With tracking off
    there are no FAILED child runs to read: the sweep's own process learns it from the jobs' marker files.
    (A tracked failing job is tests/e2e/test_sweep.py's; under submitit its run is recorded the same way.)"""
    proc, db, sweep_dir = _sweep(cli, tmp_path, *LOCAL, "optimizer.lr=-1,-2", "tracking=none")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"exit {proc.returncode}\n{output[-4000:]}"
    # the errors were logged in submitit's processes; the sweep repeats them where the user looks
    assert f"failed job {sweep_dir / '0'}: ConfigError: optimizer.lr: -1.0 must be > 0" in output
    assert f"failed job {sweep_dir / '1'}: ConfigError: optimizer.lr: -2.0 must be > 0" in output
    assert all("the sweep goes on" in log for log in _submitit_logs(sweep_dir))
    assert not db.exists()


def test_launcher_configs_take_the_plugins_names_and_keep_its_schema(cli, compose):
    proc = cli("hydra/launcher=submitit_slurm", "hydra.launcher.partition=gpu", "--cfg", "hydra",
               "-p", "hydra.launcher")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "deprecated" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr  # train.py stays quiet
    launcher = compose(["hydra/launcher=submitit_slurm"], return_hydra_config=True).hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher") and "partition: gpu" in proc.stdout
    ours = {"partition": None, "gpus_per_node": 1, "cpus_per_task": 8, "mem_gb": 32, "timeout_min": 240,
            "array_parallelism": 16, "account": None, "setup": [], "additional_parameters": {}}
    assert {k: launcher[k] for k in ours} == ours
    # the plugin's other fields, with its defaults: our file was merged onto its schema, not put in its place
    assert launcher.qos is None and launcher.signal_delay_s == 120 and launcher.max_num_timeout == 0
    assert launcher.submitit_folder.endswith("/.submitit/%j")

    local = compose(["hydra/launcher=submitit_local"], return_hydra_config=True).hydra.launcher
    assert local._target_.endswith("submitit_launcher.LocalLauncher")
    assert local.gpus_per_node == 0 and local.timeout_min == 60 and local.tasks_per_node == 1

    from hydra.errors import ConfigCompositionException

    for bad, why in (("hydra.launcher.partiton=gpu", "partiton"), ("hydra.launcher.mem_gb=lots", "mem_gb")):
        with pytest.raises(ConfigCompositionException) as err:  # the schema's checks: a typo, a wrong type
            compose(["hydra/launcher=submitit_slurm", bad], return_hydra_config=True)
        assert why in str(err.value) + str(err.value.__cause__), bad


