"""The pipeline's cheaper baseline evaluation: the least-squares baseline reuses the untrained student's vectors
(head applied to them) instead of a second encoder pass, and bf16 runs score the student under bf16 autocast."""
from __future__ import annotations

import numpy as np
import torch
from omegaconf import OmegaConf

from polyglot_distill import pipeline
from polyglot_distill.models import loading
from polyglot_distill.training import distill

SENTENCES = ["The weather is nice today.", "Das Wetter ist heute schön.", "Il fait beau aujourd'hui.",
             "Where is the train station?", "Wo ist der Bahnhof?", "Où est la gare ?"] * 3


def _student(tmp_path):
    cfg = OmegaConf.create({"name": "tiny", "model": "tiny", "max_seq_length": 32, "pooling": "mean",
                            "projection": "auto", "projection_init": "lstsq", "projection_fit_sentences": 100,
                            "freeze_word_embeddings": False, "trust_remote_code": False, "tiny_vocab_size": 300,
                            "tiny_hidden_size": 32, "tiny_layers": 1})
    return loading.load_student(cfg, tmp_path / "cache", "cpu", SENTENCES, tiny_dir=tmp_path / "student")


def _cfg(precision: str):
    return OmegaConf.create({"hardware": {"precision": precision, "device": "cpu"}, "eval": {"batch_size": 4}})


def test_head_on_memoised_vectors_equals_the_full_model(tmp_path):
    student = _student(tmp_path)
    calls = []
    encode = pipeline._student_encoder(_cfg("fp32"), student)
    untrained = pipeline._memo(lambda s: calls.append(len(s)) or encode(s))
    before = untrained(SENTENCES)
    assert calls == [6]  # each distinct sentence encoded once
    torch.manual_seed(0)
    with_head = loading.add_projection(student, 48)
    reused = pipeline._apply_head(distill.projection_head(with_head), untrained)(SENTENCES[::-1])
    assert calls == [6]  # the lstsq baseline needed no second pass
    direct = distill.encode(with_head, SENTENCES[::-1], 4)
    assert reused.shape == (18, 48) and np.abs(reused - direct).max() < 1e-5
    assert np.abs(before - distill.encode(student, SENTENCES, 4)).max() < 1e-6


def test_bf16_runs_score_the_student_under_autocast(tmp_path):
    student = _student(tmp_path)
    seen = []
    student[0].auto_model.encoder.layer[0].attention.self.query.register_forward_hook(
        lambda module, inputs, output: seen.append(output.dtype))
    pipeline._student_encoder(_cfg("bf16"), student)(SENTENCES[:2])
    pipeline._student_encoder(_cfg("fp32"), student)(SENTENCES[:2])
    assert seen == [torch.bfloat16, torch.float32]
