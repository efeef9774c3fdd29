"""STS benchmark tables the tests build from tests/assets/sts_sample.tsv, laid out as the Hub's datasets would be."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from helpers.paths import ASSETS

SAMPLE = ASSETS / "sts_sample.tsv"
SPLITS = ("train", "dev", "test")


def sample_rows() -> list[dict]:
    with SAMPLE.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def stsb_table(lang: str):
    """One stsb_multi_mt config's split: sentence1, sentence2 (string), similarity_score (float32, 0-5)."""
    import datasets

    rows = sample_rows()
    features = datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                                  "similarity_score": datasets.Value("float32")})
    return datasets.Dataset.from_dict({"sentence1": [r[f"{lang}1"] for r in rows],
                                       "sentence2": [r[f"{lang}2"] for r in rows],
                                       "similarity_score": [float(r["score"]) for r in rows]}, features=features)


def put_in_datasets_cache(cache: Path, dataset_id: str, config: str, splits: dict, tmp: Path) -> Path:
    """Lay ``splits`` out in ``cache`` as ``datasets`` does after ``load_dataset(dataset_id, config)`` online."""
    import datasets

    work = tmp / f"build-{config}"
    files = {}
    for split, table in splits.items():
        files[split] = str(work / f"{split}.parquet")
        work.mkdir(parents=True, exist_ok=True)
        table.to_parquet(files[split])
    builder = datasets.load_dataset_builder("parquet", data_files=files, cache_dir=str(work / "cache"))
    builder.download_and_prepare()
    built = Path(builder.cache_dir)
    name = dataset_id.split("/")[-1]
    target = cache / "___".join(dataset_id.split("/")) / config / built.parent.name / built.name
    shutil.copytree(built, target)
    for arrow in target.glob("parquet-*.arrow"):
        arrow.rename(target / arrow.name.replace("parquet-", f"{name}-"))
    info = json.loads((target / "dataset_info.json").read_text())
    info.update(dataset_name=name, config_name=config)
    (target / "dataset_info.json").write_text(json.dumps(info))
    return target


def sts17_table(a: str, b: str):
    import datasets

    rows = sample_rows()
    return datasets.Dataset.from_dict({"sentence1": [r[f"{a}1"] for r in rows], "sentence2": [r[f"{b}2"] for r in rows],
                                       "score": [float(r["score"]) for r in rows]})


def sts_hub_cache(tmp_path: Path) -> Path:
    """A datasets cache holding stsb_multi_mt (en, de, fr) and mteb/sts17-crosslingual-sts (en-de, en-en, fr-en)."""
    cache = tmp_path / "hf-datasets"
    for lang in ("en", "de", "fr"):
        put_in_datasets_cache(cache, "PhilipMay/stsb_multi_mt", lang, {s: stsb_table(lang) for s in SPLITS}, tmp_path)
    for subset, (a, b) in {"en-de": ("en", "de"), "en-en": ("en", "en"), "fr-en": ("fr", "en")}.items():
        put_in_datasets_cache(cache, "mteb/sts17-crosslingual-sts", subset, {"test": sts17_table(a, b)}, tmp_path)
    return cache
