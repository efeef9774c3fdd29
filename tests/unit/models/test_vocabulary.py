"""Vocabulary trimming's rules without a real model. The real e5-small trimmed on the default run's text is
tests/e2e/test_e5_vocabulary_trim.py (two e5 loads and the whole run's text: too slow for the unit tier)."""
from __future__ import annotations

import pytest
import torch
from sentence_transformers import SentenceTransformer

from polyglot_distill.errors import ConfigError
from polyglot_distill.models import loading, vocabulary


def test_trim_refuses_a_non_unigram_tokenizer():
    from tokenizers import Tokenizer
    from tokenizers import models as tok_models
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(tok_models.WordLevel({"[UNK]": 0, "a": 1}, "[UNK]")))
    with pytest.raises(ConfigError, match="student.trim_vocab"):
        vocabulary.kept_ids(tok, ["a"])


# --- restoring the full vocabulary for saving (the real e5-small: tests/e2e/test_e5_vocabulary_trim.py) ---------

def test_untrim_keeps_a_copy_when_no_file_holds_the_matrix(tmp_path, caplog):
    from omegaconf import OmegaConf

    sentences = ["The weather is nice today.", "Das Wetter ist heute schön.", "Il fait beau aujourd'hui."] * 4
    cfg = OmegaConf.create({"name": "tiny", "model": "tiny", "max_seq_length": 32, "pooling": "mean",
                            "freeze_word_embeddings": False, "trust_remote_code": False, "tiny_vocab_size": 300,
                            "tiny_hidden_size": 32, "tiny_layers": 1})
    built = loading.load_student(cfg, tmp_path / "cache", "cpu", sentences, tiny_dir=tmp_path / "tiny")
    original = built[0].auto_model.get_input_embeddings().weight.detach().clone()
    other = ["Quantenchromodynamik überrascht Physiker", "Où est la gare ?"]
    original_ids = built.tokenizer(other)["input_ids"]
    student = SentenceTransformer(str(tmp_path / "tiny"), device="cpu")
    student[0].auto_model.name_or_path = str(tmp_path / "elsewhere")  # no model.safetensors to read back
    vocabulary.trim_student(student, sentences[:1])
    assert "no safetensors file holds the full embedding matrix" in caplog.text
    kept = getattr(student[0], vocabulary.TRIM_RECORD).kept
    with torch.no_grad():
        student[0].auto_model.get_input_embeddings().weight[5] += 1.0
    vocabulary.untrim_student(student)
    weight = student[0].auto_model.get_input_embeddings().weight
    assert (weight != original).any(dim=1).nonzero().flatten().tolist() == [int(kept[5])]
    assert student.tokenizer(other)["input_ids"] == original_ids
