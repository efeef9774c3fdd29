"""Checkpoints without training: resume= refuses a changed config, and an incomplete checkpoint folder is skipped.
The real kill-and-resume runs are tests/e2e/test_resume.py."""
from __future__ import annotations

import pytest

from polyglot_distill.training import checkpoints

# the tiny student in fp32, 60 steps with a checkpoint every 10 and a dev evaluation every 20


def test_resume_refuses_a_different_config(tmp_path, compose, monkeypatch):
    """A checkpoint continues only the run it belongs to: a changed setting is named, before anything loads."""
    from polyglot_distill.errors import ConfigError
    from polyglot_distill.pipeline import run

    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints" / "checkpoint-10").mkdir(parents=True)
    (run_dir / "checkpoints" / "checkpoint-10" / "trainer_state.json").write_text("{}")
    saved = compose(["experiment=smoke", "tracking=none"])
    from omegaconf import OmegaConf

    (run_dir / checkpoints.CONFIG_FILE).write_text(OmegaConf.to_yaml(saved, resolve=True))
    with pytest.raises(ConfigError, match=r"optimizer\.lr: 0\.001 in the run, 0\.5 now"):
        run(compose(["experiment=smoke", "tracking=none", "optimizer.lr=0.5", f"resume={run_dir}"]), run_dir)
    assert checkpoints.check_resumable(compose(["experiment=smoke", "tracking=none", f"resume={run_dir}"]),
                                       run_dir)[0].name == "checkpoint-10"


def test_incomplete_checkpoint_is_skipped(tmp_path):
    """A process killed while writing a checkpoint leaves a folder without trainer_state.json (written last)."""
    for step, state in ((10, "{}"), (20, None), (30, '{"trunc')):
        folder = tmp_path / "checkpoints" / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        if state is not None:
            (folder / "trainer_state.json").write_text(state)
    assert checkpoints.latest_checkpoint(tmp_path).name == "checkpoint-10"
