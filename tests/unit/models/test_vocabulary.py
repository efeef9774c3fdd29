"""Vocabulary trimming's rules without a real model. The real e5-small trimmed on the default run's text is
tests/e2e/test_e5_vocabulary_trim.py (two e5 loads and the whole run's text: too slow for the unit tier)."""
from __future__ import annotations

import pytest

from polyglot_distill.errors import ConfigError
from polyglot_distill.models import vocabulary


def test_trim_refuses_a_non_unigram_tokenizer():
    from tokenizers import Tokenizer
    from tokenizers import models as tok_models
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(tok_models.WordLevel({"[UNK]": 0, "a": 1}, "[UNK]")))
    with pytest.raises(ConfigError, match="student.trim_vocab"):
        vocabulary.kept_ids(tok, ["a"])
