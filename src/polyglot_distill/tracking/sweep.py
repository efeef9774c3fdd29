"""Sweeps (``train.py -m``) as MLflow experiments: one parent run per sweep, one child run per job.

- :class:`MlflowSweep` is a Hydra callback (``hydra.callbacks`` in ``conf/config.yaml``). Before the launcher
  starts any job it opens the sweep's parent run (tags ``sweep.overrides``, ``sweep.dir``...) and exports its
  id as ``POLYGLOT_DISTILL_PARENT_RUN_ID``: jobs of the basic launcher (this process) and of the joblib
  launcher (worker processes, which inherit the environment) nest their runs under it
  (:func:`polyglot_distill.tracking.runs.tracked_run`). When the sweep ends it writes the summary
  (:mod:`polyglot_distill.tracking.sweep_summary`) into the sweep directory and onto the parent, and ends the parent
  FINISHED when every child finished, FAILED otherwise.
- :func:`run_job` runs one job of a sweep: a job that fails is logged, recorded as a FAILED run with an
  ``error`` tag, and returns NaN, so the other jobs still run. :func:`exit_status` is then 1. The job also
  leaves a marker file in ``<sweep dir>/.failed_jobs/``: jobs of the joblib and submitit launchers run in
  other processes (other machines, on SLURM), and the sweep's process counts the markers when it ends.
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import warnings
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from polyglot_distill.errors import ConfigError
from polyglot_distill.tracking import runs

log = logging.getLogger(__name__)

# conf/hydra/launcher/submitit_{slurm,local}.yaml carry the plugin's own names on purpose: Hydra 1.3 merges each
# onto the plugin's schema of that name (types, every other field) and warns that this matching is deprecated.
# Imported by train.py and, through the pickled task, by every submitit job, before Hydra composes.
warnings.filterwarnings("ignore", category=UserWarning,
                        message=r"\s*'hydra/launcher/submitit_(slurm|local)' is validated against ConfigStore schema")

# The sweep's outcome; its failed jobs are marker files in <sweep dir>/FAILED_DIR, one per job (any launcher).
_exit_status = 0
FAILED_DIR = ".failed_jobs"


def exit_status() -> int:
    """1 when the last sweep of this process had a failed job, else 0 (train.py exits with it)."""
    return _exit_status


def run_job(run, cfg: DictConfig, output_dir: str, choices: dict[str, str]) -> float:
    """``run(cfg, output_dir, choices=choices)`` as one job of a sweep: a failure does not stop the sweep."""
    opened_before = runs.last_run_id
    try:
        return run(cfg, output_dir, choices=choices)
    except Exception as err:  # noqa: BLE001 - any failing job: record it, let the other jobs run
        if isinstance(err, ConfigError):
            log.error("error: %s", err)  # the user's to fix: the message, no traceback
        else:
            log.exception("job failed")
        own_run = runs.last_run_id if runs.last_run_id != opened_before else None
        run_id = runs.record_failure(cfg, choices, Path(output_dir), err, own_run)
        log.error("job in %s failed%s; the sweep goes on", output_dir, f" (MLflow run {run_id})" if run_id else "")
        _mark_failed(output_dir, err)
        return float("nan")


def _mark_failed(output_dir: str, err: Exception) -> None:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():  # called outside a Hydra job: no sweep to tell
        return
    hc = HydraConfig.get()
    folder = Path(str(hc.sweep.dir), FAILED_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    Path(folder, str(hc.job.get("num", os.getpid()))).write_text(f"{output_dir}\n{type(err).__name__}: {err}\n")


def _failed_jobs(config: DictConfig) -> list[str]:
    """``["<job output dir>: <error>", ...]`` from the markers the sweep's failed jobs left."""
    folder = Path(str(config.hydra.sweep.dir), FAILED_DIR)
    return [": ".join(f.read_text().splitlines()[:2]) for f in sorted(folder.glob("*"))] if folder.is_dir() else []


