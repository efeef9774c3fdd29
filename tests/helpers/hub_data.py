"""Tiny datasets in the Hugging Face Hub's schemas (ted_multi, parallel-sentences-*), written to local folders: for
tests/unit/data/test_hub.py (build_corpus) and tests/e2e/test_hub_data_training.py (a smoke run on each)."""
from __future__ import annotations

from pathlib import Path

from datasets import Dataset, DatasetDict, Features, TranslationVariableLanguages, Value

SUBJECTS = ["The old teacher", "My younger sister", "A curious child", "The city council", "Our neighbour",
            "The tired doctor", "A young engineer", "The local baker", "My best friend", "The new mayor"]
VERBS = ["planted a tree", "wrote a letter", "built a bridge", "painted the wall", "sold the house",
         "found a cat", "opened a school", "lost the keys", "fixed the roof", "cooked dinner"]
DE = {"The old teacher": "Der alte Lehrer", "My younger sister": "Meine jüngere Schwester",
      "A curious child": "Ein neugieriges Kind", "The city council": "Der Stadtrat", "Our neighbour": "Unser Nachbar",
      "The tired doctor": "Die müde Ärztin", "A young engineer": "Eine junge Ingenieurin",
      "The local baker": "Der Bäcker im Ort", "My best friend": "Mein bester Freund", "The new mayor": "Die neue Bürgermeisterin"}
TED_LANGUAGES = ["ar", "de", "en", "fr", "it", "pt-br"]


def english(k: int) -> str:
    return f"{SUBJECTS[k % 10]} {VERBS[(k // 10) % 10]} in year {1900 + k}."


def ted_rows(n: int = 400) -> list[dict[str, str]]:
    """ted_multi rows as ``{language: text}``: German in every row, French in 3 of 4, Italian in 1 of 3, Brazilian
    Portuguese in 1 of 5; every 50th row lacks English; some texts carry the spaces and line ends the seed strips."""
    rows = []
    for k in range(n):
        row = {"de": f" {DE[SUBJECTS[k % 10]]} tat etwas im Jahr {1900 + k}.\n"}
        if k % 50 != 7:
            row["en"] = english(k) + ("  " if k % 3 else "")
        if k % 4:
            row["fr"] = f"Quelqu'un a fait quelque chose en {1900 + k}."
        if k % 3 == 0:
            row["it"] = f"\tQualcuno ha fatto qualcosa nel {1900 + k}. "
        if k % 5 == 0:
            row["pt-br"] = f"Alguém fez algo no ano {1900 + k}."
        rows.append(row)
    rows.append({"en": "(Applause)", "de": "(Applaus)", "fr": "(Applaudissements)"})
    return rows


def seed_pairs(rows: list[dict[str, str]], lang: str) -> list[tuple[str, str]]:
    """The seed tutorial's pairing, written out independently: English source, both sides stripped."""
    return [(row["en"].strip(), row[lang].strip()) for row in rows if "en" in row and lang in row]


TED_FEATURES = Features({"translations": TranslationVariableLanguages(languages=TED_LANGUAGES),
                         "talk_name": Value("string")})
PARALLEL_FEATURES = Features({"english": Value("string"), "non_english": Value("string")})


def ted_dataset(rows) -> Dataset:
    return Dataset.from_dict({"translations": rows, "talk_name": [f"talk_{k // 20}" for k in range(len(rows))]},
                             features=TED_FEATURES)


def write_ted(folder: Path) -> dict[str, Path]:
    """The same rows as the Hub's parquet export (train in two shards) and as a save_to_disk DatasetDict."""
    rows = ted_rows()
    train, validation = ted_dataset(rows), ted_dataset(ted_rows(20))
    export = folder / "ted_multi_parquet"
    for split, data in (("train", train), ("validation", validation)):
        (export / "plain_text" / split).mkdir(parents=True)
        shards = [data.select(range(0, 250)), data.select(range(250, len(data)))] if split == "train" else [data]
        for i, shard in enumerate(shards):
            shard.to_parquet(str(export / "plain_text" / split / f"{i:04d}.parquet"))
    DatasetDict({"train": train, "validation": validation}).save_to_disk(str(folder / "ted_multi_disk"))
    return {"parquet": export, "disk": folder / "ted_multi_disk"}


def parallel_subset(lang: str, split: str) -> Dataset:
    ks = range(0, 240) if split == "train" else range(240, 260)
    word = {"de": "Satz", "fr": "phrase", "it": "frase"}[lang]
    return Dataset.from_dict({"english": [english(k) for k in ks],
                              "non_english": [f" Das ist {word} {1900 + k}, übersetzt. " for k in ks]},
                             features=PARALLEL_FEATURES)


def write_parallel(folder: Path, langs=("de", "fr")) -> dict[str, Path]:
    """parallel-sentences-* as its Hub repository (README configs, <subset>/<split>-00000-of-00001.parquet) and as
    one save_to_disk DatasetDict per subset."""
    repo = folder / "parallel-sentences-talks"
    readme = ["---", "configs:"]
    for lang in langs:
        subset = f"en-{lang}"
        readme += [f"- config_name: {subset}", "  data_files:"]
        for split in ("train", "dev"):
            data = parallel_subset(lang, split)
            (repo / subset).mkdir(parents=True, exist_ok=True)
            data.to_parquet(str(repo / subset / f"{split}-00000-of-00001.parquet"))
            readme += [f"  - split: {split}", f"    path: {subset}/{split}-*"]
        DatasetDict({s: parallel_subset(lang, s) for s in ("train", "dev")}).save_to_disk(
            str(folder / "talks_disk" / subset))
    (repo / "README.md").write_text("\n".join(readme + ["---", "", "Parallel sentences from TED talks.", ""]))
    return {"repo": repo, "disk": folder / "talks_disk" / "{subset}"}
