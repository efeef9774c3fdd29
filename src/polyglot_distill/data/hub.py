"""Parallel pairs from Hugging Face datasets: TED (``ted_multi``) and ``sentence-transformers/parallel-sentences-*``.

``data.hub_dataset`` is one string, loaded through the same ``datasets`` calls online and offline:

- a Hub id (``neulab/ted_multi``, ``sentence-transformers/parallel-sentences-talks``):
  ``datasets.load_dataset(id, subset, split=split, revision=data.hub_revision)``. Whether the Hub can be used is
  checked first (the local datasets cache, then a 3-second connection test): offline and not cached, the run
  stops in seconds with a :class:`ConfigError` that names the local alternatives;
- a folder laid out like the Hub repository (a snapshot of it: ``README.md`` with its ``configs``, or files named
  by split): the same ``datasets.load_dataset(folder, subset, split=split)`` call;
- a ``save_to_disk`` folder (a ``Dataset``, or a ``DatasetDict`` holding the split): ``datasets.load_from_disk``;
- parquet/CSV/JSON files, one file or a glob: ``datasets.load_dataset(<format>, data_files=...)``.

In a local path, ``{subset}`` and ``{split}`` are replaced (``/data/talks/{subset}/{split}-*.parquet``).

The schemas are the Hub's:

- ``ted``: rows ``{"translations": {"language": [...], "translation": [...]}, "talk_name": ...}`` (a
  ``TranslationVariableLanguages`` column). As in the seed tutorial, English is the source, each side is
  ``.strip()``-ed and every target language a row has gives one pair with the row's English; a row without
  English is skipped (and counted). One pass over the rows serves all target languages.
- ``parallel_sentences``: columns ``english`` and ``non_english``, one subset per pair (``en-de``), splits
  ``train`` and (for most subsets) ``dev``; each side is stripped.

The pairs of every split in ``data.hub_splits`` are pooled; :mod:`polyglot_distill.data.corpus` then cleans,
deduplicates and hash-splits them like every other source. ``data.export_tsv_dir`` writes the raw pairs as
``<name>-<splits>-en-<lang>.tsv.gz`` (``ted-train-en-de.tsv.gz``: the seed's files), which ``data=tsv`` reads back.
"""
from __future__ import annotations

import glob
import gzip
import logging
import os
from collections import Counter
from pathlib import Path

from polyglot_distill.data.hub_datasets import file_format, in_datasets_cache, is_local, is_saved, load_saved
from polyglot_distill.errors import ConfigError
from polyglot_distill.hub_access import hub_reachable

log = logging.getLogger(__name__)

HUB_SOURCES = ("ted", "parallel_sentences")
TED_COLUMN = "translations"
PARALLEL_COLUMNS = ("english", "non_english")
_FIELD = "data.hub_dataset"
_BATCH = 2000


def offline_message(source: str, revision: str | None, subset: str | None, split: str) -> str:
    rev = f", revision='{revision}'" if revision else ""
    sub = f"'{subset}', " if subset else ""
    return (f"{_FIELD}: '{source}' is a Hugging Face Hub dataset, but the Hub is not reachable from this machine and "
            f"the dataset is not in the local datasets cache (if '{source}' is meant as a local folder: it does "
            f"not exist). Where you have network access, save it: datasets.load_dataset('{source}', {sub}"
            f"split='{split}'{rev}).save_to_disk(<folder>), or download the repository's parquet files; then set "
            f"{_FIELD}=<folder> ({{subset}} and {{split}} in the path are replaced). Or train on data that is "
            f"here: data=gettext (the bundled catalogs) or data=tsv with your own files.")


def check_reachable(source: str, revision: str | None = None, subset: str | None = None,
                    split: str = "train") -> None:
    """Fail in seconds when ``source`` is a Hub id that can be neither downloaded nor read from the cache."""
    if not source:
        raise ConfigError(f"{_FIELD}: empty. Set it to a Hugging Face Hub dataset id (e.g. neulab/ted_multi) or "
                          f"to a local copy: a save_to_disk folder, a folder of its parquet files, or a file.")
    if is_local(source):
        return
    if not in_datasets_cache(source) and not hub_reachable():
        raise ConfigError(offline_message(source, revision, subset, split))


