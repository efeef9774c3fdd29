"""MLflow logging: one run per experiment with params, tags, metrics and artifacts.

The run is opened with ``with mlflow.start_run(...)`` so an exception ends it FAILED (never left RUNNING) and
nothing stays active for the next job of a sweep. ``tracking=none`` keeps the same calls as no-ops.

In a sweep (``train.py -m``) the run is a child of the sweep's parent run, whose id comes from the environment
variable ``POLYGLOT_DISTILL_PARENT_RUN_ID`` (set by :mod:`polyglot_distill.tracking.sweep` before any job starts, so
the worker processes of the joblib launcher inherit it too). System metrics (CPU, memory, disk, network) are
sampled by MLflow's monitor thread every 10 s (``MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL``) while a run is open.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import signal
import subprocess
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from polyglot_distill.training import distributed

log = logging.getLogger(__name__)

MAX_PARAM_CHARS = 6000
MAX_TAG_CHARS = 5000
PARENT_RUN_ENV = "POLYGLOT_DISTILL_PARENT_RUN_ID"
SECRET_MARKERS = ("password", "token", "secret", "credential")


def flatten(cfg: DictConfig) -> dict[str, str]:
    """The resolved config as ``{"teacher.model": "bundled:minilm-l6", ...}`` (values clipped to MLflow's limit)."""
    out: dict[str, str] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            key = prefix[:-1]
            if any(marker in key.lower() for marker in SECRET_MARKERS):
                return
            out[key] = strip_credentials(str(node))[:MAX_PARAM_CHARS]

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return out


def strip_credentials(value: str) -> str:
    """``https://user:pass@host/x`` -> ``https://host/x``; other strings unchanged."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@", r"\1", value)


def redact(text: str) -> str:
    """:func:`strip_credentials` on every URL inside ``text`` (a config file, Hydra's overrides.yaml)."""
    return re.sub(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"]+@", r"\1", text)


def _redacted(path: Path, into: Path) -> Path:
    """``path`` itself, or a copy under ``into`` with credentials removed when its text holds some."""
    try:
        text = path.read_text()
    except (UnicodeDecodeError, OSError):
        return path
    if redact(text) == text:
        return path
    into.mkdir(parents=True, exist_ok=True)
    (into / path.name).write_text(redact(text))
    return into / path.name


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).parent, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


_deferring = 0  # > 0 while the main thread writes to the MLflow store (see _store_write)
_pending_signal: int | None = None


@contextlib.contextmanager
def _store_write():
    """A write to the MLflow store that a signal must not cut in half: an exception raised inside SQLAlchemy's
    transaction can leave a SQLite store locked, and then ending the run KILLED waits on that lock. The handler
    of :func:`stop_on_signals` defers SIGTERM/SIGINT until the write is done."""
    global _deferring, _pending_signal
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending_signal is not None:
            signum, _pending_signal = _pending_signal, None
            _raise_for(signum)


class Tracker:
    """Thin wrapper around the active MLflow run (or nothing, when tracking is disabled)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.run_id: str | None = None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        finite = {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}
        if self.enabled and finite:
            import mlflow

            with _store_write():
                mlflow.log_metrics(finite, step=step)

    def log_artifact(self, path: str | Path, subdir: str | None = None) -> None:
        """Logs ``path``; a text file with credentials in a URL is logged as a redacted copy."""
        if self.enabled and Path(path).exists():
            import tempfile

            import mlflow

            with tempfile.TemporaryDirectory() as tmp, _store_write():
                mlflow.log_artifact(str(_redacted(Path(path), Path(tmp))), artifact_path=subdir)

    def log_artifacts(self, folder: str | Path, subdir: str | None = None) -> None:
        if self.enabled and Path(folder).is_dir():
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file():
                    rel = path.parent.relative_to(folder).as_posix()
                    self.log_artifact(path, "/".join(p for p in (subdir, rel) if p and p != ".") or None)

    def set_tags(self, tags: dict[str, str]) -> None:
        if self.enabled:
            import mlflow

            with _store_write():
                mlflow.set_tags({k: v for k, v in tags.items() if v is not None})


def ensure_experiment(uri: str, name: str) -> None:
    """Select the experiment; a new one on a SQLite store keeps its artifacts next to the database
    (``<db folder>/mlartifacts``) rather than in ``./mlruns`` of whatever folder the run started in."""
    import mlflow

    if mlflow.get_experiment_by_name(name) is None and uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///")).resolve()
        mlflow.create_experiment(name, artifact_location=(db.parent / "mlartifacts").as_uri())
    mlflow.set_experiment(name)


# The id of the last run that tracked_run opened in this process: lets a sweep job that failed tell whether its
# run exists already (see record_failure).
last_run_id: str | None = None


def forget_parent_run() -> None:
    """A single run is never nested: drop a parent run id left in the environment."""
    stale = os.environ.pop(PARENT_RUN_ENV, None)
    if stale:
        log.warning("ignoring %s=%s from the environment: a single run has no parent", PARENT_RUN_ENV, stale)


def quiet_system_metrics() -> None:
    """MLflow's monitor logs four INFO lines per run (started, no GPU, stopping, stopped): keep warnings only."""
    logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)


