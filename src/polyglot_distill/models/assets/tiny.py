"""A tiny, randomly initialised multilingual student for tests and smoke runs.

:func:`build_tiny_student` learns a small SentencePiece-style Unigram vocabulary
from the given sentences, wraps it as an ``XLMRobertaTokenizerFast`` with the
XLM-R id layout (``<s>=0 <pad>=1 </s>=2 <unk>=3``, pieces, ``<mask>`` last), and
saves it with a freshly initialised ``XLMRobertaModel`` as a Sentence
Transformers folder (``Transformer`` -> mean ``Pooling``).  No projection to
the teacher's dimension is added; the caller does that.

Determinism.  ``tokenizers``' own ``UnigramTrainer`` is not reproducible: its
word counts, required-character set and EM reductions live in randomly seeded
hash maps, so two runs on the same sentences give different scores and piece
order (checked with tokenizers 0.23; ``TOKENIZERS_PARALLELISM=false`` does not
help).  The vocabulary is therefore learnt here with a small deterministic
hard-EM Unigram procedure that uses ``tokenizers`` for everything else: the
same normalizer and pre-tokenizer as the final tokenizer produce the words,
SentencePiece's seed heuristic (frequent substrings ranked by
``frequency x length``) gives the candidates, and a ``tokenizers`` Unigram
model's Viterbi segmentation re-estimates and prunes them for a few rounds.
Integer counts, sorted iteration and explicit tie-breaks make the result a pure
function of the sentences; the weights come from ``torch.manual_seed(seed)``.

Normalisation is NFKC applied per code point, compiled into a SentencePiece
``precompiled_charsmap`` so that the stock ``XLMRobertaTokenizer`` keeps it when
the folder is reloaded (transformers 5 rebuilds that class's pipeline and would
drop a plain ``normalizers.NFKC``).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import shutil
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

from polyglot_distill.models.assets.e5 import build_precompiled_charsmap

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")  # ids 0..3 as in XLM-R; "<mask>" is appended last
MASK_TOKEN = "<mask>"
_MAX_PIECE_CHARS = 12
_EM_ROUNDS = 4
_SHRINK = 0.75


@functools.lru_cache(maxsize=1)
def nfkc_charsmap() -> bytes:
    """``precompiled_charsmap`` mapping every code point whose NFKC form differs to that form."""
    table = {}
    for cp in range(0x30000):  # no NFKC mapping exists above U+2FA1D
        if 0xD800 <= cp < 0xE000:
            continue
        char = chr(cp)
        normalized = unicodedata.normalize("NFKC", char)
        if normalized != char:
            table[cp] = normalized
    return build_precompiled_charsmap(table)


def _pipeline():
    """The normalizer and pre-tokenizer that ``XLMRobertaTokenizer`` builds around our charsmap."""
    from tokenizers import normalizers, pre_tokenizers

    pre = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    return normalizers.Precompiled(nfkc_charsmap()), pre


def _viterbi_counts(counts: dict[str, int], words: dict[str, int]) -> Counter:
    """Segment every word with a Unigram model scored ``log(count / total)``; count piece uses."""
    from tokenizers import Tokenizer, models

    total = sum(counts.values())
    pieces = sorted(counts)
    vocab = [("<unk>", 0.0)] + [(p, math.log(counts[p] / total)) for p in pieces]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=0))
    ordered = sorted(words)
    used = Counter()
    for word, encoding in zip(ordered, tokenizer.encode_batch(ordered, add_special_tokens=False)):
        for token_id in encoding.ids:
            if token_id:
                used[pieces[token_id - 1]] += words[word]
    return used


def train_unigram_vocab(sentences: list[str], vocab_size: int) -> list[tuple[str, float]]:
    """Learn a deterministic Unigram vocabulary: ``[(piece, log_prob), ...]`` in XLM-R id order.

    Every character of the corpus is kept (so seen scripts never map to ``<unk>``) unless
    there are more than ``vocab_size`` allows, then the rarest are dropped; the remaining
    budget goes to the multi-character pieces that Viterbi segmentation uses most.  The
    result has at most ``vocab_size`` entries (fewer when the corpus is small).
    """
    normalizer, pre_tokenizer = _pipeline()
    words = Counter()
    for sentence in sentences:
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(sentence)):
            words[word] += 1
    chars = Counter()
    for word, n in words.items():
        for char in word:
            chars[char] += n
    room = vocab_size - len(SPECIAL_TOKENS) - 1
    if room < 1:
        raise ValueError(f"vocab_size={vocab_size} leaves no room next to {len(SPECIAL_TOKENS) + 1} special tokens")
    if len(chars) > room:  # keep the most frequent characters; the rarest become <unk>
        log.warning("tiny student: %d distinct characters exceed vocab_size=%d; the %d rarest map to <unk>",
                    len(chars), vocab_size, len(chars) - room)
        chars = Counter(dict(sorted(chars.items(), key=lambda kv: (-kv[1], kv[0]))[:room]))
    budget = room - len(chars)
    substrings = Counter()
    for word, n in words.items():
        for i in range(len(word)):
            for j in range(i + 2, min(len(word), i + _MAX_PIECE_CHARS) + 1):
                substrings[word[i:j]] += n
    reserved = {*SPECIAL_TOKENS, MASK_TOKEN}
    frequent = (s for s, f in substrings.items() if f >= 2 and s not in reserved)
    seeds = sorted(frequent, key=lambda s: (-substrings[s] * len(s), s))
    multi = {s: substrings[s] for s in seeds[: 4 * budget + 16]}
    for round_ in range(_EM_ROUNDS):
        used = _viterbi_counts({**chars, **multi}, words)
        ranked = sorted((p for p in multi if used[p] > 0), key=lambda p: (-used[p], p))
        keep = budget if round_ == _EM_ROUNDS - 1 else max(budget, int(len(ranked) * _SHRINK))
        multi = {p: used[p] for p in ranked[:keep]}
        chars = Counter({c: max(used[c], 1) for c in chars})  # unused characters keep a floor count
    final = _viterbi_counts({**chars, **multi}, words)
    counts = {p: max(final[p], 1) for p in [*chars, *multi]}
    total = sum(counts.values())
    scored = sorted(((p, math.log(n / total)) for p, n in counts.items()), key=lambda ps: (-ps[1], ps[0]))
    return [(t, 0.0) for t in SPECIAL_TOKENS] + scored + [(MASK_TOKEN, 0.0)]


def build_tiny_tokenizer(sentences: list[str], vocab_size: int = 8000, max_seq_length: int = 128):
    """Train the vocabulary and wrap it as an ``XLMRobertaTokenizerFast`` (``<s> A </s>`` template)."""
    from transformers import XLMRobertaTokenizerFast  # alias of XLMRobertaTokenizer in transformers 5

    vocab = train_unigram_vocab(sentences, vocab_size)
    return XLMRobertaTokenizerFast(
        vocab=vocab, _spm_precompiled_charsmap=nfkc_charsmap(), model_max_length=max_seq_length
    )


def build_tiny_student(
    sentences: list[str],
    out_dir: str | Path,
    vocab_size: int = 8000,
    hidden_size: int = 128,
    num_layers: int = 2,
    max_seq_length: int = 128,
    seed: int = 0,
) -> Path:
    """Build and save a random-init XLM-R student; return ``out_dir``.

    The model has ``num_layers`` layers of width ``hidden_size`` with ``hidden_size // 32``
    heads, FFN ``4 * hidden_size`` and ``max_seq_length + 2`` positions (XLM-R offsets
    positions by ``padding_idx + 1``).  Weights are drawn after ``torch.manual_seed(seed)``
    inside ``torch.random.fork_rng``, so the caller's RNG state is untouched.  The folder is
    assembled next to ``out_dir`` and moved into place with ``os.replace`` (an existing
    ``out_dir`` is replaced).
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import XLMRobertaConfig, XLMRobertaModel

    if hidden_size < 32 or hidden_size % 32:
        raise ValueError(f"hidden_size must be a positive multiple of 32 (heads of width 32), got {hidden_size}")
    if not sentences:
        raise ValueError("build_tiny_student needs at least one sentence to learn a vocabulary from")
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer(list(sentences), vocab_size, max_seq_length)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=num_layers,
        num_attention_heads=hidden_size // 32, intermediate_size=4 * hidden_size,
        max_position_embeddings=max_seq_length + 2, type_vocab_size=1, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = XLMRobertaModel(config)
    tmp_root = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        hf_dir, st_dir = tmp_root / "hf", tmp_root / "st"
        model.save_pretrained(hf_dir)
        tokenizer.save_pretrained(hf_dir)
        modules = [Transformer(str(hf_dir)), Pooling(hidden_size, "mean")]
        SentenceTransformer(modules=modules, device="cpu").save(str(st_dir))
        if out_dir.exists():
            os.replace(out_dir, tmp_root / "old")
        os.replace(st_dir, out_dir)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return out_dir


__all__ = ["build_tiny_student", "build_tiny_tokenizer", "train_unigram_vocab", "nfkc_charsmap"]
