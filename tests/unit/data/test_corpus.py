"""build_corpus end to end: validation, splits, caps, manifest, real system catalogs."""
from __future__ import annotations

import gzip
import json
import struct
import time
from dataclasses import replace
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from polyglot_distill.config.schema import GettextDataConfig, LanguagesConfig, TsvDataConfig
from polyglot_distill.data.corpus import build_corpus, manifest_to_json
from polyglot_distill.data.gettext import find_catalogs
from polyglot_distill.data.split import split_of
from polyglot_distill.errors import ConfigError

NOUNS = ["file", "folder", "window", "printer", "device", "network", "account", "message", "server", "image"]
VERBS = {"open": "öffnen", "close": "schließen", "delete": "löschen", "rename": "umbenennen", "copy": "kopieren"}
DE_NOUNS = {"file": "Datei", "folder": "Ordner", "window": "Fenster", "printer": "Drucker", "device": "Gerät",
            "network": "Netzwerk", "account": "Konto", "message": "Nachricht", "server": "Server", "image": "Bild"}
FR_VERBS = {"open": "ouvrir", "close": "fermer", "delete": "supprimer", "rename": "renommer", "copy": "copier"}


def english(verb, noun, i):
    return f"Cannot {verb} the {noun} number {i}"


def write_mo(path: Path, entries: dict[str, str]) -> None:
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", **entries}
    keys = sorted(entries)
    ids, strs = [k.encode() for k in keys], [entries[k].encode() for k in keys]
    n, data_at = len(keys), 28 + 16 * len(keys)
    tables, blob = [], b""
    for text in ids + strs:
        tables.append(struct.pack("<2I", len(text), data_at + len(blob)))
        blob += text + b"\0"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, data_at) + b"".join(tables) + blob)


@pytest.fixture
def root(tmp_path):
    """A fake locale root: 1000 German and 500 French sentences in two catalogs each, plus junk."""
    de, fr = {}, {}
    for i in range(20):
        for verb, de_verb in VERBS.items():
            for noun in NOUNS:
                de[english(verb, noun, i)] = f"{DE_NOUNS[noun]} Nummer {i} kann nicht {de_verb} werden"
                if i < 10:
                    fr[english(verb, noun, i)] = f"Impossible de {FR_VERBS[verb]} le {noun} numéro {i}"
    keys = sorted(de)
    write_mo(tmp_path / "locale" / "de" / "LC_MESSAGES" / "one.mo", {k: de[k] for k in keys[:500]})
    write_mo(tmp_path / "locale" / "de" / "LC_MESSAGES" / "two.mo",
             {**{k: de[k] for k in keys[500:]}, "Quit": "Beenden", "copied %d of %d files": "%d von %d kopiert"})
    keys = sorted(fr)
    write_mo(tmp_path / "locale" / "fr" / "LC_MESSAGES" / "one.mo", {k: fr[k] for k in keys[:250]})
    write_mo(tmp_path / "locale" / "fr_CA" / "LC_MESSAGES" / "two.mo", {k: fr[k] for k in keys[250:]})
    return tmp_path / "locale"


def data_cfg(root, **overrides):
    if overrides.get("source") == "tsv":  # each source has its own schema
        return OmegaConf.structured(TsvDataConfig(name="tsv", english_prose="none", max_train_pairs=0, max_dev_pairs=0, max_test_pairs=0,
                                                  **overrides))
    base = GettextDataConfig(name="gettext", english_prose="none", gettext_roots=[str(root)], include_django=False,
                             max_train_pairs=0, max_dev_pairs=0, max_test_pairs=0)
    return OmegaConf.structured(replace(base, **overrides))


def langs(*targets):
    return OmegaConf.structured(LanguagesConfig(name="test", targets=list(targets)))


