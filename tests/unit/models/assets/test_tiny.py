"""Tests for ``polyglot_distill.models.assets.tiny`` (tiny random-init multilingual student)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from polyglot_distill.models.assets.tiny import build_tiny_student

_BASE = {
    "en": ["The weather is nice today", "I would like a cup of coffee", "Where is the train station",
           "This book is very interesting", "We are going to the market"],
    "de": ["Das Wetter ist heute schön", "Ich möchte eine Tasse Kaffee", "Wo ist der Bahnhof",
           "Dieses Buch ist sehr interessant", "Wir gehen zum Markt"],
    "fr": ["Il fait beau aujourd'hui", "Je voudrais une tasse de café", "Où est la gare",
           "Ce livre est très intéressant", "Nous allons au marché"],
    "ru": ["Сегодня хорошая погода", "Я хотел бы чашку кофе", "Где находится вокзал",
           "Эта книга очень интересная", "Мы идём на рынок"],
    "ar": ["الطقس جميل اليوم", "أريد فنجان قهوة", "أين محطة القطار", "هذا الكتاب مثير جدا", "نحن ذاهبون إلى السوق"],
    "zh": ["今天天气很好", "我想要一杯咖啡", "火车站在哪里", "这本书很有意思", "我们去市场"],
    "ja": ["今日はいい天気です", "コーヒーを一杯ください", "駅はどこですか", "この本はとても面白い", "私たちは市場に行きます"],
    "el": ["Ο καιρός είναι ωραίος σήμερα", "Θα ήθελα ένα φλιτζάνι καφέ", "Πού είναι ο σταθμός",
           "Αυτό το βιβλίο είναι πολύ ενδιαφέρον", "Πηγαίνουμε στην αγορά"],
}
# 8 languages x 25 ordered pairs = 200 sentences
SENTENCES = [f"{a}. {b}." for texts in _BASE.values() for a in texts for b in texts]


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory) -> Path:
    return build_tiny_student(SENTENCES, tmp_path_factory.mktemp("tiny") / "student")


@pytest.fixture(scope="module")
def student(student_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(student_dir), device="cpu")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in {".safetensors", ".json"}}


def test_loads_and_embeds(student):
    assert len(SENTENCES) == 200
    assert [type(m).__name__ for m in student] == ["Transformer", "Pooling"]
    embeddings = student.encode(["Сегодня хорошая погода.", "الطقس جميل اليوم."], convert_to_numpy=True)
    assert embeddings.shape == (2, 128)
    assert np.isfinite(embeddings).all()
    assert not np.allclose(embeddings[0], embeddings[1])
    assert student.max_seq_length == 128


def test_architecture_and_special_ids(student_dir, student):
    config = json.loads((student_dir / "config.json").read_text())
    assert config["model_type"] == "xlm-roberta"
    assert (config["num_hidden_layers"], config["hidden_size"]) == (2, 128)
    assert (config["num_attention_heads"], config["intermediate_size"]) == (4, 512)
    assert config["max_position_embeddings"] == 130
    tokenizer = student.tokenizer
    assert type(tokenizer).__name__ == "XLMRobertaTokenizer"  # XLMRobertaTokenizerFast in transformers 5
    specials = [tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id]
    assert specials == [0, 1, 2, 3]
    assert tokenizer.mask_token_id == len(tokenizer) - 1 == config["vocab_size"] - 1
    assert len(tokenizer) <= 8000
    ids = tokenizer("Wo ist der Bahnhof")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2
    pair = tokenizer("a", "b")["input_ids"]
    assert pair[0] == 0 and pair.count(2) == 3  # <s> A </s></s> B </s>


def test_deterministic(tmp_path, student_dir):
    state = torch.random.get_rng_state()
    again = build_tiny_student(SENTENCES, tmp_path / "again")
    assert torch.equal(state, torch.random.get_rng_state())  # caller's RNG untouched
    assert _files(again) == _files(student_dir)  # identical tokenizer and weights, byte for byte
    other_seed = build_tiny_student(SENTENCES, tmp_path / "seed1", seed=1)
    assert (other_seed / "tokenizer.json").read_bytes() == (student_dir / "tokenizer.json").read_bytes()
    assert (other_seed / "model.safetensors").read_bytes() != (student_dir / "model.safetensors").read_bytes()


def test_multilingual_coverage_and_nfkc(student):
    tokenizer = student.tokenizer
    unseen_mixes = ["Эта книга на рынок", "أين الكتاب جميل", "Ο σταθμός είναι ωραίος"]  # new word orders
    for text in unseen_mixes:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert ids.count(tokenizer.unk_token_id) == 0, text
        assert len(ids) <= len(text) // 2, text  # multi-character pieces were learnt
    assert tokenizer.unk_token_id not in tokenizer("这本书在哪里", add_special_tokens=False)["input_ids"]
    assert tokenizer("ไม่เคยเห็น")["input_ids"].count(tokenizer.unk_token_id) >= 1  # unseen script: <unk>
    assert tokenizer("Ｍａｒｋｔ")["input_ids"] == tokenizer("Markt")["input_ids"]  # NFKC


def test_rebuild_replaces_atomically(tmp_path):
    out = tmp_path / "student"
    build_tiny_student(SENTENCES[:50], out, hidden_size=64, num_layers=1)
    (out / "stale.txt").write_text("left over")
    build_tiny_student(SENTENCES[:50], out, hidden_size=64, num_layers=1)
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student"]  # no temp folders left


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match="multiple of 32"):
        build_tiny_student(SENTENCES, tmp_path / "x", hidden_size=100)
    with pytest.raises(ValueError, match="no room"):
        build_tiny_student(SENTENCES, tmp_path / "x", vocab_size=5)
    assert not (tmp_path / "x").exists()


def test_small_vocab_keeps_most_frequent_characters(tmp_path, caplog):
    from transformers import AutoTokenizer

    out = build_tiny_student(SENTENCES, tmp_path / "small", vocab_size=60, hidden_size=32, num_layers=1)
    assert "map to <unk>" in caplog.text
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert len(tokenizer) == 60
    assert tokenizer.unk_token_id in tokenizer("今日はいい天気です")["input_ids"]