def _warn_if_jobs_cannot_reach(config: DictConfig) -> None:
    """SLURM jobs run on other machines: a tracking URI that names this machine, or a SQLite file (unsafe for
    writers on several nodes), does not make one shared store for them."""
    from urllib.parse import urlparse

    target = str(OmegaConf.select(config, "hydra.launcher._target_", default="") or "")
    uri = str(config.tracking.uri)
    if target.endswith("SlurmLauncher") and config.tracking.enabled and (
            uri.startswith("sqlite:") or urlparse(uri).hostname in ("127.0.0.1", "localhost", "::1")):
        log.warning("tracking.uri=%s is not a store that SLURM jobs on other machines can share: start "
                    "`make mlflow-server HOST=0.0.0.0` and export MLFLOW_TRACKING_URI=http://<its host>:5001 "
                    "(docs/scaling.md)", runs.strip_credentials(uri))


def _swept(overrides: list[str]) -> list:
    """The overrides that make the sweep: ``languages=de,fr optimizer.lr=1e-3`` -> ``[languages=de,fr]``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:  # noqa: BLE001 - Hydra parsed them already; a naming nicety is not worth failing over
        return []
    return [o for o in parsed if o.is_sweep_override()]


class MlflowSweep(Callback):
    """Hydra callback: the sweep's MLflow parent run, its id for the jobs, and the summary at the end."""

    def __init__(self) -> None:
        self._parent: str | None = None
        self._uri = self._experiment_id = self._sweep_dir = None
        self._overrides: list[str] = []
        self._monitor = None
        self._env_before: str | None = None

    # The joblib launcher pickles the callbacks into its workers, which need none of this state (and a monitor
    # thread cannot be pickled).
    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        global _exit_status
        _exit_status = 0
        shutil.rmtree(Path(str(config.hydra.sweep.dir), FAILED_DIR), ignore_errors=True)  # a reused sweep dir
        _warn_if_jobs_cannot_reach(config)
        tcfg = config.tracking
        if not tcfg.enabled:
            return
        import mlflow
        from mlflow.tracking import MlflowClient
        from mlflow.tracking.context import registry as context_registry

        self._uri, self._overrides = str(tcfg.uri), [runs.redact(str(o)) for o in config.hydra.overrides.task]
        self._sweep_dir = Path(os.path.abspath(str(config.hydra.sweep.dir)))  # as Hydra makes it
        mlflow.set_tracking_uri(self._uri)
        runs.ensure_experiment(self._uri, tcfg.experiment)
        client = MlflowClient(self._uri)
        self._experiment_id = client.get_experiment_by_name(tcfg.experiment).experiment_id
        swept = [o.input_line for o in _swept(self._overrides)]
        choices = OmegaConf.select(config, "hydra.runtime.choices", default={}) or {}
        tags = {
            "sweep.overrides": " ".join(self._overrides)[:runs.MAX_TAG_CHARS],
            "sweep.dir": str(self._sweep_dir),
            "sweep.launcher": str(choices.get("hydra/launcher", "")),
            "sweep.sweeper": str(choices.get("hydra/sweeper", "")),
            "git_commit": runs.git_commit(),
        }
        name = ("sweep " + " ".join(swept or self._overrides))[:250].strip()
        run = client.create_run(self._experiment_id, run_name=name,
                                tags=context_registry.resolve_tags({k: v for k, v in tags.items() if v}))
        self._parent = run.info.run_id
        self._env_before = os.environ.get(runs.PARENT_RUN_ENV)
        os.environ[runs.PARENT_RUN_ENV] = self._parent
        atexit.register(self._abort)
        if tcfg.get("system_metrics", True):
            runs.quiet_system_metrics()
            try:
                from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

                self._monitor = SystemMetricsMonitor(self._parent, tracking_uri=self._uri)
                self._monitor.start()
            except Exception as err:  # noqa: BLE001 - metrics about the machine are optional
                log.warning("no system metrics for the sweep run: %s", err)
        log.info("MLflow sweep run %s (%s): each job's run is nested under it", self._parent, name)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        global _exit_status
        failed_jobs = _failed_jobs(config)
        for line in failed_jobs:  # out-of-process jobs logged theirs elsewhere (.submitit/ logs, a SLURM node)
            log.error("failed job %s", line)
        if self._parent is None:
            _exit_status = 1 if failed_jobs else 0
            return
        from mlflow.tracking import MlflowClient

        from polyglot_distill.tracking import sweep_summary

        client = MlflowClient(self._uri)
        try:
            children = client.search_runs([self._experiment_id], max_results=10000,
                                          filter_string=f"tags.mlflow.parentRunId = '{self._parent}'")
        except Exception:  # noqa: BLE001 - the parent must still end
            log.exception("could not read the sweep's runs back")
            self._close("FAILED")
            _exit_status = 1
            return
        failed = [c for c in children if c.info.status != "FINISHED"]
        status = "FAILED" if failed or failed_jobs else "FINISHED"
        try:
            facts = {"overrides": f"`{' '.join(self._overrides)}`", "directory": f"`{self._sweep_dir}`",
                     "MLflow parent run": f"`{self._parent}` (status {status})"}
            paths = sweep_summary.write_summary(children, [o.get_key_element() for o in _swept(self._overrides)],
                                               self._sweep_dir, facts)
            for path in paths:
                client.log_artifact(self._parent, str(path))
            client.log_batch(self._parent, metrics=_metrics(children, len(failed)))
            log.info("sweep summary: %s", self._sweep_dir / sweep_summary.MD_NAME)
        except Exception:  # noqa: BLE001 - the children are logged; a missing summary must not hide them
            log.exception("could not write the sweep summary")
        finally:
            parent = self._parent
            self._close(status)
        registered = config.tracking.get("registered_model")
        if registered:
            try:
                _register_best(client, parent, children, str(registered))
            except Exception:  # noqa: BLE001 - the sweep's runs stand without a registry entry
                log.exception("could not register the sweep's best model")
        _exit_status = 1 if status == "FAILED" else 0
        if status == "FAILED":
            log.error("%d of %d jobs failed: see the parent run %s or %s", max(len(failed), len(failed_jobs)),
                      len(children), parent, self._sweep_dir / sweep_summary.MD_NAME)

    def _close(self, status: str) -> None:
        from mlflow.tracking import MlflowClient

        if self._monitor is not None:
            self._monitor.finish()  # its last samples are flushed while the run is still RUNNING
            self._monitor = None
        MlflowClient(self._uri).set_terminated(self._parent, status)
        if self._env_before is None:
            os.environ.pop(runs.PARENT_RUN_ENV, None)
        else:
            os.environ[runs.PARENT_RUN_ENV] = self._env_before
        atexit.unregister(self._abort)
        self._parent = None

    def _abort(self) -> None:
        """At exit, when the sweep never reached on_multirun_end (interrupted, or a job crashed the launcher)."""
        if self._parent is not None:
            try:
                self._close("KILLED" if runs.interrupted_by else "FAILED")
            except Exception:  # noqa: BLE001 - the process is ending anyway
                pass


