"""The persistent teacher-embedding cache on the real bundled teacher (all-MiniLM-L6-v2): hits and misses,
content keys, corrupt and truncated shards, a cache folder that cannot be written, and two processes writing
one cache at the same time."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize

from polyglot_distill.errors import ConfigError
from polyglot_distill.models import loading
from polyglot_distill.training import distill, teacher_cache

TEACHER_CFG = {"model": "bundled:minilm-l6", "normalize": "keep", "max_seq_length": 128, "batch_size": 64,
               "trust_remote_code": False, "cache": True}
SENTENCES = [f"The file number {k} could not be opened." for k in range(24)] + ["Save changes?", "Quit"]


@pytest.fixture(scope="module")
def teacher() -> SentenceTransformer:
    return loading.load_teacher(OmegaConf.create(TEACHER_CFG), ".cache/polyglot-distill", "cpu")


class Encoder:
    """The real teacher's encode, remembering which sentences it was asked for."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __call__(self, sentences):
        self.calls.append(list(sentences))
        return distill.encode(self.model, sentences, 16)


def _cached(root, teacher, sentences):
    enc = Encoder(teacher)
    vectors, stats = teacher_cache.encode_cached(root, teacher, sentences, enc, teacher.get_embedding_dimension())
    return vectors, stats, enc


def _shards(root) -> list[Path]:
    return sorted(Path(root).glob("*/*.npy"))


def test_misses_then_hits_and_only_new_sentences_are_encoded(teacher, tmp_path):
    reference = distill.encode(teacher, SENTENCES, 16)
    vectors, stats, enc = _cached(tmp_path, teacher, SENTENCES)
    assert (stats.hits, stats.misses) == (0, len(SENTENCES))
    np.testing.assert_allclose(vectors, reference, atol=1e-6)
    (shard,) = _shards(tmp_path)
    rows = np.load(shard, allow_pickle=False)  # a plain .npy: no pickle needed
    assert len(rows) == len(SENTENCES) and rows.dtype["vector"].shape == (384,)

    vectors, stats, enc = _cached(tmp_path, teacher, SENTENCES)
    assert (stats.hits, stats.misses) == (len(SENTENCES), 0) and enc.calls == []
    np.testing.assert_array_equal(vectors, reference.astype(np.float32))
    assert stats.saved_s > 0 and stats.metrics()["teacher_cache/hits"] == len(SENTENCES)

    new = ["A sentence no run has seen.", "Another one."]
    vectors, stats, enc = _cached(tmp_path, teacher, SENTENCES[:5] + new)
    assert (stats.hits, stats.misses) == (5, 2) and enc.calls == [new]
    np.testing.assert_allclose(vectors[5:], distill.encode(teacher, new, 16), atol=1e-6)
    assert teacher_cache.verify(tmp_path) == {"teachers": 1, "shards": 2, "rows": len(SENTENCES) + 2, "problems": []}


def test_keys_ending_in_a_nul_byte_are_hits_too(teacher, tmp_path):
    fp, _ = teacher_cache.fingerprint(teacher)
    texts = [f"Row {k}" for k in range(3000)]
    nul = [t for t, key in zip(texts, teacher_cache.text_keys(fp, texts)) if key.endswith(b"\0")][:3]
    assert nul  # ~1 in 256 digests ends in 0x00
    _cached(tmp_path, teacher, nul + ["Save changes?"])
    _, stats, enc = _cached(tmp_path, teacher, nul + ["Save changes?"])
    assert (stats.hits, stats.misses) == (len(nul) + 1, 0) and enc.calls == []


def test_teacher_labels_encode_each_english_sentence_once(teacher, tmp_path):
    english = SENTENCES[:6] * 5  # one English sentence paired with five languages
    labels = distill.TeacherLabels(teacher, english, 16, cache_dir=tmp_path)
    assert labels.cache_stats.misses == 6 and labels.vectors.shape == (6, 384)
    again = distill.TeacherLabels(teacher, english, 16, cache_dir=tmp_path)
    assert again.cache_stats.hits == 6 and again.cache_stats.misses == 0
    np.testing.assert_array_equal(again.vectors, labels.vectors)


