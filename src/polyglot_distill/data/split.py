"""Deterministic train/dev/test assignment of English sentences.

A sentence's split depends only on its normalized English text and ``data.split_salt``, through BLAKE2b
(never Python's randomized ``hash()``): the same English sentence lands in the same split for every target
language and on every run, so a test sentence's teacher embedding is never a training target through
another language. Near-identical sentences (``Open file``, ``Open file...``, ``open  File``) normalize to
the same key and therefore share a split too.

The same hash, as a number in [0, 1), also orders the pairs inside a split (:func:`split_position`), so
capping a split to its first N pairs takes a stable subset: raising the cap only adds pairs.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

SPLITS = ("train", "dev", "test")
_NON_WORD = re.compile(r"[\W_]+")


def normalize_english(english: str) -> str:
    """The key that identifies an English sentence: NFKC, case-folded, punctuation and spacing removed."""
    text = unicodedata.normalize("NFKC", english).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def split_position(english: str, salt: str) -> float:
    """A stable pseudo-random number in [0, 1) for ``english`` under ``salt``."""
    data = f"{salt}\x00{normalize_english(english)}".encode("utf-8")
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def split_for_position(position: float, dev_fraction: float, test_fraction: float) -> str:
    """``"test"`` below ``test_fraction``, ``"dev"`` for the next ``dev_fraction``, else ``"train"``."""
    if position < test_fraction:
        return "test"
    if position < test_fraction + dev_fraction:
        return "dev"
    return "train"


def split_of(english: str, salt: str, dev_fraction: float, test_fraction: float) -> str:
    """The split of an English sentence: ``"train"``, ``"dev"`` or ``"test"``."""
    return split_for_position(split_position(english, salt), dev_fraction, test_fraction)
