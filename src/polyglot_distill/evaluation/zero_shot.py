"""Zero-shot evaluation on the Universal Declaration of Human Rights: trained and never-trained languages.

Each language's UDHR paragraphs (aligned with English by article, ~50-60 pairs; :mod:`data.udhr`) are scored
like a held-out split (:func:`evaluation.score_language`), under ``udhr/``:
``udhr/teacher_retrieval/en-<tag>/accuracy`` etc., where ``<tag>`` is the tag as configured (``de`` even when
the best-aligned file is ``de-1996``). Chance level for retrieval is 1/pairs (≈ 0.02). Means are reported
separately for the run's trained languages and for the others: ``udhr/mean_trained/...``,
``udhr/mean_unseen/...``.
"""
from __future__ import annotations

import difflib

import numpy as np
from tqdm.auto import tqdm

from polyglot_distill.data import udhr
from polyglot_distill.errors import ConfigError
from polyglot_distill.evaluation import scoring

PREFIX = "udhr/"
FAMILIES = [("teacher_retrieval", "accuracy"), ("sts_teacher", "spearman"), ("retrieval", "accuracy"), ("mse", "mse")]


def select(eval_cfg, cache_dir: str, trained: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The configured UDHR languages (``trained``: the run's targets; ``all``: every well-aligned one) with
    their aligned pairs. Raises :class:`ConfigError` for an unknown tag or one with too few pairs."""
    wanted = list(eval_cfg.udhr_languages or [])
    if not wanted:
        return {}
    available = udhr.aligned_languages(cache_dir)
    min_pairs = eval_cfg.udhr_min_pairs
    cap = eval_cfg.get("udhr_max_pairs", 0) or None  # a quick look at many languages: fewer paragraphs each
    chosen: dict[str, list[tuple[str, str]]] = {}
    taken: set[str] = set()  # resolved tags: "de" and "all" must not score de-1996 twice
    for tag in wanted:
        if tag == "all":
            for t, pairs in sorted(available.items()):
                if len(pairs) >= min_pairs and t not in taken:
                    chosen[t] = pairs[:cap]
                    taken.add(t)
            continue
        for t in (trained if tag == "trained" else [tag]):
            resolved = udhr.resolve_tag(t, available)
            if resolved is None:
                close = difflib.get_close_matches(t, list(available), n=3)
                hint = f" Close tags: {', '.join(close)}." if close else ""
                raise ConfigError(f"eval.udhr_languages: '{t}' is not a language of the UDHR package "
                                  f"(udhr@{udhr.UDHR_VERSION}).{hint} Use a BCP 47 tag of its declarations "
                                  f"(docs/metrics.md), or drop it.")
            pairs = available[resolved]
            if len(pairs) < min_pairs:
                if tag == "trained":
                    continue  # a trained language without a usable UDHR text is simply not scored here
                raise ConfigError(f"eval.udhr_languages: '{t}' ({resolved}) has {len(pairs)} paragraphs aligned "
                                  f"with English, below eval.udhr_min_pairs={min_pairs}. Drop it or lower "
                                  f"eval.udhr_min_pairs.")
            if resolved not in taken:
                chosen[t] = pairs[:cap]
                taken.add(resolved)
    return chosen


def build_sets(chosen: dict[str, list[tuple[str, str]]], encode_teacher, sts_pairs: int,
               seed: int) -> list[scoring.LanguageSet]:
    english = sorted({en for pairs in chosen.values() for en, _ in pairs})
    teacher = dict(zip(english, encode_teacher(english))) if english else {}
    return scoring.build_language_sets(chosen, lambda s: np.stack([teacher[x] for x in s]), sts_pairs, seed)


def evaluate(encode, sets: list[scoring.LanguageSet], trained: list[str], teacher: bool = False,
             desc: str | None = None) -> dict[str, float]:
    """Score ``encode`` (the student, or with ``teacher=True`` the teacher on translations) on the UDHR sets.

    The English paragraphs are shared by all languages and encoded once."""
    if not sets:
        return {}
    english = sorted({s for ls in sets for s in ls.english})
    s_english = None if teacher else dict(zip(english, encode(english)))
    metrics: dict[str, float] = {}
    for ls in tqdm(sets, desc=desc, unit="lang", disable=desc is None):
        s_en = ls.teacher_en if teacher else np.stack([s_english[s] for s in ls.english])
        metrics.update({PREFIX + k: v for k, v in scoring.score_language(ls, s_en, encode(ls.translations)).items()})
    groups = {"mean_trained": [ls.lang for ls in sets if ls.lang in trained],
              "mean_unseen": [ls.lang for ls in sets if ls.lang not in trained]}
    for group, langs in groups.items():
        for family, suffix in FAMILIES:
            values = [metrics[k] for L in langs if (k := f"{PREFIX}{family}/en-{L}/{suffix}") in metrics]
            if values:
                metrics[f"{PREFIX}{group}/{family}/{suffix}"] = float(np.mean(values))
    return metrics
