"""Model specs, the bundled teacher's Normalize handling, the tiny student and the projection head."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from polyglot_distill.errors import ConfigError
from polyglot_distill.models import loading

SENTENCES = [
    "The weather is nice today.", "Das Wetter ist heute schön.", "Il fait beau aujourd'hui.",
    "Where is the train station?", "Wo ist der Bahnhof?", "Où est la gare ?",
    "I would like a cup of coffee.", "Ich möchte eine Tasse Kaffee.", "Je voudrais une tasse de café.",
] * 4


# --- model specs ---------------------------------------------------------------------------------------------

def test_check_model_spec_accepts_what_can_load(tmp_path):
    loading.check_model_spec("bundled:minilm-l6", "teacher.model", loading.BUNDLED_TEACHERS)
    loading.check_model_spec("bundled:e5-small", "student.model", loading.BUNDLED_STUDENTS)
    loading.check_model_spec("tiny", "student.model", loading.BUNDLED_STUDENTS, allow_tiny=True)
    (tmp_path / "config.json").write_text("{}")
    loading.check_model_spec(str(tmp_path), "student.model", loading.BUNDLED_STUDENTS)  # a folder with a model


def test_check_model_spec_rejects_what_cannot_load(tmp_path):
    with pytest.raises(ConfigError, match="holds no model"):
        loading.check_model_spec(str(tmp_path), "student.model", loading.BUNDLED_STUDENTS)  # an empty folder
    with pytest.raises(ConfigError, match="'tiny' is a student, not a teacher"):
        loading.check_model_spec("tiny", "teacher.model", loading.BUNDLED_TEACHERS)
    # offline (HF_HUB_OFFLINE=1 in the tests) and not in the Hugging Face cache: fails before loading anything
    with pytest.raises(ConfigError, match="not in the local Hugging Face cache.*bundled:minilm-l6"):
        loading.check_model_spec("sentence-transformers/all-mpnet-base-v2", "teacher.model", loading.BUNDLED_TEACHERS)


@pytest.mark.parametrize(
    ("spec", "field", "bundled", "phrases"),
    [
        ("bundled:nope", "teacher.model", loading.BUNDLED_TEACHERS,
         ["teacher.model", "'bundled:nope'", "is not a bundled model", "bundled:minilm-l6"]),
        ("bundled:minilm-l6", "student.model", loading.BUNDLED_STUDENTS,  # a teacher is not a bundled student
         ["student.model", "'bundled:minilm-l6'", "bundled:e5-small"]),
        ("/nonexistent/model", "student.model", loading.BUNDLED_STUDENTS,
         ["student.model", "'/nonexistent/model'", "does not exist", "bundled:e5-small"]),
        ("./no/such/folder", "teacher.model", loading.BUNDLED_TEACHERS,
         ["teacher.model", "'./no/such/folder'", "does not exist", "bundled:minilm-l6"]),
    ],
    ids=["unknown-bundled", "teacher-as-student", "absolute-missing", "relative-missing"],
)
def test_check_model_spec_errors(spec, field, bundled, phrases):
    with pytest.raises(ConfigError) as err:
        loading.check_model_spec(spec, field, bundled)
    for phrase in phrases:
        assert phrase in str(err.value)


def test_check_model_spec_rejects_a_file_where_a_folder_is_needed(tmp_path):
    a_file = tmp_path / "model.bin"
    a_file.write_bytes(b"")
    with pytest.raises(ConfigError, match="does not exist"):
        loading.check_model_spec(str(a_file), "student.model", loading.BUNDLED_STUDENTS)


# --- the bundled teacher -------------------------------------------------------------------------------------

def _teacher_cfg(normalize: str):
    return OmegaConf.create({"model": "bundled:minilm-l6", "normalize": normalize, "max_seq_length": 96,
                             "batch_size": 8, "trust_remote_code": False})


@pytest.fixture(scope="module")
def teachers(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return {mode: loading.load_teacher(_teacher_cfg(mode), cache, "cpu") for mode in ("keep", "strip")}


def test_teacher_keep_ends_in_normalize_and_gives_unit_vectors(teachers):
    keep = teachers["keep"]
    assert loading.ends_in_normalize(keep)
    assert keep.max_seq_length == 96
    assert not keep.training and not any(p.requires_grad for p in keep.parameters())
    vectors = keep.encode(SENTENCES[:3], convert_to_numpy=True)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_teacher_strip_drops_normalize_and_gives_raw_vectors(teachers):
    keep, strip = teachers["keep"], teachers["strip"]
    assert not loading.ends_in_normalize(strip)
    assert len(strip) == len(keep) - 1
    raw = strip.encode(SENTENCES[:3], convert_to_numpy=True)
    norms = np.linalg.norm(raw, axis=1)
    assert (np.abs(norms - 1.0) > 0.05).all(), norms
    unit = keep.encode(SENTENCES[:3], convert_to_numpy=True)
    np.testing.assert_allclose(raw / norms[:, None], unit, atol=1e-4)  # same direction, other length


# --- the tiny student and the projection head ----------------------------------------------------------------

def _student_cfg(**changes):
    base = {"name": "tiny", "model": "tiny", "max_seq_length": 32, "pooling": "mean", "projection": "auto",
            "projection_init": "lstsq", "projection_fit_sentences": 100, "freeze_word_embeddings": False,
            "trust_remote_code": False, "tiny_vocab_size": 300, "tiny_hidden_size": 32, "tiny_layers": 1}
    return OmegaConf.create({**base, **changes})


@pytest.fixture(scope="module")
def tiny_student(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    return loading.load_student(_student_cfg(), folder / "cache", "cpu", SENTENCES, tiny_dir=folder / "student")


def test_tiny_student_has_its_configured_size(tiny_student):
    assert tiny_student.get_embedding_dimension() == 32
    assert tiny_student.max_seq_length == 32
    assert not any(type(m).__name__ == "Normalize" for m in tiny_student)


def test_student_errors(tmp_path):
    with pytest.raises(ConfigError, match="needs training sentences"):
        loading.load_student(_student_cfg(), tmp_path, "cpu", [], tiny_dir=tmp_path / "s")
    with pytest.raises(ValueError, match="student.trim_vocab is true but no vocab_sentences were given"):
        loading.load_student(_student_cfg(trim_vocab=True), tmp_path, "cpu", SENTENCES, tiny_dir=tmp_path / "s")


def test_add_projection_maps_to_the_teacher_size(tiny_student):
    pooled = tiny_student.encode(SENTENCES[:4], convert_to_tensor=True)
    weight, bias = torch.randn(384, 32), torch.randn(384)
    projected = loading.add_projection(tiny_student, 384, weight, bias)
    assert projected.get_embedding_dimension() == 384
    assert type(projected[-1]).__name__ == "Dense" and len(projected) == len(tiny_student) + 1
    out = projected.encode(SENTENCES[:4], convert_to_tensor=True)
    assert out.shape == (4, 384)
    torch.testing.assert_close(out, pooled @ weight.T + bias, rtol=1e-4, atol=1e-4)  # linear, no activation
    random_init = loading.add_projection(tiny_student, 48)
    assert random_init.encode(SENTENCES[:2], convert_to_numpy=True).shape == (2, 48)


@pytest.mark.parametrize(
    ("projection", "student_dim", "teacher_dim", "expected"),
    [("auto", 128, 384, True), ("auto", 384, 384, False), ("always", 384, 384, True), ("always", 128, 384, True),
     ("never", 384, 384, False)],
)
def test_needs_projection_rules(projection, student_dim, teacher_dim, expected):
    assert loading.needs_projection(_student_cfg(projection=projection), student_dim, teacher_dim) is expected


def test_needs_projection_errors():
    with pytest.raises(ConfigError) as err:
        loading.needs_projection(_student_cfg(projection="never"), 128, 384)
    for phrase in ("student.projection", "'never'", "128", "384", "student.projection=auto"):
        assert phrase in str(err.value)


def test_count_parameters_and_freeze_word_embeddings(tiny_student):
    total, trainable = loading.count_parameters(tiny_student)
    assert total == trainable > 0
    frozen = loading.freeze_word_embeddings(tiny_student)
    try:
        assert loading.count_parameters(tiny_student) == (total, total - frozen)
        assert frozen == 32 * len(tiny_student.tokenizer)
    finally:
        tiny_student[0].auto_model.get_input_embeddings().weight.requires_grad_(True)