def _subsets_of(source: str, revision: str | None) -> list[str]:
    """The subsets (configurations) a dataset or a local copy offers ([] when that cannot be told)."""
    import datasets

    if "{subset}" in source:  # a local pattern: the names that fill {subset} in the component holding it
        parts = Path(os.path.expanduser(source)).parts
        at = next(i for i, part in enumerate(parts) if "{subset}" in part)
        head, _, tail = parts[at].partition("{subset}")
        parent = Path(*parts[:at]) if at else Path(".")
        names = [p.name for p in parent.glob(glob.escape(head) + "*")] if "{" not in str(parent) else []
        return sorted(n[len(head):len(n) - len(tail)] for n in names
                      if n.startswith(head) and n.endswith(tail) and len(n) > len(head) + len(tail)
                      and "{" not in tail)
    try:
        return sorted(datasets.get_dataset_config_names(os.path.expanduser(source), revision=revision))
    except Exception:  # noqa: BLE001 - only used to improve an error message
        return []


def _load_local(path: Path, source: str, subset: str | None, split: str):
    import datasets

    if is_saved(path):
        return load_saved(path, split, "data.hub_splits")
    if path.is_dir():  # laid out like the Hub repository: the same call as for a Hub id
        return _load_dataset(str(path), None if "{subset}" in source else subset, split, None)
    files = sorted(glob.glob(str(path))) if glob.has_magic(str(path)) else [str(path)] if path.is_file() else []
    if not files:
        raise ConfigError(f"{_FIELD}: '{path}' does not exist (from '{source}'). Point it at a save_to_disk folder, a "
                          f"folder laid out like the Hub repository, or parquet/CSV/JSON files (a glob works); "
                          f"{{subset}} and {{split}} in the path are replaced by the subset and the split.")
    builder = file_format(files[0])
    if builder is None:
        raise ConfigError(f"{_FIELD}: '{files[0]}' is neither a parquet, CSV nor JSON file nor a save_to_disk "
                          f"folder. Save the dataset with save_to_disk or as parquet.")
    kwargs = {"delimiter": "\t"} if ".tsv" in files[0].lower() else {}
    return datasets.load_dataset(builder, data_files=files, split="train", **kwargs)


def _load_dataset(source: str, subset: str | None, split: str, revision: str | None):
    """``datasets.load_dataset(source, subset, split=split, revision=revision)``: a Hub id or a repository folder."""
    import datasets

    try:
        return datasets.load_dataset(source, subset, split=split, revision=revision)
    except ValueError as err:
        text = str(err)
        if "split" in text.lower() and "unknown" in text.lower():
            raise ConfigError(f"data.hub_splits: '{split}' is not a split of '{source}'"
                              f"{f' (subset {subset})' if subset else ''}: {text[:200]} Set data.hub_splits to "
                              f"splits it has.") from None
        raise ConfigError(f"{_FIELD}: could not load '{source}' (subset {subset}, split {split}): "
                          f"{text[:300]}") from None
    except ConnectionError as err:
        raise ConfigError(offline_message(source, revision, subset, split) + f" ({str(err)[:200]})") from None


def load_split(source: str, subset: str | None, split: str, revision: str | None = None):
    """One split of one subset as a ``datasets.Dataset`` (see the module docstring for what ``source`` may be)."""
    check_reachable(source, revision, subset, split)
    if is_local(source):
        filled = source.replace("{subset}", subset or "").replace("{split}", split)
        return _load_local(Path(filled).expanduser(), source, subset, split)
    return _load_dataset(source, subset, split, revision)


def _check_columns(data, wanted: tuple[str, ...], where: str, schema: str) -> None:
    missing = [c for c in wanted if c not in data.column_names]
    if missing:
        raise ConfigError(f"{_FIELD}: {where} has the columns {data.column_names}, not {', '.join(missing)}. "
                          f"data={schema} expects {schema}'s schema: "
                          + ("'translations' as {language: [...], translation: [...]} (ted_multi)."
                             if schema == "ted" else "'english' and 'non_english' (parallel-sentences-*)."))


def _describe(data, source: str, subset: str | None, split: str, revision: str | None) -> dict:
    return {"dataset": source, "revision": revision, "subset": subset, "split": split, "rows": data.num_rows,
            "fingerprint": getattr(data, "_fingerprint", None)}


def _code(data_cfg, lang: str) -> str:
    codes = getattr(data_cfg, "dataset_codes", None) or {}
    return str(codes.get(lang, lang))