def test_splits_are_disjoint_and_shared_across_languages(root):
    corpus = build_corpus(data_cfg(root), langs("de", "fr"))
    for lang, total in (("de", 1000), ("fr", 500)):
        english_by_split = {name: {en for en, _ in corpus.splits[name][lang]} for name in ("train", "dev", "test")}
        assert sum(map(len, english_by_split.values())) == total
        assert not english_by_split["train"] & english_by_split["test"]
        assert not english_by_split["train"] & english_by_split["dev"]
        assert not english_by_split["dev"] & english_by_split["test"]
    for name in ("train", "dev", "test"):
        fr_english = {en for en, _ in corpus.splits[name]["fr"]}
        assert fr_english <= {en for en, _ in corpus.splits[name]["de"]}
        assert all(split_of(en, "polyglot-distill-v1", 0.1, 0.1) == name for en in fr_english)
    assert ("Cannot open the file number 3", "Datei Nummer 3 kann nicht öffnen werden") in [
        pair for name in corpus.splits for pair in corpus.splits[name]["de"]]


def test_result_is_deterministic(root):
    first = build_corpus(data_cfg(root), langs("de", "fr"))
    second = build_corpus(data_cfg(root), langs("fr", "de"))
    assert first.splits == second.splits


def test_caps_take_a_stable_prefix(root):
    full = build_corpus(data_cfg(root), langs("de"))
    small = build_corpus(data_cfg(root, max_train_pairs=50, max_dev_pairs=5, max_test_pairs=7), langs("de"))
    large = build_corpus(data_cfg(root, max_train_pairs=300, max_dev_pairs=20, max_test_pairs=-1), langs("de"))
    assert [len(small.splits[s]["de"]) for s in ("train", "dev", "test")] == [50, 5, 7]
    assert len(large.splits["train"]["de"]) == 300 and len(large.splits["dev"]["de"]) == 20
    assert large.splits["test"]["de"] == full.splits["test"]["de"]  # cap <= 0: no cap
    for name in ("train", "dev", "test"):
        assert large.splits[name]["de"][: len(small.splits[name]["de"])] == small.splits[name]["de"]
        assert full.splits[name]["de"][: len(large.splits[name]["de"])] == large.splits[name]["de"]


def test_manifest(root):
    corpus = build_corpus(data_cfg(root, max_train_pairs=100), langs("de", "fr"))
    manifest = json.loads(manifest_to_json(corpus))
    de = manifest["languages"]["de"]
    assert de["files"] == 2 and de["raw"] == 1002 and de["cleaned"] == 1000
    assert de["drops"] == {"placeholder": 1, "too_few_words": 1}
    assert sum(de["split_sizes"].values()) == 1000 and de["splits"]["train"] == 100
    assert manifest["languages"]["fr"]["files"] == 2  # fr and fr_CA
    assert {Path(entry["file"]).name for entry in manifest["sources"]["de"]} == {"one.mo", "two.mo"}
    assert all(len(entry["sha256"]) == 64 for entry in manifest["sources"]["de"])
    assert manifest["config"]["data"]["max_train_pairs"] == 100
    assert manifest["config"]["data"]["gettext_roots"] == [str(root)]
    assert manifest["config"]["languages"] == {"source": "en", "targets": ["de", "fr"]}
    assert manifest["totals"]["train"] == 200
    assert corpus.languages == ["de", "fr"]


def test_plain_dataclasses_work_too(root):
    cfg = replace(GettextDataConfig(name="g", english_prose="none", gettext_roots=[str(root)], include_django=False))
    corpus = build_corpus(cfg, LanguagesConfig(name="x", targets=["fr"]))
    assert corpus.manifest["languages"]["fr"]["splits"]["test"] > 0


def test_tsv_source(tmp_path):
    lines = [f"{english(v, n, i)}\t{DE_NOUNS[n]} {i} {VERBS[v]}" for i in range(10) for v in VERBS for n in NOUNS]
    (tmp_path / "ted-train-en-de.tsv.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    cfg = OmegaConf.structured(TsvDataConfig(name="tsv", english_prose="none",
                                             tsv_pattern=str(tmp_path / "ted-train-en-{lang}.tsv.gz")))
    corpus = build_corpus(cfg, langs("de"))
    assert corpus.manifest["languages"]["de"]["cleaned"] == 500
    assert corpus.manifest["sources"]["de"][0]["lines"] == 500
    with pytest.raises(ConfigError, match=r"data\.tsv_pattern: file '.*ted-train-en-fr\.tsv\.gz' does not exist"):
        build_corpus(cfg, langs("de", "fr"))