@pytest.mark.parametrize("damage", ["flip-a-byte", "truncate"])
def test_a_damaged_shard_is_discarded_with_a_warning_and_recomputed(teacher, tmp_path, caplog, damage):
    reference, _, _ = _cached(tmp_path, teacher, SENTENCES)
    (shard,) = _shards(tmp_path)
    data = bytearray(shard.read_bytes())
    if damage == "flip-a-byte":
        data[-5] ^= 0xFF  # inside the last vector: the shape still parses, only the checksum can tell
    else:
        data = data[: len(data) // 2]
    shard.write_bytes(bytes(data))
    report = teacher_cache.verify(tmp_path)  # verify reports, changes nothing
    assert len(report["problems"]) == 1 and str(shard) in report["problems"][0] and shard.exists()

    with caplog.at_level(logging.WARNING, logger="polyglot_distill.training.teacher_cache"):
        vectors, stats, enc = _cached(tmp_path, teacher, SENTENCES)
    assert any("discarding" in r.message and str(shard) in r.message for r in caplog.records), caplog.text
    assert stats.misses == len(SENTENCES) and enc.calls == [SENTENCES]
    np.testing.assert_array_equal(vectors, reference)
    # the recomputed shard holds the same rows, so it is written under the same name, now whole again
    assert teacher_cache.verify(tmp_path) == {"teachers": 1, "shards": 1, "rows": len(SENTENCES), "problems": []}


def test_the_key_ignores_what_a_tokenizer_call_leaves_behind(teacher):
    """A run encodes its labels (truncation at 128, fixed padding), then the tokenizer report calls the same
    tokenizer untruncated: the evaluation encodes of the same run must still hit the labels' cache."""
    teacher.encode(["Labels first."])
    before, _ = teacher_cache.fingerprint(teacher)
    teacher.tokenizer(["word " * 300], truncation=False, padding="longest")
    assert teacher_cache.fingerprint(teacher)[0] == before


def test_the_key_changes_with_max_seq_length_normalize_and_precision(teacher, tmp_path):
    base, _ = teacher_cache.fingerprint(teacher)
    assert teacher_cache.fingerprint(teacher)[0] == base  # deterministic

    short = SentenceTransformer(modules=list(teacher), device="cpu")
    short.max_seq_length = 16
    assert teacher_cache.fingerprint(short)[0] != base
    stripped = SentenceTransformer(modules=[m for m in teacher if not isinstance(m, Normalize)], device="cpu")
    fp_stripped, description = teacher_cache.fingerprint(stripped)
    assert fp_stripped != base and not any("Normalize" in m["class"] for m in description["modules"])

    _cached(tmp_path, teacher, SENTENCES)
    vectors, stats, _ = _cached(tmp_path, stripped, SENTENCES)  # another teacher: nothing is reused
    assert stats.misses == len(SENTENCES) and np.linalg.norm(vectors, axis=1).std() > 1e-3  # not unit vectors
    assert teacher_cache.verify(tmp_path)["teachers"] == 2

    half = SentenceTransformer(modules=list(teacher), device="cpu").to(dtype=torch.bfloat16)
    assert teacher_cache.fingerprint(half)[0] not in (base, fp_stripped)


def test_a_cache_folder_that_cannot_be_written_names_the_folder(teacher, tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    bad = tmp_path / "blocker" / "cache"
    with pytest.raises(ConfigError, match=r"teacher_cache_dir: '.*blocker/cache' is not a writable directory"):
        teacher_cache.check_writable(bad)
    with pytest.raises(ConfigError, match=r"teacher_cache_dir: cannot write the teacher cache folder '.*blocker/cache"):
        _cached(bad, teacher, SENTENCES[:2])
    teacher_cache.check_writable(tmp_path / "new" / "cache")  # a folder that can be created is fine
    assert not (tmp_path / "new").exists()


