"""`train.py experiment=seed_tutorial`: `--cfg job` shows the seed's recipe, and offline the run stops in seconds
naming the bundled alternatives (docs/reproducing-the-seed.md). Composition and preflight in-process:
tests/unit/test_seed_tutorial.py."""
from __future__ import annotations

import yaml
from helpers.seed_tutorial import SEED, get_dotted


def test_cfg_job_shows_the_seeds_values(cli):
    proc = cli("experiment=seed_tutorial", "--cfg", "job")
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown = yaml.safe_load(proc.stdout)
    assert {key: get_dotted(shown, key) for key in SEED} == SEED


def test_offline_the_seed_tutorial_stops_in_seconds_naming_the_bundled_teachers(cli, tmp_path, empty_hf_cache):
    proc = cli("experiment=seed_tutorial", f"tracking.uri=sqlite:///{tmp_path}/mlflow.db")
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    for phrase in ("teacher.model", "'sentence-transformers/paraphrase-distilroberta-base-v2'", "Hugging Face Hub id",
                   "not reachable", "bundled:minilm-l6", "bundled:mpnet-base", "a local folder"):
        assert phrase in line, line
    # stopped before any data or model: nothing in the run folder but Hydra's own files, no MLflow store
    left = {p.name for p in proc.run_dir.iterdir()} if proc.run_dir.exists() else set()
    assert left <= {".hydra", "train.log"}, left
    assert not (tmp_path / "mlflow.db").exists()
