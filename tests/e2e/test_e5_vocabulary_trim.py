"""Vocabulary trimming on the real bundled e5-small student and the default run's real text (seed5 gettext
corpus, all splits, plus the default UDHR evaluation languages): same pieces, same embeddings, a much smaller
matrix, and a saved folder that loads with plain ``SentenceTransformer(path)``. Loads e5-small twice and tokenizes
the whole run (~1-2 min): end-to-end tier; the trimming rules are tests/unit/models/test_vocabulary.py."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from polyglot_distill.data.corpus import build_corpus
from polyglot_distill.evaluation import zero_shot
from polyglot_distill.models import loading, vocabulary

pytestmark = pytest.mark.slow


def _compose(root, *overrides):
    from hydra import compose, initialize_config_dir

    from polyglot_distill.config.schema import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(root / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.fixture(scope="module")
def run_text(request) -> tuple[list[str], list[str]]:
    """(every sentence of the default run, a sample of 3 pairs per split x language and UDHR language)."""
    cfg = _compose(request.config.rootpath)
    corpus = build_corpus(cfg.data, cfg.languages, cfg.cache_dir)
    udhr = zero_shot.select(cfg.eval, os.environ["POLYGLOT_DISTILL_CACHE"], list(cfg.languages.targets))
    text = vocabulary.run_text(corpus.splits, udhr)
    rng = random.Random(0)
    groups = [ps for by in corpus.splits.values() for ps in by.values()] + list(udhr.values())
    sample = sorted({s for ps in groups for pair in rng.sample(ps, min(3, len(ps))) for s in pair})
    return text, sample


def test_trimmed_student_embeds_the_run_text_identically_and_reloads(run_text, request, tmp_path):
    text, sample = run_text
    cache = os.environ["POLYGLOT_DISTILL_CACHE"]
    root = request.config.rootpath
    full = loading.load_student(_compose(root, "student.trim_vocab=false").student, cache, "cpu")
    full_ids = full.tokenizer(text, add_special_tokens=True)["input_ids"]
    reference = full.encode(sample, batch_size=64, convert_to_numpy=True)
    keep = vocabulary.kept_ids(full.tokenizer, text)
    rows_before = full[0].auto_model.get_input_embeddings().weight.shape[0]
    del full

    trimmed_cfg = _compose(root, "student.trim_vocab=true", "student.freeze_word_embeddings=true").student
    trimmed = loading.load_student(trimmed_cfg, cache, "cpu", vocab_sentences=text)
    emb = trimmed[0].auto_model.get_input_embeddings().weight
    assert rows_before == 250_037 and emb.shape[0] == len(keep) < 60_000, emb.shape
    assert not emb.requires_grad  # freezing applies to the trimmed matrix
    # every sentence of the run gets the same pieces, renumbered
    new_of_old = {old: new for new, old in enumerate(keep)}
    trimmed_ids = trimmed.tokenizer(text, add_special_tokens=True)["input_ids"]
    mismatched = [s for s, a, b in zip(text, full_ids, trimmed_ids) if [new_of_old.get(i, -1) for i in a] != b]
    assert not mismatched, mismatched[:5]
    assert np.abs(trimmed.encode(sample, batch_size=64, convert_to_numpy=True) - reference).max() < 1e-5

    trimmed.save(str(tmp_path / "model"))
    reloaded = SentenceTransformer(str(tmp_path / "model"), device="cpu")
    assert len(reloaded.tokenizer) == len(keep)
    assert reloaded.tokenizer(text[:500])["input_ids"] == trimmed_ids[:500]
    assert np.abs(reloaded.encode(sample, batch_size=64, convert_to_numpy=True) - reference).max() < 1e-5
    # text outside the run still tokenizes (into shorter pieces), without <unk> for known characters
    ids = reloaded.tokenizer("Quantenchromodynamik überrascht Physiker")["input_ids"]
    assert 3 not in ids and len(ids) > 4
    assert torch.isfinite(torch.as_tensor(reloaded.encode(["Quantenchromodynamik"]))).all()


# --- restoring the full vocabulary for saving --------------------------------------------------------------------

# One sentence per script, none of them in the few-language text the student below is trimmed to.
SCRIPTS = {
    "Icelandic": "Þjóðin óskaði eftir sjálfstæði og fékk það árið 1944.",
    "Cyrillic": "Всеобщая декларация прав человека была принята в Париже.",
    "Arabic": "يولد جميع الناس أحراراً متساوين في الكرامة والحقوق.",
    "Hindi": "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता प्राप्त है।",
    "Han": "人人生而自由，在尊严和权利上一律平等。",
    "Japanese": "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。",
    "Hangul": "모든 인간은 태어날 때부터 자유로우며 그 존엄과 권리에 있어 동등하다.",
    "Thai": "มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในเกียรติศักดิ์และสิทธิ",
    "Khmer": "មនុស្សទាំងអស់កើតមកមានសេរីភាព និងភាពស្មើៗគ្នាក្នុងសិទ្ធិ និងសេចក្ដីថ្លៃថ្នូរ។",
    "Georgian": "ყველა ადამიანი იბადება თავისუფალი და თანასწორი თავისი ღირსებითა და უფლებებით.",
    "Greek": "Όλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι στην αξιοπρέπεια και τα δικαιώματα.",
    "Hebrew": "כל בני אדם נולדו בני חורין ושווים בערכם ובזכויותיהם.",
    "Armenian": "Բոլոր մարդիկ ծնվում են ազատ ու հավասար իրենց արժանապատվությամբ և իրավունքներով։",
}
FEW_LANGUAGES = ["The committee met on Tuesday to discuss the budget.", "Der Ausschuss tagte am Dienstag.",
                 "Le comité s'est réuni mardi pour discuter du budget.", "El comité se reunió el martes."]
NFD_TEXTS = ["Tiếng Việt là ngôn ngữ chính thức của Việt Nam, người dân rất thích phở.",
             "भारत एक विशाल देश है। \u0929 क़िला"]


def _e5(root, trim: bool, freeze: bool):
    cfg = _compose(root, f"student.trim_vocab={str(trim).lower()}",
                   f"student.freeze_word_embeddings={str(freeze).lower()}").student
    return loading.load_student(cfg, os.environ["POLYGLOT_DISTILL_CACHE"], "cpu",
                               vocab_sentences=FEW_LANGUAGES + NFD_TEXTS if trim else None)


def _assert_nfd_like_nfc(model):
    import unicodedata

    for text in NFD_TEXTS:
        nfd, nfc = unicodedata.normalize("NFD", text), unicodedata.normalize("NFC", text)
        ids = model.tokenizer([nfd, nfc])["input_ids"]
        assert ids[0] == ids[1] and 3 not in ids[0], ids
        vectors = model.encode([nfd, nfc], normalize_embeddings=True, convert_to_numpy=True)
        assert float(vectors[0] @ vectors[1]) >= 0.999


@pytest.mark.parametrize("freeze", [True, False], ids=["frozen", "trained"])
def test_saved_student_has_the_full_vocabulary_and_the_trained_rows(request, tmp_path, freeze):
    root = request.config.rootpath
    full = _e5(root, trim=False, freeze=True)
    full_ids = full.tokenizer(list(SCRIPTS.values()))["input_ids"]
    full_weight = full[0].auto_model.get_input_embeddings().weight.detach().clone()
    normalizer = full.tokenizer.backend_tokenizer.normalizer.__getstate__()
    assert b'"NFC"' in normalizer and b'"Precompiled"' in normalizer
    del full

    student = _e5(root, trim=True, freeze=freeze)
    trimmed = student[0].auto_model.get_input_embeddings().weight
    assert trimmed.shape[0] < 40_000 and trimmed.requires_grad == (not freeze)
    assert student.tokenizer.backend_tokenizer.normalizer.__getstate__() == normalizer
    _assert_nfd_like_nfc(student)  # the trimmed tokenizer keeps the NFC + charsmap normaliser
    kept = getattr(student[0], vocabulary.TRIM_RECORD).kept
    if not freeze:  # stand-in for training: change some trimmed rows
        with torch.no_grad():
            trimmed[100:110] += 0.5
    trained_rows = trimmed[100:110].detach().clone()

    assert vocabulary.untrim_student(student) == {"rows_before": len(kept), "rows_after": 250_037}
    assert vocabulary.untrim_student(student) is None  # once only
    student.save(str(tmp_path / "model"))
    reloaded = SentenceTransformer(str(tmp_path / "model"), device="cpu")
    assert len(reloaded.tokenizer) == 250_002
    assert reloaded.tokenizer(list(SCRIPTS.values()))["input_ids"] == full_ids
    weight = reloaded[0].auto_model.get_input_embeddings().weight
    assert weight.shape == full_weight.shape
    changed = (weight != full_weight).any(dim=1).nonzero().flatten()
    assert changed.tolist() == ([] if freeze else sorted(kept[100:110].tolist()))
    assert torch.equal(weight[kept[100:110]], trained_rows)
    _assert_nfd_like_nfc(reloaded)
