"""The Hub data sources (data=ted, data=parallel_sentences) and data=udhr, offline, on data built in the Hub's schemas.

The tests write tiny datasets exactly as the Hub serves them -- ted_multi rows with a
``TranslationVariableLanguages`` column ``translations: {language: [...], translation: [...]}`` and ``talk_name``
(as the parquet export's shards ``plain_text/<split>/0000.parquet`` and as a ``save_to_disk`` folder), and the
parallel-sentences-* columns ``english``/``non_english`` with one subset per pair and train/dev splits (as the
repository's ``README.md`` configs with ``<subset>/<split>-00000-of-00001.parquet`` files, and as save_to_disk
folders) -- and read them through the loader a Hub id goes through (``datasets.load_dataset(path_or_id, subset,
split=...)``), then ``build_corpus``. A smoke training run on each source is tests/e2e/test_hub_data_training.py.
"""
from __future__ import annotations

import gzip
import time

import datasets
import pytest
from datasets import Dataset
from helpers.hub_data import english, seed_pairs, ted_rows, write_parallel, write_ted

from polyglot_distill.data.corpus import build_corpus
from polyglot_distill.errors import ConfigError


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path, monkeypatch):
    """Keep ``load_dataset``'s prepared copies of the test folders out of the user's datasets cache."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-datasets-cache"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets-cache"))


@pytest.fixture
def ted(tmp_path):
    return write_ted(tmp_path)


@pytest.fixture
def talks(tmp_path):
    return write_parallel(tmp_path)


def _corpus(compose, *overrides):
    cfg = compose([*overrides, "data.english_prose=none"])
    return build_corpus(cfg.data, cfg.languages), cfg


# --- ted -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["parquet", "disk"])
def test_ted_pairs_are_the_seeds(compose, ted, layout):
    """English source, stripped sides, one pair per target language a row has; rows without English skipped."""
    from polyglot_distill.data.hub import read_hub_pairs

    cfg = compose(["data=ted", f"data.hub_dataset={ted[layout]}", "languages.targets=[de,fr,it]"])
    got = read_hub_pairs(cfg.data, ["de", "fr", "it"])
    rows = ted_rows()
    for lang in ("de", "fr", "it"):
        pairs, sources = got[lang]
        assert pairs == seed_pairs(rows, lang)
        assert sources[0]["rows"] == len(rows) and sources[0]["rows_without_english"] == 8
    assert len(got["de"][0]) == len(rows) - 8 and len(got["it"][0]) < len(got["fr"][0]) < len(got["de"][0])


def test_ted_corpus_is_the_same_from_parquet_and_save_to_disk(compose, ted):
    runs = [_corpus(compose, "data=ted", f"data.hub_dataset={ted[layout]}", "languages.targets=[de,fr]")[0]
            for layout in ("parquet", "disk")]
    assert runs[0].splits == runs[1].splits
    manifest = runs[0].manifest
    assert manifest["source"] == "ted" and manifest["config"]["data"]["hub_dataset"] == str(ted["parquet"])
    de = manifest["languages"]["de"]
    assert de["raw"] == 393 and de["drops"].get("too_few_words") == 1  # "(Applause)"
    assert all(len(runs[0].splits[s]["de"]) for s in ("train", "dev", "test"))


def test_ted_dataset_codes_map_a_language_to_the_datasets_code(compose, ted):
    corpus, _ = _corpus(compose, "data=ted", f"data.hub_dataset={ted['parquet']}", "languages.targets=[pt]",
                        "+data.dataset_codes.pt=pt-br")
    assert corpus.manifest["languages"]["pt"]["raw"] == len(seed_pairs(ted_rows(), "pt-br"))


def test_ted_export_writes_the_seeds_files_and_data_tsv_reads_them_back(compose, ted, tmp_path):
    out = tmp_path / "export"
    ted_corpus, _ = _corpus(compose, "data=ted", f"data.hub_dataset={ted['parquet']}", f"data.export_tsv_dir={out}",
                            "languages.targets=[de,it]")
    assert sorted(p.name for p in out.iterdir()) == ["ted-train-en-de.tsv.gz", "ted-train-en-it.tsv.gz"]
    for lang in ("de", "it"):
        lines = gzip.decompress((out / f"ted-train-en-{lang}.tsv.gz").read_bytes()).decode("utf-8").splitlines()
        assert lines == [f"{en}\t{xx}" for en, xx in seed_pairs(ted_rows(), lang)]
    tsv_corpus, _ = _corpus(compose, "data=tsv", f'data.tsv_pattern="{out}/ted-train-en-{{lang}}.tsv.gz"',
                            "data.max_train_pairs=20000", "data.max_dev_pairs=500", "data.max_test_pairs=1000",
                            "data.dev_fraction=0.05", "data.test_fraction=0.05", "languages.targets=[de,it]")
    assert tsv_corpus.splits == ted_corpus.splits


def test_ted_language_the_dataset_lacks(compose, ted):
    with pytest.raises(ConfigError) as err:
        _corpus(compose, "data=ted", f"data.hub_dataset={ted['disk']}", "languages.targets=[de,sw]")
    for phrase in ("languages.targets", "'sw' is not a language of", "it has de, en, fr, it, pt-br.",
                   "data.dataset_codes"):
        assert phrase in str(err.value)


def test_ted_split_the_copy_lacks(compose, ted):
    with pytest.raises(ConfigError, match=r"data.hub_splits: .* has the splits \['train', 'validation'\], not 'test'"):
        _corpus(compose, "data=ted", f"data.hub_dataset={ted['disk']}", "data.hub_splits=[train,test]")


# --- parallel_sentences ------------------------------------------------------------------------------------------


def test_parallel_sentences_from_the_repository_layout_and_save_to_disk(compose, talks):
    repo, _ = _corpus(compose, "data=parallel_sentences", f"data.hub_dataset={talks['repo']}",
                      "languages.targets=[de,fr]")
    disk, _ = _corpus(compose, "data=parallel_sentences", f'data.hub_dataset="{talks["disk"]}"',
                      "languages.targets=[de,fr]")
    assert repo.splits == disk.splits
    for lang in ("de", "fr"):
        sources = repo.manifest["sources"][lang]
        assert [(s["subset"], s["split"], s["rows"]) for s in sources] == [(f"en-{lang}", "train", 240),
                                                                           (f"en-{lang}", "dev", 20)]
        assert repo.manifest["languages"][lang]["raw"] == 260
        pooled = {en: xx for split in ("train", "dev") for en, xx in repo.splits[split][lang]}
        assert pooled[english(3)] == f"Das ist {'Satz' if lang == 'de' else 'phrase'} 1903, übersetzt."


def test_parallel_sentences_subset_missing_names_the_subsets(compose, talks):
    for source in (str(talks["repo"]), f'"{talks["disk"]}"'):
        with pytest.raises(ConfigError) as err:
            _corpus(compose, "data=parallel_sentences", f"data.hub_dataset={source}", "languages.targets=[de,it]")
        for phrase in ("languages.targets", "'it' is not in", "no subset 'en-it'", "en-de, en-fr"):
            assert phrase in str(err.value), str(err.value)


def test_parallel_sentences_wrong_columns(compose, tmp_path):
    Dataset.from_dict({"en": [english(k) for k in range(20)], "de": ["Ein Satz."] * 20}).to_parquet(
        str(tmp_path / "en-de.parquet"))
    with pytest.raises(ConfigError) as err:
        _corpus(compose, "data=parallel_sentences", f'data.hub_dataset="{tmp_path}/{{subset}}.parquet"',
                "data.hub_splits=[train]", "languages.targets=[de]")
    assert "has the columns ['en', 'de'], not english, non_english" in str(err.value)


# --- udhr ----------------------------------------------------------------------------------------------------------


def test_udhr_as_training_data(compose):
    from polyglot_distill.data import udhr

    corpus, cfg = _corpus(compose, "data=udhr", "languages.targets=[de,sw]", "eval.udhr_languages=[]")
    available = udhr.aligned_languages(cfg.cache_dir)
    for lang, tag in (("de", "de-1996"), ("sw", udhr.resolve_tag("sw", available))):
        entry = corpus.manifest["languages"][lang]
        assert corpus.manifest["sources"][lang][0]["tag"] == tag
        assert entry["raw"] == len(available[tag]) >= 40
        assert sum(entry["splits"].values()) == entry["cleaned"] >= entry["raw"] - 5
        assert all(entry["splits"][s] >= 2 for s in ("train", "dev", "test"))
    test_en = {en for en, _ in corpus.splits["test"]["de"]}
    assert test_en & {en for en, _ in corpus.splits["test"]["sw"]}  # the same English is in the same split
    assert not test_en & {en for en, _ in corpus.splits["train"]["sw"]}


def test_udhr_language_without_a_translation(compose):
    with pytest.raises(ConfigError, match="languages.targets: 'kj' has no UDHR translation aligned with English"):
        _corpus(compose, "data=udhr", "languages.targets=[de,kj]", "eval.udhr_languages=[]")


# --- the Hub itself, offline --------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["ted", "parallel_sentences"])
def test_hub_dataset_offline_fails_in_seconds_naming_the_local_alternatives(compose, source, tmp_path, monkeypatch):
    import polyglot_distill.models.loading  # noqa: F401 - imported by every run before the corpus; not part of the timing

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "empty"))  # a cached copy would load
    cfg = compose([f"data={source}"])
    started = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        build_corpus(cfg.data, cfg.languages)
    assert time.perf_counter() - started < 5
    for phrase in (f"data.hub_dataset: '{cfg.data.hub_dataset}' is a Hugging Face Hub dataset", "not reachable",
                   ".save_to_disk(<folder>)", "data.hub_dataset=<folder>", "data=gettext", "data=tsv"):
        assert phrase in str(err.value)





