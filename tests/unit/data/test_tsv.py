"""Reading english<TAB>translation files: good files, bad lines, broken files."""
from __future__ import annotations

import gzip
import hashlib

import pytest

from polyglot_distill.data.tsv import read_tsv_pairs
from polyglot_distill.errors import ConfigError

GOOD = "The cat sleeps on the sofa.\tDie Katze schläft auf dem Sofa.\nI like green tea.\tIch mag grünen Tee.\n"


def test_plain_file(tmp_path):
    path = tmp_path / "en-de.tsv"
    path.write_text(GOOD, encoding="utf-8")
    pairs, stats = read_tsv_pairs(path, 0.0)
    assert pairs == [
        ("The cat sleeps on the sofa.", "Die Katze schläft auf dem Sofa."),
        ("I like green tea.", "Ich mag grünen Tee."),
    ]
    assert stats["pairs"] == 2 and stats["lines"] == 2 and stats["bad_lines"] == 0
    assert stats["first_bad_line"] is None
    assert stats["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_gzip_file_with_bom_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "ted-train-en-de.tsv.gz"
    text = "\ufeff" + GOOD.replace("\n", "\r\n") + "\n\n"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    pairs, stats = read_tsv_pairs(str(path), 0.0)
    assert pairs[0] == ("The cat sleeps on the sofa.", "Die Katze schläft auf dem Sofa.")
    assert len(pairs) == 2 and stats["lines"] == 2


def test_bad_lines_below_the_threshold_are_skipped_and_counted(tmp_path):
    lines = [f"sentence number {i}\tSatz Nummer {i}" for i in range(99)] + ["no tab on this line"]
    path = tmp_path / "x.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs, stats = read_tsv_pairs(path, 0.01)
    assert len(pairs) == 99
    assert stats["bad_lines"] == 1 and stats["first_bad_line"] == 100


@pytest.mark.parametrize(
    "bad_line, reason",
    [("only english here", "no tab"), ("english\t  ", "empty side"), ("\tnur deutsch", "empty side"),
     ("one\ttwo\tthree", "3 columns")],
)
def test_over_the_threshold_names_file_line_content_and_fix(tmp_path, bad_line, reason):
    path = tmp_path / "bad.tsv"
    path.write_text(f"good one\tgut eins\n{bad_line}\ngood two\tgut zwei\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_tsv_pairs(path, 0.01)
    message = str(info.value)
    assert str(path) in message
    assert "1 of 3 lines" in message
    assert f"line 2 ({reason})" in message
    assert repr(bad_line)[:30] in message
    assert "data.max_bad_line_fraction" in message


def test_long_bad_lines_are_truncated_in_the_message(tmp_path):
    path = tmp_path / "long.tsv"
    path.write_text("x" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 1 \(no tab\): 'x{80}\.\.\.'") as info:
        read_tsv_pairs(path, 0.5)
    assert len(str(info.value)) < 600


def test_missing_file_names_the_pattern_field(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.tsv_pattern: file '.*missing-de\.tsv' does not exist"):
        read_tsv_pairs(tmp_path / "missing-de.tsv", 0.01)


def test_gz_that_is_not_gzip(tmp_path):
    path = tmp_path / "fake.tsv.gz"
    path.write_text(GOOD, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"fake\.tsv\.gz: not a readable gzip file"):
        read_tsv_pairs(path, 0.01)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.tsv.gz"
    path.write_bytes(gzip.compress((GOOD * 200).encode())[:-40])
    with pytest.raises(ConfigError, match=r"cut\.tsv\.gz: not a readable gzip file"):
        read_tsv_pairs(path, 0.01)


def test_gzip_data_without_gz_suffix(tmp_path):
    path = tmp_path / "packed.tsv"
    path.write_bytes(gzip.compress(GOOD.encode()))
    with pytest.raises(ConfigError, match=r"packed\.tsv: the file is gzip-compressed .* Rename it to packed\.tsv\.gz"):
        read_tsv_pairs(path, 0.01)


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes(GOOD.encode() + "Grüße aus Köln\tgreetings\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.tsv: line 3 is not valid UTF-8"):
        read_tsv_pairs(path, 0.5)


def test_binary_content(tmp_path):
    path = tmp_path / "blob.tsv"
    path.write_bytes(b"\x00\x01\x02\x03binary\x00\tdata\n")
    with pytest.raises(ConfigError, match=r"blob\.tsv: line 1 contains NUL bytes"):
        read_tsv_pairs(path, 0.5)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"empty\.tsv: the file has no lines"):
        read_tsv_pairs(path, 0.5)
