"""Metrics on constructed vectors: retrieval, STS pair sampling, per-language keys, selection, least squares."""
from __future__ import annotations

import numpy as np
import pytest

from polyglot_distill.evaluation import scoring
from polyglot_distill.evaluation.scoring import (
    LanguageSet,
    pair_cosine,
    retrieval_accuracy,
    sample_sts_pairs,
    score_language,
    summarize,
)
from polyglot_distill.training.distill import fit_lstsq


def _vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def test_retrieval_identity_is_perfect_and_a_derangement_is_zero():
    x = _vectors(60, 32)
    assert retrieval_accuracy(x, x) == 1.0
    assert retrieval_accuracy(x, 3.0 * x + 0.01 * _vectors(60, 32, seed=1)) == 1.0  # cosine: scale-free
    derangement = np.roll(np.arange(60), 1)  # no row keeps its own translation
    assert retrieval_accuracy(x, x[derangement]) == 0.0
    half = np.concatenate([np.arange(30), np.roll(np.arange(30, 60), 1)])
    assert retrieval_accuracy(x, x[half]) == pytest.approx(0.5)


def test_retrieval_averages_both_directions():
    # every source row's nearest target is target 0 (forward 1/3); backward every target finds its own source
    src = np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.2]])
    trg = np.array([[1.0, 0.05], [0.5, 0.5], [0.0, 1.0]])
    forward = np.mean(scoring.cosine_matrix(src, trg).argmax(1) == np.arange(3))
    backward = np.mean(scoring.cosine_matrix(src, trg).argmax(0) == np.arange(3))
    assert forward != backward
    assert retrieval_accuracy(src, trg) == pytest.approx((forward + backward) / 2)


def test_sts_pairs_span_the_similarity_range_and_are_deterministic():
    # sentence vectors on a line from a to b: teacher cosines range from ~-1 to 1
    a, b = _vectors(1, 16, 1)[0], _vectors(1, 16, 2)[0]
    t = np.linspace(0, 1, 120)[:, None]
    teacher = (1 - t) * a + t * (-a + 0.2 * b) + 0.05 * _vectors(120, 16, 3)
    index, gold = sample_sts_pairs(teacher, 200, seed=7)
    assert index.shape == (200, 2) and gold.shape == (200,)
    assert (index[:, 0] < index[:, 1]).all()
    assert len({tuple(p) for p in index}) == 200  # no pair twice
    np.testing.assert_allclose(gold, pair_cosine(teacher[index[:, 0]], teacher[index[:, 1]]), rtol=1e-5)
    i, j = np.triu_indices(120, 1)
    all_cos = pair_cosine(teacher[i], teacher[j])
    lo, hi = np.quantile(all_cos, [0.01, 0.99])
    assert gold.min() <= lo + 0.1 * (hi - lo) and gold.max() >= hi - 0.1 * (hi - lo)
    # stratified: the sample is flatter than the population (every tenth of the range is represented)
    edges = np.linspace(lo, hi, 11)
    assert (np.histogram(gold, edges)[0] > 0).all()
    again = sample_sts_pairs(teacher, 200, seed=7)
    np.testing.assert_array_equal(index, again[0])
    np.testing.assert_array_equal(gold, again[1])
    assert not np.array_equal(index, sample_sts_pairs(teacher, 200, seed=8)[0])


def test_sts_pairs_capped_by_what_exists():
    index, gold = sample_sts_pairs(_vectors(6, 8), 1000, seed=0)
    assert len(index) == len(gold) == 15  # 6 * 5 / 2


def test_sts_pairs_of_a_single_sentence_are_empty():
    index, gold = sample_sts_pairs(_vectors(1, 8), 10, seed=0)
    assert index.shape == (0, 2) and gold.shape == (0,)


def _language_set(lang: str, n: int = 12, dim: int = 8, seed: int = 0) -> LanguageSet:
    teacher = _vectors(n, dim, seed)
    index, gold = sample_sts_pairs(teacher, 30, seed)
    return LanguageSet(lang, [f"{lang}: english {k}" for k in range(n)], [f"{lang} {k}" for k in range(n)], teacher, index, gold)


