"""A smoke training run (`train.py experiment=smoke`) on each Hub data source, data=ted and data=parallel_sentences
from local folders in the Hub's schemas (tests/helpers/hub_data.py), and data=udhr."""
from __future__ import annotations

import json

import pytest
from helpers.hub_data import write_parallel, write_ted


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path, monkeypatch):
    """Keep ``load_dataset``'s prepared copies of the test folders out of the user's datasets cache."""
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets-cache"))

@pytest.mark.slow
@pytest.mark.parametrize("source", ["ted", "parallel_sentences", "udhr"])
def test_smoke_training_run(cli, tmp_path, source):
    if source == "udhr":
        overrides = ["data=udhr"]
    else:
        paths = write_ted(tmp_path / "ted") if source == "ted" else write_parallel(tmp_path / "talks")
        overrides = [f"data={source}", f"data.hub_dataset={paths['parquet' if source == 'ted' else 'repo']}"]
    proc = cli("experiment=smoke", *overrides, "tracking=none", "eval.udhr_languages=[]", "save_model=false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((proc.run_dir / "data_manifest.json").read_text())
    assert manifest["source"] == source and set(manifest["languages"]) == {"de", "fr"}
    results = json.loads((proc.run_dir / "results.json").read_text())
    assert any(key.startswith("retrieval/en-de/") for key in results["metrics"])
