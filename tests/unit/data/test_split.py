"""Deterministic, language-independent train/dev/test assignment."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter

from polyglot_distill.data.split import normalize_english, split_of, split_position

SENTENCES = [f"sentence number {i} about topic {i % 17}" for i in range(5000)]


def test_fractions_are_respected():
    counts = Counter(split_of(s, "salt", 0.1, 0.2) for s in SENTENCES)
    assert set(counts) == {"train", "dev", "test"}
    assert abs(counts["test"] / len(SENTENCES) - 0.2) < 0.03
    assert abs(counts["dev"] / len(SENTENCES) - 0.1) < 0.03


def test_zero_dev_fraction_gives_no_dev():
    assert "dev" not in {split_of(s, "salt", 0.0, 0.1) for s in SENTENCES}


def test_same_english_same_split_regardless_of_case_punctuation_spacing():
    variants = ["Open the file", "open the file...", "  Open   the FILE!", "Open the file."]
    assert len({normalize_english(v) for v in variants}) == 1
    for salt in ("a", "b", "c", "polyglot-distill-v1"):
        assert len({split_of(v, salt, 0.1, 0.1) for v in variants}) == 1


def test_salt_changes_the_assignment():
    first = [split_of(s, "one", 0.1, 0.1) for s in SENTENCES]
    second = [split_of(s, "two", 0.1, 0.1) for s in SENTENCES]
    assert first != second


def test_stable_across_processes():
    """Not Python's randomized hash(): a fresh interpreter (another PYTHONHASHSEED) agrees."""
    code = ("from polyglot_distill.data.split import split_position;"
            "print(repr(split_position('Open the file', 'salt')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout.strip()
    assert float(out) == split_position("Open the file", "salt")
    assert 0.0 <= split_position("Open the file", "salt") < 1.0
