"""Per-language offline evaluation: MSE to the teacher, translation retrieval, teacher-referenced STS.

For each target language L of a split (English sentences ``en``, translations ``xx``; teacher T, student S):

- ``mse/en-L/mse``: mean squared error ×100 between S(xx) and T(en), as sentence-transformers' MSEEvaluator;
- ``retrieval/en-L/accuracy``: S(en) ↔ S(xx) nearest-neighbour accuracy by cosine, mean of both directions
  (the student's own cross-lingual alignment: it must not collapse);
- ``teacher_retrieval/en-L/accuracy``: T(en) ↔ S(xx), mean of both directions (did the student land in the
  teacher's space?);
- ``sts_teacher/en-L/spearman``: teacher-referenced STS, a *fidelity* score, not a human gold standard:
  Spearman between cos(T(en_i), T(en_j)) and cos(S(en_i), S(xx_j)) over sentence pairs sampled to span the
  teacher's similarity range; ``sts_teacher/L/spearman`` uses cos(S(xx_i), S(xx_j)).

The selection score is the mean over languages of (teacher_retrieval + sts_teacher/en-L) / 2: both lie in
[0, 1] and both measure what users want, unlike raw MSE, which the teacher's mean vector nearly minimises.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr
from tqdm.auto import tqdm

Pairs = list[tuple[str, str]]


@dataclass
class LanguageSet:
    """One language's held-out pairs with the teacher's English embeddings and the sampled STS pairs."""

    lang: str
    english: list[str]
    translations: list[str]
    teacher_en: np.ndarray
    sts_index: np.ndarray  # (n, 2) indices into english
    sts_gold: np.ndarray  # teacher cosine of those pairs


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _unit(a) @ _unit(b).T


def pair_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(_unit(a) * _unit(b), axis=1)


def retrieval_accuracy(src: np.ndarray, trg: np.ndarray) -> float:
    """Translation retrieval: share of rows whose nearest neighbour is their own translation, both ways."""
    sim = cosine_matrix(src, trg)
    gold = np.arange(len(src))
    forward = np.mean(sim.argmax(axis=1) == gold)
    backward = np.mean(sim.argmax(axis=0) == gold)
    return float((forward + backward) / 2)


def sample_sts_pairs(teacher_en: np.ndarray, n_pairs: int, seed: int, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Sample sentence pairs whose teacher cosines span the similarity range (stratified over ``bins``)."""
    n = len(teacher_en)
    if n < 2:
        return np.zeros((0, 2), dtype=int), np.zeros(0)
    rng = np.random.default_rng(seed)
    i, j = np.triu_indices(n, k=1)
    if len(i) > 50 * n_pairs:
        keep = rng.choice(len(i), size=50 * n_pairs, replace=False)
        i, j = i[keep], j[keep]
    cos = pair_cosine(teacher_en[i], teacher_en[j])
    # equal-width bins between the 1st and 99th percentile, so rare high-similarity pairs are represented
    lo, hi = np.quantile(cos, [0.01, 0.99])
    edges = np.linspace(lo, hi, bins + 1)
    which = np.clip(np.digitize(cos, edges[1:-1]), 0, bins - 1)
    per_bin = max(1, n_pairs // bins)
    chosen = []
    for b in range(bins):
        members = np.flatnonzero(which == b)
        if len(members):
            chosen.append(rng.choice(members, size=min(per_bin, len(members)), replace=False))
    chosen = np.concatenate(chosen) if chosen else np.arange(0)
    if len(chosen) < n_pairs:  # top up from the rest where some bins were thin
        rest = np.setdiff1d(np.arange(len(i)), chosen)
        chosen = np.concatenate([chosen, rng.choice(rest, size=min(n_pairs - len(chosen), len(rest)), replace=False)])
    chosen = np.sort(chosen)
    return np.stack([i[chosen], j[chosen]], axis=1), cos[chosen]


def build_language_sets(pairs_by_lang: dict[str, Pairs], encode_teacher, sts_pairs: int, seed: int) -> list[LanguageSet]:
    """Prepare one split's evaluation sets; ``encode_teacher(list[str]) -> np.ndarray``."""
    sets = []
    for k, (lang, pairs) in enumerate(sorted(pairs_by_lang.items())):
        english = [en for en, _ in pairs]
        teacher_en = encode_teacher(english)
        index, gold = sample_sts_pairs(teacher_en, sts_pairs, seed + k)
        sets.append(LanguageSet(lang, english, [xx for _, xx in pairs], teacher_en, index, gold))
    return sets


def spearman(gold: np.ndarray, pred: np.ndarray) -> float:
    if len(gold) < 2:
        return 0.0
    value = spearmanr(gold, pred).statistic
    return float(value) if np.isfinite(value) else 0.0


def score_language(ls: LanguageSet, s_en: np.ndarray, s_xx: np.ndarray) -> dict[str, float]:
    """All metrics of one language from the student's embeddings of its English and translated sentences."""
    L, (i, j) = ls.lang, ls.sts_index.T
    metrics = {
        f"retrieval/en-{L}/accuracy": retrieval_accuracy(s_en, s_xx),
        f"sts_teacher/{L}/spearman": spearman(ls.sts_gold, pair_cosine(s_xx[i], s_xx[j])),
    }
    if s_xx.shape == ls.teacher_en.shape:  # teacher-space metrics need the teacher's size
        metrics[f"mse/en-{L}/mse"] = float(np.mean((s_xx - ls.teacher_en) ** 2) * 100)
        metrics[f"teacher_retrieval/en-{L}/accuracy"] = retrieval_accuracy(ls.teacher_en, s_xx)
    metrics[f"sts_teacher/en-{L}/spearman"] = spearman(ls.sts_gold, pair_cosine(s_en[i], s_xx[j]))
    return metrics


def summarize(metrics: dict[str, float], langs: list[str]) -> dict[str, float]:
    """Means over languages (``mean/<metric>``) and the selection score."""
    out = {}
    for family, suffix in [("mse", "mse"), ("retrieval", "accuracy"), ("teacher_retrieval", "accuracy"),
                           ("sts_teacher", "spearman")]:
        values = [metrics.get(f"{family}/en-{L}/{suffix}") for L in langs]
        values = [v for v in values if v is not None and np.isfinite(v)]
        if values:
            out[f"mean/{family}/{suffix}"] = float(np.mean(values))
    if "mean/teacher_retrieval/accuracy" in out:
        out["selection"] = (out["mean/teacher_retrieval/accuracy"] + out["mean/sts_teacher/spearman"]) / 2
    return out


def evaluate(encode_student, sets: list[LanguageSet], desc: str | None = None) -> dict[str, float]:
    """Score a student (``encode_student(list[str]) -> np.ndarray``) on prepared language sets.

    ``desc`` shows a progress bar over languages with that label."""
    metrics: dict[str, float] = {}
    for ls in tqdm(sets, desc=desc, unit="lang", disable=desc is None):
        metrics.update(score_language(ls, encode_student(ls.english), encode_student(ls.translations)))
    metrics.update(summarize(metrics, [ls.lang for ls in sets]))
    return metrics


def evaluate_teacher(encode_teacher, sets: list[LanguageSet], desc: str | None = None) -> dict[str, float]:
    """The teacher scored like a student: its own ceiling in English and how far it carries to translations."""
    metrics: dict[str, float] = {}
    for ls in tqdm(sets, desc=desc, unit="lang", disable=desc is None):
        metrics.update(score_language(ls, ls.teacher_en, encode_teacher(ls.translations)))
    metrics.update(summarize(metrics, [ls.lang for ls in sets]))
    return metrics
