"""Human-scored STS benchmarks: Spearman between gold scores and the cosine of the two sentences' embeddings.

Three sources, each enabled by its own ``eval`` sub-node (``conf/eval/{stsb_multi,sts17,local_sts}.yaml``,
composable: ``eval=[offline,stsb_multi,sts17]``), all read through :func:`hub_datasets.load_table`:

- ``stsb_multi`` (``PhilipMay/stsb_multi_mt``: configs de en es fr it nl pl pt ru zh, columns sentence1, sentence2,
  similarity_score 0-5): ``sts/<L>/spearman`` on each language's split, and the seed's cross-lingual pairs,
  English sentence1 × <L> sentence2 with the English score, as ``sts/en-<L>/spearman`` (the rows of every
  config are translations of the same English rows);
- ``sts17`` (``mteb/sts17-crosslingual-sts``: subsets ar-ar en-ar en-de en-en en-tr es-en es-es fr-en it-en
  ko-ko nl-en, columns sentence1, sentence2, score 0-5, split test): ``sts17/<subset>/spearman``;
- ``local_sts``: your files, ``sts_local/<name>/spearman``.

Gold scores are mapped to [0, 1], (score - min) / (max - min): ÷ 5 for 0-5 as the seed does (Spearman does
not change). Row numbers in messages count data rows from 1 (a CSV's header is not a row).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from polyglot_distill.data.hub_datasets import load_table
from polyglot_distill.errors import ConfigError
from polyglot_distill.evaluation import scoring

log = logging.getLogger(__name__)

STSB_IDS = ("PhilipMay/stsb_multi_mt", "stsb_multi_mt")  # the seed loads the old, un-namespaced id
STSB_LANGUAGES = ("de", "en", "es", "fr", "it", "nl", "pl", "pt", "ru", "zh")
STS17_SUBSETS = ("ar-ar", "en-ar", "en-de", "en-en", "en-tr", "es-en", "es-es", "fr-en", "it-en", "ko-ko", "nl-en")


@dataclass
class StsTask:
    """One scored set: ``name`` is the metric stem (``sts/de``, ``sts/en-de``, ``sts17/en-de``)."""

    name: str
    sentences1: list[str]
    sentences2: list[str]
    gold: np.ndarray  # in [0, 1]


def read_scored_pairs(data, where: str, score_column: str, lo: float, hi: float, local: bool = False) -> StsTask:
    """Check a table's columns and scores; its pairs with scores scaled to [0, 1] (``name`` left empty).

    ``where`` names the file or dataset in messages; ``local`` adds the ``eval.local_sts`` settings to the fix."""
    needed = ["sentence1", "sentence2", score_column]
    missing = [c for c in needed if c not in data.column_names]
    if missing:
        fix = "; rename its columns or set eval.local_sts.score_column" if local else ""
        raise ConfigError(f"{where}: missing column(s) {', '.join(missing)} (it has {', '.join(data.column_names)}). "
                          f"An STS table needs sentence1, sentence2 and {score_column}{fix}.")
    scores = []
    for row, value in enumerate(data[score_column], start=1):
        try:
            score = float(value)
        except (TypeError, ValueError):
            score = float("nan")
        if not np.isfinite(score):
            raise ConfigError(f"{where}: row {row}: score {value!r} in column '{score_column}' is not a number. "
                              f"Every row needs a numeric score; fix or drop that row.")
        if not lo <= score <= hi:
            fix = " or state the file's scale with eval.local_sts.score_min and score_max" if local else ""
            raise ConfigError(f"{where}: row {row}: score {score:g} is outside the scale [{lo:g}, {hi:g}]. "
                              f"Fix the row{fix}.")
        scores.append(score)
    s1, s2 = [str(s) for s in data["sentence1"]], [str(s) for s in data["sentence2"]]
    if len(s1) < 2:
        raise ConfigError(f"{where}: {len(s1)} scored pair(s); Spearman needs at least 2.")
    return StsTask("", s1, s2, (np.asarray(scores, dtype=float) - lo) / (hi - lo))


def stsb_languages(cfg, trained: list[str]) -> list[str]:
    """The stsb_multi languages to score (``trained``: the run's targets the dataset has)."""
    wanted: list[str] = []
    for entry in cfg.languages:
        if entry == "trained":
            skipped = [L for L in trained if L not in STSB_LANGUAGES]
            if skipped:
                log.info("stsb_multi has no %s: not scored there", ", ".join(skipped))
            wanted += [L for L in trained if L in STSB_LANGUAGES]
        elif entry not in STSB_LANGUAGES and cfg.dataset in STSB_IDS:
            raise ConfigError(f"eval.stsb_multi.languages: '{entry}' is not a language of stsb_multi_mt "
                              f"({' '.join(STSB_LANGUAGES)}). Drop it, or use 'trained' for the run's languages.")
        else:
            wanted.append(entry)
    return list(dict.fromkeys(wanted))


def sts17_subsets(cfg, trained: list[str]) -> list[str]:
    """The STS17 subsets to score (``matching``: both languages English or trained)."""
    subsets: list[str] = []
    for entry in cfg.subsets:
        if entry == "matching":
            subsets += [s for s in STS17_SUBSETS if set(s.split("-")) <= {"en", *trained}]
        elif entry not in STS17_SUBSETS and cfg.dataset == "mteb/sts17-crosslingual-sts":
            raise ConfigError(f"eval.sts17.subsets: '{entry}' is not a subset of {cfg.dataset} "
                              f"({' '.join(STS17_SUBSETS)}). Drop it, or use 'matching'.")
        else:
            subsets.append(entry)
    return list(dict.fromkeys(subsets))


def local_paths(cfg) -> dict[str, Path]:
    """``{name: file}`` of local_sts, checked to exist."""
    field = "eval.local_sts"
    if "{name}" not in cfg.path_pattern:
        raise ConfigError(f"{field}.path_pattern: '{cfg.path_pattern}' has no {{name}}. Set it to a path with "
                          f"{{name}} for each of {field}.names, e.g. data/sts-{{name}}.csv.")
    if not cfg.names:
        raise ConfigError(f"{field}.names: empty. List the names that fill {{name}} in {field}.path_pattern, "
                          f"e.g. [de, en-de].")
    paths = {name: Path(cfg.path_pattern.replace("{name}", name)).expanduser() for name in cfg.names}
    for name, path in paths.items():
        if not path.exists():
            raise ConfigError(f"{field}.path_pattern: '{path}' (name '{name}') does not exist. Point the pattern at "
                              f"one file per name (.csv, .tsv, .parquet, .jsonl or a save_to_disk folder).")
    return paths


def _stsb_tasks(cfg, langs: list[str]) -> list[StsTask]:
    def load(lang: str) -> StsTask:
        data = load_table(cfg.dataset, lang, cfg.split, "eval.stsb_multi.dataset")
        where = f"eval.stsb_multi.dataset '{cfg.dataset}' ({lang}, {cfg.split})"
        return read_scored_pairs(data, where, "similarity_score", 0.0, 5.0)

    by_lang = {L: load(L) for L in langs}
    english = by_lang.get("en") or (load("en") if cfg.cross_lingual and langs else None)
    tasks = []
    for L, task in by_lang.items():
        task.name = f"sts/{L}"
        tasks.append(task)
        if cfg.cross_lingual and L != "en":
            if len(task.sentences1) != len(english.sentences1):
                raise ConfigError(f"eval.stsb_multi: '{L}' has {len(task.sentences1)} {cfg.split} rows and 'en' "
                                  f"{len(english.sentences1)}; cross-lingual pairs need row-aligned translations. "
                                  f"Set eval.stsb_multi.cross_lingual=false or fix the copy.")
            tasks.append(StsTask(f"sts/en-{L}", english.sentences1, task.sentences2, english.gold))
    return tasks


def _sts17_tasks(cfg, subsets: list[str]) -> list[StsTask]:
    tasks = []
    for subset in subsets:
        data = load_table(cfg.dataset, subset, cfg.split, "eval.sts17.dataset")
        where = f"eval.sts17.dataset '{cfg.dataset}' ({subset}, {cfg.split})"
        task = read_scored_pairs(data, where, "score", 0.0, 5.0)
        task.name = f"sts17/{subset}"
        tasks.append(task)
    return tasks


def _local_tasks(cfg, paths: dict[str, Path]) -> list[StsTask]:
    tasks = []
    for name, path in paths.items():
        data = load_table(str(path), None, "test", "eval.local_sts.path_pattern")
        task = read_scored_pairs(data, str(path), cfg.score_column, cfg.score_min, cfg.score_max, local=True)
        task.name = f"sts_local/{name}"
        tasks.append(task)
    return tasks


def load_tasks(eval_cfg, trained: list[str]) -> list[StsTask]:
    """Every enabled benchmark's scored pairs. Raises :class:`ConfigError` for a bad setting (checked for all
    benchmarks first, before any data loads) or a bad source; no model is needed."""
    stsb, sts17, local = eval_cfg.stsb_multi, eval_cfg.sts17, eval_cfg.local_sts
    stsb_langs = stsb_languages(stsb, trained) if stsb.enabled else []
    subsets = sts17_subsets(sts17, trained) if sts17.enabled else []
    paths = local_paths(local) if local.enabled else {}
    return _stsb_tasks(stsb, stsb_langs) + _sts17_tasks(sts17, subsets) + _local_tasks(local, paths)


def sentences(tasks: list[StsTask]) -> list[str]:
    return sorted({s for t in tasks for s in (*t.sentences1, *t.sentences2)})


def evaluate(encode, tasks: list[StsTask], desc: str | None = None) -> dict[str, float]:
    """``{<task>/spearman: ...}`` for ``encode(list[str]) -> np.ndarray``; each distinct sentence encoded once."""
    if not tasks:
        return {}
    unique = sentences(tasks)
    vectors = dict(zip(unique, encode(unique)))
    metrics = {}
    for task in tqdm(tasks, desc=desc, unit="set", disable=desc is None):
        a = np.stack([vectors[s] for s in task.sentences1])
        b = np.stack([vectors[s] for s in task.sentences2])
        metrics[f"{task.name}/spearman"] = scoring.spearman(task.gold, scoring.pair_cosine(a, b))
    return metrics
