"""What a finished run's folder says about checkpoint selection: ``dev_history.json`` (one entry per dev evaluation
during training, ``{"step", "selection", ...}``) and ``results.json`` (the kept student's ``dev/selection`` and
``train/best_step``)."""
from __future__ import annotations

import json
from pathlib import Path


def history(run_dir: Path) -> list[dict]:
    return json.loads((Path(run_dir) / "dev_history.json").read_text())


def results(run_dir: Path) -> dict[str, float]:
    return json.loads((Path(run_dir) / "results.json").read_text())["metrics"]


def best_evaluation(entries: list[dict]) -> dict:
    """The Trainer's pick: the highest ``selection``, the earliest of equal ones (it replaces its best only on a
    strictly greater score)."""
    return max(entries, key=lambda entry: entry["selection"])
