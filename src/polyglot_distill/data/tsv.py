"""Parallel pairs from a ``source<TAB>translation`` file (``.tsv``, or gzip-compressed ``.tsv.gz``).

Format: UTF-8 text (a leading byte-order mark is ignored), one pair per line, exactly two tab-separated
columns: the English sentence, then its translation (the layout of the seed's ``ted-train-en-<lang>.tsv.gz``).

* Blank lines are ignored.
* A *bad line* -- no tab, an empty side, or more than two columns -- is skipped and counted. More than two
  columns is bad rather than truncated because a third column means the file has another layout (ids,
  scores, several languages) and taking the first two would silently pair the wrong texts. When the share
  of bad lines among the non-blank lines exceeds ``data.max_bad_line_fraction`` the whole file is rejected
  with a :class:`ConfigError` that names the file, the count, the first bad line's number and content.
* A missing file, a file that is not UTF-8 text (invalid UTF-8, NUL bytes), a ``.gz`` that is not gzip, an
  uncompressed file that is gzip data, or a file without a single non-blank line is a :class:`ConfigError`
  naming the file (and the line where there is one).
"""
from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator
from pathlib import Path

from polyglot_distill.errors import ConfigError

_GZIP_MAGIC = b"\x1f\x8b"
_SHOW = 80  # characters of a bad line quoted in an error


def _show(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return repr(text if len(text) <= _SHOW else text[:_SHOW] + "...")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _raw_lines(path: Path) -> Iterator[bytes]:
    """The file's lines as bytes, decompressed when the name ends in ``.gz``."""
    if path.name.endswith(".gz"):
        try:
            with gzip.open(path, "rb") as handle:
                yield from handle
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ConfigError(
                f"{path}: not a readable gzip file ({exc}). A name ending in .gz must hold gzip-compressed "
                "TSV; compress it with gzip or drop the .gz suffix."
            ) from None
        return
    with path.open("rb") as handle:
        if handle.read(2) == _GZIP_MAGIC:
            raise ConfigError(
                f"{path}: the file is gzip-compressed but its name does not end in .gz. Rename it to "
                f"{path.name}.gz."
            )
        handle.seek(0)
        yield from handle


def read_tsv_pairs(path: str | Path, max_bad_line_fraction: float) -> tuple[list[tuple[str, str]], dict]:
    """``(english, translation)`` pairs of one TSV file, and its stats.

    The stats are ``{"file", "sha256", "pairs", "lines", "bad_lines", "first_bad_line"}`` (``lines`` counts
    the non-blank lines; ``first_bad_line`` is a 1-based line number or None).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"data.tsv_pattern: file {str(path)!r} does not exist"
            + (" (it is a directory)" if path.is_dir() else "")
            + ". Point data.tsv_pattern at one 'english<TAB>translation' .tsv or .tsv.gz file per language, "
            "with {lang} standing for the target language code, e.g. data/ted-train-en-{lang}.tsv.gz."
        )
    pairs: list[tuple[str, str]] = []
    lines = bad = 0
    first_bad: tuple[int, str, str] | None = None
    for number, raw in enumerate(_raw_lines(path), start=1):
        raw = raw.rstrip(b"\r\n")
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if b"\x00" in raw:
            raise ConfigError(
                f"{path}: line {number} contains NUL bytes; this is binary data, not a UTF-8 TSV file. "
                "Use a text file with one 'english<TAB>translation' pair per line."
            )
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path}: line {number} is not valid UTF-8 (byte {exc.start + 1}: {_show(raw)}). "
                "Re-encode the file as UTF-8, e.g. iconv -f LATIN1 -t UTF-8."
            ) from None
        if not line.strip():
            continue
        lines += 1
        columns = line.split("\t")
        if len(columns) == 1:
            reason = "no tab"
        elif len(columns) > 2:
            reason = f"{len(columns)} columns"
        elif not columns[0].strip() or not columns[1].strip():
            reason = "empty side"
        else:
            pairs.append((columns[0].strip(), columns[1].strip()))
            continue
        bad += 1
        if first_bad is None:
            first_bad = (number, line, reason)
    if lines == 0:
        raise ConfigError(
            f"{path}: the file has no lines. Fill it with one 'english<TAB>translation' pair per line, or "
            "remove its language from languages.targets."
        )
    if first_bad is not None and bad / lines > max_bad_line_fraction:
        number, line, reason = first_bad
        raise ConfigError(
            f"{path}: {bad} of {lines} lines are malformed ({bad / lines:.1%}, more than "
            f"data.max_bad_line_fraction={max_bad_line_fraction}); the first is line {number} ({reason}): "
            f"{_show(line)}. Each line must be 'english<TAB>translation' with both sides non-empty and no "
            "other tab; fix the file or raise data.max_bad_line_fraction."
        )
    stats = {
        "file": str(path),
        "sha256": _sha256(path),
        "pairs": len(pairs),
        "lines": lines,
        "bad_lines": bad,
        "first_bad_line": first_bad[0] if first_bad else None,
    }
    return pairs, stats
