"""The pipeline's cheaper baseline evaluation: the least-squares baseline reuses the untrained student's vectors
(head applied to them) instead of a second encoder pass, and bf16 runs score the student under bf16 autocast."""
from __future__ import annotations

import numpy as np
import torch
from omegaconf import OmegaConf

from polyglot_distill import stages
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
    encode = stages.StudentEncoder.of(_cfg("fp32"), student)
    untrained = stages.Memo(lambda s: calls.append(len(s)) or encode(s))
    before = untrained(SENTENCES)
    assert calls == [6]  # each distinct sentence encoded once
    torch.manual_seed(0)
    with_head = loading.add_projection(student, 48)
    reused = stages.HeadOnVectors(distill.projection_head(with_head), untrained)(SENTENCES[::-1])
    assert calls == [6]  # the lstsq baseline needed no second pass
    direct = distill.encode(with_head, SENTENCES[::-1], 4)
    assert reused.shape == (18, 48) and np.abs(reused - direct).max() < 1e-5
    assert np.abs(before - distill.encode(student, SENTENCES, 4)).max() < 1e-6


def test_bf16_runs_score_the_student_under_autocast(tmp_path):
    student = _student(tmp_path)
    seen = []
    student[0].auto_model.encoder.layer[0].attention.self.query.register_forward_hook(
        lambda module, inputs, output: seen.append(output.dtype))
    stages.StudentEncoder.of(_cfg("bf16"), student)(SENTENCES[:2])
    stages.StudentEncoder.of(_cfg("fp32"), student)(SENTENCES[:2])
    assert seen == [torch.bfloat16, torch.float32]


def _suite(udhr_langs=("de", "sw")):
    from polyglot_distill.evaluation.scoring import LanguageSet
    from polyglot_distill.evaluation.suite import EvalSuite

    empty = np.zeros((0, 2), int)
    udhr = [LanguageSet(L, [], [], np.zeros((0, 4)), empty, np.zeros(0)) for L in udhr_langs]
    return EvalSuite(splits={}, udhr=udhr, sts=[], trained=["de"])


class _Tracker:
    def __init__(self):
        self.artifacts = []

    def log_artifact(self, path):
        self.artifacts.append(path.name)


METRICS = {"teacher_retrieval/en-de/accuracy": 0.5, "baseline/teacher/teacher_retrieval/en-de/accuracy": 0.9,
           "udhr/teacher_retrieval/en-de/accuracy": 0.4, "udhr/retrieval/en-sw/accuracy": 0.3,
           "udhr/mean_unseen/retrieval/accuracy": 0.3}


def test_train_and_evaluate_share_one_report_with_their_own_titles(tmp_path, capsys):
    """train.py (a distilled student beside its baselines) and evaluate.py (one model) write the same files
    through one report stage; only the titles, column names and charts differ."""
    from polyglot_distill.evaluation.suite import Layout, write_reports

    trained, evaluated = _Tracker(), _Tracker()
    write_reports(METRICS, _suite(), tmp_path / "train", trained, Layout.distilled())
    train_out = capsys.readouterr().out
    write_reports(METRICS, _suite(), tmp_path / "evaluate", evaluated, Layout.evaluated("e5-small"))
    evaluate_out = capsys.readouterr().out
    assert train_out.startswith("\nlanguage  metric") and "UDHR zero-shot (test):\nlanguage" in train_out
    assert "baseline/teacher  final" in train_out
    assert evaluate_out.startswith("\nHeld-out test pairs:\nlanguage") and "UDHR zero-shot, 2 languages:" in evaluate_out
    assert "teacher  e5-small" in evaluate_out
    assert trained.artifacts == ["results.csv", "results.json", "before_after.png", "udhr_results.csv",
                                 "udhr_results.json", "udhr_zero_shot.png"]
    assert evaluated.artifacts == ["results.csv", "results.json", "udhr_results.csv", "udhr_results.json",
                                   "udhr_zero_shot.png"]


def test_an_evaluation_without_held_out_pairs_prints_no_empty_table(tmp_path, capsys):
    from polyglot_distill.evaluation.suite import Layout, write_reports

    tracker = _Tracker()
    write_reports({}, _suite(()), tmp_path, tracker, Layout.evaluated("e5-small"))
    assert capsys.readouterr().out == "" and tracker.artifacts == []
    write_reports({}, _suite(()), tmp_path, tracker, Layout.distilled())  # a run prints its (empty) table
    assert capsys.readouterr().out.startswith("\nlanguage  metric")


def test_interpolate_averages_the_floating_point_weights_with_step_0():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Embedding(4, 2))
    model.register_buffer("count", torch.tensor([7]))
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    stages.interpolate(model, start, 0.25)
    for name, tensor in model.state_dict().items():
        expected = start[name] + 0.25 if tensor.is_floating_point() else start[name]
        torch.testing.assert_close(tensor, expected, msg=name)
