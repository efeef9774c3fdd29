"""Tokenizer coverage: the seed's point (an English WordPiece teacher cannot read Chinese; XLM-R can), measured."""
from __future__ import annotations

import logging
import os

import pytest

from polyglot_distill.evaluation import tokenizer_report
from polyglot_distill.tracking.runs import Tracker


@pytest.fixture(scope="module")
def tokenizers():
    cache = os.environ["POLYGLOT_DISTILL_CACHE"]
    return {"teacher": tokenizer_report.load_tokenizer("minilm-l6", cache),
            "student": tokenizer_report.load_tokenizer("e5-small", cache)}


@pytest.fixture(scope="module")
def udhr_text():
    from polyglot_distill.data import udhr

    available = udhr.aligned_languages(os.environ["POLYGLOT_DISTILL_CACHE"])
    return {tag: [xx for _, xx in available[udhr.resolve_tag(tag, available)]] for tag in ("zh", "el", "ka", "ar")}


def test_stats_count_what_the_tokenizer_produces(tokenizers):
    teacher = tokenizers["teacher"]
    sentences = ["你好 world", "a " * 200]
    stats = tokenizer_report.tokenizer_stats(teacher, sentences, max_seq_length=128)
    tokens = [teacher.tokenize(s) for s in sentences]
    n = sum(map(len, tokens))
    assert stats["unk_rate"] == pytest.approx(sum(t == "[UNK]" for ts in tokens for t in ts) / n)
    assert stats["tokens_per_word"] == pytest.approx(n / (2 + 200))
    assert stats["tokens_per_char"] == pytest.approx(n / (len("你好world") + 200))
    assert stats["truncated"] == 0.5  # 200 tokens + [CLS] [SEP] > 128; the first sentence is short
    assert stats["sentences"] == 2


def test_the_seeds_contrast_on_chinese_greek_georgian_arabic(tokenizers, udhr_text):
    rows = tokenizer_report.build_report({"student": (tokenizers["student"], 128),
                                          "teacher": (tokenizers["teacher"], 128)}, udhr_text)
    stat = {(r["language"], r["tokenizer"]): r for r in rows}
    assert stat["zh", "teacher"]["unk_rate"] > 0.3 and stat["zh", "student"]["unk_rate"] < 0.01
    assert stat["ka", "teacher"]["unk_rate"] > 0.1 and stat["ka", "student"]["unk_rate"] < 0.01
    for lang in ("el", "ar"):  # no [UNK]s, but one token per letter: inputs ~2x longer and truncated more often
        assert stat[lang, "teacher"]["tokens_per_char"] > 1.5 * stat[lang, "student"]["tokens_per_char"]
        assert stat[lang, "teacher"]["truncated"] > stat[lang, "student"]["truncated"]
    text = tokenizer_report.format_report(rows)
    assert text.splitlines()[0].split() == tokenizer_report.COLUMNS


def test_write_report_writes_the_report_and_warns_above_the_thresholds(tmp_path, caplog, compose):
    """A WordPiece model as the 'student' of Chinese pairs trips the unknown-token warning."""
    from types import SimpleNamespace

    teacher = SimpleNamespace(tokenizer=tokenizer_report.load_tokenizer("minilm-l6", os.environ[
        "POLYGLOT_DISTILL_CACHE"]), max_seq_length=128)
    pairs = {"zh": [("The declaration of human rights.", "世界人权宣言。"), ("Everyone has rights.", "人人享有权利。")],
             "de": [("Everyone has rights.", "Jeder hat Rechte.")] * 2}
    cfg = compose(["eval.max_unk_rate=0.05"])
    with caplog.at_level(logging.WARNING, logger="polyglot_distill.evaluation.tokenizer_report"):
        rows = tokenizer_report.write_report(teacher, teacher, pairs, cfg, tmp_path, Tracker(enabled=False))
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and "'zh'" in warned[0] and "eval.max_unk_rate=0.05" in warned[0], warned
    assert {(r["language"], r["tokenizer"]) for r in rows} == {(L, t) for L in ("en", "zh", "de")
                                                               for t in ("student", "teacher")}
    lines = (tmp_path / "tokenizer_report.csv").read_text().splitlines()
    assert lines[0] == ",".join(tokenizer_report.COLUMNS) and len(lines) == 1 + 6
    metrics = tokenizer_report.as_metrics(rows)
    assert metrics["tokenizer/student/zh/unk_rate"] > 0.05 and metrics["tokenizer/student/de/unk_rate"] == 0


