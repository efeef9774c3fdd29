"""Pairs per language of a data source, as docs/data.md tabulates them: raw catalog entries, pairs after cleaning
(every split uncapped), mean English words of the cleaned pairs, and each source's share of the raw entries (a
wheel by its distribution name, Django's own catalogs as ``django``).

    .venv/bin/python benchmarks/corpus_table.py --languages ar,de
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from polyglot_distill.data.corpus import build_corpus

ROOT = Path(__file__).resolve().parents[1]

SHORT = {"plone_app_locales": "plone", "apache_superset": "superset", "django_oscar": "oscar",
         "django_cms": "django-cms", "django_allauth": "allauth"}


def source_name(file: str) -> str:
    if ".whl!" not in file:
        return "django" if "/django/" in file else file
    name = re.sub(r"-\d.*", "", file.split(".whl!")[0].rsplit("/", 1)[-1])
    return "jupyterlab" if name.startswith("jupyterlab_language_pack") else SHORT.get(name, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", required=True, help="comma-separated codes")
    parser.add_argument("--data", default="catalogs", help="a conf/data option")
    args = parser.parse_args()
    from hydra import compose, initialize_config_dir

    from polyglot_distill.config.schema import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"data={args.data}", "data.max_train_pairs=0", "data.max_dev_pairs=0",
                                           "data.max_test_pairs=0", "data.english_prose=none",
                                           f"languages.targets=[{args.languages}]"])
    langs = args.languages.split(",")
    corpus = build_corpus(cfg.data, cfg.languages, cfg.cache_dir)  # POLYGLOT_DISTILL_CACHE, as train.py
    print("| lang | raw | cleaned | EN words | sources (share of raw) |\n|---|---|---|---|---|")
    for lang in langs:
        totals = corpus.manifest["languages"][lang]
        shares = Counter()
        for entry in corpus.manifest["sources"][lang]:
            shares[source_name(entry["file"])] += entry.get("pairs", 0)
        pairs = [p for split in corpus.splits.values() for p in split.get(lang, [])]
        words = sum(len(en.split()) for en, _ in pairs) / max(1, len(pairs))
        raw = totals["raw"]
        mix = ", ".join(f"{name} {round(100 * n / raw)} %" for name, n in shares.most_common() if n)
        print(f"| {lang} | {raw:,} | {totals['cleaned']:,} | {words:.1f} | {mix} |")


if __name__ == "__main__":
    main()