@pytest.mark.parametrize(
    "targets, pattern",
    [
        (["xx"], r"languages\.targets: 'xx' is not an ISO 639-1 language code\. Use a two-letter code"),
        (["german"], r"'german' is not an ISO 639-1 .* Did you mean 'de' \(German\)\?"),
        (["de_DE"], r"'de_DE' is not an ISO 639-1 .* Did you mean 'de'"),
        (["deu"], r"Did you mean 'de'"),
        ([], r"languages\.targets: .* not a non-empty list"),
        (["de", "de"], r"languages\.targets: \['de'\] listed more than once"),
        (["en"], r"languages\.targets: 'en' is also languages\.source"),
    ],
)
def test_language_errors_come_before_any_reading(tmp_path, targets, pattern):
    cfg = data_cfg(tmp_path / "does-not-exist")  # reading would fail with a different error
    with pytest.raises(ConfigError, match=pattern):
        build_corpus(cfg, langs(*targets))


@pytest.mark.parametrize(
    "overrides, pattern",
    [
        ({"source": "tsv"}, r"data\.tsv_pattern: empty"),
        ({"source": "tsv", "tsv_pattern": "x.tsv"}, r"data\.tsv_pattern: 'x\.tsv' has no \{lang\}"),
        ({"gettext_roots": ["/no/such/root"]}, r"data\.gettext_roots: '/no/such/root' is not a directory"),
    ],
)
def test_data_config_errors(root, overrides, pattern):
    with pytest.raises(ConfigError, match=pattern):
        build_corpus(data_cfg(root, **overrides), langs("de", "fr"))


def test_missing_tsv_pattern_is_a_config_error():
    cfg = OmegaConf.structured(TsvDataConfig(name="tsv", english_prose="none"))
    cfg.tsv_pattern = "???"
    with pytest.raises(ConfigError, match=r"data\.tsv_pattern: not set"):
        build_corpus(cfg, langs("de"))


def test_gettext_source_needs_english_source(root):
    with pytest.raises(ConfigError, match=r"languages\.source: 'de' cannot be read from data.source=gettext"):
        build_corpus(data_cfg(root), OmegaConf.structured(LanguagesConfig(name="x", source="de", targets=["fr"])))


def test_language_without_catalogs(root):
    with pytest.raises(ConfigError, match=(
            r"languages\.targets: no gettext pairs for 'it' after cleaning \(found 0 catalog files under "
            r".*, 0 raw pairs\)\. Remove it from languages\.targets or use data=tsv")):
        build_corpus(data_cfg(root), langs("de", "it"))


def test_language_with_too_few_pairs_for_a_test_split(tmp_path):
    write_mo(tmp_path / "ga" / "LC_MESSAGES" / "a.mo", {"Cannot open the file": "Ní féidir an comhad a oscailt"})
    with pytest.raises(ConfigError, match=r"'ga' has only 1 pairs after cleaning .* (train|test) split empty"):
        build_corpus(data_cfg(tmp_path), langs("ga"))


SYSTEM = Path("/usr/share/locale")


@pytest.mark.skipif(not (SYSTEM / "de" / "LC_MESSAGES").is_dir(), reason="no German system catalogs")
def test_real_system_catalogs_german():
    cfg = OmegaConf.structured(GettextDataConfig(name="gettext", english_prose="none"))
    started = time.perf_counter()
    corpus = build_corpus(cfg, langs("de"))
    assert time.perf_counter() - started < 20
    stats = corpus.manifest["languages"]["de"]
    assert stats["cleaned"] > 1000
    assert [stats["splits"][s] for s in ("train", "dev", "test")] == [3000, 200, 300]  # the default caps


@pytest.mark.skipif(not SYSTEM.is_dir(), reason="no system catalogs")
def test_real_language_without_catalogs():
    assert find_catalogs("ii", [str(SYSTEM)], include_django=True) == []
    cfg = OmegaConf.structured(GettextDataConfig(name="gettext", english_prose="none"))
    with pytest.raises(ConfigError, match=r"no gettext pairs for 'ii' after cleaning \(found 0 catalog files "
                                          r"under /usr/share/locale"):
        build_corpus(cfg, langs("ii", "de"))