def _metrics(children, failed: int) -> list:
    """The parent's own metrics: how many jobs ran and failed, and the best job's selection score."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    values = {"sweep/jobs": len(children), "sweep/failed_jobs": failed}
    selections = [c.data.metrics["selection"] for c in children if "selection" in c.data.metrics]
    if selections:
        values["sweep/best_selection"] = max(selections)
    return [Metric(key, float(value), now, 0) for key, value in values.items()]


def _register_best(client, parent: str, children, name: str) -> None:
    """Register the logged student of the finished child with the best *dev* selection score as a new
    version of ``name`` with the alias ``best`` (the test split stays out of model choice)."""
    from polyglot_distill.tracking import registry

    candidates = [c for c in children if c.info.status == "FINISHED" and "dev/selection" in c.data.metrics
                  and registry.MODEL_URI_TAG in c.data.tags]
    if not candidates:
        log.info("no finished job logged a model (tracking.log_model): nothing to register")
        return
    best = max(candidates, key=lambda c: c.data.metrics["dev/selection"])
    version = registry.register(best.data.tags[registry.MODEL_URI_TAG], name, alias="best",
                                      tags={"sweep_parent_run": parent, "run_id": best.info.run_id})
    client.set_tag(parent, "sweep.best_run", best.info.run_id)
    client.set_tag(parent, "sweep.registered_model", f"{name}/{version}@best")
