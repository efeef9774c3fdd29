"""MLflow logging: one run per experiment with params, tags, metrics and artifacts.

The run is opened with ``with mlflow.start_run(...)`` so an exception ends it FAILED (never left RUNNING) and
nothing stays active for the next job of a sweep. ``tracking=none`` keeps the same calls as no-ops.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import subprocess
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

MAX_PARAM_CHARS = 6000
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


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).parent, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class Tracker:
    """Thin wrapper around the active MLflow run (or nothing, when tracking is disabled)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.run_id: str | None = None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        finite = {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}
        if self.enabled and finite:
            import mlflow

            mlflow.log_metrics(finite, step=step)

    def log_artifact(self, path: str | Path, subdir: str | None = None) -> None:
        if self.enabled and Path(path).exists():
            import mlflow

            mlflow.log_artifact(str(path), artifact_path=subdir)

    def log_artifacts(self, folder: str | Path, subdir: str | None = None) -> None:
        if self.enabled and Path(folder).is_dir():
            import mlflow

            mlflow.log_artifacts(str(folder), artifact_path=subdir)

    def set_tags(self, tags: dict[str, str]) -> None:
        if self.enabled:
            import mlflow

            mlflow.set_tags({k: v for k, v in tags.items() if v is not None})


def ensure_experiment(uri: str, name: str) -> None:
    """Select the experiment; a new one on a SQLite store keeps its artifacts next to the database
    (``<db folder>/mlartifacts``) rather than in ``./mlruns`` of whatever folder the run started in."""
    import mlflow

    if mlflow.get_experiment_by_name(name) is None and uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///")).resolve()
        mlflow.create_experiment(name, artifact_location=(db.parent / "mlartifacts").as_uri())
    mlflow.set_experiment(name)


@contextlib.contextmanager
def tracked_run(cfg: DictConfig, choices: dict[str, str], output_dir: Path):
    """Open the experiment's MLflow run; yields a :class:`Tracker`. Ends FAILED when the body raises."""
    tcfg = cfg.tracking
    if not tcfg.enabled:
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
    with mlflow.start_run(run_name=name, tags={k: v for k, v in tags.items() if v}) as run:
        tracker = Tracker(enabled=True)
        tracker.run_id = run.info.run_id
        params = flatten(cfg)
        for chunk in range(0, len(params), 100):
            mlflow.log_params(dict(list(params.items())[chunk:chunk + 100]))
        yield tracker