def _ted_pairs(data_cfg, targets: list[str]) -> dict[str, tuple[list[tuple[str, str]], list[dict]]]:
    source, revision = data_cfg.hub_dataset, data_cfg.hub_revision
    subset = data_cfg.hub_subset or None
    codes = {lang: _code(data_cfg, lang) for lang in targets}
    pairs: dict[str, list[tuple[str, str]]] = {lang: [] for lang in targets}
    seen: Counter = Counter()
    described, no_english = [], 0
    for split in data_cfg.hub_splits:
        data = load_split(source, subset, split, revision)
        _check_columns(data, (TED_COLUMN,), f"'{source}' (split {split})", "ted")
        described.append(_describe(data, source, subset, split, revision))
        for batch in data.select_columns([TED_COLUMN]).iter(batch_size=_BATCH):
            for row in batch[TED_COLUMN]:
                langs, texts = row["language"], row["translation"]
                seen.update(langs)
                if "en" not in langs:
                    no_english += 1
                    continue
                english = texts[langs.index("en")].strip()
                for lang, code in codes.items():
                    if code in langs:
                        pairs[lang].append((english, texts[langs.index(code)].strip()))
    for lang, code in codes.items():
        if not seen[code]:
            raise ConfigError(
                f"languages.targets: '{lang}' is not a language of '{source}' (splits {list(data_cfg.hub_splits)}, "
                f"no row has '{code}'); it has {', '.join(sorted(seen)) or 'no languages'}. Remove it from "
                f"languages.targets, or map it to one of those codes with data.dataset_codes (e.g. "
                f"+data.dataset_codes.{lang}=<code>).")
    if no_english:
        log.info("%s: %d rows without English skipped", source, no_english)
    return {lang: (pairs[lang], [{**d, "language": codes[lang], "rows_without_english": no_english}
                                 for d in described]) for lang in targets}


def _parallel_pairs(data_cfg, targets: list[str]) -> dict[str, tuple[list[tuple[str, str]], list[dict]]]:
    source, revision = data_cfg.hub_dataset, data_cfg.hub_revision
    pattern = data_cfg.hub_subset or ""
    out = {}
    for lang in targets:
        subset = pattern.replace("{lang}", _code(data_cfg, lang)) or None
        pairs, described = [], []
        for split in data_cfg.hub_splits:
            try:
                data = load_split(source, subset, split, revision)
            except ConfigError as err:
                available = _subsets_of(source, revision)
                if subset and available and subset not in available:
                    raise ConfigError(
                        f"languages.targets: '{lang}' is not in '{source}': it has no subset '{subset}' "
                        f"(data.hub_subset={pattern!r}); its subsets are {', '.join(available)}. Remove it from "
                        f"languages.targets, or map it with data.dataset_codes (e.g. "
                        f"+data.dataset_codes.{lang}=<code>).") from None
                raise err
            _check_columns(data, PARALLEL_COLUMNS, f"'{source}' (subset {subset}, split {split})",
                           "parallel_sentences")
            described.append(_describe(data, source, subset, split, revision))
            for batch in data.select_columns(list(PARALLEL_COLUMNS)).iter(batch_size=_BATCH):
                pairs += [(str(en or "").strip(), str(xx or "").strip())
                          for en, xx in zip(batch["english"], batch["non_english"])]
        out[lang] = (pairs, described)
    return out


def export_tsv(pairs: list[tuple[str, str]], path: Path) -> Path:
    """Write ``english<TAB>translation`` lines, gzip-compressed, as the seed does (tabs and line breaks inside a
    sentence become spaces so that every line has two columns). Written to a temporary name, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    clean = str.maketrans({"\t": " ", "\n": " ", "\r": " "})
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        for english, translation in pairs:
            handle.write(f"{english.translate(clean)}\t{translation.translate(clean)}\n".encode("utf-8"))
    tmp.replace(path)
    return path


def export_name(data_cfg, lang: str) -> str:
    """``ted-train-en-de.tsv.gz``: the seed's name for the TED train split."""
    return f"{data_cfg.name}-{'+'.join(data_cfg.hub_splits)}-en-{lang}.tsv.gz"


def read_hub_pairs(data_cfg, targets: list[str]) -> dict[str, tuple[list[tuple[str, str]], list[dict]]]:
    """``{lang: (raw pairs, source descriptions)}`` for every target language, exported when configured."""
    if not data_cfg.hub_splits:
        raise ConfigError("data.hub_splits: empty. List the dataset's splits to read, e.g. [train].")
    read = _ted_pairs if data_cfg.source == "ted" else _parallel_pairs
    out = read(data_cfg, targets)
    if data_cfg.export_tsv_dir:
        folder = Path(data_cfg.export_tsv_dir).expanduser()
        for lang, (pairs, described) in out.items():
            path = export_tsv(pairs, folder / export_name(data_cfg, lang))
            described.append({"exported_tsv": str(path), "pairs": len(pairs)})
            log.info("%s: %d raw pairs written to %s", lang, len(pairs), path)
    return out
