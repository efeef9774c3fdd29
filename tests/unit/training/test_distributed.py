"""torchrun ranks: ranks 1..N-1 move Hydra's job log file to their own, rank 0 keeps it."""
from __future__ import annotations

import logging

import pytest

from polyglot_distill.training import distributed


@pytest.fixture
def hydra_file_handler(tmp_path):
    """The FileHandler Hydra's default ``hydra/job_logging`` puts on the root logger: ``<run dir>/train.log``."""
    root = logging.getLogger()
    handler = logging.FileHandler(tmp_path / "train.log")
    handler.setFormatter(logging.Formatter("[%(name)s][%(levelname)s] - %(message)s"))
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield root
    for h in [h for h in root.handlers if isinstance(h, logging.FileHandler) and "train" in h.baseFilename]:
        root.removeHandler(h)
        h.close()
    root.setLevel(level)


def test_a_worker_rank_logs_to_its_own_file(tmp_path, monkeypatch, hydra_file_handler):
    monkeypatch.setenv("RANK", "1")
    moved = distributed.separate_worker_log()
    assert moved == tmp_path / "train-rank1.log"
    logging.getLogger("polyglot_distill.test").info("from rank 1")
    for h in hydra_file_handler.handlers:
        h.flush()
    assert (tmp_path / "train-rank1.log").read_text() == "[polyglot_distill.test][INFO] - from rank 1\n"
    assert (tmp_path / "train.log").read_text() == ""  # rank 0's file gets nothing from rank 1


def test_rank_0_keeps_hydras_log_file(tmp_path, monkeypatch, hydra_file_handler):
    monkeypatch.delenv("RANK", raising=False)
    assert distributed.separate_worker_log() is None
    logging.getLogger("polyglot_distill.test").info("from rank 0")
    for h in hydra_file_handler.handlers:
        h.flush()
    assert "from rank 0" in (tmp_path / "train.log").read_text()
    assert not (tmp_path / "train-rank0.log").exists()