def _parent_run_id(experiment: str) -> str | None:
    """The sweep's parent run, when it is in the store and experiment this job logs to (else a warning)."""
    parent = os.environ.get(PARENT_RUN_ENV)
    if not parent:
        return None
    import mlflow
    from mlflow.tracking import MlflowClient

    try:
        run = MlflowClient().get_run(parent)
    except Exception as err:  # noqa: BLE001 - e.g. tracking.uri is swept: the parent is in another store
        log.warning("not nesting under sweep run %s: %s", parent, str(err).splitlines()[0])
        return None
    if run.info.experiment_id != mlflow.get_experiment_by_name(experiment).experiment_id:
        log.warning("not nesting under sweep run %s: it is in another experiment than %r", parent, experiment)
        return None
    return parent


def _job_tags() -> dict[str, str]:
    """``sweep.job`` (Hydra's job number) and ``sweep.overrides`` (the job's overrides) of a sweep job."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    hc = HydraConfig.get()
    return {"sweep.job": str(hc.job.get("num", "")),
            "sweep.overrides": redact(" ".join(hc.overrides.task))[:MAX_TAG_CHARS]}


class Interrupted(BaseException):
    """SIGTERM arrived (raised in the main thread by the handler of :func:`stop_on_signals`)."""

    exit_status = 143


# the signal that stopped this process (set by the handlers of stop_on_signals), for a sweep's parent run
interrupted_by: str | None = None


def stop_on_signals() -> None:
    """SIGTERM raises :class:`Interrupted` and SIGINT ``KeyboardInterrupt`` in the main thread, so that an open
    run ends KILLED instead of staying RUNNING when the process is stopped."""

    def handler(signum, frame):
        global interrupted_by, _pending_signal
        interrupted_by = signal.Signals(signum).name
        if _deferring:  # in the middle of a store write: raised when it is done
            _pending_signal = signum
            return
        _raise_for(signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(f"stopped by signal {signal.Signals(signum).name}")


RUN_ID_FILE = "mlflow_run_id"  # in the run's output folder: resume= reattaches this run


@contextlib.contextmanager
def tracked_run(cfg: DictConfig, choices: dict[str, str], output_dir: Path, resume_run_id: str | None = None):
    """Open the experiment's MLflow run; yields a :class:`Tracker`. Ends FAILED (with an ``error`` tag) when
    the body raises, KILLED on SIGINT/SIGTERM (see :func:`stop_on_signals`).

    Nested under the sweep's parent run when ``POLYGLOT_DISTILL_PARENT_RUN_ID`` is set. ``resume_run_id``
    reattaches a run (``resume=``): its params are already logged and stay as they are.
    """
    global last_run_id
    tcfg = cfg.tracking
    if not tcfg.enabled or not distributed.is_main():  # torchrun: rank 0 logs the job's one run
        yield Tracker(enabled=False)
        return
    import mlflow

    mlflow.set_tracking_uri(tcfg.uri)
    ensure_experiment(tcfg.uri, tcfg.experiment)
    tags = {f"choice.{group}": str(value) for group, value in choices.items()
            if value is not None and not group.startswith("hydra/")}
    tags["git_commit"] = git_commit()
    tags["output_dir"] = str(output_dir)
    name = tcfg.run_name or "-".join(str(choices.get(g, "")) for g in ("teacher", "student", "languages"))
    # MLFLOW_RUN_ID in the environment would silently reattach an unrelated run: ignore it here.
    stale = os.environ.pop("MLFLOW_RUN_ID", None)
    if stale:
        log.warning("ignoring MLFLOW_RUN_ID=%s from the environment: each experiment opens its own run", stale)
    parent = _parent_run_id(tcfg.experiment)
    if parent:
        tags |= _job_tags()
    system_metrics = bool(tcfg.get("system_metrics", True))
    if system_metrics:
        quiet_system_metrics()
    remote = [role for role in ("teacher", "student") if role in cfg and cfg[role].get("trust_remote_code")]
    if remote:  # code from the model's folder runs in this process: make that visible on the run
        tags["trust_remote_code"] = ",".join(remote)
    start = {"run_id": resume_run_id} if resume_run_id else {"run_name": name, "parent_run_id": parent}
    with mlflow.start_run(**start, tags={k: v for k, v in tags.items() if v},
                          log_system_metrics=system_metrics) as run:
        last_run_id = run.info.run_id
        tracker = Tracker(enabled=True)
        tracker.run_id = run.info.run_id
        try:
            Path(output_dir, RUN_ID_FILE).write_text(run.info.run_id)
            with _store_write():
                if resume_run_id:  # the params are the run's already (resume checks that the config is the same)
                    mlflow.set_tag("resumed", str(int(run.data.tags.get("resumed", "0")) + 1))
                else:
                    params = flatten(cfg)
                    for chunk in range(0, len(params), 100):
                        mlflow.log_params(dict(list(params.items())[chunk:chunk + 100]))
            yield tracker
        except (KeyboardInterrupt, Interrupted):
            mlflow.end_run("KILLED")
            raise
        except Exception as err:
            if not isinstance(err, _JobFailed):  # record_failure tagged the run with the job's own error
                mlflow.set_tag("error", f"{type(err).__name__}: {err}"[:MAX_TAG_CHARS])
            raise


class _JobFailed(Exception):
    """Raised inside a run opened only to record a failure, so that the run ends FAILED."""


def record_failure(cfg: DictConfig, choices: dict[str, str], output_dir: Path, err: BaseException,
                   run_id: str | None = None) -> str | None:
    """Make a sweep job's failure visible in MLflow: a FAILED run with an ``error`` tag.

    ``run_id`` is the job's own run when it was opened before the failure (it already ended FAILED: only the
    tag is added); otherwise (a config error found before any run) a FAILED run with the job's params and tags
    is opened now. Returns the run's id, or None when tracking is off or the store cannot be reached.
    """
    if not cfg.tracking.enabled:
        return None
    message = f"{type(err).__name__}: {err}"[:MAX_TAG_CHARS]
    try:
        if run_id:
            from mlflow.tracking import MlflowClient

            MlflowClient(cfg.tracking.uri).set_tag(run_id, "error", message)
            return run_id
        try:
            with tracked_run(cfg, choices, output_dir) as tracker:
                tracker.set_tags({"error": message})
                raise _JobFailed
        except _JobFailed:
            return last_run_id
    except Exception as log_err:  # noqa: BLE001 - the job's own error is what the user needs to see
        log.warning("could not record the failure in MLflow: %s", log_err)
        return None
