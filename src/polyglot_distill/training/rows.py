"""The rows the student trains on, built from (English, translation) pairs and English prose.

A row is ``(label_text, first, second)``: the student embeds ``first`` and ``second`` and both are pulled to the
teacher's vector of ``label_text`` (``training/loss.py``). Where ``first == second`` the row runs one forward.

``distill.english_once=false``: Reimers & Gurevych's rows, ``(en, en, xx)`` for each pair and ``(s, s, s)`` for
English prose. A multi-parallel corpus repeats its English across languages (the default corpus: 13,573 pairs
over 4,444 distinct English strings, 1,341 of them in four languages and 834 in all five), so each English
sentence is embedded once per translation: ~3 times an epoch.

``distill.english_once=true``: every distinct English sentence once, ``(en, en, en)``, and every translation
alone, ``(en, xx, xx)``. The MSE is a sum of per-sentence terms, so the translations' terms are the same as
before; the English terms lose their repetition (a string's weight no longer grows with how many catalogs
translated it), and the forwards per epoch fall from 2 x pairs + prose to distinct English + pairs + prose.
"""
from __future__ import annotations

from collections.abc import Sequence

Row = tuple[str, str, str]


def training_rows(pairs: Sequence[tuple[str, str]], english_once: bool) -> list[Row]:
    """The rows of one epoch, in a stable order (the sampler shuffles them)."""
    if not english_once:
        return [(en, en, xx) for en, xx in pairs]
    rows: list[Row] = []
    seen: set[str] = set()
    for en, xx in pairs:
        if en not in seen:
            seen.add(en)
            rows.append((en, en, en))
        if xx != en:
            rows.append((en, xx, xx))
    return rows