def test_score_language_keys_and_a_perfect_student():
    ls = _language_set("de")
    metrics = score_language(ls, ls.teacher_en, ls.teacher_en)
    assert set(metrics) == {"mse/en-de/mse", "retrieval/en-de/accuracy", "teacher_retrieval/en-de/accuracy",
                            "sts_teacher/en-de/spearman", "sts_teacher/de/spearman"}
    assert metrics["mse/en-de/mse"] == 0.0
    for key in ("retrieval/en-de/accuracy", "teacher_retrieval/en-de/accuracy", "sts_teacher/en-de/spearman",
                "sts_teacher/de/spearman"):
        assert metrics[key] == pytest.approx(1.0), key
    scaled = score_language(ls, ls.teacher_en, 0.5 * ls.teacher_en)
    assert scaled["mse/en-de/mse"] == pytest.approx(np.mean((0.5 * ls.teacher_en) ** 2) * 100, rel=1e-5)


def test_score_language_leaves_out_teacher_space_metrics_when_sizes_differ():
    ls = _language_set("fr", dim=8)
    student = _vectors(12, 5, seed=4)
    metrics = score_language(ls, student, student)
    assert "teacher_retrieval/en-fr/accuracy" not in metrics
    assert set(metrics) == {"retrieval/en-fr/accuracy", "sts_teacher/en-fr/spearman", "sts_teacher/fr/spearman"}


def test_summarize_means_and_selection_formula():
    metrics = {
        "mse/en-de/mse": 2.0, "mse/en-fr/mse": 4.0,
        "retrieval/en-de/accuracy": 0.5, "retrieval/en-fr/accuracy": 0.7,
        "teacher_retrieval/en-de/accuracy": 0.2, "teacher_retrieval/en-fr/accuracy": 0.6,
        "sts_teacher/en-de/spearman": 0.3, "sts_teacher/en-fr/spearman": 0.5,
        "sts_teacher/de/spearman": 0.9, "sts_teacher/fr/spearman": 0.9,  # monolingual: not in the selection
    }
    out = summarize(metrics, ["de", "fr"])
    assert out["mean/mse/mse"] == pytest.approx(3.0)
    assert out["mean/retrieval/accuracy"] == pytest.approx(0.6)
    assert out["mean/teacher_retrieval/accuracy"] == pytest.approx(0.4)
    assert out["mean/sts_teacher/spearman"] == pytest.approx(0.4)
    # docs/metrics.md: mean over languages of (teacher_retrieval + sts_teacher/en-L) / 2
    per_lang = [(0.2 + 0.3) / 2, (0.6 + 0.5) / 2]
    assert out["selection"] == pytest.approx(np.mean(per_lang))
    # NaN and missing values are left out of the means; no teacher-space metric, no selection
    partial = summarize({"retrieval/en-de/accuracy": 0.4, "retrieval/en-fr/accuracy": float("nan"),
                         "sts_teacher/en-de/spearman": 0.1}, ["de", "fr"])
    assert partial["mean/retrieval/accuracy"] == pytest.approx(0.4)
    assert "selection" not in partial and "mean/teacher_retrieval/accuracy" not in partial


def test_evaluate_and_evaluate_teacher_on_prepared_sets():
    sets = [_language_set("de", seed=1), _language_set("fr", seed=2)]
    lookup = {s: v for ls in sets for s, v in zip(ls.english + ls.translations,
                                                    np.concatenate([ls.teacher_en, ls.teacher_en]))}
    perfect = scoring.evaluate(lambda sents: np.stack([lookup[s] for s in sents]), sets)
    assert perfect["selection"] == pytest.approx(1.0)
    assert perfect["mean/mse/mse"] == pytest.approx(0.0)
    teacher = scoring.evaluate_teacher(lambda sents: np.stack([lookup[s] for s in sents]), sets)
    assert teacher["teacher_retrieval/en-de/accuracy"] == pytest.approx(1.0)


def test_fit_lstsq_recovers_a_known_linear_map():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 6))
    w_true, b_true = rng.standard_normal((4, 6)), rng.standard_normal(4)
    y = x @ w_true.T + b_true
    w, b = fit_lstsq(x, y, ridge=0.0)
    assert w.shape == (4, 6) and b.shape == (4,) and w.dtype == np.float32  # Dense's (out, in) layout
    np.testing.assert_allclose(w, w_true, atol=1e-4)
    np.testing.assert_allclose(b, b_true, atol=1e-4)
    w_r, b_r = fit_lstsq(x, y)  # the default small ridge barely shrinks it
    np.testing.assert_allclose(x @ w_r.T + b_r, y, atol=0.05 * np.abs(y).max())
