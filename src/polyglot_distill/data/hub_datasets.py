"""One loader for tabular datasets: a Hugging Face Hub id or a local copy, through the same ``datasets`` calls.

``source`` is either

- a Hub dataset id (``PhilipMay/stsb_multi_mt``, ``mteb/sts17-crosslingual-sts``): ``datasets.load_dataset(id, subset,
  split=split)``. Offline, a copy in the local datasets cache is used; without one the call fails in seconds
  with a :class:`ConfigError` that names the local alternative;
- a local path, where ``{subset}`` and ``{split}`` are replaced: a folder written by ``save_to_disk`` (a
  ``DatasetDict`` gives its ``split``) read with ``datasets.load_from_disk``; a download of the Hub repository
  (its README configs and data files) read with the Hub id's own ``datasets.load_dataset(folder, subset,
  split=split)``; or one ``.parquet``, ``.csv``, ``.tsv``, ``.json``/``.jsonl`` file read with
  ``datasets.load_dataset(<format>, data_files=...)``.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

from polyglot_distill.errors import ConfigError
from polyglot_distill.hub_access import hub_reachable

FORMATS = {".parquet": "parquet", ".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json",
           ".csv.gz": "csv", ".tsv.gz": "csv", ".json.gz": "json", ".jsonl.gz": "json"}


def file_format(path: str | Path) -> str | None:
    """The ``datasets`` builder of a file by its name (``test.jsonl.gz`` -> json), None when unknown."""
    name = str(path).lower()
    return next((FORMATS[ext] for ext in sorted(FORMATS, key=len, reverse=True) if name.endswith(ext)), None)


def is_local(source: str) -> bool:
    """A path (absolute, relative with ./ or ../, ~, an existing file or folder, a pattern, a file name with a
    known format) rather than a Hub id (``owner/name`` or ``name``)."""
    return (source.startswith(("/", "./", "../", "~")) or "{" in source or "*" in source or source.count("/") > 1
            or Path(source).expanduser().exists() or file_format(source) is not None)


def local_path(source: str, subset: str | None, split: str) -> Path:
    return Path(source.replace("{subset}", subset or "").replace("{split}", split)).expanduser()


def in_datasets_cache(dataset_id: str) -> bool:
    """True when ``datasets`` has a prepared copy of ``dataset_id`` in its cache (what it reads offline)."""
    from datasets import config
    from datasets.naming import camelcase_to_snakecase

    parts = dataset_id.split("/")
    parts[-1] = camelcase_to_snakecase(parts[-1])
    root = os.path.join(os.path.expanduser(str(config.HF_DATASETS_CACHE)), "___".join(parts))
    return any(os.path.isdir(p) for p in glob.glob(os.path.join(root, "*", "*", "*")))


def is_saved(path: Path) -> bool:
    """A folder written by ``save_to_disk`` (a ``Dataset`` or a ``DatasetDict``)."""
    return path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "state.json").exists())


def load_saved(path: Path, split: str, field: str):
    """``datasets.load_from_disk``; of a ``DatasetDict`` its ``split`` (``field`` names the splits' config key)."""
    import datasets

    data = datasets.load_from_disk(str(path))
    if isinstance(data, datasets.DatasetDict):
        if split not in data:
            raise ConfigError(f"{field}: '{path}' has the splits {sorted(data)}, not '{split}'. Set {field} to "
                              f"some of them, or point at a folder holding the {split} split.")
        data = data[split]
    return data


def load_table(source: str, subset: str | None, split: str, field: str):
    """The ``split`` of ``source`` (subset ``subset``) as a ``datasets.Dataset``; ``field`` names the config key
    in error messages."""
    import datasets

    if is_local(source):
        path = local_path(source, subset, split)
        if path.is_dir() and not is_saved(path):
            # laid out like the Hub repository (its parquet files and README configs): the Hub id's own call
            try:
                return datasets.load_dataset(str(path), None if "{subset}" in source else subset, split=split)
            except (FileNotFoundError, ValueError) as err:
                raise ConfigError(f"{field}: could not read '{path}' as a dataset folder (subset {subset}, split "
                                  f"{split}): {str(err)[:300]}. Point it at a save_to_disk folder, a download of "
                                  f"the Hub repository, or one file per subset and split.") from None
        if path.is_dir():
            return load_saved(path, split, field.removesuffix(".dataset") + ".split" if field.endswith(".dataset")
                              else field)
        if not path.is_file():
            raise ConfigError(f"{field}: '{path}' does not exist. Point it at a save_to_disk folder or a "
                              f"{', '.join(sorted(FORMATS))} file; {{subset}} and {{split}} in the path "
                              f"are replaced by the subset (e.g. the language) and the split.")
        builder = file_format(path)
        if builder is None:
            raise ConfigError(f"{field}: '{path}' is not a known format ({', '.join(sorted(FORMATS))}) nor a "
                              f"save_to_disk folder.")
        kwargs = {"delimiter": "\t"} if ".tsv" in path.name.lower() else {}
        return datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)

    if not in_datasets_cache(source) and not hub_reachable():
        raise ConfigError(
            f"{field}: '{source}' is a Hugging Face Hub dataset, but the Hub is not reachable from this machine and "
            f"the dataset is not in the local datasets cache. Save it where you have network access "
            f"(datasets.load_dataset('{source}', ...).save_to_disk(folder), or its parquet/CSV files) and set "
            f"{field}=<folder or file>, with {{subset}} and {{split}} in the path where they differ. Or score what "
            f"is here: eval=offline (teacher-referenced STS on held-out pairs) or eval=[offline,local_sts] with "
            f"your own scored pairs.")
    try:
        return datasets.load_dataset(source, subset, split=split)
    except (ConnectionError, FileNotFoundError, ValueError) as err:
        raise ConfigError(f"{field}: could not load '{source}' (subset {subset}, split {split}): "
                          f"{str(err)[:300]}. Check the id, subset and split, or use a local copy.") from err
