"""Parallel English -> xx sentence pairs for distillation: reading, cleaning, splitting.

Public API::

    build_corpus(data_cfg, languages_cfg) -> ParallelCorpus   # the whole pipeline
    manifest_to_json(corpus) -> str
    read_gettext_pairs / find_catalogs / read_catalog          # gettext .mo catalogs
    read_tsv_pairs                                             # english<TAB>translation files
    clean_pair / clean_pairs                                   # cleaning rules
    split_of / normalize_english                               # deterministic train/dev/test
    check_language / LANGUAGES                                 # ISO 639-1 codes
"""
from polyglot_distill.data.clean import clean_pair, clean_pairs
from polyglot_distill.data.corpus import ParallelCorpus, build_corpus, manifest_to_json
from polyglot_distill.data.gettext import find_catalogs, read_catalog, read_gettext_pairs
from polyglot_distill.data.languages import LANGUAGES, check_language
from polyglot_distill.data.split import normalize_english, split_of
from polyglot_distill.data.tsv import read_tsv_pairs

__all__ = [
    "LANGUAGES",
    "ParallelCorpus",
    "build_corpus",
    "check_language",
    "clean_pair",
    "clean_pairs",
    "find_catalogs",
    "manifest_to_json",
    "normalize_english",
    "read_catalog",
    "read_gettext_pairs",
    "read_tsv_pairs",
    "split_of",
]
