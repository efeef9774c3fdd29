"""Vocabulary trimming on the real bundled e5-small student and the default run's real text (seed5 gettext
corpus, all splits, plus the default UDHR evaluation languages): same pieces, same embeddings, a much smaller
matrix, and a saved folder that loads with plain ``SentenceTransformer(path)``. Loads e5-small twice and tokenizes
the whole run (~1-2 min): end-to-end tier; the trimming rules are tests/unit/models/test_vocabulary.py."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from polyglot_distill.data.corpus import build_corpus
from polyglot_distill.evaluation import zero_shot
from polyglot_distill.models import loading, vocabulary

pytestmark = pytest.mark.slow


def _compose(root, *overrides):
    from hydra import compose, initialize_config_dir

    from polyglot_distill.config.schema import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(root / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.fixture(scope="module")
def run_text(request) -> tuple[list[str], list[str]]:
    """(every sentence of the default run, a sample of 3 pairs per split x language and UDHR language)."""
    cfg = _compose(request.config.rootpath)
    corpus = build_corpus(cfg.data, cfg.languages)
    udhr = zero_shot.select(cfg.eval, os.environ["POLYGLOT_DISTILL_CACHE"], list(cfg.languages.targets))
    text = vocabulary.run_text(corpus.splits, udhr)
    rng = random.Random(0)
    groups = [ps for by in corpus.splits.values() for ps in by.values()] + list(udhr.values())
    sample = sorted({s for ps in groups for pair in rng.sample(ps, min(3, len(ps))) for s in pair})
    return text, sample


def test_trimmed_student_embeds_the_run_text_identically_and_reloads(run_text, request, tmp_path):
    text, sample = run_text
    cache = os.environ["POLYGLOT_DISTILL_CACHE"]
    root = request.config.rootpath
    full = loading.load_student(_compose(root, "student.trim_vocab=false").student, cache, "cpu")
    full_ids = full.tokenizer(text, add_special_tokens=True)["input_ids"]
    reference = full.encode(sample, batch_size=64, convert_to_numpy=True)
    keep = vocabulary.kept_ids(full.tokenizer, text)
    rows_before = full[0].auto_model.get_input_embeddings().weight.shape[0]
    del full

    trimmed_cfg = _compose(root, "student.trim_vocab=true", "student.freeze_word_embeddings=true").student
    trimmed = loading.load_student(trimmed_cfg, cache, "cpu", vocab_sentences=text)
    emb = trimmed[0].auto_model.get_input_embeddings().weight
    assert rows_before == 250_037 and emb.shape[0] == len(keep) < 60_000, emb.shape
    assert not emb.requires_grad  # freezing applies to the trimmed matrix
    # every sentence of the run gets the same pieces, renumbered
    new_of_old = {old: new for new, old in enumerate(keep)}
    trimmed_ids = trimmed.tokenizer(text, add_special_tokens=True)["input_ids"]
    mismatched = [s for s, a, b in zip(text, full_ids, trimmed_ids) if [new_of_old.get(i, -1) for i in a] != b]
    assert not mismatched, mismatched[:5]
    assert np.abs(trimmed.encode(sample, batch_size=64, convert_to_numpy=True) - reference).max() < 1e-5

    trimmed.save(str(tmp_path / "model"))
    reloaded = SentenceTransformer(str(tmp_path / "model"), device="cpu")
    assert len(reloaded.tokenizer) == len(keep)
    assert reloaded.tokenizer(text[:500])["input_ids"] == trimmed_ids[:500]
    assert np.abs(reloaded.encode(sample, batch_size=64, convert_to_numpy=True) - reference).max() < 1e-5
    # text outside the run still tokenizes (into shorter pieces), without <unk> for known characters
    ids = reloaded.tokenizer("Quantenchromodynamik überrascht Physiker")["input_ids"]
    assert 3 not in ids and len(ids) > 4
    assert torch.isfinite(torch.as_tensor(reloaded.encode(["Quantenchromodynamik"]))).all()
