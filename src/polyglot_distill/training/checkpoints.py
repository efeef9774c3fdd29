"""Checkpoints and resume: a run killed mid-training continues from its last full checkpoint.

While training, the Trainer writes ``<run dir>/checkpoints/checkpoint-<step>/`` every
``distill.checkpoint_steps`` steps and at every dev evaluation: the model, the optimizer, the scheduler, the
RNG states (Python, NumPy, torch) and the Trainer's state (step, best dev score so far), plus our
``dev_history.json``. Only the best and the newest are kept; a run that finishes deletes them.

``resume=<run dir>`` (or ``resume=last``) reuses that run's directory, its saved config
(``config_resolved.yaml``), its MLflow run (``mlflow_run_id``) and its newest *complete* checkpoint: the
Trainer writes ``trainer_state.json`` last, so a folder without a readable one (the process died while writing
it) is skipped.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from transformers import TrainerCallback

from polyglot_distill.errors import ConfigError
from polyglot_distill.tracking.runs import RUN_ID_FILE, strip_credentials

log = logging.getLogger(__name__)

CONFIG_FILE = "config_resolved.yaml"
HISTORY_FILE = "dev_history.json"
LAST = ("last", "true", "True")
# keys that may differ between a run and its resumption
_RUN_LOCAL = ("resume", "output_dir")


def checkpoint_dir(output_dir: Path) -> Path:
    return Path(output_dir) / "checkpoints"


def _step(folder: Path) -> int:
    return int(folder.name.rsplit("-", 1)[-1])


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The newest complete ``checkpoint-<step>`` folder of a run directory, or None."""
    root = checkpoint_dir(output_dir)
    found = sorted((p for p in root.glob("checkpoint-*") if p.name.rsplit("-", 1)[-1].isdigit()),
                   key=_step, reverse=True) if root.is_dir() else []
    for folder in found:
        try:
            json.loads((folder / "trainer_state.json").read_text())
        except (OSError, ValueError):
            log.warning("skipping %s: incomplete (no readable trainer_state.json)", folder)
            continue
        return folder
    return None


def find_run_dir(resume: str, output_dir: Path, outputs_root: Path = Path("outputs")) -> Path:
    """The run directory ``resume`` names: a path, or ``last`` (this output dir when it holds a checkpoint,
    else the run under ``outputs/<date>/<time>`` with the newest checkpoint)."""
    if str(resume) not in LAST:
        path = Path(resume).expanduser()
        if not (path / CONFIG_FILE).is_file():
            raise ConfigError(f"resume: '{resume}' is not a run directory (no {CONFIG_FILE} in it). Give the "
                              f"output folder of the run to continue, e.g. resume=outputs/2026-11-27/20-01-02, "
                              f"or resume=last for the newest.")
        return path
    if latest_checkpoint(output_dir) is not None:
        return Path(output_dir)
    runs = [run for run in outputs_root.glob("*/*") if latest_checkpoint(run) is not None]
    if not runs:
        raise ConfigError(f"resume: '{resume}' but no run under {outputs_root}/ has a checkpoint to continue from. "
                          f"Give the run directory (resume=<output folder>) or start a fresh run (resume=null).")
    return max(runs, key=lambda run: latest_checkpoint(run).stat().st_mtime)


def comparable(cfg: DictConfig) -> dict:
    """The resolved config without the keys that belong to one invocation (``resume``, ``output_dir``)."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    return {k: v for k, v in plain.items() if k not in _RUN_LOCAL}


def _flat(node, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: node}


def config_differences(saved: dict, current: dict) -> list[str]:
    """``["optimizer.lr: 0.001 in the run, 0.0002 now", ...]`` for every key whose value differs."""
    a, b = _flat(saved), _flat(current)
    return [f"{k}: {a.get(k, '<unset>')!r} in the run, {b.get(k, '<unset>')!r} now"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def saved_config(run_dir: Path) -> DictConfig:
    return OmegaConf.load(Path(run_dir) / CONFIG_FILE)


def check_resumable(cfg: DictConfig, run_dir: Path) -> tuple[Path, str | None]:
    """``(checkpoint, MLflow run id)`` to continue ``run_dir`` with ``cfg``; a :class:`ConfigError` otherwise."""
    differences = config_differences(comparable(saved_config(run_dir)), comparable(cfg))
    if differences:
        raise ConfigError(f"resume: the config differs from the run's in {run_dir / CONFIG_FILE}: "
                          f"{'; '.join(differences[:5])}{' ...' if len(differences) > 5 else ''}. Resume with "
                          f"the run's settings (give resume= alone to reuse them) or start a fresh run.")
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise ConfigError(f"resume: {run_dir} has no checkpoint to continue from (the run finished, or stopped "
                          f"before its first checkpoint at distill.checkpoint_steps={cfg.distill.checkpoint_steps}). "
                          f"Start a fresh run (resume=null).")
    run_id_file = Path(run_dir) / RUN_ID_FILE
    run_id = run_id_file.read_text().strip() if run_id_file.is_file() else None
    if cfg.tracking.enabled and run_id:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        try:
            MlflowClient(cfg.tracking.uri).get_run(run_id)
        except MlflowException as err:
            raise ConfigError(f"resume: MLflow run {run_id} (from {run_id_file}) is not in tracking.uri="
                              f"{strip_credentials(str(cfg.tracking.uri))} ({str(err).splitlines()[0][:200]}). "
                              f"Resume against the store the run logged to.") from None
    return checkpoint, run_id


def load_history(checkpoint: Path | None) -> list:
    """The dev evaluations up to ``checkpoint`` (saved beside it by :class:`CheckpointCallback`)."""
    path = checkpoint / HISTORY_FILE if checkpoint else None
    return json.loads(path.read_text()) if path and path.is_file() else []


class CheckpointCallback(TrainerCallback):
    """Saves a full checkpoint every ``every`` steps (besides the Trainer's at each dev evaluation) and writes
    the dev history so far into each checkpoint folder."""

    def __init__(self, every: int, history: list):
        self.every, self.history = every, history

    def on_step_end(self, args, state, control, **kwargs):
        if self.every > 0 and state.global_step % self.every == 0:
            control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir() and state.is_world_process_zero:  # torchrun: rank 0 holds the dev history
            (folder / HISTORY_FILE).write_text(json.dumps(self.history))
